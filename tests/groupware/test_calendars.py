"""Every user's calendar from the start, and free/busy within a customer (as Exchange).

SOGo creates a person's calendar only at the person's first request: the outbox task
``open_calendar`` creates it when the mailbox is added, so a colleague's invitation to a
user who never logged in lands in that user's calendar. The same task lets the user and
each colleague of the same customer see each other's free/busy (date and time only, no
details), and nobody of another customer."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import psycopg
import pytest

from tests.groupware.test_invitations import (
    PASSWORD,
    calendar,
    free_busy,
    put_event,
    soon,
    stored,
    use_calendar,
)
from tests.support.builders import make_tenant, new_user_mailbox
from tests.support.calls import eventually, ok
from tests.support.groupware import dav, start_groupware_server
from tests.support.postgres import PostgresCluster
from tests.support.server import Server, server_base, start_server, stop_server

PRIVATE_EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//pemx//tests//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20261130T120000Z
DTSTART:{start}
DTEND:{end}
CLASS:PRIVATE
SUMMARY:Secret {uid}
END:VEVENT
END:VCALENDAR
"""


def calendars_opened(server: Server) -> None:
    query = "SELECT count(*) FROM tasks WHERE kind = 'open_calendar' AND state <> 'done'"
    errors = "SELECT DISTINCT last_error FROM tasks WHERE kind = 'open_calendar'"
    try:
        eventually(lambda: server.rows(query)[0][0] == 0, what="calendars opened")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {server.rows(errors)}") from None


def busy(start: str) -> str:
    return f"FREEBUSY;FBTYPE=BUSY:{start}"


def test_an_invitation_to_a_colleague_who_never_logged_in_lands_in_the_calendar(
    gw_server: Server, gw_provider: Any
) -> None:
    tenant = make_tenant(gw_provider)
    alice = new_user_mailbox(gw_provider, tenant, PASSWORD)[3]
    bob_id, _, _, bob = new_user_mailbox(gw_provider, tenant, PASSWORD)
    calendars_opened(gw_server)
    book = f"/Users/Mailbox{int(bob_id)}/Contacts/personal"
    folders = f"SELECT c_foldername FROM sogo_folder_info WHERE c_path = '{book}'"
    assert sogo_rows(gw_server, folders) == [("Personal Address Book",)]
    # bob has never used any channel of the groupware
    status, _, name = put_event(gw_server, alice, "20261221T090000Z", bob)
    assert status == 201
    assert stored(gw_server, bob, name)  # SOGo wrote it into bob's calendar at the PUT
    ics = dav("GET", calendar(gw_server, bob) + name, (bob, PASSWORD)).text
    assert "PARTSTAT=NEEDS-ACTION" in ics  # his to accept or decline
    # the address book made with the calendar is SOGo's own to use
    contacts = calendar(gw_server, bob).replace("/Calendar/", "/Contacts/")
    assert dav("PROPFIND", contacts, (bob, PASSWORD), Depth="1").status_code == 207


def test_colleagues_see_each_others_busy_times_and_no_details(
    gw_server: Server, gw_provider: Any
) -> None:
    tenant = make_tenant(gw_provider)
    alice = new_user_mailbox(gw_provider, tenant, PASSWORD)[3]
    bob = new_user_mailbox(gw_provider, tenant, PASSWORD)[3]  # added after alice
    calendars_opened(gw_server)
    assert put_event(gw_server, alice, soon(1, 9))[0] == 201
    assert put_event(gw_server, bob, soon(2, 10))[0] == 201
    uid = uuid.uuid4().hex
    private = PRIVATE_EVENT.format(uid=uid, start=soon(3, 11), end=soon(3, 12))
    put = dav("PUT", calendar(gw_server, bob) + f"{uid}.ics", (bob, PASSWORD),
              private.replace("\n", "\r\n"), **{"Content-Type": "text/calendar"})  # fmt: skip
    assert put.status_code == 201
    status, text = free_busy(gw_server, alice, bob)
    assert status == 200 and busy(soon(2, 10)) in text and busy(soon(3, 11)) in text, text
    status, text = free_busy(gw_server, bob, alice)  # both ways
    assert status == 200 and busy(soon(1, 9)) in text, text
    # free/busy only: the private event's title is not readable by the colleague
    got = dav("GET", calendar(gw_server, bob) + f"{uid}.ics", (alice, PASSWORD))
    assert f"Secret {uid}" not in got.text


