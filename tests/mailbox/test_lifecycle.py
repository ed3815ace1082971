"""The mailbox lifecycle over HTTP, each effect proved from the mail side.

Reads, modifyMailbox, addresses, removal, service-user changes; side effects that SQL
cannot make run through the outbox worker of the running server.
"""

from __future__ import annotations

import imaplib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pemx.adapters.mail.dovecot import DoveadmHttp
from tests.support.builders import (
    Tenant,
    mailbox_params,
    make_reseller,
    make_tenant,
    new_user_mailbox,
    unique,
)
from tests.support.calls import err, eventually, ok
from tests.support.errors import (
    ADDRESS_IN_USE,
    FOREIGN_DOMAIN,
    INVALID_ARGUMENTS,
    MAILBOX_DELETING,
    OBJECT_NOT_FOUND,
    PASSWORD_REJECTED,
    PRIMARY_ADDRESS_REQUIRED,
    RESOURCE_LIMIT_EXCEEDED,
    wire_error,
)
from tests.support.mailclient import (
    imap_append,
    imap_login,
    inbox_subjects,
    list_folders,
    lmtp_deliver,
    make_message,
    pop3_login,
)
from tests.support.server import Server

PASSWORD = "Lifecycle-Pass-1"


@pytest.fixture(scope="module")
def tenant(provider: Any) -> Tenant:
    return make_tenant(provider)


def new_mailbox(api: Any, tenant: Tenant, **overrides: Any) -> tuple[int, int, str, str]:
    return new_user_mailbox(api, tenant, PASSWORD, "lc", **overrides)


def info(api: Any, mailbox_id: int) -> dict[str, Any]:
    result: dict[str, Any] = ok(api.pem.exchange.getMailboxInfo({"mailbox_id": mailbox_id}))
    return result


def usage(api: Any, subscription_id: int) -> dict[int, int]:
    result = ok(api.pem.getSubscription({"subscription_id": subscription_id}))
    return {r["resource_type_id"]: r["usage"] for r in result["resource_types"]}


def refused(host: str, port: int, user: str, password: str) -> bool:
    try:
        imap_login(host, port, user, password).logout()
    except imaplib.IMAP4.error:
        return True
    return False


def session_closed(imap: imaplib.IMAP4) -> bool:
    try:
        typ, _ = imap.noop()
    except (imaplib.IMAP4.abort, OSError):
        return True
    return typ != "OK"


def pemx_cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pemx", "--data-dir", str(server.data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# --------------------------------------------------------------------------------- reads


