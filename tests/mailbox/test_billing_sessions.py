"""Suspension and open sessions, from the mail side: an open POP3 session of a suspended
subscription is closed (as IMAP's are, tests/mailbox/test_billing.py), a mailbox is
refused while its account is suspended (as while its subscription is) and made once the
account is resumed, and mail keeps arriving throughout."""

from __future__ import annotations

import poplib
from typing import Any

from tests.support.builders import mailbox_params, make_tenant, new_user_mailbox, unique
from tests.support.calls import err, eventually, ok
from tests.support.errors import SUBSCRIPTION_DISABLED
from tests.support.mailclient import imap_login_refused, lmtp_deliver, pop3_login
from tests.support.server import Server

PASSWORD = "Session-Pass-1"


def pop3_closed(session: poplib.POP3) -> bool:
    try:
        session.noop()
    except (poplib.error_proto, OSError):
        return True
    return False


def imap_refused(server: Server, login: str) -> bool:
    return imap_login_refused(*server.mail("imap"), login, PASSWORD)


def test_a_suspended_subscriptions_open_pop3_session_is_closed(
    server: Server, provider: Any
) -> None:
    tenant = make_tenant(provider)
    _, _, login, address = new_user_mailbox(provider, tenant, PASSWORD, "pops")
    session = pop3_login(*server.mail("pop3"), login, PASSWORD)
    assert session.stat()[0] == 0
    ok(provider.pem.disableSubscription({"subscription_id": tenant.subscription_id}))
    eventually(lambda: pop3_closed(session), what="the open POP3 session closed")
    assert lmtp_deliver(*server.mail("lmtp"), address, "while suspended")[0] == 250
    ok(provider.pem.enableSubscription({"subscription_id": tenant.subscription_id}))
    resumed = pop3_login(*server.mail("pop3"), login, PASSWORD)
    assert resumed.stat()[0] == 1  # the message delivered meanwhile
    resumed.quit()


def test_a_mailbox_is_refused_under_a_suspended_account_and_made_once_it_is_resumed(
    server: Server, provider: Any
) -> None:
    tenant = make_tenant(provider)
    ok(provider.pem.disableAccount({"account_id": tenant.customer_id}))
    login = unique("late")
    refused = provider.pem.exchange.addMailbox(
        {
            "new_user": {
                "subscription_id": tenant.subscription_id,
                "login": login,
                "password": PASSWORD,
            },
            **mailbox_params(f"{login}@{tenant.domain}"),
        }
    )
    err(refused, SUBSCRIPTION_DISABLED)  # as under a suspended subscription
    sid = {"subscription_id": tenant.subscription_id}
    assert ok(provider.pem.exchange.getMailboxes(sid)) == []
    assert ok(provider.pem.getUsers(sid)) == []  # nor its user
    assert imap_refused(server, login)
    ok(provider.pem.enableAccount({"account_id": tenant.customer_id}))
    _, _, login, address = new_user_mailbox(provider, tenant, PASSWORD, "late")
    assert lmtp_deliver(*server.mail("lmtp"), address, "first mail")[0] == 250
    assert not imap_refused(server, login)
