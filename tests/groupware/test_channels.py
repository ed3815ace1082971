"""The groupware with real clients against `pemx serve --groupware` on PostgreSQL: the
web UI, ActiveSync (WBXML), CalDAV and CardDAV, each switch on its own channel, and a
change through the API holding at the next request (SOGo's cache is dropped by the
outbox in the step that closes Dovecot's sessions)."""

from __future__ import annotations

import time
from typing import Any

from tests.support.builders import Tenant, new_user_mailbox
from tests.support.calls import eventually, ok
from tests.support.groupware import ActiveSync, Web, dav, front
from tests.support.mailclient import lmtp_deliver
from tests.support.postgres import MAIL_PASSWORD, MAIL_ROLE
from tests.support.server import Server

PASSWORD = "Groupware-Pass-1"
EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//pemx//tests//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20261130T120000Z
DTSTART:20261201T100000Z
DTEND:20261201T110000Z
SUMMARY:Planning {uid}
END:VEVENT
END:VCALENDAR
"""
CONTACT = """BEGIN:VCARD
VERSION:3.0
UID:{uid}
FN:Ada Lovelace
EMAIL:ada@example.org
END:VCARD
"""


def test_a_new_mailbox_works_in_the_web_ui_and_over_activesync_at_the_ack(
    gw_server: Server, gw_provider: Any, gw_tenant: Tenant
) -> None:
    _, _, _, address = new_user_mailbox(gw_provider, gw_tenant, PASSWORD)
    started = time.monotonic()
    web = Web(front(gw_server))
    r = web.login(address, PASSWORD)  # right after the ack: no SOGo step
    assert r.status_code == 200, r.text
    assert "INBOX" in web.folders(address)
    status, folders = ActiveSync(front(gw_server), address, PASSWORD).folder_sync()
    assert status == 200 and "INBOX" in folders
    assert time.monotonic() - started < 20

    for n in range(2):
        assert lmtp_deliver(*gw_server.mail("lmtp"), address, f"hello {n}") == (250, 250)
    assert web.inbox_subjects(address) == ["hello 0", "hello 1"]
    phone = ActiveSync(front(gw_server), address, PASSWORD)
    status, folders = phone.folder_sync()
    assert phone.sync_subjects(folders["INBOX"]) == ["hello 0", "hello 1"]


def test_login_by_login_name_or_any_address_and_the_letter_case_sogo_takes(
    gw_server: Server, gw_provider: Any, gw_tenant: Tenant
) -> None:
    mailbox_id, _, login, address = new_user_mailbox(gw_provider, gw_tenant, PASSWORD)
    alias = f"alias-{login}@{gw_tenant.domain}"
    emails = {"mailbox_id": mailbox_id, "emails": [alias]}
    ok(gw_provider.pem.exchange.addEmailAddresses(emails))
    base = front(gw_server)
    for name in (login, alias):
        web = Web(base)
        assert web.login(name, PASSWORD).status_code == 200
        assert "INBOX" in web.folders(address)
        assert ActiveSync(base, name, PASSWORD).folder_sync()[0] == 200  # cached now
        calendar = f"{base}/SOGo/dav/{address}/Calendar/"
        assert dav("PROPFIND", calendar, (name, PASSWORD), Depth="1").status_code == 207
    # SOGo compares logins as typed (docs/groupware.md): pemx keeps them in lower case
    assert Web(base).login(address.upper(), PASSWORD).status_code == 403
    # SOGo's own user id is no login name
    assert Web(base).login(f"Mailbox{mailbox_id}", PASSWORD).status_code == 403
    assert ActiveSync(base, f"Mailbox{mailbox_id}", PASSWORD).folder_sync()[0] == 401
    # a removed address stops logging in at once, also where SOGo had cached it
    ok(gw_provider.pem.exchange.removeEmailAddresses(emails))
    eventually(lambda: ActiveSync(base, alias, PASSWORD).folder_sync()[0] == 401, 5,
               "the removed address refused over ActiveSync")  # fmt: skip
    assert Web(base).login(alias, PASSWORD).status_code == 403


def test_a_calendar_event_and_a_contact_are_written_and_read_back(
    gw_server: Server, gw_provider: Any, gw_tenant: Tenant
) -> None:
    _, _, _, address = new_user_mailbox(gw_provider, gw_tenant, PASSWORD)
    auth = (address, PASSWORD)
    base = f"{front(gw_server)}/SOGo/dav/{address}"
    event = f"{base}/Calendar/personal/e1.ics"
    r = dav("PUT", event, auth, EVENT.format(uid="e1"), **{"Content-Type": "text/calendar"})
    assert r.status_code == 201, r.text
    r = dav("GET", event, auth)
    assert r.status_code == 200 and "SUMMARY:Planning e1" in r.text
    contact = f"{base}/Contacts/personal/c1.vcf"
    r = dav("PUT", contact, auth, CONTACT.format(uid="c1"), **{"Content-Type": "text/vcard"})
    assert r.status_code == 201, r.text
    r = dav("GET", contact, auth)
    assert r.status_code == 200 and "Ada Lovelace" in r.text
    r = dav("PROPFIND", f"{base}/Calendar/personal/", auth, Depth="1")
    assert r.status_code == 207 and "e1.ics" in r.text
    well_known = dav("GET", f"{front(gw_server)}/.well-known/caldav", auth)
    assert well_known.history and well_known.history[0].status_code == 301


def _refused_web(web: Web, user: str) -> bool:
    r = web.login(user, PASSWORD)
    return r.status_code == 403


def test_owa_off_refuses_the_web_ui_only_and_at_once(
    gw_server: Server, gw_provider: Any, gw_tenant: Tenant
) -> None:
    mailbox_id, _, _, address = new_user_mailbox(gw_provider, gw_tenant, PASSWORD, owa=False)
    base = front(gw_server)
    r = Web(base).login(address, PASSWORD)
    # the web UI's normal refusal (as for a wrong password), not an error page
    assert r.status_code == 403 and "LDAPPasswordPolicyError" in r.text
    assert ActiveSync(base, address, PASSWORD).folder_sync()[0] == 200
    assert dav("PROPFIND", f"{base}/SOGo/dav/{address}/Calendar/", (address, PASSWORD),
               Depth="1").status_code == 207  # fmt: skip

    ok(gw_provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "owa": True}))
    assert Web(base).login(address, PASSWORD).status_code == 200
    ok(gw_provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "owa": False}))
    eventually(lambda: _refused_web(Web(base), address), 5, "owa off refuses the web UI")


def test_active_sync_off_refuses_activesync_only_and_switches_at_once(
    gw_server: Server, gw_provider: Any, gw_tenant: Tenant
) -> None:
    mailbox_id, _, _, address = new_user_mailbox(gw_provider, gw_tenant, PASSWORD)
    base = front(gw_server)
    phone = ActiveSync(base, address, PASSWORD)
    assert phone.folder_sync()[0] == 200  # now cached by SOGo
    ok(gw_provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "active_sync": False}))
    eventually(lambda: phone.folder_sync()[0] == 403, 5, "ActiveSync refused after the switch")
    assert Web(base).login(address, PASSWORD).status_code == 200
    assert dav("PROPFIND", f"{base}/SOGo/dav/{address}/Contacts/", (address, PASSWORD),
               Depth="1").status_code == 207  # fmt: skip
    ok(gw_provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "active_sync": True}))
    eventually(lambda: phone.folder_sync()[0] == 200, 5, "ActiveSync back after the switch")


def test_a_password_change_holds_at_once_over_activesync_and_dav(
    gw_server: Server, gw_provider: Any, gw_tenant: Tenant
) -> None:
    _, user_id, _, address = new_user_mailbox(gw_provider, gw_tenant, PASSWORD)
    base = front(gw_server)
    calendar = f"{base}/SOGo/dav/{address}/Calendar/"
    assert ActiveSync(base, address, PASSWORD).folder_sync()[0] == 200  # cached
    assert dav("PROPFIND", calendar, (address, PASSWORD), Depth="1").status_code == 207
    new = "Changed-Pass-2"
    ok(gw_provider.pem.changeUserPassword({"user_id": user_id, "password": new}))

    def old_refused() -> bool:
        return ActiveSync(base, address, PASSWORD).folder_sync()[0] == 401

    eventually(old_refused, 5, "the old password refused over ActiveSync")
    assert dav("PROPFIND", calendar, (address, PASSWORD), Depth="1").status_code == 401
    assert ActiveSync(base, address, new).folder_sync()[0] == 200
    assert dav("PROPFIND", calendar, (address, new), Depth="1").status_code == 207
    assert Web(base).login(address, PASSWORD).status_code == 403
    assert Web(base).login(address, new).status_code == 200


def test_a_disabled_user_is_refused_everywhere(
    gw_server: Server, gw_provider: Any, gw_tenant: Tenant
) -> None:
    _, user_id, _, address = new_user_mailbox(gw_provider, gw_tenant, PASSWORD)
    base = front(gw_server)
    assert ActiveSync(base, address, PASSWORD).folder_sync()[0] == 200  # cached
    ok(gw_provider.pem.disableUser({"user_id": user_id}))
    eventually(
        lambda: ActiveSync(base, address, PASSWORD).folder_sync()[0] in (401, 403), 5,
        "a disabled user refused over ActiveSync",
    )  # fmt: skip
    assert Web(base).login(address, PASSWORD).status_code == 403
    calendar = f"{base}/SOGo/dav/{address}/Calendar/"
    assert dav("PROPFIND", calendar, (address, PASSWORD), Depth="1").status_code == 401


def test_a_suspended_subscription_is_refused_everywhere_and_back_on_resume(
    gw_server: Server, gw_provider: Any, gw_tenant: Tenant
) -> None:
    _, _, _, address = new_user_mailbox(gw_provider, gw_tenant, PASSWORD)
    base = front(gw_server)
    calendar = f"{base}/SOGo/dav/{address}/Calendar/"
    assert ActiveSync(base, address, PASSWORD).folder_sync()[0] == 200  # cached
    assert dav("PROPFIND", calendar, (address, PASSWORD), Depth="1").status_code == 207
    subscription = {"subscription_id": gw_tenant.subscription_id}
    ok(gw_provider.pem.disableSubscription(subscription))
    eventually(
        lambda: ActiveSync(base, address, PASSWORD).folder_sync()[0] in (401, 403), 5,
        "a suspended customer refused over ActiveSync",
    )  # fmt: skip
    assert dav("PROPFIND", calendar, (address, PASSWORD), Depth="1").status_code == 401
    assert Web(base).login(address, PASSWORD).status_code == 403
    ok(gw_provider.pem.enableSubscription(subscription))
    eventually(lambda: Web(base).login(address, PASSWORD).status_code == 200, 5, "resumed")
    assert ActiveSync(base, address, PASSWORD).folder_sync()[0] == 200


def test_calendar_and_contacts_stay_when_the_primary_address_and_login_change(
    gw_server: Server, gw_provider: Any, gw_tenant: Tenant
) -> None:
    mailbox_id, user_id, login, address = new_user_mailbox(gw_provider, gw_tenant, PASSWORD)
    base = front(gw_server)
    event = f"{base}/SOGo/dav/{address}/Calendar/personal/kept.ics"
    put = dav("PUT", event, (address, PASSWORD), EVENT.format(uid="kept"),
              **{"Content-Type": "text/calendar"})  # fmt: skip
    assert put.status_code == 201
    assert ActiveSync(base, address, PASSWORD).folder_sync()[0] == 200  # cached
    new_address = f"renamed-{login}@{gw_tenant.domain}"
    ok(gw_provider.pem.exchange.changePrimaryEmailAddress(
        {"mailbox_id": mailbox_id, "email_address": new_address}))  # fmt: skip
    new_login = "renamed" + login
    ok(gw_provider.pem.modifyUser({"user_id": user_id, "login": new_login}))
    for name in (new_address, new_login, address):  # the old primary is an alternative now
        r = dav("GET", f"{base}/SOGo/dav/{new_address}/Calendar/personal/kept.ics",
                (name, PASSWORD))  # fmt: skip
        assert r.status_code == 200 and "Planning kept" in r.text, name
    eventually(lambda: ActiveSync(base, login, PASSWORD).folder_sync()[0] == 401, 5,
               "the old login name refused over ActiveSync")  # fmt: skip


def test_a_removed_mailbox_takes_its_calendars_and_contacts_along(
    gw_server: Server, gw_provider: Any, gw_tenant: Tenant
) -> None:
    mailbox_id, _, _, address = new_user_mailbox(gw_provider, gw_tenant, PASSWORD)
    base = front(gw_server)
    put = dav("PUT", f"{base}/SOGo/dav/{address}/Calendar/personal/gone.ics", (address, PASSWORD),
              EVENT.format(uid="gone"), **{"Content-Type": "text/calendar"})  # fmt: skip
    assert put.status_code == 201
    assert ActiveSync(base, address, PASSWORD).folder_sync()[0] == 200  # cached
    uid = f"Mailbox{mailbox_id}"
    sogo_db = gw_server.database_url.rsplit("/", 1)[1] + "_sogo"

    def folders() -> int:
        import psycopg

        port = int(gw_server.database_url.rsplit(":", 1)[1].split("/")[0])
        with psycopg.connect(host="127.0.0.1", port=port, dbname=sogo_db, user=MAIL_ROLE,
                             password=MAIL_PASSWORD) as conn:  # fmt: skip
            row = conn.execute("SELECT count(*) FROM sogo_folder_info WHERE c_path2 = %s",
                               (uid,)).fetchone()  # fmt: skip
            return int(row[0]) if row else 0

    assert folders() > 0
    ok(gw_provider.pem.exchange.removeMailbox({"mailbox_id": mailbox_id}))
    eventually(lambda: folders() == 0, 15, "SOGo's folders of the removed mailbox deleted")
    assert ActiveSync(base, address, PASSWORD).folder_sync()[0] == 401