def test_reads_report_every_field_and_the_real_size(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    mailbox_id, user_id, login, address = new_mailbox(
        provider, tenant, alt_email_addresses=[f"alt-{unique()}@{tenant.domain}"]
    )
    assert lmtp_deliver(*server.mail("lmtp"), address, "big", 40_000) == (250, 250)
    got = info(provider, mailbox_id)
    for field in (
        "mailbox_id", "user_id", "login", "display_name", "alias", "owa", "mapi",
        "active_sync", "imap4", "pop3", "size", "warning_limit", "prohibit_send_limit",
        "size_limit", "incoming_item_max_size", "outgoing_item_max_size",
        "recipient_list_max_size", "message_retention", "show_in_address_book", "status",
    ):  # fmt: skip
        assert field in got, field
    assert got["status"] == 0 and got["user_id"] == user_id and got["login"] == login
    assert 39 <= got["size"] <= 60, got["size"]  # KB really used, read from Dovecot

    alternative = got["email_addresses"][1]
    for read in (
        provider.pem.exchange.getUserMailbox({"user_id": user_id}),
        provider.pem.exchange.getMailboxByEmailAddress({"email_address": alternative.upper()}),
    ):
        assert ok(read)["mailbox_id"] == mailbox_id
    listed = ok(provider.pem.exchange.getMailboxes({"subscription_id": tenant.subscription_id}))
    mine = next(m for m in listed if m["mailbox_id"] == mailbox_id)
    assert mine["email_address"] == address and mine["login"] == login
    assert mine["size"] == got["size"]
    assert set(mine) == {
        "mailbox_id", "email_address", "size", "user_id", "display_name", "login", "alias",
    }  # fmt: skip
    addresses = ok(provider.pem.exchange.getEmailAddresses({"mailbox_id": mailbox_id}))
    assert addresses["primary_email_address"] == address
    assert sorted(addresses["emails"]) == sorted([address, alternative])
    domains = ok(provider.pem.exchange.getEmailDomains({"subscription_id": tenant.subscription_id}))
    assert [d["domain_name"] for d in domains] == [tenant.domain]

    err(
        provider.pem.exchange.getMailboxByEmailAddress({"email_address": f"no@{tenant.domain}"}),
        OBJECT_NOT_FOUND,
    )
    bare = ok(
        provider.pem.addUser(
            {"subscription_id": tenant.subscription_id, "login": unique("bare"),
             "password": PASSWORD}
        )
    )["user_id"]  # fmt: skip
    err(provider.pem.exchange.getUserMailbox({"user_id": bare}), OBJECT_NOT_FOUND)


def test_another_resellers_objects_look_missing(server: Server, provider: Any) -> None:
    _, reseller = make_reseller(provider, server)
    other = make_tenant(provider)
    mailbox_id, user_id, _, address = new_mailbox(provider, other)
    before = info(provider, mailbox_id)
    for response in (
        reseller.pem.exchange.getMailboxInfo({"mailbox_id": mailbox_id}),
        reseller.pem.exchange.getUserMailbox({"user_id": user_id}),
        reseller.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "imap4": False}),
        reseller.pem.exchange.removeMailbox({"mailbox_id": mailbox_id}),
        reseller.pem.exchange.addEmailAddresses(
            {"mailbox_id": mailbox_id, "emails": [f"x-{unique()}@{other.domain}"]}
        ),
        reseller.pem.exchange.changePrimaryEmailAddress(
            {"mailbox_id": mailbox_id, "email_address": f"y-{unique()}@{other.domain}"}
        ),
        reseller.pem.disableUser({"user_id": user_id}),
        reseller.pem.changeUserPassword({"user_id": user_id, "password": "Hijacked-Pass-1"}),
        reseller.pem.removeUser({"user_id": user_id}),
        reseller.pem.exchange.getMailboxes({"subscription_id": other.subscription_id}),
    ):
        err(response, OBJECT_NOT_FOUND)
    err(
        reseller.pem.exchange.getMailboxByEmailAddress({"email_address": address}), OBJECT_NOT_FOUND
    )
    assert info(provider, mailbox_id) == before
    imap_login(*server.mail("imap"), address, PASSWORD).logout()


# ------------------------------------------------------------------------------- changes


def test_switching_a_protocol_off_refuses_logins_and_closes_open_sessions(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    mailbox_id, _, login, address = new_mailbox(provider, tenant)
    imap_host, imap_port = server.mail("imap")
    open_session = imap_login(imap_host, imap_port, login, PASSWORD)
    assert open_session.noop()[0] == "OK"
    ok(provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "imap4": False}))
    assert refused(imap_host, imap_port, login, PASSWORD)  # the very next login
    eventually(lambda: session_closed(open_session), what="open IMAP session closed")
    eventually(lambda: info(provider, mailbox_id)["status"] == 0, what="status back to 0")
    pop3_login(*server.mail("pop3"), address, PASSWORD).quit()  # other switches untouched
    got = info(provider, mailbox_id)
    assert got["imap4"] is False and got["pop3"] is True

    ok(provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "imap4": True}))
    imap_login(imap_host, imap_port, login, PASSWORD).logout()


