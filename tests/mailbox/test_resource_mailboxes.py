"""Resource mailboxes (rooms and equipment) over HTTP, each effect proved from the mail side:
mail reaches a room over LMTP at the ack, and nobody logs in to it by IMAP, POP3 or
submission; counted against the subscription's "Exchange resource mailboxes"."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
from typing import Any

import pytest

from pemx.adapters.mail.dovecot import DoveadmHttp
from tests.support.builders import (
    DOMAINS,
    MAILBOXES,
    STORAGE,
    USERS,
    Estate,
    Reseller,
    Tenant,
    add_user,
    mailbox_params,
    make_estate,
    make_reseller_with_pool,
    make_tenant,
    missing_id,
    resources,
    unique,
)
from tests.support.calls import assert_same_refusal, err, ok
from tests.support.errors import (
    ADDRESS_IN_USE,
    FOREIGN_DOMAIN,
    INVALID_ARGUMENTS,
    OBJECT_NOT_FOUND,
    RESOURCE_LIMIT_EXCEEDED,
    RESOURCE_NOT_IN_TEMPLATE,
)
from tests.support.mailclient import imap_login, lmtp_deliver, lmtp_transaction, pop3_login
from tests.support.server import Server

RESOURCES = 5  # "Exchange resource mailboxes"
ROOM, EQUIPMENT = 0, 1
LIMITS = {MAILBOXES: 10, STORAGE: 1_000_000, USERS: 10, DOMAINS: 5, RESOURCES: 2}


@pytest.fixture
def tenant(provider: Any) -> Tenant:
    return make_tenant(provider, limits=LIMITS)


def room_params(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    name = unique("room")
    params: dict[str, Any] = {
        "subscription_id": tenant.subscription_id,
        "display_name": f"Room {name}",
        "location": "2nd floor, 2.14",
        "type": ROOM,
        "alias": name,
        "primary_email_address": f"{name}@{tenant.domain}",
        "size_limit": 10_240,
        "capacity": 12,
    }
    params.update(overrides)
    return params


def add_room(api: Any, tenant: Tenant, **overrides: Any) -> tuple[int, str]:
    params = room_params(tenant, **overrides)
    mailbox_id = ok(api.pem.exchange.addResourceMailbox(params))["mailbox_id"]
    return int(mailbox_id), str(params["primary_email_address"])


def listing(api: Any, subscription_id: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(
        api.pem.exchange.getResourceMailboxes({"subscription_id": subscription_id})
    )
    return found


def usage(api: Any, subscription_id: int) -> dict[int, int]:
    return {k: v["usage"] for k, v in resources(api, subscription_id).items()}


def inbox_subjects(server: Server, address: str) -> list[str]:
    """The INBOX subjects of a mailbox nobody can log in to, read through doveadm."""
    host, port = server.mail("doveadm_http")
    key = (server.data_dir / "doveadm-api-key").read_text().strip()
    rows = DoveadmHttp(host, port, key).call(
        "fetch", {"user": address, "field": ["hdr.subject"], "query": ["mailbox", "INBOX"]}
    )
    return sorted(str(row["hdr.subject"]).strip() for row in rows)


# ------------------------------------------------------------------------ live at the ack


def test_a_room_receives_mail_at_the_ack_and_nobody_logs_in_to_it(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    name = unique("board")
    primary, other = f"{name}@{tenant.domain}", f"{name}-alt@{tenant.domain}"
    before = usage(provider, tenant.subscription_id)
    add_room(
        provider,
        tenant,
        alias=name,
        primary_email_address=primary.upper(),
        emails=[other],
        display_name="Board room",
    )
    lmtp = server.mail("lmtp")
    assert lmtp_deliver(*lmtp, primary, "booking 1") == (250, 250)
    assert lmtp_deliver(*lmtp, other.upper(), "booking 2") == (250, 250)
    assert inbox_subjects(server, primary) == ["booking 1", "booking 2"]

    # No login of its own: by its address, with any password, on every login service.
    for login in (primary, name):
        with pytest.raises(imaplib.IMAP4.error):
            imap_login(*server.mail("imap"), login, "")
        for listener in ("imap", "imap_owa", "imap_activesync"):
            with pytest.raises(imaplib.IMAP4.error):
                imap_login(*server.mail(listener), login, "Any-Pass-1")
        with pytest.raises(poplib.error_proto):
            pop3_login(*server.mail("pop3"), login, "Any-Pass-1")
        with (
            smtplib.SMTP(*server.mail("submission"), timeout=20) as smtp,
            pytest.raises(smtplib.SMTPAuthenticationError),
        ):
            smtp.ehlo("client.test")
            smtp.login(login, "Any-Pass-1")

    after = usage(provider, tenant.subscription_id)
    assert after[RESOURCES] == before[RESOURCES] + 1
    assert after[MAILBOXES] == before[MAILBOXES]  # users' mailboxes are counted apart
    assert after[STORAGE] == before[STORAGE] + 10_240


def test_a_resource_mailbox_reads_back_in_every_list(provider: Any, tenant: Tenant) -> None:
    room_id, room = add_room(provider, tenant, capacity=30, location="Hall A")
    kit_id, kit = add_room(
        provider, tenant, type=EQUIPMENT, display_name="Projector", capacity=0, location=""
    )
    login = unique("person")
    user_box = ok(
        provider.pem.exchange.addMailbox(
            {
                "new_user": {"subscription_id": tenant.subscription_id, "login": login},
                **mailbox_params(f"{login}@{tenant.domain}"),
            }
        )
    )["mailbox_id"]

    found = {r["mailbox_id"]: r for r in listing(provider, tenant.subscription_id)}
    assert set(found) == {room_id, kit_id}  # a user's mailbox is not a resource
    assert found[room_id]["type"] == ROOM and found[kit_id]["type"] == EQUIPMENT
    assert found[kit_id] == {
        "mailbox_id": kit_id,
        "type": EQUIPMENT,
        "email_address": kit,
        "display_name": "Projector",
        "alias": found[kit_id]["alias"],
    }

    # getMailboxes lists every mailbox, a resource with no user (0) and no login ("").
    mailboxes = {
        m["mailbox_id"]: m
        for m in ok(provider.pem.exchange.getMailboxes({"subscription_id": tenant.subscription_id}))
    }
    assert set(mailboxes) == {room_id, kit_id, user_box}
    assert mailboxes[room_id]["user_id"] == 0 and mailboxes[room_id]["login"] == ""
    assert mailboxes[room_id]["email_address"] == room
    assert mailboxes[kit_id]["display_name"] == "Projector"

    info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": room_id}))
    assert info["user_id"] == 0 and info["login"] == ""
    assert (info["type"], info["location"], info["capacity"]) == (ROOM, "Hall A", 30)
    assert not any(info[p] for p in ("owa", "mapi", "active_sync", "imap4", "pop3"))
    kit_info = ok(provider.pem.exchange.getMailboxByEmailAddress({"email_address": kit}))
    assert (kit_info["type"], kit_info["location"], kit_info["capacity"]) == (EQUIPMENT, "", 0)
    user_info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": user_box}))
    assert "type" not in user_info and "capacity" not in user_info


def test_modify_changes_the_details_and_limits(provider: Any, tenant: Tenant) -> None:
    room_id, room = add_room(provider, tenant)
    before = usage(provider, tenant.subscription_id)
    ok(
        provider.pem.exchange.modifyResourceMailbox(
            {
                "mailbox_id": room_id,
                "display_name": "  Big room ",
                "location": "Roof",
                "capacity": 80,
                "size_limit": 20_480,
                "message_retention": 7,
                "show_in_address_book": False,
            }
        )
    )
    info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": room_id}))
    assert (info["display_name"], info["location"], info["capacity"]) == ("Big room", "Roof", 80)
    assert (info["size_limit"], info["message_retention"]) == (20_480, 7)
    assert info["show_in_address_book"] is False
    assert usage(provider, tenant.subscription_id)[STORAGE] == before[STORAGE] + 10_240
    ok(provider.pem.exchange.modifyResourceMailbox({"mailbox_id": room_id, "capacity": 0}))
    ok(provider.pem.exchange.modifyResourceMailbox({"mailbox_id": room_id, "location": ""}))
    info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": room_id}))
    assert (info["location"], info["capacity"], info["primary_email_address"]) == ("", 0, room)


def test_removal_frees_the_resource_and_the_address(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    before = usage(provider, tenant.subscription_id)
    room_id, room = add_room(provider, tenant)
    ok(provider.pem.exchange.removeMailbox({"mailbox_id": room_id}))
    assert usage(provider, tenant.subscription_id) == before
    assert listing(provider, tenant.subscription_id) == []
    reply = lmtp_transaction(*server.mail("lmtp"), room, "too late")
    assert reply.rcpt_code == 550, reply
    again, _ = add_room(provider, tenant, primary_email_address=room)  # the address is free
    assert again != room_id


# ------------------------------------------------------------------------ limits


def test_the_resource_mailbox_limit_is_enforced(provider: Any, tenant: Tenant) -> None:
    add_room(provider, tenant)
    add_room(provider, tenant, type=EQUIPMENT)
    before = usage(provider, tenant.subscription_id)
    err(
        provider.pem.exchange.addResourceMailbox(room_params(tenant)),
        RESOURCE_LIMIT_EXCEEDED,
    )
    assert usage(provider, tenant.subscription_id) == before
    assert len(listing(provider, tenant.subscription_id)) == 2


def test_a_plan_without_resource_mailboxes_has_none(provider: Any) -> None:
    plain = make_tenant(provider)  # the usual plan: mailboxes, storage, users, domains
    response = err(
        provider.pem.exchange.addResourceMailbox(room_params(plain)), RESOURCE_NOT_IN_TEMPLATE
    )
    assert response["properties"]["resource_type_id"] == str(RESOURCES)
    assert listing(provider, plain.subscription_id) == []


# ------------------------------------------------------------------------ bad input


def test_bad_input_is_refused_and_changes_nothing(provider: Any, tenant: Tenant) -> None:
    taken_id, taken = add_room(provider, tenant)
    login = unique("login")
    add_user(provider, tenant.subscription_id, f"{login}@{tenant.domain}")
    before = usage(provider, tenant.subscription_id), listing(provider, tenant.subscription_id)
    cases: list[tuple[dict[str, Any], Any]] = [
        ({"type": 2}, INVALID_ARGUMENTS),  # neither room nor equipment
        ({"type": -1}, INVALID_ARGUMENTS),
        ({"type": "room"}, INVALID_ARGUMENTS),
        ({"capacity": -1}, INVALID_ARGUMENTS),
        ({"capacity": 100_001}, INVALID_ARGUMENTS),  # not a room any more
        ({"capacity": 2**31 - 1}, INVALID_ARGUMENTS),
        ({"display_name": "   "}, INVALID_ARGUMENTS),
        ({"display_name": "x" * 256}, INVALID_ARGUMENTS),
        ({"size_limit": 0}, INVALID_ARGUMENTS),
        ({"alias": "bad alias"}, INVALID_ARGUMENTS),
        ({"primary_email_address": "not-an-address"}, INVALID_ARGUMENTS),
        ({"primary_email_address": taken}, ADDRESS_IN_USE),  # duplicate address
        ({"primary_email_address": f"{login}@{tenant.domain}"}, ADDRESS_IN_USE),  # a login
        ({"emails": [taken]}, ADDRESS_IN_USE),
        ({"primary_email_address": f"{unique('x')}@elsewhere.example"}, FOREIGN_DOMAIN),
        ({"subscription_id": missing_id()}, OBJECT_NOT_FOUND),
        ({"owa": True}, INVALID_ARGUMENTS),  # unknown field: a resource has no login
    ]
    for change, code in cases:
        err(provider.pem.exchange.addResourceMailbox(room_params(tenant, **change)), code)
    twice = unique("twice") + "@" + tenant.domain
    err(
        provider.pem.exchange.addResourceMailbox(
            room_params(tenant, primary_email_address=twice, emails=[twice.upper()])
        ),
        INVALID_ARGUMENTS,
    )
    assert (usage(provider, tenant.subscription_id), listing(provider, tenant.subscription_id)) == (
        before
    )

    info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": taken_id}))
    changes: list[tuple[dict[str, Any], Any]] = [
        ({"capacity": -5}, INVALID_ARGUMENTS),
        ({"capacity": 1_000_000}, INVALID_ARGUMENTS),
        ({"display_name": ""}, INVALID_ARGUMENTS),
        ({"warning_limit": 50_000}, INVALID_ARGUMENTS),  # above size_limit
        ({"imap4": True}, INVALID_ARGUMENTS),  # not a field of a resource
        ({"size_limit": 2_000_000}, RESOURCE_LIMIT_EXCEEDED),  # the storage limit
    ]
    for change, code in changes:
        err(provider.pem.exchange.modifyResourceMailbox({"mailbox_id": taken_id, **change}), code)
    # modifyMailbox reaches a resource's limits, never a login of it.
    for switch in ("imap4", "pop3", "owa", "active_sync", "mapi"):
        err(
            provider.pem.exchange.modifyMailbox({"mailbox_id": taken_id, switch: True}),
            INVALID_ARGUMENTS,
        )
    assert ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": taken_id})) == info


def test_a_users_mailbox_is_not_a_resource_mailbox(provider: Any, tenant: Tenant) -> None:
    login = unique("person")
    user_box = ok(
        provider.pem.exchange.addMailbox(
            {
                "new_user": {"subscription_id": tenant.subscription_id, "login": login},
                **mailbox_params(f"{login}@{tenant.domain}"),
            }
        )
    )["mailbox_id"]
    refused = provider.pem.exchange.modifyResourceMailbox({"mailbox_id": user_box, "capacity": 3})
    missing = provider.pem.exchange.modifyResourceMailbox(
        {"mailbox_id": missing_id(), "capacity": 3}
    )
    assert_same_refusal(refused, missing, names=(str(user_box), str(missing_id())))


# ------------------------------------------------------------------------ tenants


@pytest.fixture(scope="module")
def owner(provider: Any, server: Server) -> Reseller:
    return make_reseller_with_pool(
        provider,
        server,
        pool={MAILBOXES: 100, STORAGE: -1, USERS: 100, DOMAINS: 20, RESOURCES: 10},
        template={MAILBOXES: 10, STORAGE: -1, USERS: 10, DOMAINS: 5, RESOURCES: 3},
    )


@pytest.fixture(scope="module")
def stranger(provider: Any, server: Server) -> Reseller:
    return make_reseller_with_pool(provider, server)


def test_a_reseller_manages_its_own_customers_resources_only(
    owner: Reseller, stranger: Reseller
) -> None:
    estate: Estate = make_estate(owner)
    tenant = Tenant(owner.account_id, estate.customer_id, 0, estate.subscription_id, estate.domain)
    room_id, _ = add_room(owner.api, tenant)  # a reseller creates them for its customers
    pool_before = usage(owner.api, owner.pool_subscription_id)[RESOURCES]
    add_room(owner.api, tenant, type=EQUIPMENT)
    assert usage(owner.api, owner.pool_subscription_id)[RESOURCES] == pool_before + 1

    # Another reseller: the customer's subscription and mailbox answer like missing ones.
    foreign = stranger.api.pem.exchange.addResourceMailbox(room_params(tenant))
    missing = stranger.api.pem.exchange.addResourceMailbox(
        room_params(tenant, subscription_id=missing_id())
    )
    assert_same_refusal(foreign, missing, names=(str(tenant.subscription_id), str(missing_id())))
    for call, asked in (
        (stranger.api.pem.exchange.getResourceMailboxes, {"subscription_id": "s"}),
        (stranger.api.pem.exchange.modifyResourceMailbox, {"mailbox_id": "m", "capacity": 1}),
        (stranger.api.pem.exchange.getMailboxInfo, {"mailbox_id": "m"}),
        (stranger.api.pem.exchange.removeMailbox, {"mailbox_id": "m"}),
    ):
        key = next(iter(asked))
        real = tenant.subscription_id if key == "subscription_id" else room_id
        assert_same_refusal(
            call({**asked, key: real}),
            call({**asked, key: missing_id()}),
            names=(str(real), str(missing_id())),
        )
    assert len(listing(owner.api, tenant.subscription_id)) == 2


def test_suspension_keeps_a_rooms_mail_and_termination_removes_the_room(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    _, room = add_room(provider, tenant)
    lmtp = server.mail("lmtp")
    ok(provider.pem.disableSubscription({"subscription_id": tenant.subscription_id}))
    assert lmtp_deliver(*lmtp, room, "while suspended") == (250, 250)  # mail is kept
    ok(provider.pem.enableSubscription({"subscription_id": tenant.subscription_id}))
    assert inbox_subjects(server, room) == ["while suspended"]
    ok(provider.pem.removeSubscription({"subscription_id": tenant.subscription_id}))
    assert lmtp_transaction(*lmtp, room, "after the end").rcpt_code == 550