def test_another_customers_user_gets_an_empty_free_busy(
    gw_server: Server, gw_provider: Any
) -> None:
    tenant = make_tenant(gw_provider)
    alice = new_user_mailbox(gw_provider, tenant, PASSWORD)[3]
    bob = new_user_mailbox(gw_provider, tenant, PASSWORD)[3]
    carol = new_user_mailbox(gw_provider, make_tenant(gw_provider), PASSWORD)[3]
    calendars_opened(gw_server)
    assert put_event(gw_server, bob, soon(2, 15))[0] == 201
    status, text = free_busy(gw_server, alice, bob)
    assert status == 200 and busy(soon(2, 15)) in text, text  # the colleague: busy
    status, text = free_busy(gw_server, carol, bob)
    assert status == 200 and "FREEBUSY" in text and "FREEBUSY;" not in text, text
    use_calendar(gw_server, carol)
    assert put_event(gw_server, carol, soon(2, 16))[0] == 201
    status, text = free_busy(gw_server, bob, carol)  # nor the other way
    assert status == 200 and "FREEBUSY;" not in text, text


def test_a_calendar_is_opened_in_a_customer_of_fifty_users_in_a_second_or_two(
    gw_server: Server, gw_provider: Any
) -> None:
    """The cost: one transaction in SOGo's database per new user (sogo-tool would start
    about two processes per colleague)."""
    tenant = make_tenant(gw_provider, limits={1: 60, 2: 10_000_000, 3: 60, 4: 5})
    for _ in range(49):
        new_user_mailbox(gw_provider, tenant, PASSWORD)
    calendars_opened(gw_server)
    started = time.monotonic()
    newest = new_user_mailbox(gw_provider, tenant, PASSWORD)[3]
    calendars_opened(gw_server)
    elapsed = time.monotonic() - started
    print(f"\naddMailbox to calendar opened, 50th user of a customer: {elapsed:.2f} s")
    assert elapsed < 10
    rows = gw_server.rows(
        f"SELECT count(*) FROM mailboxes WHERE subscription_id = {int(tenant.subscription_id)}"
    )
    assert rows[0][0] == 50
    first = new_user_mailbox(gw_provider, tenant, PASSWORD)[3]
    calendars_opened(gw_server)
    assert put_event(gw_server, first, soon(4, 8))[0] == 201
    status, text = free_busy(gw_server, newest, first)
    assert status == 200 and busy(soon(4, 8)) in text, text


def sogo_rows(server: Server, query: str) -> list[tuple[Any, ...]]:
    """Rows of SOGo's own database, as SOGo's instances reach it."""
    plist = (server.data_dir / "groupware/sogo-sync/Defaults/sogod.plist").read_text()
    found = re.search(r'OCSAclURL = "([^"]+)/sogo_acl"', plist)
    assert found is not None
    with psycopg.connect(found.group(1)) as db:
        return db.execute(query).fetchall()


def test_a_removed_users_roles_go_with_it(gw_server: Server, gw_provider: Any) -> None:
    tenant = make_tenant(gw_provider)
    alice = new_user_mailbox(gw_provider, tenant, PASSWORD)[3]
    bob_id = new_user_mailbox(gw_provider, tenant, PASSWORD)[0]
    calendars_opened(gw_server)
    roles = f"SELECT count(*) FROM sogo_acl WHERE c_uid = 'Mailbox{int(bob_id)}'"
    assert sogo_rows(gw_server, roles) == [(3,)]  # on alice's calendar, 3 classes
    ok(gw_provider.pem.exchange.removeMailbox({"mailbox_id": bob_id}))
    gone = f"SELECT count(*) FROM mailboxes WHERE id = {int(bob_id)}"
    eventually(lambda: gw_server.rows(gone)[0][0] == 0, what="mailbox removed")
    assert sogo_rows(gw_server, roles) == [(0,)]
    assert free_busy(gw_server, alice, alice)[0] == 200


def test_mailboxes_added_while_the_groupware_was_off_get_calendars_at_its_start(
    gw_server: Server, request: pytest.FixtureRequest
) -> None:
    """``gw_server`` only makes sure the groupware can run here (a skip otherwise)."""
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    first = start_groupware_server(cluster, server_base())  # SOGo's tables exist
    stop_server(first)
    plain = start_server(first.data_dir)  # the same node, groupware off
    try:
        tenant = make_tenant(plain.proxy())
        alice = new_user_mailbox(plain.proxy(), tenant, PASSWORD)[3]
        bob = new_user_mailbox(plain.proxy(), tenant, PASSWORD)[3]
        assert plain.rows("SELECT count(*) FROM tasks WHERE kind = 'open_calendar'") == [(0,)]
    finally:
        stop_server(plain)
    env = {"PEMX_GROUPWARE_PORT": "0", "PEMX_SOGO_WORKERS": "2"}
    again = start_server(first.data_dir, "--groupware", env=env, timeout=120)
    try:
        calendars_opened(again)
        assert again.rows("SELECT count(*) FROM tasks WHERE kind = 'open_calendar'") == [(2,)]
        status, _, name = put_event(again, alice, "20261222T090000Z", bob)
        assert status == 201 and stored(again, bob, name)
        assert put_event(again, bob, soon(2, 17))[0] == 201
        status, text = free_busy(again, alice, bob)
        assert status == 200 and busy(soon(2, 17)) in text, text
    finally:
        stop_server(again)