def test_limits_are_stored_checked_and_enforced(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    mailbox_id, _, login, address = new_mailbox(provider, tenant, size_limit=200)
    lmtp = server.mail("lmtp")
    storage_before = usage(provider, tenant.subscription_id)[2]
    assert lmtp_deliver(*lmtp, address, "first", 60_000) == (250, 250)

    # Limits in Exchange's order; the storage resource follows size_limit exactly.
    ok(
        provider.pem.exchange.modifyMailbox(
            {
                "mailbox_id": mailbox_id,
                "size_limit": 50,
                "warning_limit": 40,
                "prohibit_send_limit": 45,
                "outgoing_item_max_size": 300,
                "recipient_list_max_size": 20,
                "show_in_address_book": False,
                "alias": "renamed.alias",
            }
        )
    )
    assert usage(provider, tenant.subscription_id)[2] == storage_before - 150
    got = info(provider, mailbox_id)
    assert (got["size_limit"], got["warning_limit"], got["prohibit_send_limit"]) == (50, 40, 45)
    assert got["show_in_address_book"] is False and got["alias"] == "renamed.alias"
    assert got["recipient_list_max_size"] == 20 and got["outgoing_item_max_size"] == 300
    # A lowered size limit refuses the next delivery (60 KB used, 50 KB allowed).
    rcpt, data = lmtp_deliver(*lmtp, address, "second", 1_000)
    assert rcpt >= 400 or (data is not None and data >= 400), (rcpt, data)

    # incoming_item_max_size: the largest message the mailbox accepts, from the next one on.
    ok(provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "size_limit": 10_000}))
    assert lmtp_deliver(*lmtp, address, "ok-size", 30_000) == (250, 250)
    ok(
        provider.pem.exchange.modifyMailbox(
            {"mailbox_id": mailbox_id, "incoming_item_max_size": 20}
        )
    )
    # Dovecot refuses it at DATA with 451 (temporary: see docs/api.md), never stores it.
    rcpt, data = lmtp_deliver(*lmtp, address, "too-big", 30_000)
    assert rcpt == 250 and data is not None and data // 100 == 4, (rcpt, data)
    assert lmtp_deliver(*lmtp, address, "small", 1_000) == (250, 250)
    ok(provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "incoming_item_max_size": 0}))
    assert lmtp_deliver(*lmtp, address, "big-again", 30_000) == (250, 250)
    imap = imap_login(*server.mail("imap"), login, PASSWORD)
    assert "too-big" not in inbox_subjects(imap) and "small" in inbox_subjects(imap)
    imap.logout()


def test_message_retention_reaches_dovecot_as_trash_autoexpunge(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    # That Dovecot then expunges the Trash after so many days is proved in tests/mail
    # (test_trash_retention_expunges_once_the_days_have_passed, with a shifted clock).
    mailbox_id, _, _, address = new_mailbox(provider, tenant)
    host, port = server.mail("doveadm_http")
    key = (server.data_dir / "doveadm-api-key").read_text().strip()
    doveadm = DoveadmHttp(host, port, key)

    def userdb() -> dict[str, str]:
        return dict(doveadm.call("user", {"userMask": [address]})[address])

    field = "namespace/inbox/mailbox/Trash/autoexpunge"
    assert field not in userdb()
    ok(provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "message_retention": 30}))
    assert userdb()[field] == "30d"
    assert userdb()["namespace/inbox/mailbox/Trash/name"] == "Deleted Items"
    ok(provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "message_retention": 0}))
    assert field not in userdb()
    assert info(provider, mailbox_id)["message_retention"] == 0


