"""Provisioning under a suspended account, over HTTP on both databases: a suspended
account, or a customer of a suspended reseller, refuses every call that creates or
switches on something under it with the code a suspended subscription answers
(SUBSCRIPTION_DISABLED), and nothing changes; reads, removals, password changes and
termination stay open to the billing system; once resumed, the same calls succeed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.builders import (
    DOMAINS,
    MAILBOXES,
    STORAGE,
    USERS,
    Reseller,
    Tenant,
    add_user,
    mailbox_params,
    make_reseller_with_pool,
    make_tenant,
    new_user_mailbox,
    unique,
)
from tests.support.calls import err, eventually, ok
from tests.support.errors import SUBSCRIPTION_DISABLED
from tests.support.server import Server

PASSWORD = "Suspend-Pass-1"
RESOURCES, LISTS, CONTACTS = 5, 6, 7
LIMITS = {MAILBOXES: 20, STORAGE: -1, USERS: 20, DOMAINS: 5, RESOURCES: 5, LISTS: 5, CONTACTS: 5}


@dataclass
class Setup:
    reseller: Reseller
    tenant: Tenant
    mailbox_id: int
    address: str
    user_id: int  # a user without a mailbox, disabled before the suspension
    list_id: int
    suspended: int  # the account suspended: the customer or its reseller


def make_setup(provider: Any, server: Server, suspended: str) -> Setup:
    reseller = make_reseller_with_pool(provider, server, pool=LIMITS, template=LIMITS)
    tenant = make_tenant(reseller.api, parent_account_id=reseller.account_id,
                         template_id=reseller.template_id)  # fmt: skip
    mailbox_id, _, _, address = new_user_mailbox(provider, tenant, PASSWORD, "sus", pop3=False)
    user_id = add_user(provider, tenant.subscription_id)
    ok(provider.pem.disableUser({"user_id": user_id}))
    list_address = f"{unique('dl')}@{tenant.domain}"
    list_id = ok(provider.pem.exchange.addDistributionList({
        "subscription_id": tenant.subscription_id, "alias": list_address.split("@")[0],
        "display_name": "Team", "primary_email_address": list_address, "accept_mail_from": 1,
    }))["distribution_list_id"]  # fmt: skip
    account = tenant.customer_id if suspended == "customer" else reseller.account_id
    return Setup(reseller, tenant, mailbox_id, address, user_id, list_id, account)


def settled(api: Any, s: Setup) -> None:
    """The outbox's work on the mailbox done (status READY), so it changes no more."""
    eventually(
        lambda: ok(api.pem.exchange.getMailboxInfo({"mailbox_id": s.mailbox_id}))["status"] == 0,
        what="the mailbox's pending work done",
    )


Call = Callable[[Any, Setup], dict[str, Any]]

# Every call that creates or switches on something under the account.
PROVISIONING: dict[str, Call] = {
    "pem.exchange.addMailbox": lambda api, s: api.pem.exchange.addMailbox(
        {
            "new_user": {
                "subscription_id": s.tenant.subscription_id,
                "login": unique("nm"),
                "password": PASSWORD,
            },
            **mailbox_params(f"{unique('nm')}@{s.tenant.domain}"),
        }
    ),
    "pem.exchange.addMailbox (user_id)": lambda api, s: api.pem.exchange.addMailbox(
        {"user_id": s.user_id, **mailbox_params(f"{unique('nu')}@{s.tenant.domain}")}
    ),
    "pem.exchange.addResourceMailbox": lambda api, s: api.pem.exchange.addResourceMailbox(
        {
            "subscription_id": s.tenant.subscription_id,
            "display_name": "Room",
            "type": 0,
            "alias": (name := unique("room")),
            "primary_email_address": f"{name}@{s.tenant.domain}",
            "size_limit": 10_240,
        }
    ),
    "pem.exchange.addEmailAddresses": lambda api, s: api.pem.exchange.addEmailAddresses(
        {"mailbox_id": s.mailbox_id, "emails": [f"{unique('al')}@{s.tenant.domain}"]}
    ),
    "pem.exchange.changePrimaryEmailAddress (new address)": lambda api, s: (
        api.pem.exchange.changePrimaryEmailAddress(
            {"mailbox_id": s.mailbox_id, "email_address": f"{unique('pr')}@{s.tenant.domain}"}
        )
    ),
    "pem.exchange.enableForwarding": lambda api, s: api.pem.exchange.enableForwarding(
        {"mailbox_id": s.mailbox_id, "forward_to": "someone@elsewhere.example"}
    ),
    "pem.exchange.modifyMailbox (pop3 on)": lambda api, s: api.pem.exchange.modifyMailbox(
        {"mailbox_id": s.mailbox_id, "pop3": True}
    ),
    "pem.exchange.addDistributionList": lambda api, s: api.pem.exchange.addDistributionList(
        {
            "subscription_id": s.tenant.subscription_id,
            "alias": (name := unique("dl")),
            "display_name": "Team",
            "primary_email_address": f"{name}@{s.tenant.domain}",
            "accept_mail_from": 1,
        }
    ),
    "pem.exchange.addDistributionListMembers": lambda api, s: (
        api.pem.exchange.addDistributionListMembers(
            {"distribution_list_id": s.list_id, "members": [{"mailbox_id": s.mailbox_id}]}
        )
    ),
    "pem.exchange.modifyDistributionList (new address)": lambda api, s: (
        api.pem.exchange.modifyDistributionList(
            {
                "distribution_list_id": s.list_id,
                "additional_emails": [f"{unique('la')}@{s.tenant.domain}"],
            }
        )
    ),
    "pem.exchange.changePrimaryEmailAddress (list, new address)": lambda api, s: (
        api.pem.exchange.changePrimaryEmailAddress(
            {
                "distribution_list_id": s.list_id,
                "email_address": f"{unique('lp')}@{s.tenant.domain}",
            }
        )
    ),
    "pem.exchange.addContact": lambda api, s: api.pem.exchange.addContact(
        {
            "subscription_id": s.tenant.subscription_id,
            "alias": unique("c"),
            "display_name": "Outside",
            "target_email_address": "out@elsewhere.example",
        }
    ),
    "pem.addUser": lambda api, s: api.pem.addUser(
        {"subscription_id": s.tenant.subscription_id, "login": unique("u"), "password": PASSWORD}
    ),
    "pem.enableUser": lambda api, s: api.pem.enableUser({"user_id": s.user_id}),
    "pem.addDomain": lambda api, s: api.pem.addDomain(
        {"subscription_id": s.tenant.subscription_id, "domain_name": unique("nd") + ".example"}
    ),
    "pem.addDomainToAccount": lambda api, s: api.pem.addDomainToAccount(
        {"account_id": s.tenant.customer_id, "domain_name": unique("na") + ".example"}
    ),
    "pem.activateSubscription": lambda api, s: api.pem.activateSubscription(
        {"account_id": s.tenant.customer_id, "service_template_id": s.reseller.template_id}
    ),
}


