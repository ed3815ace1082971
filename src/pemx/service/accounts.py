"""Use cases for accounts and their staff members (pem.addAccount and friends)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pemx.domain.contact import AccountContact, ContactData, Person
from pemx.domain.errors import ErrorCode, PemxError, invalid, not_found
from pemx.domain.model import PROVIDER_ACCOUNT_ID, Account, AccountType, Member
from pemx.domain.rules import check_password, normalize_login
from pemx.service.access import (
    ensure_account_enabled,
    ensure_id_free,
    visible_account,
    visible_member_by_login,
)
from pemx.service.ports import Context, Tx


@dataclass(frozen=True)
class Credentials:
    """A staff member's API login and password, as given (checked by the use case)."""

    login: str
    password: str


@dataclass(frozen=True)
class AccountInfo:
    account: Account
    contact: AccountContact


def add_account(
    ctx: Context,
    *,
    account_type: AccountType,
    person: Person,
    email: str | None = None,
    account_id: int | None = None,
    parent_account_id: int | None = None,
    address: ContactData | None = None,
    phone: ContactData | None = None,
    fax: ContactData | None = None,
    locale: str | None = None,
    branded_domain: str | None = None,
) -> int:
    """Create a customer or reseller account under a parent the caller sees; returns its id.

    Refuses a reseller below anything but the provider, a customer below a customer, and
    a requested id that is taken (or any requested id from reseller staff).
    """
    if account_type is AccountType.PROVIDER:
        raise invalid("account_type", "there is one provider account, made at set-up")
    caller = ctx.caller
    parent_id = parent_account_id
    if parent_id is None:
        parent_id = PROVIDER_ACCOUNT_ID if caller.is_provider else caller.account_id
    with ctx.uow.write() as tx:
        parent = visible_account(tx, caller, parent_id)
        if account_type is AccountType.RESELLER and parent.type is not AccountType.PROVIDER:
            raise PemxError(
                ErrorCode.INVALID_ACCOUNT_TREE,
                "A reseller account can only be created under the provider (account 1).",
                {"field": "parent_account_id"},
            )
        if account_type is AccountType.CUSTOMER and parent.type is AccountType.CUSTOMER:
            raise PemxError(
                ErrorCode.INVALID_ACCOUNT_TREE,
                "A customer account must be created under the provider or a reseller.",
                {"field": "parent_account_id"},
            )
        if not caller.is_provider and parent.id != caller.account_id:
            raise not_found("Account", parent.id)
        ensure_account_enabled(tx, parent.id)  # no new customer under a suspended reseller
        ensure_id_free(caller, tx.accounts.get, account_id, "Account", "account_id")
        new_id = tx.accounts.add(
            account_id=account_id,
            type=account_type.value,
            parent_id=parent.id,
            company_name=person.company_name,
            first_name=person.first_name,
            last_name=person.last_name,
            email=email,
            locale=locale,
            contact=AccountContact(person, address, phone, fax, branded_domain),
        )
        tx.audit.note("account", new_id, new_id)
    return new_id


def get_account_info(ctx: Context, *, account_id: int) -> AccountInfo:
    """An account the caller sees, with its contact card; any other is 'not found'."""
    with ctx.uow.read() as tx:
        account = visible_account(tx, ctx.caller, account_id)
        return AccountInfo(account, tx.accounts.contact(account.id))


def add_account_member(
    ctx: Context,
    *,
    account_id: int,
    auth: Credentials,
    person: Person | None = None,
    email: str | None = None,
    address: ContactData | None = None,
    phone: ContactData | None = None,
    user_id: int | None = None,
) -> int:
    """Create a staff member who logs in to the API for an account; returns its id.

    Refuses a malformed login or weak password, a login in use, and a taken id. The address
    and phone are accepted (OA sends them) and not kept.
    """
    login = normalize_login(auth.login, "auth.login")
    check_password(auth.password, "auth.password")
    password_hash = ctx.hasher.hash(auth.password)
    person = person or Person()
    with ctx.uow.write() as tx:
        account = visible_account(tx, ctx.caller, account_id)
        _ensure_member_login_free(tx, login)
        ensure_id_free(ctx.caller, tx.members.get, user_id, "Member", "user_id")
        member_id = tx.members.add(
            member_id=user_id,
            account_id=account.id,
            login=login,
            password_hash=password_hash,
            first_name=person.first_name,
            last_name=person.last_name,
            email=email,
        )
        tx.audit.note("member", member_id, account.id)
    return member_id


def get_account_member_by_login(ctx: Context, *, login: str) -> Member:
    """The staff member with this login (any case), if the caller sees its account."""
    key = normalize_login(login)
    with ctx.uow.read() as tx:
        return visible_member_by_login(tx, ctx.caller, key)


def _ensure_member_login_free(tx: Tx, login: str) -> None:
    if tx.members.by_login(login) is not None:
        raise PemxError(
            ErrorCode.LOGIN_IN_USE,
            f'The login "{login}" is in use by another staff member.',
            {"field": "auth.login"},
        )


def set_account_info(
    ctx: Context,
    *,
    account_id: int,
    person: Person | None = None,
    email: str | None = None,
    address: ContactData | None = None,
    phone: ContactData | None = None,
    fax: ContactData | None = None,
    locale: str | None = None,
) -> None:
    """Change the given parts of an account's contact card; what is not given is kept
    (a person replaces the whole person, as OA's struct is one value)."""
    with ctx.uow.write() as tx:
        account = visible_account(tx, ctx.caller, account_id)
        contact = tx.accounts.contact(account.id)
        contact = replace(
            contact,
            person=person if person is not None else contact.person,
            address=address if address is not None else contact.address,
            phone=phone if phone is not None else contact.phone,
            fax=fax if fax is not None else contact.fax,
        )
        tx.accounts.update(
            account.id,
            company_name=person.company_name if person is not None else account.company_name,
            first_name=person.first_name if person is not None else account.first_name,
            last_name=person.last_name if person is not None else account.last_name,
            email=email if email is not None else account.email,
            locale=locale if locale is not None else account.locale,
            contact=contact,
        )
        tx.audit.note("account", account.id, account.id)
