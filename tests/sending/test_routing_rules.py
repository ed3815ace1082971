"""Lists nested in lists refusing a sender, delivery status notifications for copies that
fail after the 250, and every kind of change applying to the next message, from the mail
side: smtplib to the inbound front (pemx's listener, or the private Postfix with the
rendered config) and through submission, read back with IMAP and at the test smarthost."""

from __future__ import annotations

import email
import smtplib
import time
from email.message import Message
from typing import Any

from tests.sending import test_recipients as recipients
from tests.sending.conftest import Front
from tests.sending.test_recipients import (
    add_members,
    at_smarthost,
    forward,
    send_in,
    settled,
)
from tests.sending.test_rules import PASSWORD, make_box, message, subjects
from tests.support.builders import Tenant, add_contact, add_list, unique
from tests.support.calls import ok
from tests.support.smarthost import FakeSmarthost, Received

UNDELIVERED = "Undelivered Mail Returned to Sender"
# the fixtures of test_recipients: the tenant with list and contact limits, and where mail
# from outside comes in (pemx's listener, the rendered Postfix)
tenant = recipients.tenant
inbound = recipients.inbound


def statuses(report: bytes) -> dict[str, str]:
    """An RFC 3464 report's recipients and their Status (it must be one)."""
    parsed = email.message_from_bytes(report)
    assert parsed.get_content_type() == "multipart/report"
    assert parsed.get_param("report-type") == "delivery-status"
    (part,) = [p for p in parsed.walk() if p.get_content_type() == "message/delivery-status"]
    blocks: list[Message] = part.get_payload()  # type: ignore[assignment]
    assert blocks[0]["Reporting-MTA"].startswith("dns; ")
    found = {}
    for block in blocks[1:]:
        assert block["Action"] == "failed"
        found[block["Final-Recipient"].removeprefix("rfc822; ")] = block["Status"]
    return found


def reports_to(smarthost: FakeSmarthost, address: str, wanted: int = 1) -> list[Received]:
    """The DSNs the smarthost took for ``address`` (with the null sender)."""
    deadline = time.monotonic() + 15
    while True:
        found = [
            r for r in smarthost.received if address in r.recipients and r.sender in ("", "<>")
        ]
        if len(found) >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def nested_lists(api: Any, tenant: Tenant) -> tuple[Any, ...]:
    """An open list of: a mailbox, a members-only list (a mailbox and a contact), an
    organization-only list (a mailbox)."""
    first, second, third = (make_box(api, tenant) for _ in range(3))
    contact_id, target = add_contact(api, tenant)
    members_id, members_only = add_list(api, tenant, accept_mail_from=2)
    add_members(api, members_id, {"mailbox_id": second.mailbox_id}, {"mail_contact_id": contact_id})
    org_id, org_only = add_list(api, tenant, accept_mail_from=3)
    add_members(api, org_id, {"mailbox_id": third.mailbox_id})
    open_id, open_list = add_list(api, tenant, accept_mail_from=1)
    add_members(
        api,
        open_id,
        {"mailbox_id": first.mailbox_id},
        {"distribution_list_id": members_id},
        {"distribution_list_id": org_id},
    )
    return first, second, third, target, members_only, org_only, open_list


def test_a_nested_list_that_refuses_an_outside_sender_is_not_expanded(
    inbound: Front, sending_api: Any, tenant: Tenant, smarthost: FakeSmarthost
) -> None:
    first, second, third, target, members_only, org_only, open_list = nested_lists(
        sending_api, tenant
    )
    stranger = f"{unique('stranger')}@outside.example"
    send_in(inbound, stranger, open_list, "to everyone")
    assert subjects(inbound.server, first.address, 1) == ["to everyone"]
    (report,) = reports_to(smarthost, stranger)
    assert statuses(report.data) == {members_only: "5.7.1", org_only: "5.7.1"}
    assert b"accepts mail only" in report.data and b"Subject: to everyone" in report.data
    assert settled(lambda: subjects(inbound.server, second.address)) == []
    assert subjects(inbound.server, third.address) == []
    assert at_smarthost(smarthost, target, 1, 0) == []
    # the contact is a member of the members-only list: it expands for it
    send_in(inbound, target, open_list, "from a member")
    assert subjects(inbound.server, second.address, 1) == ["from a member"]
    assert subjects(inbound.server, first.address, 2) == ["to everyone", "from a member"]
    (report,) = reports_to(smarthost, target)
    assert statuses(report.data) == {org_only: "5.7.1"}
    assert settled(lambda: subjects(inbound.server, third.address)) == []