def state(api: Any, s: Setup) -> dict[str, Any]:
    """What the provisioning calls would change, read back."""
    sid = s.tenant.subscription_id
    return {
        "mailboxes": ok(api.pem.exchange.getMailboxes({"subscription_id": sid})),
        "resources": ok(api.pem.exchange.getResourceMailboxes({"subscription_id": sid})),
        "mailbox": ok(api.pem.exchange.getMailboxInfo({"mailbox_id": s.mailbox_id})),
        "addresses": ok(api.pem.exchange.getEmailAddresses({"mailbox_id": s.mailbox_id})),
        "lists": ok(api.pem.exchange.getDistributionLists({"subscription_id": sid})),
        "list": ok(api.pem.exchange.getDistributionList({"distribution_list_id": s.list_id})),
        "contacts": ok(api.pem.exchange.getContacts({"subscription_id": sid})),
        "users": ok(api.pem.getUsers({"subscription_id": sid})),
        "user": ok(api.pem.getUserInfo({"user_id": s.user_id})),
        "domains": ok(api.pem.getAccountDomains({"account_id": s.tenant.customer_id})),
        "subscriptions": ok(api.pem.getAccountSubscriptions({"account_id": s.tenant.customer_id})),
    }


@pytest.mark.parametrize("suspended", ["customer", "reseller"])
def test_a_suspended_account_refuses_provisioning_and_changes_nothing(
    server: Server, provider: Any, suspended: str
) -> None:
    s = make_setup(provider, server, suspended)
    ok(provider.pem.disableAccount({"account_id": s.suspended}))
    settled(provider, s)  # the suspension closed its sessions
    before = state(provider, s)
    for name, call in PROVISIONING.items():
        refused = err(call(provider, s), SUBSCRIPTION_DISABLED)
        assert str(s.suspended) in refused["error_message"], (name, refused)
    assert state(provider, s) == before
    if suspended == "customer":  # the reseller's staff are refused alike
        err(PROVISIONING["pem.addUser"](s.reseller.api, s), SUBSCRIPTION_DISABLED)
    else:  # and no new customer is placed under a suspended reseller
        err(provider.pem.addAccount({"account_type": "C", "parent_account_id": s.suspended,
                                     "person": {"first_name": "A", "last_name": "B"}}),
            SUBSCRIPTION_DISABLED)  # fmt: skip

    ok(provider.pem.enableAccount({"account_id": s.suspended}))
    for name, call in PROVISIONING.items():
        assert call(provider, s)["status"] == 0, name


@pytest.mark.parametrize("suspended", ["customer", "reseller"])
def test_reads_removals_and_passwords_stay_open_under_a_suspended_account(
    server: Server, provider: Any, suspended: str
) -> None:
    s = make_setup(provider, server, suspended)
    alias = f"{unique('keep')}@{s.tenant.domain}"
    ok(provider.pem.exchange.addEmailAddresses({"mailbox_id": s.mailbox_id, "emails": [alias]}))
    ok(provider.pem.disableAccount({"account_id": s.suspended}))
    state(provider, s)  # every read answers
    mailbox_user = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": s.mailbox_id}))
    ok(provider.pem.changeUserPassword({"user_id": mailbox_user["user_id"],
                                        "password": "Changed-Pass-2"}))  # fmt: skip
    ok(provider.pem.exchange.modifyMailbox({"mailbox_id": s.mailbox_id, "imap4": False,
                                            "size_limit": 2048}))  # fmt: skip
    ok(provider.pem.exchange.removeEmailAddresses({"mailbox_id": s.mailbox_id, "emails": [alias]}))
    ok(provider.pem.exchange.disableForwarding({"mailbox_id": s.mailbox_id}))
    ok(provider.pem.exchange.removeDistributionList({"distribution_list_id": s.list_id}))
    ok(provider.pem.disableUser({"user_id": mailbox_user["user_id"]}))
    ok(provider.pem.exchange.removeMailbox({"mailbox_id": s.mailbox_id}))
    ok(provider.pem.removeUser({"user_id": s.user_id}))
    # The billing system terminates a suspended account's subscription.
    ok(provider.pem.removeSubscription({"subscription_id": s.tenant.subscription_id}))
    if suspended == "customer":
        ok(provider.pem.removeAccount({"account_id": s.tenant.customer_id}))
