"""Setting up a new installation: the provider account and its first staff member."""

from __future__ import annotations

from collections.abc import Mapping

from pemx.domain.contact import AccountContact
from pemx.domain.errors import ErrorCode, PemxError, not_found
from pemx.domain.model import PROVIDER_ACCOUNT_ID, AccountType
from pemx.domain.rules import check_password, generate_password, normalize_login
from pemx.service.ports import PasswordHasher, Tx, UnitOfWork


def ensure_provider(
    uow: UnitOfWork, hasher: PasswordHasher, environ: Mapping[str, str]
) -> tuple[str, str] | None:
    """Create the provider (account 1) and its first staff member on the first start.

    The login and password come from PEMX_ADMIN_LOGIN / PEMX_ADMIN_PASSWORD. Returns
    (login, password) when a password was generated, so it can be shown once.
    """
    with uow.read() as tx:
        if tx.accounts.get(PROVIDER_ACCOUNT_ID) is not None:
            return None
    login = normalize_login(environ.get("PEMX_ADMIN_LOGIN") or "admin", "PEMX_ADMIN_LOGIN")
    password_hash, generated = _hashed_password(
        hasher, environ.get("PEMX_ADMIN_PASSWORD"), "PEMX_ADMIN_PASSWORD"
    )
    with uow.write() as tx:
        if tx.accounts.get(PROVIDER_ACCOUNT_ID) is not None:
            return None
        tx.accounts.add(
            account_id=PROVIDER_ACCOUNT_ID,
            type=AccountType.PROVIDER.value,
            parent_id=None,
            company_name="Provider",
            first_name=None,
            last_name=None,
            email=None,
            locale="en_US",
            contact=AccountContact(),
        )
        tx.audit.note("account", PROVIDER_ACCOUNT_ID, PROVIDER_ACCOUNT_ID)
        _add_provider_member(tx, login, password_hash)
    return (login, generated) if generated else None


# An operator's recovery (`pemx members`): provider staff on the data directory, audited
# as CLI changes, for when no one can log in to the API any more.
def add_provider_member(
    uow: UnitOfWork, hasher: PasswordHasher, login: str, password: str | None
) -> str | None:
    """A new provider staff member (`pemx members add`). Returns the password when it
    was generated, to be shown once."""
    login = normalize_login(login)
    password_hash, generated = _hashed_password(hasher, password)
    with uow.write() as tx:
        if tx.members.by_login(login) is not None:
            raise PemxError(
                ErrorCode.LOGIN_IN_USE,
                f'The login "{login}" is in use by another staff member.',
                {"field": "login"},
            )
        _add_provider_member(tx, login, password_hash)
    return generated


def reset_member_password(
    uow: UnitOfWork, hasher: PasswordHasher, login: str, password: str | None
) -> str | None:
    """A new password for a staff member (`pemx members password`): a lost admin
    password is recoverable. Returns the password when it was generated."""
    login = normalize_login(login)
    password_hash, generated = _hashed_password(hasher, password)
    with uow.write() as tx:
        member = tx.members.by_login(login)
        if member is None or member.removed:
            raise not_found("Staff member", login)
        tx.members.set_password_hash(member.id, password_hash)
        tx.audit.note("member", member.id, member.account_id)
    return generated


def _hashed_password(
    hasher: PasswordHasher, password: str | None, field: str = "password"
) -> tuple[str, str | None]:
    """The hash of the given password (checked), or of a generated one: (hash, the
    generated password to show once, or None)."""
    generated = None if password else generate_password()
    chosen = password or generated or ""
    check_password(chosen, field)
    return hasher.hash(chosen), generated


def _add_provider_member(tx: Tx, login: str, password_hash: str) -> None:
    member_id = tx.members.add(
        member_id=None,
        account_id=PROVIDER_ACCOUNT_ID,
        login=login,
        password_hash=password_hash,
        first_name=None,
        last_name=None,
        email=None,
    )
    tx.audit.note("member", member_id, PROVIDER_ACCOUNT_ID)