def test_a_nested_list_judges_the_mailbox_that_logged_in(
    front: Front, sending_api: Any, tenant: Tenant
) -> None:
    first, second, third, _, members_only, org_only, open_list = nested_lists(sending_api, tenant)
    colleague = make_box(sending_api, tenant)
    with front.login(colleague.address, PASSWORD) as smtp:
        data = message(colleague.address, open_list, "from a colleague")
        smtp.sendmail(colleague.address, [open_list], data)
    assert subjects(front.server, first.address, 1) == ["from a colleague"]
    assert subjects(front.server, third.address, 1) == ["from a colleague"]  # the organization
    assert subjects(front.server, colleague.address, 1) == [UNDELIVERED]  # not a member
    assert subjects(front.server, second.address) == []
    with front.login(second.address, PASSWORD) as smtp:  # a member of both
        smtp.sendmail(second.address, [open_list], message(second.address, open_list, "member"))
    assert subjects(front.server, second.address, 1) == ["member"]
    assert subjects(front.server, third.address, 2) == ["from a colleague", "member"]
    assert settled(lambda: subjects(front.server, second.address)) == ["member"]  # once
    assert subjects(front.server, colleague.address) == [UNDELIVERED]
    del members_only, org_only


def test_a_refused_outside_copy_is_reported_to_the_sender_never_to_the_list(
    inbound: Front, sending_api: Any, tenant: Tenant, smarthost: FakeSmarthost
) -> None:
    member = make_box(sending_api, tenant)
    (taken_id, taken), (refusing_id, refusing) = (add_contact(sending_api, tenant) for _ in "12")
    smarthost.refuse(refusing)
    list_id, address = add_list(sending_api, tenant)
    add_members(
        sending_api,
        list_id,
        {"mailbox_id": member.mailbox_id},
        {"mail_contact_id": taken_id},
        {"mail_contact_id": refusing_id},
    )
    sender = f"{unique('writer')}@outside.example"
    send_in(inbound, sender, address, "partly delivered")
    assert subjects(inbound.server, member.address, 1) == ["partly delivered"]
    assert len(at_smarthost(smarthost, taken)) == 1
    (report,) = reports_to(smarthost, sender)
    assert statuses(report.data) == {refusing: "5.1.1"}
    assert b"Message-ID: <" in report.data and b"Subject: partly delivered" in report.data
    assert at_smarthost(smarthost, address, 1, 0) == []  # never to the list's address
    # the null sender gets no report (a bounce is never bounced)
    with smtplib.SMTP(inbound.host, inbound.port, timeout=20) as smtp:
        smtp.sendmail("", [address], message("MAILER-DAEMON@outside.example", address, "bounce"))
    assert subjects(inbound.server, member.address, 2) == ["partly delivered", "bounce"]
    assert len(at_smarthost(smarthost, taken, 2)) == 2
    assert settled(lambda: subjects(inbound.server, member.address)) == [
        "partly delivered",
        "bounce",
    ]
    assert len(reports_to(smarthost, sender, 2)) == 1


def test_a_failed_forward_is_reported_to_the_forwarding_mailbox_once(
    inbound: Front, sending_api: Any, tenant: Tenant, smarthost: FakeSmarthost
) -> None:
    box = make_box(sending_api, tenant)
    target = f"{unique('gone')}@elsewhere.example"
    smarthost.refuse(target)
    forward(sending_api, box.mailbox_id, target, deliver_to_mailbox=True)
    sender = f"{unique('writer')}@outside.example"
    send_in(inbound, sender, box.address, "kept, not forwarded")
    assert subjects(inbound.server, box.address, 2) == ["kept, not forwarded", UNDELIVERED]
    assert settled(lambda: subjects(inbound.server, box.address)) == [
        "kept, not forwarded",
        UNDELIVERED,
    ]  # the report is not forwarded (nor reported on)
    assert at_smarthost(smarthost, target, 1, 0) == []
    assert at_smarthost(smarthost, sender, 1, 0) == []  # the mailbox sent it on, not the sender


