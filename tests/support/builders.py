"""Builders of the model objects the tests need: customers, resellers, templates,
subscriptions, domains, users and mailboxes, each with ids no other test uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from .calls import ok
from .server import Server

# The Hosted Exchange resource types of a service template (OA's resource_type_id).
MAILBOXES, STORAGE, USERS, DOMAINS = 1, 2, 3, 4
# ... and the recipients' (lists and contacts), and a tenant's limits with room for them.
LISTS, CONTACTS = 6, 7
RECIPIENT_LIMITS = {MAILBOXES: 50, STORAGE: 10_000_000, USERS: 100, DOMAINS: 10, LISTS: 20,
                    CONTACTS: 20}  # fmt: skip


def unique(prefix: str = "t") -> str:
    """An id no other test uses (the session server is shared)."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def missing_id() -> int:
    """An id no object has (the tests never create objects near the int32 ceiling)."""
    return 2**31 - 7


@dataclass
class Tenant:
    """A customer with a subscription (Hosted Exchange) and a domain, ready for mailboxes."""

    reseller_id: int | None
    customer_id: int
    template_id: int
    subscription_id: int
    domain: str


def make_reseller(provider: Any, server: Server) -> tuple[int, Any]:
    """A reseller account with a staff member; returns (account_id, its API proxy)."""
    account_id = ok(
        provider.pem.addAccount(
            {"account_type": "R", "person": {"first_name": "Re", "last_name": "Seller"}}
        )
    )["account_id"]
    login, password = unique("res"), "Reseller-Pass-1"
    ok(
        provider.pem.addAccountMember(
            {"account_id": account_id, "auth": {"login": login, "password": password}}
        )
    )
    return account_id, server.proxy(login, password)


def make_tenant(
    api: Any,
    *,
    limits: dict[int, int] | None = None,
    account_wide: bool = False,
    parent_account_id: int | None = None,
    template_id: int | None = None,
    locale: str | None = None,
    provider: Any = None,
) -> Tenant:
    """A customer, a subscription and a domain. ``api`` creates them (provider or reseller);
    the template is created by ``provider`` (or ``api``) unless given."""
    account: dict[str, Any] = {
        "account_type": "C",
        "person": {"first_name": "Cu", "last_name": "Stomer", "company_name": unique("co")},
        "email": "owner@example.net",
    }
    if parent_account_id is not None:
        account["parent_account_id"] = parent_account_id
    if locale is not None:
        account["locale"] = locale
    customer_id = ok(api.pem.addAccount(account))["account_id"]
    if template_id is None:
        wanted = (
            limits
            if limits is not None
            else {MAILBOXES: 50, STORAGE: 10_000_000, USERS: 100, DOMAINS: 10}
        )
        template_id = ok(
            (provider or api).pem.addServiceTemplate(
                {
                    "name": unique("tpl"),
                    "resource_types": [
                        {"resource_type_id": k, "resource_limit": v} for k, v in wanted.items()
                    ],
                }
            )
        )["service_template_id"]
    subscription_id = ok(
        api.pem.activateSubscription(
            {
                "account_id": customer_id,
                "service_template_id": template_id,
                "account_wide_su": account_wide,
            }
        )
    )["subscription_id"]
    domain = unique("d") + ".example"
    ok(api.pem.addDomain({"subscription_id": subscription_id, "domain_name": domain}))
    return Tenant(None, customer_id, template_id, subscription_id, domain)


def mailbox_params(address: str, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "alias": address.split("@")[0],
        "primary_email_address": address,
        "owa": True,
        "mapi": True,
        "active_sync": True,
        "imap4": True,
        "pop3": True,
        "size_limit": 10_240,
    }
    params.update(overrides)
    return params


def new_user_mailbox(
    api: Any, tenant: Tenant, password: str, prefix: str = "mb", **overrides: Any
) -> tuple[int, int, str, str]:
    """A live mailbox of a new user: (mailbox_id, user_id, login, primary address)."""
    login = unique(prefix)
    address = f"{login}@{tenant.domain}"
    result = ok(
        api.pem.exchange.addMailbox(
            {
                "new_user": {
                    "subscription_id": tenant.subscription_id,
                    "login": login,
                    "password": password,
                },
                **mailbox_params(address, **overrides),
            }
        )
    )
    return result["mailbox_id"], result["user_id"], login, address


def add_customer(api: Any, parent_account_id: int | None = None, **extra: Any) -> int:
    account: dict[str, Any] = {
        "account_type": "C",
        "person": {"first_name": "Cu", "last_name": "Stomer", "company_name": unique("co")},
        **extra,
    }
    if parent_account_id is not None:
        account["parent_account_id"] = parent_account_id
    return int(ok(api.pem.addAccount(account))["account_id"])


def add_reseller_account(api: Any) -> int:
    return int(
        ok(api.pem.addAccount({"account_type": "R", "person": {"first_name": "Re"}}))["account_id"]
    )


