"""The method registry: each OA method's parameters, its use case, and who may call it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pemx.api.schema import Field, array, opt, req, struct
from pemx.service import accounts, addresses, mailboxes, stores, subscriptions, users
from pemx.service.ports import Context

Handler = Callable[..., Any]


@dataclass(frozen=True)
class Method:
    name: str
    params: Mapping[str, Field]
    handler: Handler
    reseller: bool  # "This method can also be called under Reseller permissions."
    doc: str

    @property
    def changes_state(self) -> bool:
        """Reads are named get*/check*; every other method changes something (audited)."""
        short = self.name.rsplit(".", 1)[-1]
        return not short.startswith(("get", "check", "list"))

    def signature(self) -> dict[str, Any]:
        return {
            "method_name": self.name,
            "description": self.doc,
            "reseller_permissions": self.reseller,
            "params": [{"name": n, **f.describe()} for n, f in self.params.items()],
        }

    def call(self, ctx: Context, params: dict[str, Any]) -> Any:
        return self.handler(ctx, **params)


ID = {"minimum": 1, "maximum": 2**31 - 1}


def _id(doc: str = "") -> Field:
    return req("int", doc, **ID)


def _opt_id(doc: str = "") -> Field:
    return opt("int", doc, **ID)


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
# Limits are read back as XML-RPC ints (32 bits): a larger one would make the template and
# its subscriptions unreadable.
_LIMIT_VALUE = req("int", "-1 = unlimited", maximum=2**31 - 1)
_PROPERTY = struct({"name": req("string"), "value": req("string", max_length=1024)})
_LIMIT = struct({"resource_id": _id("resource type id"), "resource_limit": _LIMIT_VALUE})
_TEMPLATE_RESOURCE = struct(
    {"resource_type_id": _id("resource type id"), "resource_limit": _LIMIT_VALUE}
)

METHODS: tuple[Method, ...] = (
    Method(
        "pem.addAccount",
        {
            "account_id": _opt_id("requested id of the new account"),
            "account_type": req("string", "'C' customer or 'R' reseller", max_length=1),
            "parent_account_id": _opt_id("default: the provider (a reseller: itself)"),
            "person": Field("struct", required=True, fields=_PERSON.fields),
            "address": _CONTACT,
            "phone": _CONTACT,
            "fax": _CONTACT,
            "email": opt("string"),
            "locale": opt("string", "default locale of the account's users", max_length=16),
            "branded_domain": opt("string"),
        },
        accounts.add_account,
        True,
        "Create a customer or reseller account.",
    ),
    Method(
        "pem.getAccountInfo",
        {"account_id": _id()},
        accounts.get_account_info,
        True,
        "Read an account.",
    ),
    Method(
        "pem.addAccountMember",
        {
            "account_id": _id(),
            "auth": struct(
                {"login": req("string"), "password": req("string", max_length=1024)},
                required=True,
            ),
            "person": _PERSON,
            "address": _CONTACT,
            "phone": _CONTACT,
            "email": opt("string"),
            "user_id": _opt_id("requested id of the new member"),
        },
        accounts.add_account_member,
        False,
        "Create a staff member with API credentials (provider or reseller staff may call).",
    ),
    Method(
        "pem.getAccountMemberByLogin",
        {"login": req("string")},
        accounts.get_account_member_by_login,
        False,
        "Find a staff member by login.",
    ),
    Method(
        "pem.addServiceTemplate",
        {
            "name": req("string"),
            "owner_account_id": _opt_id("the provider (default) or a reseller"),
            "service_template_id": _opt_id("requested id"),
            "source_subscription_id": _opt_id("for a reseller's template: its own subscription"),
            "resource_types": array(_TEMPLATE_RESOURCE, required=True),
        },
        subscriptions.add_service_template,
        False,
        "Create a service template with resource types and limits (pemx's name and fields).",
    ),
    Method(
        "pem.getServiceTemplate",
        {"service_template_id": _id()},
        subscriptions.get_service_template,
        True,
        "Read a service template.",
    ),
    *(
        Method(
            name,
            {
                "subscription_id": _opt_id("requested id"),
                "subscription_name": opt("string"),
                "account_id": _id(),
                "service_template_id": _id(),
                "resource_limits": array(_LIMIT),
                "account_wide_su": opt("boolean", "create the services in account-wide mode"),
            },
            subscriptions.activate_subscription,
            True,
            "Create a subscription from a service template; pemx provisions at once.",
        )
        for name in ("pem.activateSubscription", "pem.addSubscription")
    ),
    Method(
        "pem.getSubscription",
        {"subscription_id": _id(), "get_resources": opt("boolean")},
        subscriptions.get_subscription,
        True,
        "Read a subscription with its resource limits and usage.",
    ),
    Method(
        "pem.switchSubscriptionToAccountWide",
        {"subscription_id": _id()},
        subscriptions.switch_to_account_wide,
        True,
        "Switch a subscription's services to account-wide mode (irreversible).",
    ),
    Method(
        "pem.addDomain",
        {
            "subscription_id": _id(),
            "domain_name": req("string", max_length=253),
            "domain_id": _opt_id("requested id"),
        },
        subscriptions.add_domain,
        True,
        "Register a domain in a customer's subscription.",
    ),
    Method(
        "pem.addUser",
        {
            "subscription_id": _opt_id("bind to this subscription-local subscription"),
            "owner_account_id": _opt_id("or: an account-wide user of this account"),
            "login": req("string"),
            "password": req("string", max_length=1024),
            "check_password_quality": opt("boolean"),
            "properties": array(_PROPERTY, max_items=20),
        },
        users.add_user,
        True,
        "Create a service user.",
    ),
    Method(
        "pem.getUserInfo", {"user_id": _id()}, users.get_user_info, True, "Read a service user."
    ),
    Method(
        "pem.getUserByLogin",
        {"login": req("string")},
        users.get_user_by_login,
        True,
        "Find a service user by login.",
    ),
    Method(
        "pem.getUsers",
        {"subscription_id": _id()},
        users.get_users,
        True,
        "List the service users bound to a subscription.",
    ),
    Method(
        "pem.getAccountServiceUsers",
        {"account_id": _id()},
        users.get_account_service_users,
        True,
        "List an account's account-wide (unbound) service users.",
    ),
    Method(
        "pem.bindUserToSubscription",
        {"user_id": _id(), "subscription_id": _id()},
        users.bind_user_to_subscription,
        True,
        "Bind an unbound service user without services to a subscription-local subscription.",
    ),
    Method(
        "pem.exchange.addMailbox",
        {
            "user_id": _opt_id("an existing service user (xor new_user)"),
            "new_user": struct(
                {
                    "subscription_id": _id(),
                    "login": req("string"),
                    "password": opt("string", max_length=1024),
                    "display_name": opt("string"),
                },
                doc="a new service user (xor user_id)",
            ),
            "alias": req("string", max_length=64),
            "primary_email_address": req("string", max_length=254),
            "owa": req("boolean"),
            "mapi": req("boolean"),
            "active_sync": req("boolean"),
            "imap4": req("boolean"),
            "pop3": req("boolean"),
            "size_limit": req("int", "KB", minimum=1, maximum=2**31 - 1),
            "alt_email_addresses": array(opt("string", max_length=254), max_items=100),
            "skip_initialization": opt("boolean"),
            "mark_migrated": opt("boolean"),
        },
        mailboxes.add_mailbox,
        True,
        "Create a live mailbox (see docs/methods/pem.exchange.addMailbox.md).",
    ),
    Method(
        "pem.exchange.getMailboxInfo",
        {"mailbox_id": _id()},
        mailboxes.get_mailbox_info,
        True,
        "Read a mailbox.",
    ),
)

_KB = {"minimum": 0, "maximum": 2**31 - 1}
_EMAILS = array(opt("string", max_length=254), required=True, max_items=100)

LIFECYCLE_METHODS: tuple[Method, ...] = (
    Method(
        "pem.exchange.getMailboxes",
        {"subscription_id": _id()},
        mailboxes.get_mailboxes,
        True,
        "List a subscription's mailboxes with their size (KB used).",
    ),
    Method(
        "pem.exchange.getUserMailbox",
        {"user_id": _id()},
        mailboxes.get_user_mailbox,
        True,
        "Read the mailbox of a service user (same fields as getMailboxInfo).",
    ),
    Method(
        "pem.exchange.getMailboxByEmailAddress",
        {"email_address": req("string", max_length=254)},
        mailboxes.get_mailbox_by_email_address,
        True,
        "Find a mailbox by any of its addresses (same fields as getMailboxInfo).",
    ),
    Method(
        "pem.exchange.modifyMailbox",
        {
            "mailbox_id": _id(),
            "alias": opt("string", max_length=64),
            "owa": opt("boolean"),
            "mapi": opt("boolean"),
            "active_sync": opt("boolean"),
            "imap4": opt("boolean"),
            "pop3": opt("boolean"),
            "size_limit": opt("int", "KB", minimum=1, maximum=2**31 - 1),
            "warning_limit": opt("int", "KB, 0 = none (stored, not enforced)", **_KB),
            "prohibit_send_limit": opt("int", "KB, 0 = none (stored, not enforced)", **_KB),
            "incoming_item_max_size": opt("int", "KB, 0 = none (enforced at delivery)", **_KB),
            "outgoing_item_max_size": opt("int", "KB, 0 = none (stored, not enforced)", **_KB),
            "recipient_list_max_size": opt("int", "0 = none (stored, not enforced)", **_KB),
            "message_retention": opt(
                "int", "days the Deleted Items folder keeps mail, 0 = forever", **_KB
            ),
            "show_in_address_book": opt("boolean", "stored, not enforced"),
        },
        mailboxes.modify_mailbox,
        True,
        "Change a mailbox's switches and limits; takes effect at the next login or delivery.",
    ),
    Method(
        "pem.exchange.removeMailbox",
        {"mailbox_id": _id()},
        mailboxes.remove_mailbox,
        True,
        "Remove a mailbox: resources and addresses free at once, files deleted by the worker.",
    ),
    Method(
        "pem.exchange.getEmailAddresses",
        {"mailbox_id": _id()},
        addresses.get_email_addresses,
        True,
        "A mailbox's addresses: {mailbox_id, primary_email_address, emails}.",
    ),
    Method(
        "pem.exchange.addEmailAddresses",
        {"mailbox_id": _id(), "emails": _EMAILS},
        addresses.add_email_addresses,
        True,
        "Add alternative addresses (on the customer's domains, unused).",
    ),
    Method(
        "pem.exchange.removeEmailAddresses",
        {"mailbox_id": _id(), "emails": _EMAILS},
        addresses.remove_email_addresses,
        True,
        "Remove alternative addresses (not the primary one).",
    ),
    Method(
        "pem.exchange.changePrimaryEmailAddress",
        {"mailbox_id": _id(), "email_address": req("string", max_length=254)},
        addresses.change_primary_email_address,
        True,
        "Make an address primary (added if new); the old primary stays an alternative.",
    ),
    Method(
        "pem.exchange.getEmailDomains",
        {"subscription_id": _id()},
        addresses.get_email_domains,
        True,
        "The domains a subscription's mailboxes may use: [{domain_id, domain_name}].",
    ),
    Method(
        "pem.exchange.getMailboxStores",
        {},
        stores.get_mailbox_stores,
        False,
        "The mailbox stores (Dovecot backends): [{store_id, name, status, host, mailboxes, "
        "max_mailboxes, accepts_new_mailboxes}]. Provider only.",
    ),
    Method(
        "pem.modifyUser",
        {"user_id": _id(), "properties": array(_PROPERTY, max_items=20)},
        users.modify_user,
        True,
        "Change a service user's properties (display_name, locale, ...).",
    ),
    Method(
        "pem.changeUserPassword",
        {"user_id": _id(), "password": req("string", max_length=1024)},
        users.change_user_password,
        True,
        "Set a service user's password; open mail sessions are closed.",
    ),
    Method(
        "pem.enableUser",
        {"user_id": _id()},
        users.enable_user,
        True,
        "Enable a service user.",
    ),
    Method(
        "pem.disableUser",
        {"user_id": _id()},
        users.disable_user,
        True,
        "Disable a service user: logins and delivery refused, open sessions closed.",
    ),
    Method(
        "pem.removeUser",
        {"user_id": _id()},
        users.remove_user,
        True,
        "Remove a service user and its mailbox.",
    ),
)

REGISTRY: dict[str, Method] = {m.name: m for m in (*METHODS, *LIFECYCLE_METHODS)}
