"""Billing after activation over HTTP, each effect proved from the mail side: suspension
refuses logins and closes sessions while delivery goes on, resuming restores exactly the
state before, termination frees everything at once and deletes the stored mail."""

from __future__ import annotations

import imaplib
import poplib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import (
    Tenant,
    mailbox_params,
    make_estate,
    make_reseller_with_pool,
    make_tenant,
    new_user_mailbox,
    resources,
    subscribe,
    unique,
)
from tests.support.calls import err, eventually, ok
from tests.support.errors import (
    INVALID_ARGUMENTS,
    OBJECT_NOT_FOUND,
    PERMISSION_DENIED,
    SUBSCRIPTION_DISABLED,
)
from tests.support.mailclient import (
    imap_login,
    imap_login_refused,
    inbox_subjects,
    lmtp_deliver,
    pop3_login,
)
from tests.support.server import Server

PASSWORD = "Billing-Pass-1"
ESTATE_PASSWORD = "User-Pass-1"  # make_estate's users
MAILBOXES, STORAGE, USERS, DOMAINS = 1, 2, 3, 4


def imap_refused(server: Server, login: str, password: str = PASSWORD) -> bool:
    return imap_login_refused(*server.mail("imap"), login, password)


def pop3_refused(server: Server, login: str) -> bool:
    try:
        pop3_login(*server.mail("pop3"), login, PASSWORD).quit()
    except poplib.error_proto:
        return True
    return False


def session_closed(imap: imaplib.IMAP4) -> bool:
    try:
        typ, _ = imap.noop()
    except (imaplib.IMAP4.abort, OSError):
        return True
    return typ != "OK"


def switches(api: Any, mailbox_id: int) -> dict[str, bool]:
    """A mailbox's own on/off settings (protocols and the like), as getMailboxInfo has them."""
    info = ok(api.pem.exchange.getMailboxInfo({"mailbox_id": mailbox_id}))
    return {key: value for key, value in info.items() if isinstance(value, bool)}


@pytest.fixture
def tenant(provider: Any) -> Tenant:
    return make_tenant(provider)


