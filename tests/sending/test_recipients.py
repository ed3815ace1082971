"""Lists, contacts and forwarding from the mail side: messages sent with smtplib to the
inbound front (pemx's embedded listener, or the private Postfix with the rendered
config) and through submission, read back with IMAP and at the test smarthost."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.sending.conftest import Front
from tests.sending.test_rules import PASSWORD, Box, make_box, message, refused, subjects
from tests.support.builders import (
    RECIPIENT_LIMITS,
    Tenant,
    add_contact,
    add_list,
    make_tenant,
    unique,
)
from tests.support.calls import ok
from tests.support.server import Server
from tests.support.smarthost import FakeSmarthost, Received


@pytest.fixture
def tenant(sending_api: Any) -> Tenant:
    return make_tenant(sending_api, limits=RECIPIENT_LIMITS)


@pytest.fixture(params=["embedded", "postfix"])
def inbound(request: pytest.FixtureRequest, sending_server: Server) -> Front:
    """Where mail from outside comes in: pemx's listener, or Postfix's smtpd."""
    if request.param == "embedded":
        host, port = sending_server.mail("inbound")
        return Front("embedded", host, port, sending_server)
    ports = request.getfixturevalue("postfix_ports")
    return Front("postfix", "127.0.0.1", ports.smtp, sending_server)


def add_members(api: Any, list_id: int, *items: dict[str, int]) -> None:
    ok(
        api.pem.exchange.addDistributionListMembers(
            {"distribution_list_id": list_id, "members": list(items)}
        )
    )


def forward(api: Any, mailbox_id: int, to: str, **extra: bool) -> None:
    ok(api.pem.exchange.enableForwarding({"mailbox_id": mailbox_id, "forward_to": to, **extra}))


def send_in(front: Front, sender: str, to: str, subject: str, extra: str = "") -> None:
    """Mail from outside (no login)."""
    data = extra.encode() + message(sender, to, subject)
    with smtplib.SMTP(front.host, front.port, timeout=20) as smtp:
        smtp.ehlo("outside.test")
        smtp.sendmail(sender, [to], data)


def at_smarthost(
    smarthost: FakeSmarthost, address: str, wanted: int = 1, wait_s: float = 15
) -> list[Received]:
    deadline = time.monotonic() + wait_s
    while True:
        found = [r for r in smarthost.received if address in r.recipients]
        if len(found) >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def settled(check: Callable[[], Any], wait_s: float = 1.5) -> Any:
    """What ``check`` answers after Postfix had time to deliver what it accepted."""
    time.sleep(wait_s)
    return check()


def test_mail_to_a_nested_list_reaches_every_member_once_and_a_contact_outside(
    inbound: Front, sending_api: Any, tenant: Tenant, smarthost: FakeSmarthost
) -> None:
    first, second, third = (make_box(sending_api, tenant) for _ in range(3))
    contact_id, target = add_contact(sending_api, tenant)
    outer_id, outer = add_list(sending_api, tenant)
    inner_id, _ = add_list(sending_api, tenant)
    add_members(
        sending_api, inner_id, {"mailbox_id": second.mailbox_id}, {"mailbox_id": first.mailbox_id}
    )
    add_members(
        sending_api,
        outer_id,
        {"mailbox_id": first.mailbox_id},
        {"distribution_list_id": inner_id},
        {"mail_contact_id": contact_id},
    )
    send_in(inbound, "someone@outside.example", outer, "to the team")
    for box in (first, second):
        assert subjects(inbound.server, box.address, 1) == ["to the team"]
    (copy,) = at_smarthost(smarthost, target)
    assert copy.recipients == [target] and b"Subject: to the team" in copy.data
    assert copy.sender == outer  # sent on by the list: its address, not the outside one
    assert settled(lambda: subjects(inbound.server, first.address)) == ["to the team"]
    assert subjects(inbound.server, third.address) == []
    # the next message follows a change at once: a third member
    add_members(sending_api, inner_id, {"mailbox_id": third.mailbox_id})
    send_in(inbound, "someone@outside.example", outer, "again")
    assert subjects(inbound.server, third.address, 1) == ["again"]


def test_forwarding_with_and_without_a_copy(
    inbound: Front, sending_api: Any, tenant: Tenant, smarthost: FakeSmarthost
) -> None:
    box = make_box(sending_api, tenant)
    target = f"{unique('fwd')}@elsewhere.example"
    forward(sending_api, box.mailbox_id, target, deliver_to_mailbox=True)
    send_in(inbound, "someone@outside.example", box.alternative, "kept and forwarded")
    (copy,) = at_smarthost(smarthost, target)
    assert copy.sender == box.alternative or copy.sender == box.address
    assert subjects(inbound.server, box.address, 1) == ["kept and forwarded"]
    forward(sending_api, box.mailbox_id, target, deliver_to_mailbox=False)
    send_in(inbound, "someone@outside.example", box.address, "forwarded only")
    assert len(at_smarthost(smarthost, target, 2)) == 2
    assert settled(lambda: subjects(inbound.server, box.address)) == ["kept and forwarded"]
    ok(sending_api.pem.exchange.disableForwarding({"mailbox_id": box.mailbox_id}))
    send_in(inbound, "someone@outside.example", box.address, "kept only")
    assert subjects(inbound.server, box.address, 2) == ["kept and forwarded", "kept only"]
    assert len(settled(lambda: at_smarthost(smarthost, target, 3, 0))) == 2


def test_forwarding_to_another_mailbox_of_the_customer(
    inbound: Front, sending_api: Any, tenant: Tenant
) -> None:
    box, other = make_box(sending_api, tenant), make_box(sending_api, tenant)
    forward(sending_api, box.mailbox_id, other.alternative)
    send_in(inbound, "someone@outside.example", box.address, "for the colleague")
    assert subjects(inbound.server, other.address, 1) == ["for the colleague"]
    assert settled(lambda: subjects(inbound.server, box.address)) == []


def test_a_contacts_own_address_and_a_forward_to_a_list(
    inbound: Front, sending_api: Any, tenant: Tenant, smarthost: FakeSmarthost
) -> None:
    contact_id, target = add_contact(sending_api, tenant)
    own = f"{unique('contact')}@{tenant.domain}"
    ok(
        sending_api.pem.exchange.changePrimaryEmailAddress(
            {"mail_contact_id": contact_id, "email_address": own}
        )
    )
    send_in(inbound, "someone@outside.example", own, "for the contact")
    (copy,) = at_smarthost(smarthost, target)
    assert copy.sender == own and b"for the contact" in copy.data
    box, member = make_box(sending_api, tenant), make_box(sending_api, tenant)
    list_id, address = add_list(sending_api, tenant)
    add_members(sending_api, list_id, {"mailbox_id": member.mailbox_id})
    forward(sending_api, box.mailbox_id, address)
    send_in(inbound, "someone@outside.example", box.address, "via the list")
    assert subjects(inbound.server, member.address, 1) == ["via the list"]
    assert settled(lambda: subjects(inbound.server, box.address)) == []


def test_accept_mail_from_refuses_senders_it_should(
    inbound: Front, sending_api: Any, tenant: Tenant, smarthost: FakeSmarthost
) -> None:
    member = make_box(sending_api, tenant)
    contact_id, target = add_contact(sending_api, tenant)
    members_id, members_only = add_list(sending_api, tenant, accept_mail_from=2)
    add_members(
        sending_api, members_id, {"mailbox_id": member.mailbox_id}, {"mail_contact_id": contact_id}
    )
    org_id, org_only = add_list(sending_api, tenant, accept_mail_from=3)
    add_members(sending_api, org_id, {"mailbox_id": member.mailbox_id})
    with smtplib.SMTP(inbound.host, inbound.port, timeout=20) as smtp:
        smtp.ehlo("outside.test")
        for sender, to in (
            ("stranger@outside.example", members_only),
            ("stranger@outside.example", org_only),
            (member.address, org_only),  # a customer's address claimed from outside
            (member.address, members_only),
        ):
            code, text = refused(
                lambda s=sender, t=to: smtp.sendmail(s, [t], b"Subject: x\r\n\r\nx\r\n")
            )
            assert code == 550 and "accepts mail only" in text, (sender, to, code, text)
            smtp.rset()
    # the contact member (outside) may write to the members-only list
    send_in(inbound, target, members_only, "from the contact")
    assert subjects(inbound.server, member.address, 1) == ["from the contact"]


def test_a_loop_through_outside_ends_at_its_second_pass(
    inbound: Front, sending_api: Any, tenant: Tenant, smarthost: FakeSmarthost
) -> None:
    box = make_box(sending_api, tenant)
    target = f"{unique('loop')}@elsewhere.example"
    forward(sending_api, box.mailbox_id, target, deliver_to_mailbox=True)
    send_in(inbound, "someone@outside.example", box.address, "first pass")
    (copy,) = at_smarthost(smarthost, target)
    assert f"X-Pemx-Forwarded: {box.address}".encode() in copy.data
    # the outside address forwards it back: kept in the mailbox, not sent on again
    with smtplib.SMTP(inbound.host, inbound.port, timeout=20) as smtp:
        smtp.sendmail(copy.sender, [box.address], copy.data.replace(b"first pass", b"back"))
    assert subjects(inbound.server, box.address, 2) == ["first pass", "back"]
    assert len(at_smarthost(smarthost, target, 2, 1)) == 1
    if inbound.name == "embedded":  # (Postfix has accepted it by then: it bounces)
        many = "".join(f"X-Pemx-Forwarded: x{i}@elsewhere.example\r\n" for i in range(11))
        code, text = refused(lambda: send_in(inbound, "a@outside.example", box.address, "x", many))
        assert code == 554 and "loop" in text


def test_a_mailbox_sends_to_its_list_through_submission(
    front: Front, sending_api: Any, tenant: Tenant, smarthost: FakeSmarthost
) -> None:
    sender, member = make_box(sending_api, tenant), make_box(sending_api, tenant)
    contact_id, target = add_contact(sending_api, tenant)
    list_id, address = add_list(sending_api, tenant, accept_mail_from=3)
    add_members(
        sending_api, list_id, {"mailbox_id": member.mailbox_id}, {"mail_contact_id": contact_id}
    )
    with front.login(sender.address, PASSWORD) as smtp:
        smtp.sendmail(sender.address, [address], message(sender.address, address, "team news"))
    assert subjects(front.server, member.address, 1) == ["team news"]
    assert len(at_smarthost(smarthost, target)) == 1
    # another customer's mailbox is not the organization
    stranger = make_box(sending_api, make_tenant(sending_api, limits=RECIPIENT_LIMITS))
    with front.login(stranger.address, PASSWORD) as smtp:
        code, text = refused(
            lambda: smtp.sendmail(
                stranger.address, [address], message(stranger.address, address, "x")
            )
        )
    assert code == 550 and "accepts mail only" in text


__all__ = ["Box"]
