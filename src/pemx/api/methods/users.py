"""pem.*User*: service users (the people who get mailboxes)."""

from __future__ import annotations

from typing import Any

from pemx.api.method import Method
from pemx.api.methods.fields import object_id, optional_id, or_zero
from pemx.api.schema import array, opt, req, struct
from pemx.domain.model import ServiceUser
from pemx.domain.user_properties import UserProperty
from pemx.service import users
from pemx.service.users import UserInfo


def _user_info(info: UserInfo) -> dict[str, Any]:
    user = info.user
    # OA's services: an array of service names; the mailbox's id is pemx's extra.
    services = [] if info.mailbox_id is None else ["Exchange"]
    properties = {"display_name": user.display_name, **user.properties}
    if user.locale:
        properties["locale"] = user.locale
    return {
        "user_id": user.id,
        "account_id": user.account_id,
        "subscription_id": or_zero(user.subscription_id),
        "login": user.login,
        "display_name": user.display_name,
        "enabled": user.enabled,
        "status": int(user.status),
        "properties": [{"name": k, "value": v} for k, v in sorted(properties.items())],
        "services": services,
        "mailbox_id": or_zero(info.mailbox_id),
    }


def _user_briefs(found: list[ServiceUser]) -> list[dict[str, Any]]:
    return [
        {"user_id": user.id, "login": user.login, "display_name": user.display_name}
        for user in found
    ]


_PROPERTY = struct(
    {"name": req("string"), "value": req("string", max_length=1024)},
    into=lambda value: UserProperty(**value),
)
_PROPERTIES = array(_PROPERTY, max_items=20)

METHODS: tuple[Method, ...] = (
    Method(
        "pem.addUser",
        {
            "subscription_id": optional_id("bind to this subscription-local subscription"),
            "owner_account_id": optional_id("or: an account-wide user of this account"),
            "login": req("string"),
            "password": req("string", max_length=1024, secret=True),
            "check_password_quality": opt("boolean"),
            "properties": _PROPERTIES,
        },
        users.add_user,
        doc="Create a service user.",
        reseller=True,
        changes_state=True,
        wire=lambda user_id: {"user_id": user_id},
    ),
    Method(
        "pem.getUserInfo",
        {"user_id": object_id()},
        users.get_user_info,
        doc="Read a service user.",
        reseller=True,
        changes_state=False,
        wire=_user_info,
    ),
    Method(
        "pem.getUserByLogin",
        {"login": req("string")},
        users.get_user_by_login,
        doc="Find a service user by login.",
        reseller=True,
        changes_state=False,
        wire=_user_info,
    ),
    Method(
        "pem.getUsers",
        {"subscription_id": object_id()},
        users.get_users,
        doc="List the service users bound to a subscription.",
        reseller=True,
        changes_state=False,
        wire=_user_briefs,
    ),
    Method(
        "pem.getAccountServiceUsers",
        {"account_id": object_id()},
        users.get_account_service_users,
        doc="List an account's account-wide (unbound) service users.",
        reseller=True,
        changes_state=False,
        wire=_user_briefs,
    ),
    Method(
        "pem.bindUserToSubscription",
        {"user_id": object_id(), "subscription_id": object_id()},
        users.bind_user_to_subscription,
        doc="Bind an unbound service user without services to a subscription-local subscription.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.modifyUser",
        {
            "user_id": object_id(),
            "properties": _PROPERTIES,
            "login": opt("string", "a new login (OA's field)", max_length=255),
        },
        users.modify_user,
        doc="Change a service user's properties (display_name, locale, ...) and login.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.changeUserPassword",
        {"user_id": object_id(), "password": req("string", max_length=1024, secret=True)},
        users.change_user_password,
        doc="Set a service user's password; open mail sessions are closed.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.enableUser",
        {"user_id": object_id()},
        users.enable_user,
        doc="Enable a service user.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.disableUser",
        {"user_id": object_id()},
        users.disable_user,
        doc="Disable a service user: logins and delivery refused, open sessions closed.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.removeUser",
        {"user_id": object_id()},
        users.remove_user,
        doc="Remove a service user and its mailbox.",
        reseller=True,
        changes_state=True,
    ),
)