def test_bad_changes_leave_nothing_changed(server: Server, provider: Any, tenant: Tenant) -> None:
    small = make_tenant(provider, limits={1: 5, 2: 30_000, 3: 5, 4: 2})
    mailbox_id, _, _, _ = new_mailbox(provider, small, size_limit=20_000)
    before, used = info(provider, mailbox_id), usage(provider, small.subscription_id)
    cases = [
        ({"size_limit": 40_000}, RESOURCE_LIMIT_EXCEEDED),  # storage limit of the subscription
        ({"warning_limit": 30_000}, INVALID_ARGUMENTS),  # above size_limit
        ({"prohibit_send_limit": 10, "warning_limit": 20}, INVALID_ARGUMENTS),
        ({"size_limit": 0}, INVALID_ARGUMENTS),
        ({"message_retention": -1}, INVALID_ARGUMENTS),
        ({"imap4": "yes"}, INVALID_ARGUMENTS),
        ({"quota": 5}, INVALID_ARGUMENTS),  # unknown field
        ({"alias": "bad alias"}, INVALID_ARGUMENTS),
    ]
    for change, code in cases:
        err(provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, **change}), code)
    err(
        provider.pem.exchange.modifyMailbox({"mailbox_id": 2_000_000_000, "imap4": False}),
        OBJECT_NOT_FOUND,
    )
    assert info(provider, mailbox_id) == before
    assert usage(provider, small.subscription_id) == used


# ----------------------------------------------------------------------------- addresses