def add_template(
    provider: Any,
    limits: dict[int, int],
    *,
    owner_account_id: int | None = None,
    source_subscription_id: int | None = None,
) -> int:
    params: dict[str, Any] = {
        "name": unique("tpl"),
        "resource_types": [{"resource_type_id": k, "resource_limit": v} for k, v in limits.items()],
    }
    if owner_account_id is not None:
        params["owner_account_id"] = owner_account_id
    if source_subscription_id is not None:
        params["source_subscription_id"] = source_subscription_id
    return int(ok(provider.pem.addServiceTemplate(params))["service_template_id"])


def subscribe(
    api: Any, account_id: int, template_id: int, *, account_wide: bool = False, **extra: Any
) -> int:
    params: dict[str, Any] = {
        "account_id": account_id,
        "service_template_id": template_id,
        **extra,
    }
    if account_wide:
        params["account_wide_su"] = True
    return int(ok(api.pem.activateSubscription(params))["subscription_id"])


def resources(api: Any, subscription_id: int) -> dict[int, dict[str, Any]]:
    """{resource_type_id: {limit, usage, name, ...}} of a subscription."""
    info = ok(api.pem.getSubscription({"subscription_id": subscription_id, "get_resources": True}))
    return {int(rt["resource_type_id"]): rt for rt in info["resource_types"]}


def add_user(api: Any, subscription_id: int, login: str | None = None, **extra: Any) -> int:
    params: dict[str, Any] = {
        "subscription_id": subscription_id,
        "login": login or unique("u"),
        "password": "User-Pass-1",
        **extra,
    }
    return int(ok(api.pem.addUser(params))["user_id"])


@dataclass
class Reseller:
    """A reseller with staff credentials, its own subscription (the pool) and a template of
    its own drawing on that pool."""

    account_id: int
    api: Any
    login: str
    password: str
    pool_subscription_id: int
    template_id: int


def make_reseller_with_pool(
    provider: Any,
    server: Server,
    *,
    pool: dict[int, int] | None = None,
    template: dict[int, int] | None = None,
) -> Reseller:
    account_id = add_reseller_account(provider)
    login, password = unique("res"), "Reseller-Pass-1"
    ok(
        provider.pem.addAccountMember(
            {"account_id": account_id, "auth": {"login": login, "password": password}}
        )
    )
    pool_limits = (
        pool if pool is not None else {MAILBOXES: 100, STORAGE: -1, USERS: 100, DOMAINS: 20}
    )
    pool_template = add_template(provider, pool_limits)
    pool_subscription = subscribe(provider, account_id, pool_template)
    template_id = add_template(
        provider,
        template if template is not None else {MAILBOXES: 10, STORAGE: -1, USERS: 10, DOMAINS: 5},
        owner_account_id=account_id,
        source_subscription_id=pool_subscription,
    )
    return Reseller(
        account_id, server.proxy(login, password), login, password, pool_subscription, template_id
    )


@dataclass
class Estate:
    """A customer's objects under a reseller (what another reseller must not see)."""

    customer_id: int
    subscription_id: int
    user_id: int
    user_login: str
    domain: str
    domain_id: int
    mailbox_id: int
    mailbox_address: str
    template_id: int


def make_estate(owner: Reseller) -> Estate:
    """A customer of ``owner`` with a subscription, a domain, a user and its mailbox."""
    api = owner.api
    customer = add_customer(api)
    subscription = subscribe(api, customer, owner.template_id)
    domain = unique("iso") + ".example"
    domain_id = ok(api.pem.addDomain({"subscription_id": subscription, "domain_name": domain}))[
        "domain_id"
    ]
    login = unique("isou")
    user = add_user(api, subscription, login)
    address = f"{login}@{domain}"
    mailbox = ok(
        api.pem.exchange.addMailbox({"user_id": user, **mailbox_params(address, size_limit=1024)})
    )["mailbox_id"]
    return Estate(
        customer,
        subscription,
        user,
        login,
        domain,
        domain_id,
        mailbox,
        address,
        owner.template_id,
    )


def add_list(api: Any, tenant: Tenant, **extra: Any) -> tuple[int, str]:
    """A distribution list on the tenant's domain (accepting everyone): (id, address)."""
    address = f"{unique('dl')}@{tenant.domain}"
    params = {
        "subscription_id": tenant.subscription_id,
        "alias": address.split("@")[0],
        "display_name": "Team",
        "primary_email_address": address,
        "accept_mail_from": 1,
        **extra,
    }
    return ok(api.pem.exchange.addDistributionList(params))["distribution_list_id"], address


def add_contact(api: Any, tenant: Tenant, **extra: Any) -> tuple[int, str]:
    """A mail contact for an address outside: (id, target address)."""
    target = f"{unique('ext')}@elsewhere.example"
    params = {
        "subscription_id": tenant.subscription_id,
        "alias": unique("c"),
        "display_name": "Someone Outside",
        "target_email_address": target,
        **extra,
    }
    return ok(api.pem.exchange.addContact(params))["mail_contact_id"], target