def test_every_change_applies_to_the_next_message(
    inbound: Front, sending_api: Any, tenant: Tenant, smarthost: FakeSmarthost
) -> None:
    api = sending_api.pem.exchange
    first, second = make_box(sending_api, tenant), make_box(sending_api, tenant)
    contact_id, target = add_contact(sending_api, tenant)
    list_id, address = add_list(sending_api, tenant)
    add_members(
        sending_api,
        list_id,
        {"mailbox_id": first.mailbox_id},
        {"mailbox_id": second.mailbox_id},
        {"mail_contact_id": contact_id},
    )
    outside = "someone@outside.example"
    send_in(inbound, outside, address, "one")
    assert subjects(inbound.server, second.address, 1) == ["one"]
    # a member removed
    ok(
        api.removeDistributionListMembers(
            {"distribution_list_id": list_id, "members": [{"mailbox_id": second.mailbox_id}]}
        )
    )
    send_in(inbound, outside, address, "two")
    assert subjects(inbound.server, first.address, 2) == ["one", "two"]
    # the contact's target changed
    new_target = f"{unique('moved')}@elsewhere.example"
    ok(api.modifyContact({"mail_contact_id": contact_id, "target_email_address": new_target}))
    send_in(inbound, outside, address, "three")
    assert len(at_smarthost(smarthost, new_target)) == 1
    assert len(at_smarthost(smarthost, target, 3, 0)) == 2  # "one", "two"
    # the list's primary address changed: the new one takes mail at once
    renamed = f"{unique('renamed')}@{tenant.domain}"
    ok(api.changePrimaryEmailAddress({"distribution_list_id": list_id, "email_address": renamed}))
    send_in(inbound, outside, renamed, "four")
    assert subjects(inbound.server, first.address, 4) == ["one", "two", "three", "four"]
    # an alternative address given, and a member mailbox removed (it leaves the list)
    alternative = f"{unique('alt')}@{tenant.domain}"
    changes = {"distribution_list_id": list_id, "additional_emails": [alternative]}
    ok(api.modifyDistributionList(changes))
    third = make_box(sending_api, tenant)
    add_members(sending_api, list_id, {"mailbox_id": third.mailbox_id})
    ok(api.removeMailbox({"mailbox_id": first.mailbox_id}))
    send_in(inbound, outside, alternative, "five")
    assert subjects(inbound.server, third.address, 1) == ["five"]
    assert len(at_smarthost(smarthost, new_target, 3)) == 3  # "three", "four", "five"
    # who may write: members only, from the next message
    ok(api.modifyDistributionList({"distribution_list_id": list_id, "accept_mail_from": 2}))
    with smtplib.SMTP(inbound.host, inbound.port, timeout=20) as smtp:
        smtp.ehlo("outside.test")
        code, text = smtp.docmd("MAIL", f"FROM:<{outside}>")
        code, text = smtp.docmd("RCPT", f"TO:<{renamed}>")
    assert code == 550 and b"accepts mail only" in text
    assert settled(lambda: subjects(inbound.server, second.address)) == ["one"]
    assert subjects(inbound.server, third.address) == ["five"]


def test_a_removed_list_or_contact_frees_its_address_for_the_next_message(
    inbound: Front, sending_api: Any, tenant: Tenant, smarthost: FakeSmarthost
) -> None:
    api = sending_api.pem.exchange
    before, after = make_box(sending_api, tenant), make_box(sending_api, tenant)
    list_id, address = add_list(sending_api, tenant)
    add_members(sending_api, list_id, {"mailbox_id": before.mailbox_id})
    contact_id, target = add_contact(sending_api, tenant)
    own = f"{unique('contact')}@{tenant.domain}"
    ok(api.changePrimaryEmailAddress({"mail_contact_id": contact_id, "email_address": own}))
    send_in(inbound, "someone@outside.example", address, "to the old list")
    send_in(inbound, "someone@outside.example", own, "to the old contact")
    assert subjects(inbound.server, before.address, 1) == ["to the old list"]
    assert len(at_smarthost(smarthost, target)) == 1
    ok(api.removeDistributionList({"distribution_list_id": list_id}))
    ok(api.removeContact({"mail_contact_id": contact_id}))
    # both addresses taken again at once, by a new list whose member is another mailbox
    reused_id = ok(
        api.addDistributionList(
            {
                "subscription_id": tenant.subscription_id,
                "alias": unique("again"),
                "display_name": "Again",
                "primary_email_address": address,
                "additional_emails": [own],
                "accept_mail_from": 1,
            }
        )
    )["distribution_list_id"]
    add_members(sending_api, reused_id, {"mailbox_id": after.mailbox_id})
    send_in(inbound, "someone@outside.example", address, "to the new list")
    send_in(inbound, "someone@outside.example", own, "to the freed contact address")
    got = subjects(inbound.server, after.address, 2)  # (Postfix delivers in any order)
    assert sorted(got) == ["to the freed contact address", "to the new list"]
    assert settled(lambda: subjects(inbound.server, before.address)) == ["to the old list"]
    assert len(at_smarthost(smarthost, target, 2, 0)) == 1
