"""The global address list per customer: a customer's mailboxes with
show_in_address_book = 1, found from the web UI, over CardDAV (the "gal" collection) and
over ActiveSync search, and never another customer's."""

from __future__ import annotations

from typing import Any

from tests.support.builders import make_tenant, new_user_mailbox, unique
from tests.support.calls import ok
from tests.support.groupware import ActiveSync, Web, dav, front
from tests.support.server import Server

PASSWORD = "Address-List-1"


def test_each_customer_finds_its_own_visible_mailboxes_only(
    gw_server: Server, gw_provider: Any
) -> None:
    token = unique("gal")  # in every login below, so one search finds them all
    first, second = make_tenant(gw_provider), make_tenant(gw_provider)
    alice_id, _, _, alice = new_user_mailbox(gw_provider, first, PASSWORD, prefix=token)
    bob_id, _, _, bob = new_user_mailbox(gw_provider, first, PASSWORD, prefix=token)
    hidden_id, _, _, hidden = new_user_mailbox(gw_provider, first, PASSWORD, prefix=token)
    hide = {"mailbox_id": hidden_id, "show_in_address_book": False}
    ok(gw_provider.pem.exchange.modifyMailbox(hide))
    carol_id, _, _, carol = new_user_mailbox(gw_provider, second, PASSWORD, prefix=token)
    base = front(gw_server)

    web = Web(base)
    assert web.login(alice, PASSWORD).status_code == 200
    assert web.search_contacts(alice, token) == sorted([alice, bob])
    other = Web(base)
    assert other.login(carol, PASSWORD).status_code == 200
    assert other.search_contacts(carol, token) == [carol]

    listed = dav("PROPFIND", f"{base}/SOGo/dav/{alice}/Contacts/gal/", (alice, PASSWORD),
                 Depth="1").text  # fmt: skip
    # CardDAV: the directory collection "gal", one vCard per mailbox, named by SOGo's uid
    assert f"/gal/Mailbox{alice_id}<" in listed and f"/gal/Mailbox{bob_id}<" in listed
    assert f"/gal/Mailbox{carol_id}<" not in listed and f"/gal/Mailbox{hidden_id}<" not in listed
    card = dav("GET", f"{base}/SOGo/dav/{alice}/Contacts/gal/Mailbox{bob_id}", (alice, PASSWORD))
    assert card.status_code == 200 and bob in card.text

    assert ActiveSync(base, bob, PASSWORD).search_gal(token) == sorted([alice, bob])
    assert ActiveSync(base, carol, PASSWORD).search_gal(token) == [carol]

    # hidden from the list, yet it logs in; shown once the switch is on
    assert Web(base).login(hidden, PASSWORD).status_code == 200
    ok(gw_provider.pem.exchange.modifyMailbox({"mailbox_id": hidden_id,
                                               "show_in_address_book": True}))  # fmt: skip
    assert web.search_contacts(alice, token) == sorted([alice, bob, hidden])


def test_lists_contacts_and_rooms_are_in_their_own_customers_list_only(
    gw_server: Server, gw_provider: Any
) -> None:
    token = unique("dir")
    limits = {1: 10, 2: 1_000_000, 3: 10, 4: 5, 5: 5, 6: 5, 7: 5}  # resources, lists, contacts
    first, second = make_tenant(gw_provider, limits=limits), make_tenant(gw_provider)
    _, _, _, alice = new_user_mailbox(gw_provider, first, PASSWORD, prefix=token)
    _, _, _, carol = new_user_mailbox(gw_provider, second, PASSWORD, prefix=token)
    team = f"{token}-team@{first.domain}"
    list_id = ok(gw_provider.pem.exchange.addDistributionList({
        "subscription_id": first.subscription_id, "alias": f"{token}-team",
        "display_name": f"Team {token}", "primary_email_address": team, "accept_mail_from": 1,
    }))["distribution_list_id"]  # fmt: skip
    outside = f"{token}-ext@elsewhere.example"
    contact_id = ok(gw_provider.pem.exchange.addContact({
        "subscription_id": first.subscription_id, "alias": f"{token}-c",
        "display_name": f"Outside {token}", "target_email_address": outside,
    }))["mail_contact_id"]  # fmt: skip
    hidden = f"{token}-hidden@elsewhere.example"
    ok(gw_provider.pem.exchange.addContact({
        "subscription_id": first.subscription_id, "alias": f"{token}-h",
        "display_name": f"Hidden {token}", "target_email_address": hidden,
        "show_in_address_book": False,
    }))  # fmt: skip
    room = f"{token}-room@{first.domain}"
    room_id = ok(gw_provider.pem.exchange.addResourceMailbox({
        "subscription_id": first.subscription_id, "display_name": f"Room {token}",
        "type": 0, "alias": f"{token}-room", "primary_email_address": room,
        "size_limit": 10_240,
    }))["mailbox_id"]  # fmt: skip
    base = front(gw_server)
    expected = sorted([alice, team, outside, room])

    web = Web(base)
    assert web.login(alice, PASSWORD).status_code == 200
    assert web.search_contacts(alice, token) == expected
    other = Web(base)
    assert other.login(carol, PASSWORD).status_code == 200
    assert other.search_contacts(carol, token) == [carol]

    listed = dav("PROPFIND", f"{base}/SOGo/dav/{alice}/Contacts/gal/", (alice, PASSWORD),
                 Depth="1").text  # fmt: skip
    for uid in (f"List{list_id}", f"Contact{contact_id}", f"Mailbox{room_id}"):
        assert f"/gal/{uid}<" in listed, uid
    card = dav("GET", f"{base}/SOGo/dav/{alice}/Contacts/gal/Contact{contact_id}",
               (alice, PASSWORD))  # fmt: skip
    assert card.status_code == 200 and outside in card.text
    carols = dav("PROPFIND", f"{base}/SOGo/dav/{carol}/Contacts/gal/", (carol, PASSWORD),
                 Depth="1").text  # fmt: skip
    assert f"/gal/List{list_id}<" not in carols and f"/gal/Contact{contact_id}<" not in carols

    assert ActiveSync(base, alice, PASSWORD).search_gal(token) == expected
    assert ActiveSync(base, carol, PASSWORD).search_gal(token) == [carol]
