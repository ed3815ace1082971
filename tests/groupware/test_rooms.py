"""Rooms and equipment in SOGo (issue 19, item 4): a resource mailbox is a SOGo resource
(sogo_users v2: c_kind 'location' or 'thing', one booking at a time). A user invites a
room to an event over CalDAV: SOGo answers for the room on the same server (no mail):
it accepts the first booking and declines an overlapping one (SOGo refuses to save it,
with its reason). The outbox shares each resource's calendar with its customer's users
only (sogo-tool manage-acl), so another customer's user cannot book it. Nobody logs in
as a resource."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.support.builders import make_tenant, new_user_mailbox, unique
from tests.support.calls import eventually, ok
from tests.support.groupware import ActiveSync, Web, dav, front, meeting
from tests.support.server import Server

PASSWORD = "Room-Booker-1"
RESOURCES = 5  # "Exchange resource mailboxes"
ROOM, EQUIPMENT = 0, 1
LIMITS = {1: 10, 2: 1_000_000, 3: 10, 4: 5, RESOURCES: 5}


def add_resource(api: Any, tenant: Any, kind: int) -> tuple[int, str]:
    alias = unique("room" if kind == ROOM else "beamer")
    address = f"{alias}@{tenant.domain}"
    params = {
        "subscription_id": tenant.subscription_id,
        "display_name": f"Resource {alias}",
        "location": "2nd floor",
        "type": kind,
        "alias": alias,
        "primary_email_address": address,
        "size_limit": 10_240,
        "capacity": 8,
    }
    return int(ok(api.pem.exchange.addResourceMailbox(params))["mailbox_id"]), address


def shared(server: Server) -> None:
    """Wait until the outbox shared every resource's calendar with its customer's users."""
    query = "SELECT count(*) FROM tasks WHERE kind = 'share_resource' AND state <> 'done'"
    eventually(lambda: server.rows(query)[0][0] == 0, what="resources shared")


def invite(server: Server, organizer: str, resource: str, start: str, end: str,
           cutype: str = "ROOM") -> tuple[int, str, str]:  # fmt: skip
    """PUT an event inviting ``resource`` into the organizer's calendar: (the PUT's
    status, the resource's participation status in the organizer's copy as read back
    or the refusal's text, the event's file name)."""
    uid = uuid.uuid4().hex
    url = f"{front(server)}/SOGo/dav/{organizer}/Calendar/personal/{uid}.ics"
    body = meeting(uid, start, end, organizer, {resource: cutype})
    put = dav("PUT", url, (organizer, PASSWORD), body, **{"Content-Type": "text/calendar"})
    if put.status_code not in (201, 204):
        assert dav("GET", url, (organizer, PASSWORD)).status_code == 404  # nothing stored
        return put.status_code, put.text, f"{uid}.ics"
    got = dav("GET", url, (organizer, PASSWORD))
    assert got.status_code == 200, got.status_code
    unfolded = got.text.replace("\r\n ", "").replace("\n ", "")
    line = next(x for x in unfolded.splitlines() if x.startswith("ATTENDEE") and resource in x)
    found = re.search(r"PARTSTAT=([A-Z-]+)", line)
    return put.status_code, found.group(1) if found else "NEEDS-ACTION", f"{uid}.ics"


def test_a_room_accepts_one_booking_and_declines_an_overlapping_one(
    gw_server: Server, gw_provider: Any
) -> None:
    tenant = make_tenant(gw_provider, limits=LIMITS)
    _, _, _, alice = new_user_mailbox(gw_provider, tenant, PASSWORD)
    _, room = add_resource(gw_provider, tenant, ROOM)
    _, _, _, bob = new_user_mailbox(gw_provider, tenant, PASSWORD)  # added after the room
    shared(gw_server)
    status, partstat, name = invite(gw_server, alice, room, "20261207T090000Z",
                                    "20261207T100000Z")  # fmt: skip
    assert (status, partstat) == (201, "ACCEPTED")
    # SOGo put the booking into the room's own calendar (on the same server, no mail)
    booked = dav("GET", f"{front(gw_server)}/SOGo/dav/{room}/Calendar/personal/{name}",
                 (alice, PASSWORD))  # fmt: skip
    # (alice sees its date and time only: the role the outbox gave the customer's users)
    assert booked.status_code == 200 and "DTSTART:20261207T090000Z" in booked.text
    # another user, half an hour into the first booking: the room is taken, SOGo declines
    # the invitation (the event is not saved; the client shows SOGo's reason)
    status, reason, _ = invite(gw_server, bob, room, "20261207T093000Z", "20261207T103000Z")
    assert status == 409 and "Maximum number of simultaneous bookings (1) reached" in reason
    # right after it: free again
    later = invite(gw_server, bob, room, "20261207T100000Z", "20261207T110000Z")
    assert later[:2] == (201, "ACCEPTED")


def test_equipment_is_booked_the_same_way(gw_server: Server, gw_provider: Any) -> None:
    tenant = make_tenant(gw_provider, limits=LIMITS)
    _, _, _, alice = new_user_mailbox(gw_provider, tenant, PASSWORD)
    _, beamer = add_resource(gw_provider, tenant, EQUIPMENT)
    shared(gw_server)
    start, end = "20261208T090000Z", "20261208T100000Z"
    assert invite(gw_server, alice, beamer, start, end, "RESOURCE")[:2] == (201, "ACCEPTED")
    assert invite(gw_server, alice, beamer, start, end, "RESOURCE")[0] == 409


def test_another_customers_user_cannot_book_a_room(gw_server: Server, gw_provider: Any) -> None:
    tenant = make_tenant(gw_provider, limits=LIMITS)
    _, room = add_resource(gw_provider, tenant, ROOM)
    _, _, _, carol = new_user_mailbox(gw_provider, make_tenant(gw_provider), PASSWORD)
    shared(gw_server)
    status, reason, _ = invite(gw_server, carol, room, "20261210T090000Z", "20261210T100000Z")
    assert status == 409 and "Cannot access resource" in reason


def test_nobody_logs_in_as_a_resource(gw_server: Server, gw_provider: Any) -> None:
    tenant = make_tenant(gw_provider, limits=LIMITS)
    room_id, room = add_resource(gw_provider, tenant, ROOM)
    base = front(gw_server)
    for password in ("", "x", PASSWORD):
        assert Web(base).login(room, password).status_code != 200
        assert ActiveSync(base, room, password).folder_sync()[0] == 401
        calendar = f"{base}/SOGo/dav/{room}/Calendar/"
        assert dav("PROPFIND", calendar, (room, password), Depth="1").status_code == 401
    rows = gw_server.rows(
        "SELECT c_password, c_kind, multiple_bookings, enable_owa, enable_activesync "
        "FROM sogo_users WHERE c_uid = :uid",
        uid=f"Mailbox{room_id}",
    )
    assert [tuple(r) for r in rows] == [("", "location", 1, "0", "0")]