def test_suspension_refuses_logins_closes_sessions_and_keeps_delivering(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    both_id, _, both, both_address = new_user_mailbox(provider, tenant, PASSWORD, "bill")
    # This one had POP3 switched off on its own before the suspension: it stays off after.
    imap_only_id, _, imap_only, _ = new_user_mailbox(provider, tenant, PASSWORD, "bill")
    ok(provider.pem.exchange.modifyMailbox({"mailbox_id": imap_only_id, "pop3": False}))
    before = [switches(provider, i) for i in (both_id, imap_only_id)]
    assert before[1]["pop3"] is False and before[0]["pop3"] is True
    session = imap_login(*server.mail("imap"), both, PASSWORD)
    assert session.noop()[0] == "OK"

    ok(provider.pem.disableSubscription({"subscription_id": tenant.subscription_id}))
    assert imap_refused(server, both) and pop3_refused(server, both)
    assert imap_refused(server, imap_only)
    eventually(lambda: session_closed(session), what="the open IMAP session closed")
    code = lmtp_deliver(*server.mail("lmtp"), both_address, "while suspended")[0]
    assert code == 250, code  # nothing is lost while the customer pays
    got = ok(provider.pem.getSubscription({"subscription_id": tenant.subscription_id}))
    assert got["is_active"] is False
    err(provider.pem.disableSubscription({"subscription_id": tenant.subscription_id}),
        INVALID_ARGUMENTS)  # fmt: skip
    err(
        provider.pem.exchange.addMailbox(
            {
                "new_user": {
                    "subscription_id": tenant.subscription_id,
                    "login": unique("bill"),
                    "password": PASSWORD,
                },
                **mailbox_params(f"{unique('bill')}@{tenant.domain}"),
            }
        ),
        SUBSCRIPTION_DISABLED,
    )

    ok(provider.pem.enableSubscription({"subscription_id": tenant.subscription_id}))
    imap = imap_login(*server.mail("imap"), both, PASSWORD)
    assert "while suspended" in inbox_subjects(imap)
    imap.logout()
    pop3_login(*server.mail("pop3"), both, PASSWORD).quit()
    assert not imap_refused(server, imap_only) and pop3_refused(server, imap_only)
    assert [switches(provider, i) for i in (both_id, imap_only_id)] == before
    err(provider.pem.enableSubscription({"subscription_id": tenant.subscription_id}),
        INVALID_ARGUMENTS)  # fmt: skip


def test_termination_frees_everything_at_once_and_deletes_the_mail(
    server: Server, provider: Any
) -> None:
    reseller = make_reseller_with_pool(provider, server)
    estate = make_estate(reseller)
    home = Path(server.runtime["mail_root"]) / str(estate.mailbox_id)
    assert lmtp_deliver(*server.mail("lmtp"), estate.mailbox_address, "kept?")[0] == 250
    eventually(home.is_dir, what="the mailbox's home")
    pool_before = resources(provider, reseller.pool_subscription_id)
    assert pool_before[MAILBOXES]["usage"] == 1 and pool_before[DOMAINS]["usage"] == 1

    ok(reseller.api.pem.removeSubscription({"subscription_id": estate.subscription_id}))
    pool = resources(provider, reseller.pool_subscription_id)
    for resource in (MAILBOXES, USERS, DOMAINS):
        assert pool[resource]["usage"] == 0, (resource, pool[resource])
    assert imap_refused(server, estate.user_login, ESTATE_PASSWORD)
    assert lmtp_deliver(*server.mail("lmtp"), estate.mailbox_address, "after")[0] >= 500
    for response in (
        provider.pem.getSubscription({"subscription_id": estate.subscription_id}),
        provider.pem.getUserInfo({"user_id": estate.user_id}),
        provider.pem.exchange.getMailboxInfo({"mailbox_id": estate.mailbox_id}),
        provider.pem.removeSubscription({"subscription_id": estate.subscription_id}),
    ):
        err(response, OBJECT_NOT_FOUND)
    eventually(lambda: not home.exists(), what="the stored mail deleted")
    # The domain and the login are free again, for anyone.
    other = subscribe(reseller.api, estate.customer_id, reseller.template_id)
    ok(reseller.api.pem.addDomain({"subscription_id": other, "domain_name": estate.domain}))


def test_account_suspension_cascades_to_a_resellers_customers(
    server: Server, provider: Any
) -> None:
    reseller = make_reseller_with_pool(provider, server)
    estate = make_estate(reseller)
    own = make_estate(reseller)  # suspended on its own before: stays suspended
    ok(reseller.api.pem.disableSubscription({"subscription_id": own.subscription_id}))
    session = imap_login(*server.mail("imap"), estate.user_login, ESTATE_PASSWORD)

    ok(provider.pem.disableAccount({"account_id": reseller.account_id}))
    assert imap_refused(server, estate.user_login, ESTATE_PASSWORD)
    eventually(lambda: session_closed(session), what="the customer's session closed")
    assert lmtp_deliver(*server.mail("lmtp"), estate.mailbox_address, "held")[0] == 250
    err(provider.pem.disableAccount({"account_id": reseller.account_id}), INVALID_ARGUMENTS)

    ok(provider.pem.enableAccount({"account_id": reseller.account_id}))
    assert not imap_refused(server, estate.user_login, ESTATE_PASSWORD)
    assert imap_refused(server, own.user_login, ESTATE_PASSWORD)
    err(provider.pem.enableAccount({"account_id": reseller.account_id}), INVALID_ARGUMENTS)

    # A customer's own account, suspended by its reseller.
    ok(reseller.api.pem.disableAccount({"account_id": estate.customer_id}))
    assert imap_refused(server, estate.user_login, ESTATE_PASSWORD)
    ok(reseller.api.pem.enableAccount({"account_id": estate.customer_id}))
    assert not imap_refused(server, estate.user_login, ESTATE_PASSWORD)


def test_only_the_biller_suspends_and_foreign_ids_are_missing(
    server: Server, provider: Any
) -> None:
    reseller = make_reseller_with_pool(provider, server)
    other = make_reseller_with_pool(provider, server)
    estate = make_estate(reseller)
    for call in (
        other.api.pem.disableSubscription,
        other.api.pem.enableSubscription,
        other.api.pem.removeSubscription,
    ):
        err(call({"subscription_id": estate.subscription_id}), OBJECT_NOT_FOUND)
    for call in (other.api.pem.disableAccount, other.api.pem.enableAccount):
        err(call({"account_id": estate.customer_id}), OBJECT_NOT_FOUND)
    # A reseller cannot suspend itself, nor its own pool.
    err(reseller.api.pem.disableAccount({"account_id": reseller.account_id}), PERMISSION_DENIED)
    err(
        reseller.api.pem.disableSubscription({"subscription_id": reseller.pool_subscription_id}),
        PERMISSION_DENIED,
    )
    # A pool that customers' subscriptions draw on is not terminated under them.
    err(
        provider.pem.removeSubscription({"subscription_id": reseller.pool_subscription_id}),
        INVALID_ARGUMENTS,
    )
    assert not imap_refused(server, estate.user_login, ESTATE_PASSWORD)


def test_a_suspension_racing_with_add_mailbox_leaves_no_mailbox_able_to_log_in(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    def add(_: int) -> str | None:
        login = unique("race")
        answer = server.proxy().pem.exchange.addMailbox(  # one proxy per thread
            {
                "new_user": {
                    "subscription_id": tenant.subscription_id,
                    "login": login,
                    "password": PASSWORD,
                },
                **mailbox_params(f"{login}@{tenant.domain}"),
            }
        )
        return login if answer["status"] == 0 else None

    def suspend(_: int) -> None:
        ok(server.proxy().pem.disableSubscription({"subscription_id": tenant.subscription_id}))

    with ThreadPoolExecutor(6) as pool:
        added = [pool.submit(add, i) for i in range(10)]
        suspended = pool.submit(suspend, 0)
        logins = [login for future in added if (login := future.result()) is not None]
        suspended.result()
    # However the race went, every mailbox that exists (created before the suspension
    # committed; the later ones were refused) is unable to log in.
    listed = ok(provider.pem.exchange.getMailboxes({"subscription_id": tenant.subscription_id}))
    assert len(listed) == len(logins)
    for login in logins:
        assert imap_refused(server, login), login


def test_remove_account_needs_force_while_it_has_subscriptions(
    server: Server, provider: Any
) -> None:
    reseller = make_reseller_with_pool(provider, server)
    estate = make_estate(reseller)
    refused = err(reseller.api.pem.removeAccount({"account_id": estate.customer_id}),
                  INVALID_ARGUMENTS)  # fmt: skip
    assert refused["properties"]["field"] == "force"
    err(provider.pem.removeAccount({"account_id": reseller.account_id}), INVALID_ARGUMENTS)
    ok(reseller.api.pem.removeAccount({"account_id": estate.customer_id, "force": True}))
    for response in (
        provider.pem.getAccountInfo({"account_id": estate.customer_id}),
        provider.pem.getSubscription({"subscription_id": estate.subscription_id}),
        provider.pem.exchange.getMailboxInfo({"mailbox_id": estate.mailbox_id}),
    ):
        err(response, OBJECT_NOT_FOUND)
    assert resources(provider, reseller.pool_subscription_id)[MAILBOXES]["usage"] == 0
    assert imap_refused(server, estate.user_login, ESTATE_PASSWORD)
    # The reseller, without customers now, can go too.
    ok(provider.pem.removeAccount({"account_id": reseller.account_id, "force": True}))
    err(provider.pem.getAccountInfo({"account_id": reseller.account_id}), OBJECT_NOT_FOUND)


def test_set_account_info_changes_the_parts_given(provider: Any, server: Server) -> None:
    reseller = make_reseller_with_pool(provider, server)
    estate = make_estate(reseller)
    api = reseller.api
    ok(api.pem.setAccountInfo({
        "account_id": estate.customer_id,
        "person": {"first_name": "New", "last_name": "Name", "company_name": "NewCo"},
        "phone": {"country_code": "1", "area_code": "555", "phone_num": "0100"},
    }))  # fmt: skip
    got = ok(api.pem.getAccountInfo({"account_id": estate.customer_id}))
    assert got["company_name"] == "NewCo" and got["person"]["first_name"] == "New"
    assert got["phone"]["phone_num"] == "0100"
    ok(api.pem.setAccountInfo({"account_id": estate.customer_id, "email": "billing@x.example"}))
    got = ok(api.pem.getAccountInfo({"account_id": estate.customer_id}))
    assert got["email"] == "billing@x.example" and got["company_name"] == "NewCo"
    other = make_reseller_with_pool(provider, server)
    err(other.api.pem.setAccountInfo({"account_id": estate.customer_id, "email": "x@y.example"}),
        OBJECT_NOT_FOUND)  # fmt: skip
