"""pem.*Account*: customer and reseller accounts and their staff members."""

from __future__ import annotations

from dataclasses import replace

from pemx.api.method import Method
from pemx.api.methods.fields import object_id, optional_id
from pemx.api.schema import Field, opt, req, struct
from pemx.service import accounts

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
)

METHODS: tuple[Method, ...] = (
    Method(
        "pem.addAccount",
        {
            "account_id": optional_id("requested id of the new account"),
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
    ),
    Method(
        "pem.getAccountInfo",
        {"account_id": object_id()},
        accounts.get_account_info,
        doc="Read an account.",
        reseller=True,
        changes_state=False,
    ),
    Method(
        "pem.addAccountMember",
        {
            "account_id": object_id(),
            "auth": struct(
                {"login": req("string"), "password": req("string", max_length=1024, secret=True)},
                required=True,
            ),
            "person": _PERSON,
            "address": _CONTACT,
            "phone": _CONTACT,
            "email": opt("string"),
            "user_id": optional_id("requested id of the new member"),
        },
        accounts.add_account_member,
        doc="Create a staff member with API credentials (provider or reseller staff may call).",
        reseller=False,
        changes_state=True,
    ),
    Method(
        "pem.getAccountMemberByLogin",
        {"login": req("string")},
        accounts.get_account_member_by_login,
        doc="Find a staff member by login.",
        reseller=False,
        changes_state=False,
    ),
)