def test_alternative_addresses_receive_until_removed(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    mailbox_id, _, login, address = new_mailbox(provider, tenant)
    lmtp = server.mail("lmtp")
    extra = [f"sales-{unique()}@{tenant.domain}", f"info-{unique()}@{tenant.domain}"]
    assert lmtp_deliver(*lmtp, extra[0], "before")[0] >= 500
    ok(provider.pem.exchange.addEmailAddresses({"mailbox_id": mailbox_id, "emails": extra}))
    for index, alternative in enumerate(extra):
        assert lmtp_deliver(*lmtp, alternative.upper(), f"to-alt-{index}") == (250, 250)
    ok(provider.pem.exchange.removeEmailAddresses({"mailbox_id": mailbox_id, "emails": extra[:1]}))
    assert lmtp_deliver(*lmtp, extra[0], "after-removal")[0] >= 500
    assert lmtp_deliver(*lmtp, extra[1], "still-there") == (250, 250)
    imap = imap_login(*server.mail("imap"), login, PASSWORD)
    assert sorted(inbox_subjects(imap)) == ["still-there", "to-alt-0", "to-alt-1"]
    imap.logout()
    addresses = ok(provider.pem.exchange.getEmailAddresses({"mailbox_id": mailbox_id}))
    assert sorted(addresses["emails"]) == sorted([address, extra[1]])


def test_address_errors_leave_nothing_changed(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    mailbox_id, _, _, address = new_mailbox(provider, tenant)
    _, _, other_login, other_address = new_mailbox(provider, tenant)
    foreign = make_tenant(provider)
    before = ok(provider.pem.exchange.getEmailAddresses({"mailbox_id": mailbox_id}))
    fresh = f"fresh-{unique()}@{tenant.domain}"
    add = provider.pem.exchange.addEmailAddresses
    err(add({"mailbox_id": mailbox_id, "emails": [fresh, f"x@{foreign.domain}"]}), FOREIGN_DOMAIN)
    err(add({"mailbox_id": mailbox_id, "emails": [fresh, other_address.upper()]}), ADDRESS_IN_USE)
    err(add({"mailbox_id": mailbox_id, "emails": [fresh, fresh]}), INVALID_ARGUMENTS)
    err(add({"mailbox_id": mailbox_id, "emails": []}), INVALID_ARGUMENTS)
    err(add({"mailbox_id": mailbox_id, "emails": ["not-an-address"]}), INVALID_ARGUMENTS)
    err(add({"mailbox_id": mailbox_id, "emails": [f"a*b@{tenant.domain}"]}), INVALID_ARGUMENTS)
    remove = provider.pem.exchange.removeEmailAddresses
    err(remove({"mailbox_id": mailbox_id, "emails": [address]}), PRIMARY_ADDRESS_REQUIRED)
    err(remove({"mailbox_id": mailbox_id, "emails": [other_address]}), INVALID_ARGUMENTS)
    change = provider.pem.exchange.changePrimaryEmailAddress
    err(change({"mailbox_id": mailbox_id, "email_address": f"p@{foreign.domain}"}), FOREIGN_DOMAIN)
    err(change({"mailbox_id": mailbox_id, "email_address": other_address}), ADDRESS_IN_USE)
    assert ok(provider.pem.exchange.getEmailAddresses({"mailbox_id": mailbox_id})) == before
    assert lmtp_deliver(*server.mail("lmtp"), fresh, "nobody")[0] >= 500
    del other_login


def test_changed_primary_address_logs_in_and_the_old_one_still_receives(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    mailbox_id, _, login, old = new_mailbox(provider, tenant)
    imap_host, imap_port = server.mail("imap")
    session = imap_login(imap_host, imap_port, old, PASSWORD)
    new = f"New.Primary-{unique()}@{tenant.domain}"
    ok(provider.pem.exchange.changePrimaryEmailAddress(
        {"mailbox_id": mailbox_id, "email_address": new}
    ))  # fmt: skip
    imap_login(imap_host, imap_port, new, PASSWORD).logout()
    imap_login(imap_host, imap_port, login, PASSWORD).logout()
    got = info(provider, mailbox_id)
    assert got["primary_email_address"] == new.lower()
    assert sorted(got["email_addresses"]) == sorted([new.lower(), old])
    lmtp = server.mail("lmtp")
    assert lmtp_deliver(*lmtp, old, "to-old") == (250, 250)
    assert lmtp_deliver(*lmtp, new, "to-new") == (250, 250)
    # The session opened under the old name ends; the mail is in the same mailbox.
    eventually(lambda: session_closed(session), what="old-name session closed")
    imap = imap_login(imap_host, imap_port, new, PASSWORD)
    assert sorted(inbox_subjects(imap)) == ["to-new", "to-old"]
    imap.logout()
    eventually(lambda: info(provider, mailbox_id)["status"] == 0, what="status back to 0")
    # Switching back to an alternative that exists already just swaps the flags.
    ok(provider.pem.exchange.changePrimaryEmailAddress(
        {"mailbox_id": mailbox_id, "email_address": old}
    ))  # fmt: skip
    assert info(provider, mailbox_id)["primary_email_address"] == old


# ------------------------------------------------------------------------------- removal


def test_removed_mailbox_is_gone_everywhere_and_its_resources_free_at_once(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    small = make_tenant(provider, limits={1: 1, 2: 10_240, 3: 5, 4: 2})
    mailbox_id, user_id, login, address = new_mailbox(provider, small)
    lmtp, imap_port = server.mail("lmtp"), server.mail("imap")
    assert lmtp_deliver(*lmtp, address, "keep me?") == (250, 250)
    home = Path(server.runtime["mail_root"]) / str(mailbox_id)
    assert home.is_dir()
    session = imap_login(*imap_port, login, PASSWORD)
    used = usage(provider, small.subscription_id)
    assert used[1] == 1 and used[2] == 10_240

    ok(provider.pem.exchange.removeMailbox({"mailbox_id": mailbox_id}))
    assert refused(*imap_port, login, PASSWORD)
    assert lmtp_deliver(*lmtp, address, "after")[0] >= 500
    used = usage(provider, small.subscription_id)
    assert used[1] == 0 and used[2] == 0  # freed at once
    # Changes are refused while the files go (MAILBOX_DELETING, see test_outbox), and
    # the mailbox does not exist once they are gone.
    refusal = provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "pop3": False})
    assert wire_error(refusal) in (MAILBOX_DELETING, OBJECT_NOT_FOUND)
    # The last slot and the same address are usable at once, by the same user too.
    again = ok(provider.pem.exchange.addMailbox({"user_id": user_id, **mailbox_params(address)}))[
        "mailbox_id"
    ]
    assert again != mailbox_id
    assert ok(provider.pem.exchange.getUserMailbox({"user_id": user_id}))["mailbox_id"] == again

    eventually(lambda: not home.exists(), what="the removed mailbox's files deleted")
    eventually(lambda: session_closed(session), what="open session closed")
    eventually(
        lambda: provider.pem.exchange.getMailboxInfo({"mailbox_id": mailbox_id})["status"] == -1,
        what="the removed mailbox's row gone",
    )
    # The new mailbox is empty and live.
    imap = imap_login(*imap_port, address, PASSWORD)
    assert inbox_subjects(imap) == []
    imap.logout()
    assert lmtp_deliver(*lmtp, address, "new") == (250, 250)


# --------------------------------------------------------------------------- service users


def test_disable_enable_and_password_change(server: Server, provider: Any, tenant: Tenant) -> None:
    mailbox_id, user_id, login, address = new_mailbox(provider, tenant)
    imap_port, lmtp = server.mail("imap"), server.mail("lmtp")
    session = imap_login(*imap_port, login, PASSWORD)
    ok(provider.pem.disableUser({"user_id": user_id}))
    assert refused(*imap_port, login, PASSWORD)
    assert lmtp_deliver(*lmtp, address, "while disabled")[0] >= 500
    eventually(lambda: session_closed(session), what="session of a disabled user closed")
    assert ok(provider.pem.getUserInfo({"user_id": user_id}))["enabled"] is False
    ok(provider.pem.enableUser({"user_id": user_id}))
    session = imap_login(*imap_port, login, PASSWORD)

    ok(provider.pem.changeUserPassword({"user_id": user_id, "password": "Brand-New-Pass-2"}))
    assert refused(*imap_port, login, PASSWORD)
    imap_login(*imap_port, login, "Brand-New-Pass-2").logout()
    eventually(lambda: session_closed(session), what="session with the old password closed")
    err(
        provider.pem.changeUserPassword({"user_id": user_id, "password": "short"}),
        PASSWORD_REJECTED,
    )
    imap_login(*imap_port, login, "Brand-New-Pass-2").logout()
    eventually(lambda: info(provider, mailbox_id)["status"] == 0, what="status back to 0")


def test_locale_change_renames_the_special_folders_keeping_their_mail(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    mailbox_id, user_id, login, _ = new_mailbox(provider, tenant)
    imap_port = server.mail("imap")
    imap = imap_login(*imap_port, login, PASSWORD)
    assert imap_append(imap, "Sent Items", make_message("sent-before"))[0] == "OK"
    imap.logout()
    ok(provider.pem.modifyUser(
        {"user_id": user_id, "properties": [{"name": "locale", "value": "de_DE"}]}
    ))  # fmt: skip
    eventually(lambda: info(provider, mailbox_id)["status"] == 0, what="folders renamed")
    imap = imap_login(*imap_port, login, PASSWORD)
    folders = list_folders(imap)
    assert "Gesendete Elemente" in folders and "Sent Items" not in folders
    assert "\\Sent" in folders["Gesendete Elemente"]
    typ, data = imap.select('"Gesendete Elemente"', readonly=True)
    assert typ == "OK" and int(data[0] or 0) == 1
    imap.logout()
    user = ok(provider.pem.getUserInfo({"user_id": user_id}))
    assert {"name": "locale", "value": "de_DE"} in user["properties"]


def test_remove_user_removes_its_mailbox_and_frees_both(server: Server, provider: Any) -> None:
    small = make_tenant(provider, limits={1: 2, 2: 50_000, 3: 2, 4: 2})
    mailbox_id, user_id, login, address = new_mailbox(provider, small)
    before = usage(provider, small.subscription_id)
    ok(provider.pem.removeUser({"user_id": user_id}))
    after = usage(provider, small.subscription_id)
    assert (after[1], after[2], after[3]) == (before[1] - 1, before[2] - 10_240, before[3] - 1)
    err(provider.pem.getUserInfo({"user_id": user_id}), OBJECT_NOT_FOUND)
    assert refused(*server.mail("imap"), login, PASSWORD)
    assert lmtp_deliver(*server.mail("lmtp"), address, "x")[0] >= 500
    # The login is free again at once.
    new_id = ok(
        provider.pem.addUser(
            {"subscription_id": small.subscription_id, "login": login, "password": PASSWORD}
        )
    )["user_id"]
    assert new_id > user_id  # ids are never reused
    eventually(
        lambda: not (Path(server.runtime["mail_root"]) / str(mailbox_id)).exists(),
        what="files of the removed user's mailbox deleted",
    )


# ------------------------------------------------------------------------------- audit


def test_changes_are_audited_without_passwords(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    mailbox_id, user_id, _, _ = new_mailbox(provider, tenant)
    secret = "Audit-Secret-Pass-7"
    ok(provider.pem.changeUserPassword({"user_id": user_id, "password": secret}))
    ok(provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "pop3": False}))
    err(
        provider.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "size_limit": 0}),
        INVALID_ARGUMENTS,
    )
    run = pemx_cli(server, "audit", "--object", f"mailbox:{mailbox_id}", "--json")
    assert run.returncode == 0, run.stderr
    entries = json.loads(run.stdout)
    methods = [(e["method"], e["outcome"]) for e in entries]
    assert ("pem.exchange.modifyMailbox", "ok") in methods
    assert ("pem.exchange.addMailbox", "ok") in methods
    modify = next(e for e in entries if e["method"] == "pem.exchange.modifyMailbox")
    assert modify["actor"] == "admin" and modify["params"] == {
        "mailbox_id": mailbox_id,
        "pop3": False,
    }
    run = pemx_cli(server, "audit", "--object", f"user:{user_id}", "--json")
    user_entries = json.loads(run.stdout)
    change = next(e for e in user_entries if e["method"] == "pem.changeUserPassword")
    assert change["params"]["password"] == "***"
    # The refused call has an entry of its own, with its error code.
    run = pemx_cli(server, "audit", "--limit", "200", "--json")
    everything = run.stdout
    assert secret not in everything and PASSWORD not in everything
    refusals = [
        e for e in json.loads(everything)
        if e["method"] == "pem.exchange.modifyMailbox" and e["outcome"] == "OpenAPI/21"
        and e["params"].get("mailbox_id") == mailbox_id
    ]  # fmt: skip
    assert refusals
    run = pemx_cli(server, "audit", "--account", str(tenant.customer_id), "--json")
    assert any(e["method"] == "pem.exchange.modifyMailbox" for e in json.loads(run.stdout))
    run = pemx_cli(server, "audit", "--object", "mailbox")
    assert run.returncode != 0 and "KIND:ID" in run.stderr


def test_every_kind_of_change_is_found_by_account(server: Server, provider: Any) -> None:
    fresh = make_tenant(provider)
    mailbox_id, _, _, _ = new_mailbox(provider, fresh)
    run = pemx_cli(server, "audit", "--account", str(fresh.customer_id), "--json")
    assert run.returncode == 0, run.stderr
    entries = json.loads(run.stdout)
    assert {e["method"] for e in entries} == {
        "pem.addAccount",
        "pem.activateSubscription",
        "pem.addDomain",
        "pem.exchange.addMailbox",
    }
    assert all(e["outcome"] == "ok" and e["actor"] == "admin" for e in entries)
    created = next(e for e in entries if e["method"] == "pem.exchange.addMailbox")
    assert f"mailbox:{mailbox_id}" in created["objects"]
    assert created["params"]["new_user"]["password"] == "***"
    later = pemx_cli(
        server, "audit", "--account", str(fresh.customer_id), "--since", "2999-01-01", "--json"
    )
    assert json.loads(later.stdout) == []
