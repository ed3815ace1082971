"""Use cases for accounts and their staff members (pem.addAccount and friends)."""

from __future__ import annotations

from typing import Any

from pemx.domain.errors import ErrorCode, PemxError, invalid, not_found
from pemx.domain.model import PROVIDER_ACCOUNT_ID, AccountType, Caller
from pemx.domain.rules import check_password, normalize_login
from pemx.service.access import ensure_id_free, visible_account
from pemx.service.ports import Context, Tx


def add_account(
    ctx: Context,
    *,
    account_type: str,
    person: dict[str, Any],
    email: str | None = None,
    account_id: int | None = None,
    parent_account_id: int | None = None,
    address: dict[str, Any] | None = None,
    phone: dict[str, Any] | None = None,
    fax: dict[str, Any] | None = None,
    locale: str | None = None,
    branded_domain: str | None = None,
) -> dict[str, int]:
    kind = _account_type(account_type)
    caller = ctx.caller
    parent_id = parent_account_id
    if parent_id is None:
        parent_id = PROVIDER_ACCOUNT_ID if caller.is_provider else caller.account_id
    with ctx.uow.write() as tx:
        parent = visible_account(tx, caller, parent_id)
        if kind is AccountType.RESELLER and parent.type is not AccountType.PROVIDER:
            raise PemxError(
                ErrorCode.INVALID_ACCOUNT_TREE,
                "A reseller account can only be created under the provider (account 1).",
                {"field": "parent_account_id"},
            )
        if kind is AccountType.CUSTOMER and parent.type is AccountType.CUSTOMER:
            raise PemxError(
                ErrorCode.INVALID_ACCOUNT_TREE,
                "A customer account must be created under the provider or a reseller.",
                {"field": "parent_account_id"},
            )
        if not caller.is_provider and parent.id != caller.account_id:
            raise not_found("Account", parent.id)
        ensure_id_free(tx.accounts.get, account_id, "Account", "account_id")
        contact = {
            key: value
            for key, value in (
                ("person", person),
                ("address", address),
                ("phone", phone),
                ("fax", fax),
                ("branded_domain", branded_domain),
            )
            if value is not None
        }
        new_id = tx.accounts.add(
            account_id=account_id,
            type=kind.value,
            parent_id=parent.id,
            company_name=person.get("company_name"),
            first_name=person.get("first_name"),
            last_name=person.get("last_name"),
            email=email,
            locale=locale,
            contact=contact,
        )
        tx.audit.note("account", new_id, new_id)
    return {"account_id": new_id}


def get_account_info(ctx: Context, *, account_id: int) -> dict[str, Any]:
    with ctx.uow.read() as tx:
        account = visible_account(tx, ctx.caller, account_id)
        contact = tx.accounts.contact(account.id)
    info: dict[str, Any] = {
        "account_id": account.id,
        "account_type": account.type.value,
        "parent_account_id": account.parent_id or 0,
        "company_name": account.company_name or "",
        "email": account.email or "",
        "locale": account.locale or "",
        "enabled": account.enabled,
    }
    for key in ("person", "address", "phone", "fax"):
        if key in contact:
            info[key] = contact[key]
    return info


def add_account_member(
    ctx: Context,
    *,
    account_id: int,
    auth: dict[str, Any],
    person: dict[str, Any] | None = None,
    email: str | None = None,
    address: dict[str, Any] | None = None,
    phone: dict[str, Any] | None = None,
    user_id: int | None = None,
) -> dict[str, int]:
    login = normalize_login(auth["login"], "auth.login")
    password = auth["password"]
    check_password(password, "auth.password")
    password_hash = ctx.hasher.hash(password)
    person = person or {}
    with ctx.uow.write() as tx:
        account = visible_account(tx, ctx.caller, account_id)
        _ensure_member_login_free(tx, login)
        ensure_id_free(tx.members.get, user_id, "Member", "user_id")
        member_id = tx.members.add(
            member_id=user_id,
            account_id=account.id,
            login=login,
            password_hash=password_hash,
            first_name=person.get("first_name"),
            last_name=person.get("last_name"),
            email=email,
        )
        tx.audit.note("member", member_id, account.id)
    # OA returns the new member's id as ``user_id``; osaapi's helpers rely on that.
    return {"user_id": member_id, "member_id": member_id}


def get_account_member_by_login(ctx: Context, *, login: str) -> dict[str, Any]:
    key = normalize_login(login)
    with ctx.uow.read() as tx:
        member = tx.members.by_login(key)
        if member is None:
            raise not_found("Member", login)
        visible_account(tx, ctx.caller, member.account_id)
    return {
        "member_id": member.id,
        "user_id": member.id,
        "account_id": member.account_id,
        "login": member.login,
        "enabled": member.enabled,
    }


def ensure_provider(caller: Caller) -> None:
    if not caller.is_provider:
        raise PemxError(ErrorCode.PERMISSION_DENIED, "This method needs provider permissions.", {})


def _ensure_member_login_free(tx: Tx, login: str) -> None:
    if tx.members.by_login(login) is not None:
        raise PemxError(
            ErrorCode.LOGIN_IN_USE,
            f'The login "{login}" is in use by another staff member.',
            {"field": "auth.login"},
        )


def _account_type(value: str) -> AccountType:
    if value == "C":
        return AccountType.CUSTOMER
    if value == "R":
        return AccountType.RESELLER
    raise invalid("account_type", f'must be "C" (customer) or "R" (reseller), not "{value}"')
