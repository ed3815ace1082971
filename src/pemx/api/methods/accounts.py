"""pem.*Account*: customer and reseller accounts and their staff members."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pemx.api.method import Method
from pemx.api.methods.fields import (
    convert_after_checks,
    object_id,
    optional_id,
    or_empty,
    or_zero,
)
from pemx.api.schema import Field, opt, req, struct
from pemx.domain.contact import Person
from pemx.domain.errors import invalid
from pemx.domain.model import AccountType, Member
from pemx.service import accounts
from pemx.service.accounts import AccountInfo, Credentials

_CONTACT = Field("struct", open_struct=True)
_PERSON = struct(
    {
        "first_name": opt("string"),
        "middle_name": opt("string"),
        "last_name": opt("string"),
        "company_name": opt("string"),
        "title": opt("string"),
        "insertion": opt("string"),
    },
    doc="first_name, middle_name, last_name, company_name, title",
    into=lambda value: Person(**value),
)
_ACCOUNT_TYPES = {"C": AccountType.CUSTOMER, "R": AccountType.RESELLER}


def _account_type(value: str) -> AccountType:
    kind = _ACCOUNT_TYPES.get(value)
    if kind is None:
        raise invalid("account_type", f'must be "C" (customer) or "R" (reseller), not "{value}"')
    return kind


def _account_info(info: AccountInfo) -> dict[str, Any]:
    account, contact = info.account, info.contact
    wire: dict[str, Any] = {
        "account_id": account.id,
        "account_type": account.type.value,
        "parent_account_id": or_zero(account.parent_id),
        "company_name": or_empty(account.company_name),
        "email": or_empty(account.email),
        "locale": or_empty(account.locale),
        "enabled": account.enabled,
    }
    if contact.person is not None:
        wire["person"] = contact.person.given()
    for key, data in (("address", contact.address), ("phone", contact.phone), ("fax", contact.fax)):
        if data is not None:
            wire[key] = dict(data)
    return wire


def _member(member: Member) -> dict[str, Any]:
    return {
        "member_id": member.id,
        "user_id": member.id,
        "account_id": member.account_id,
        "login": member.login,
        "enabled": member.enabled,
    }


METHODS: tuple[Method, ...] = (
    Method(
        "pem.addAccount",
        {
            "account_id": optional_id("requested id of the new account (provider staff only)"),
            "account_type": req("string", "'C' customer or 'R' reseller", max_length=1),
            "parent_account_id": optional_id("default: the provider (a reseller: itself)"),
            "person": replace(_PERSON, required=True, doc=""),
            "address": _CONTACT,
            "phone": _CONTACT,
            "fax": _CONTACT,
            "email": opt("string"),
            "locale": opt("string", "default locale of the account's users", max_length=16),
            "branded_domain": opt("string"),
        },
        accounts.add_account,
        doc="Create a customer or reseller account.",
        reseller=True,
        changes_state=True,
        arguments=convert_after_checks(account_type=_account_type),
        wire=lambda account_id: {"account_id": account_id},
    ),
    Method(
        "pem.getAccountInfo",
        {"account_id": object_id()},
        accounts.get_account_info,
        doc="Read an account.",
        reseller=True,
        changes_state=False,
        wire=_account_info,
    ),
    Method(
        "pem.addAccountMember",
        {
            "account_id": object_id(),
            "auth": struct(
                {
                    "login": req("string"),
                    "password": req("string", max_length=1024, secret=True),
                },
                required=True,
                into=lambda value: Credentials(**value),
            ),
            "person": _PERSON,
            "address": _CONTACT,
            "phone": _CONTACT,
            "email": opt("string"),
            "user_id": optional_id("requested id of the new member (provider staff only)"),
        },
        accounts.add_account_member,
        doc="Create a staff member with API credentials (provider or reseller staff may call).",
        reseller=False,
        changes_state=True,
        # OA returns the new member's id as ``user_id``; osaapi's helpers rely on that.
        wire=lambda member_id: {"user_id": member_id, "member_id": member_id},
    ),
    Method(
        "pem.getAccountMemberByLogin",
        {"login": req("string")},
        accounts.get_account_member_by_login,
        doc="Find a staff member by login.",
        reseller=False,
        changes_state=False,
        wire=_member,
    ),
    Method(
        "pem.setAccountInfo",
        {
            "account_id": object_id(),
            "person": _PERSON,
            "address": _CONTACT,
            "phone": _CONTACT,
            "fax": _CONTACT,
            "email": opt("string"),
            "locale": opt("string", "default locale of the account's users", max_length=16),
        },
        accounts.set_account_info,
        doc="Change an account's contact card: the parts given, the rest kept.",
        reseller=True,
        changes_state=True,
    ),
)
