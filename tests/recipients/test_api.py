"""Forwarding, distribution lists and mail contacts over HTTP against a running `pemx
serve`: what each method stores and answers, and every refusal with nothing changed."""

from __future__ import annotations

from typing import Any

from tests.support.builders import (
    CONTACTS,
    LISTS,
    Reseller,
    Tenant,
    add_contact,
    add_list,
    make_estate,
    make_tenant,
    missing_id,
    new_user_mailbox,
    resources,
    unique,
)
from tests.support.calls import assert_not_found, err, ok
from tests.support.errors import (
    ADDRESS_IN_USE,
    FOREIGN_DOMAIN,
    INVALID_ARGUMENTS,
    RESOURCE_LIMIT_EXCEEDED,
)

PASSWORD = "Recipient-Pass-1"


def mailbox(api: Any, tenant: Tenant) -> tuple[int, str]:
    mailbox_id, _, _, address = new_user_mailbox(api, tenant, PASSWORD, "rc")
    return mailbox_id, address


def get_list(api: Any, list_id: int) -> dict[str, Any]:
    return ok(api.pem.exchange.getDistributionList({"distribution_list_id": list_id}))  # type: ignore[no-any-return]


def members(api: Any, list_id: int, *items: dict[str, int], remove: bool = False) -> Any:
    params = {"distribution_list_id": list_id, "members": list(items)}
    if remove:
        return api.pem.exchange.removeDistributionListMembers(params)
    return api.pem.exchange.addDistributionListMembers(params)


# ------------------------------------------------------------------------ lists


def test_a_list_is_created_read_changed_and_removed(provider: Any, tenant: Tenant) -> None:
    alternative = f"{unique('alt')}@{tenant.domain}"
    list_id, address = add_list(
        provider,
        tenant,
        accept_mail_from=2,
        show_in_address_book=False,
        additional_emails=[alternative.upper()],
    )
    info = get_list(provider, list_id)
    assert info == {
        "distribution_list_id": list_id,
        "display_name": "Team",
        "email_address": address,
        "alias": address.split("@")[0],
        "accept_mail_from": 2,
        "subscription_id": tenant.subscription_id,
        "show_in_address_book": False,
        "email_addresses": [address, alternative],
        "members": [],
    }
    listed = ok(
        provider.pem.exchange.getDistributionLists({"subscription_id": tenant.subscription_id})
    )
    assert listed == [{k: info[k] for k in listed[0]}]
    assert set(listed[0]) == {
        "distribution_list_id",
        "display_name",
        "email_address",
        "alias",
        "accept_mail_from",
    }
    other = f"{unique('alt')}@{tenant.domain}"
    ok(
        provider.pem.exchange.modifyDistributionList(
            {
                "distribution_list_id": list_id,
                "display_name": "Sales",
                "accept_mail_from": 3,
                "show_in_address_book": True,
                "additional_emails": [other],
            }
        )
    )
    info = get_list(provider, list_id)
    assert (info["display_name"], info["accept_mail_from"], info["show_in_address_book"]) == (
        "Sales",
        3,
        True,
    )
    assert info["email_addresses"] == [address, other]
    assert resources(provider, tenant.subscription_id)[LISTS]["usage"] == 1
    ok(provider.pem.exchange.removeDistributionList({"distribution_list_id": list_id}))
    assert_not_found(provider.pem.exchange.getDistributionList({"distribution_list_id": list_id}))
    assert resources(provider, tenant.subscription_id)[LISTS]["usage"] == 0
    # its addresses are free at once: a mailbox takes the primary one
    box, _, _, _ = new_user_mailbox(
        provider, tenant, PASSWORD, "reuse", primary_email_address=address, alias="reuse"
    )
    assert box


def test_list_addresses_follow_the_rules_of_every_recipient(provider: Any, tenant: Tenant) -> None:
    box_id, box_address = mailbox(provider, tenant)
    list_id, list_address = add_list(provider, tenant)
    other = make_tenant(provider)
    base = {
        "subscription_id": tenant.subscription_id,
        "alias": "x",
        "display_name": "X",
        "accept_mail_from": 1,
    }
    add = provider.pem.exchange.addDistributionList
    err(add({**base, "primary_email_address": f"x@{other.domain}"}), FOREIGN_DOMAIN)
    err(add({**base, "primary_email_address": "x@nowhere.example"}), FOREIGN_DOMAIN)
    err(add({**base, "primary_email_address": box_address}), ADDRESS_IN_USE)
    err(add({**base, "primary_email_address": list_address}), ADDRESS_IN_USE)
    fresh = f"{unique('x')}@{tenant.domain}"
    err(
        add({**base, "primary_email_address": fresh, "additional_emails": [box_address]}),
        ADDRESS_IN_USE,
    )
    err(add({**base, "primary_email_address": fresh, "accept_mail_from": 4}), INVALID_ARGUMENTS)
    err(add({**base, "primary_email_address": fresh, "alias": "a b"}), INVALID_ARGUMENTS)
    err(add({**base, "primary_email_address": fresh, "display_name": " "}), INVALID_ARGUMENTS)
    # nothing was written: the fresh address is free, one list counted
    assert resources(provider, tenant.subscription_id)[LISTS]["usage"] == 1
    assert (
        len(
            ok(
                provider.pem.exchange.getDistributionLists(
                    {"subscription_id": tenant.subscription_id}
                )
            )
        )
        == 1
    )
    # a mailbox cannot take a list's address either, nor a contact
    err(
        provider.pem.exchange.addEmailAddresses({"mailbox_id": box_id, "emails": [list_address]}),
        ADDRESS_IN_USE,
    )
    err(
        provider.pem.exchange.addContact(
            {
                "subscription_id": tenant.subscription_id,
                "alias": "c",
                "display_name": "C",
                "target_email_address": "c@elsewhere.example",
                "primary_email_address": list_address,
            }
        ),
        ADDRESS_IN_USE,
    )
    assert resources(provider, tenant.subscription_id)[CONTACTS]["usage"] == 0
    assert get_list(provider, list_id)["email_addresses"] == [list_address]


def test_the_list_and_contact_limits_are_checked(provider: Any) -> None:
    tenant = make_tenant(provider, limits={1: 5, 2: 100_000, 3: 5, 4: 5, LISTS: 1, CONTACTS: 1})
    add_list(provider, tenant)
    refused = provider.pem.exchange.addDistributionList(
        {
            "subscription_id": tenant.subscription_id,
            "alias": "two",
            "display_name": "Two",
            "primary_email_address": f"two@{tenant.domain}",
            "accept_mail_from": 1,
        }
    )
    err(refused, RESOURCE_LIMIT_EXCEEDED)
    add_contact(provider, tenant)
    refused = provider.pem.exchange.addContact(
        {
            "subscription_id": tenant.subscription_id,
            "alias": "two",
            "display_name": "Two",
            "target_email_address": "two@elsewhere.example",
        }
    )
    err(refused, RESOURCE_LIMIT_EXCEEDED)
    usage = resources(provider, tenant.subscription_id)
    assert (usage[LISTS]["usage"], usage[CONTACTS]["usage"]) == (1, 1)


def test_members_are_added_once_removed_and_cycles_refused(provider: Any, tenant: Tenant) -> None:
    box_id, _ = mailbox(provider, tenant)
    contact_id, _ = add_contact(provider, tenant)
    outer, _ = add_list(provider, tenant)
    inner, _ = add_list(provider, tenant)
    innermost, _ = add_list(provider, tenant)
    ok(members(provider, outer, {"mailbox_id": box_id}, {"distribution_list_id": inner}))
    ok(members(provider, outer, {"mailbox_id": box_id}, {"mail_contact_id": contact_id}))
    assert get_list(provider, outer)["members"] == [
        {"mailbox_id": box_id},
        {"distribution_list_id": inner},
        {"mail_contact_id": contact_id},
    ]
    ok(members(provider, inner, {"distribution_list_id": innermost}))
    # a list that would contain itself: directly, or through the lists in it
    err(members(provider, outer, {"distribution_list_id": outer}), INVALID_ARGUMENTS)
    err(members(provider, innermost, {"distribution_list_id": outer}), INVALID_ARGUMENTS)
    err(members(provider, inner, {"distribution_list_id": outer}), INVALID_ARGUMENTS)
    # malformed members
    err(members(provider, outer, {}), INVALID_ARGUMENTS)
    err(
        members(provider, outer, {"mailbox_id": box_id, "mail_contact_id": contact_id}),
        INVALID_ARGUMENTS,
    )
    err(members(provider, outer, {"public_folder_id": 1}), INVALID_ARGUMENTS)
    err(
        provider.pem.exchange.addDistributionListMembers(
            {"distribution_list_id": outer, "members": []}
        ),
        INVALID_ARGUMENTS,
    )
    assert get_list(provider, innermost)["members"] == []
    ok(members(provider, outer, {"mail_contact_id": contact_id}, remove=True))
    err(members(provider, outer, {"mail_contact_id": contact_id}, remove=True), INVALID_ARGUMENTS)
    assert get_list(provider, outer)["members"] == [
        {"mailbox_id": box_id},
        {"distribution_list_id": inner},
    ]
    # removing a nested list takes it out of the list it was in
    ok(provider.pem.exchange.removeDistributionList({"distribution_list_id": inner}))
    assert get_list(provider, outer)["members"] == [{"mailbox_id": box_id}]


def test_members_of_another_customer_are_refused(provider: Any, tenant: Tenant) -> None:
    list_id, _ = add_list(provider, tenant)
    other = make_tenant(provider, limits={1: 5, 2: 100_000, 3: 5, 4: 5, LISTS: 5, CONTACTS: 5})
    foreign_box, _ = mailbox(provider, other)
    foreign_list, _ = add_list(provider, other)
    foreign_contact, _ = add_contact(provider, other)
    for item in (
        {"mailbox_id": foreign_box},
        {"distribution_list_id": foreign_list},
        {"mail_contact_id": foreign_contact},
    ):
        err(members(provider, list_id, item), INVALID_ARGUMENTS)
    err(members(provider, list_id, {"mailbox_id": missing_id()}), ("pemx", 1001))
    assert get_list(provider, list_id)["members"] == []


def test_another_tenants_lists_and_contacts_look_missing(
    provider: Any, reseller: Reseller, other_reseller: Reseller
) -> None:
    estate = make_estate(other_reseller)
    foreign_tenant = Tenant(
        None, estate.customer_id, estate.template_id, estate.subscription_id, estate.domain
    )
    # (the estate's plan carries no list or contact resource: they are not counted)
    list_id, _ = add_list(provider, foreign_tenant)
    contact_id, _ = add_contact(provider, foreign_tenant)
    api = reseller.api
    pairs = [
        (lambda i: api.pem.exchange.getDistributionList({"distribution_list_id": i}), list_id),
        (lambda i: api.pem.exchange.removeDistributionList({"distribution_list_id": i}), list_id),
        (
            lambda i: api.pem.exchange.modifyDistributionList(
                {"distribution_list_id": i, "display_name": "x"}
            ),
            list_id,
        ),
        (lambda i: members(api, i, {"mailbox_id": estate.mailbox_id}), list_id),
        (lambda i: api.pem.exchange.getContact({"mail_contact_id": i}), contact_id),
        (lambda i: api.pem.exchange.removeContact({"mail_contact_id": i}), contact_id),
        (
            lambda i: api.pem.exchange.modifyContact({"mail_contact_id": i, "display_name": "x"}),
            contact_id,
        ),
        (
            lambda i: api.pem.exchange.changePrimaryEmailAddress(
                {"mail_contact_id": i, "email_address": f"x@{estate.domain}"}
            ),
            contact_id,
        ),
        (
            lambda i: api.pem.exchange.changePrimaryEmailAddress(
                {"distribution_list_id": i, "email_address": f"x@{estate.domain}"}
            ),
            list_id,
        ),
        (
            lambda i: api.pem.exchange.enableForwarding(
                {"mailbox_id": i, "forward_to": "a@b.example"}
            ),
            estate.mailbox_id,
        ),
        (lambda i: api.pem.exchange.disableForwarding({"mailbox_id": i}), estate.mailbox_id),
        (
            lambda i: api.pem.exchange.getDistributionLists({"subscription_id": i}),
            estate.subscription_id,
        ),
        (
            lambda i: api.pem.exchange.getContacts({"subscription_id": i}),
            estate.subscription_id,
        ),
    ]
    for call, foreign in pairs:
        assert_not_found(call(foreign), like=call(missing_id()))
    # the reseller's own list: another tenant's recipients as members look missing too
    own = make_tenant(api, template_id=reseller.template_id)
    own_list, _ = add_list(api, own)
    for key, foreign in (
        ("mailbox_id", estate.mailbox_id),
        ("distribution_list_id", list_id),
        ("mail_contact_id", contact_id),
    ):
        assert_not_found(
            members(api, own_list, {key: foreign}), like=members(api, own_list, {key: missing_id()})
        )
    assert get_list(api, own_list)["members"] == []
    assert get_list(provider, list_id)["display_name"] == "Team"
    assert (
        ok(provider.pem.exchange.getContact({"mail_contact_id": contact_id}))["display_name"]
        == "Someone Outside"
    )


# --------------------------------------------------------------------- contacts


def test_a_contact_is_created_read_changed_and_removed(provider: Any, tenant: Tenant) -> None:
    info = {
        "first_name": "Ann",
        "last_name": "Other",
        "telephone": {"country_code": "49", "phone_number": "12345"},
        "city": "Berlin",
    }
    contact_id, target = add_contact(provider, tenant, contact_info=info)
    got = ok(provider.pem.exchange.getContact({"mail_contact_id": contact_id}))
    assert got["target_email_address"] == target and got["contact_info"] == info
    assert (got["email_address"], got["email_addresses"], got["show_in_address_book"]) == (
        "",
        [],
        True,
    )
    listed = ok(provider.pem.exchange.getContacts({"subscription_id": tenant.subscription_id}))
    assert [c["mail_contact_id"] for c in listed] == [contact_id]
    own = f"{unique('c')}@{tenant.domain}"
    ok(
        provider.pem.exchange.changePrimaryEmailAddress(
            {"mail_contact_id": contact_id, "email_address": own}
        )
    )
    new_target = f"{unique('moved')}@elsewhere.example"
    ok(
        provider.pem.exchange.modifyContact(
            {
                "mail_contact_id": contact_id,
                "target_email_address": new_target,
                "show_in_address_book": False,
                "contact_info": {"city": "Hamburg"},
            }
        )
    )
    got = ok(provider.pem.exchange.getContact({"mail_contact_id": contact_id}))
    assert (got["email_address"], got["target_email_address"], got["contact_info"]) == (
        own,
        new_target,
        {"city": "Hamburg"},
    )
    assert got["show_in_address_book"] is False
    # a target on the customer's own domains is a recipient of its own, not a contact
    err(
        provider.pem.exchange.modifyContact(
            {"mail_contact_id": contact_id, "target_email_address": f"x@{tenant.domain}"}
        ),
        INVALID_ARGUMENTS,
    )
    err(
        provider.pem.exchange.modifyContact(
            {"mail_contact_id": contact_id, "contact_info": {"shoe_size": "9"}}
        ),
        INVALID_ARGUMENTS,
    )
    list_id, _ = add_list(provider, tenant)
    ok(members(provider, list_id, {"mail_contact_id": contact_id}))
    ok(provider.pem.exchange.removeContact({"mail_contact_id": contact_id}))
    assert get_list(provider, list_id)["members"] == []
    assert_not_found(provider.pem.exchange.getContact({"mail_contact_id": contact_id}))
    # its address is free at once
    ok(
        provider.pem.exchange.changePrimaryEmailAddress(
            {"distribution_list_id": list_id, "email_address": own}
        )
    )
    assert get_list(provider, list_id)["email_address"] == own


def test_change_primary_address_takes_exactly_one_recipient(provider: Any, tenant: Tenant) -> None:
    box_id, _ = mailbox(provider, tenant)
    list_id, list_address = add_list(provider, tenant)
    address = f"{unique('p')}@{tenant.domain}"
    change = provider.pem.exchange.changePrimaryEmailAddress
    err(change({"email_address": address}), INVALID_ARGUMENTS)
    err(
        change({"mailbox_id": box_id, "distribution_list_id": list_id, "email_address": address}),
        INVALID_ARGUMENTS,
    )
    err(
        change({"distribution_list_id": list_id, "email_address": "p@elsewhere.example"}),
        FOREIGN_DOMAIN,
    )
    ok(change({"distribution_list_id": list_id, "email_address": address}))
    info = get_list(provider, list_id)
    assert info["email_address"] == address
    assert sorted(info["email_addresses"]) == sorted([address, list_address])
    err(change({"mailbox_id": box_id, "email_address": list_address}), ADDRESS_IN_USE)


# ------------------------------------------------------------------- forwarding


def test_forwarding_is_set_shown_and_refused_where_mail_would_loop(
    provider: Any, tenant: Tenant
) -> None:
    box_id, box_address = mailbox(provider, tenant)
    other_id, other_address = mailbox(provider, tenant)
    info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": box_id}))
    assert (info["forward_to"], info["deliver_to_mailbox"]) == ("", False)
    enable = provider.pem.exchange.enableForwarding
    ok(
        enable(
            {
                "mailbox_id": box_id,
                "forward_to": "Out@Elsewhere.example",
                "deliver_to_mailbox": True,
            }
        )
    )
    info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": box_id}))
    assert (info["forward_to"], info["deliver_to_mailbox"]) == ("out@elsewhere.example", True)
    # refused, and the forwarding stays as it was
    list_id, list_address = add_list(provider, tenant)
    ok(members(provider, list_id, {"mailbox_id": box_id}))
    outer_id, outer_address = add_list(provider, tenant)
    ok(members(provider, outer_id, {"distribution_list_id": list_id}))
    for target in (
        box_address,  # itself
        list_address,  # a list it is a member of
        outer_address,  # ... through a nested list
        f"nobody-{unique()}@{tenant.domain}",  # no recipient has it
        "not an address",
    ):
        err(enable({"mailbox_id": box_id, "forward_to": target}), INVALID_ARGUMENTS)
    ok(enable({"mailbox_id": other_id, "forward_to": box_address}))
    err(enable({"mailbox_id": box_id, "forward_to": other_address}), INVALID_ARGUMENTS)
    info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": box_id}))
    assert (info["forward_to"], info["deliver_to_mailbox"]) == ("out@elsewhere.example", True)
    ok(provider.pem.exchange.disableForwarding({"mailbox_id": box_id}))
    info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": box_id}))
    assert (info["forward_to"], info["deliver_to_mailbox"]) == ("", False)
    # to another list of the customer: allowed
    lone_list, lone_address = add_list(provider, tenant)
    ok(enable({"mailbox_id": box_id, "forward_to": lone_address}))
    del lone_list


def test_a_mailbox_forwarding_to_a_list_cannot_join_it(provider: Any, tenant: Tenant) -> None:
    # the other way round of "forwarding to a list that contains the mailbox": refused too
    box_id, _ = mailbox(provider, tenant)
    member_id, _ = mailbox(provider, tenant)
    list_id, list_address = add_list(provider, tenant)
    outer_id, _ = add_list(provider, tenant)
    ok(members(provider, outer_id, {"distribution_list_id": list_id}))
    ok(provider.pem.exchange.enableForwarding({"mailbox_id": box_id, "forward_to": list_address}))
    inner_id, _ = add_list(provider, tenant)
    ok(members(provider, inner_id, {"mailbox_id": box_id}))
    nested_id, _ = add_list(provider, tenant)
    ok(members(provider, list_id, {"distribution_list_id": nested_id}))
    for target, member in (
        (list_id, {"mailbox_id": box_id}),  # straight back
        (list_id, {"distribution_list_id": inner_id}),  # through a list it is in
        (nested_id, {"mailbox_id": box_id}),  # into a list nested in its target
    ):
        refused = members(provider, target, {"mailbox_id": member_id}, member)
        err(refused, INVALID_ARGUMENTS)
        assert "forwarded back" in refused["error_message"]
    # nothing changed
    assert get_list(provider, list_id)["members"] == [{"distribution_list_id": nested_id}]
    assert get_list(provider, nested_id)["members"] == []
    # a list that contains its target is no loop: mail to it reaches the target once
    ok(members(provider, outer_id, {"mailbox_id": box_id}))
    ok(provider.pem.exchange.disableForwarding({"mailbox_id": box_id}))
    ok(members(provider, list_id, {"mailbox_id": box_id}))


def test_removing_a_mailbox_takes_it_out_of_lists_and_ends_forwarding_to_it(
    provider: Any, tenant: Tenant
) -> None:
    box_id, box_address = mailbox(provider, tenant)
    forwarder_id, _ = mailbox(provider, tenant)
    list_id, _ = add_list(provider, tenant)
    ok(members(provider, list_id, {"mailbox_id": box_id}, {"mailbox_id": forwarder_id}))
    ok(
        provider.pem.exchange.enableForwarding(
            {"mailbox_id": forwarder_id, "forward_to": box_address, "deliver_to_mailbox": True}
        )
    )
    ok(provider.pem.exchange.removeMailbox({"mailbox_id": box_id}))
    assert get_list(provider, list_id)["members"] == [{"mailbox_id": forwarder_id}]
    info = ok(provider.pem.exchange.getMailboxInfo({"mailbox_id": forwarder_id}))
    assert (info["forward_to"], info["deliver_to_mailbox"]) == ("", False)


def test_terminating_a_subscription_removes_its_lists_and_contacts(provider: Any) -> None:
    tenant = make_tenant(provider, limits={1: 5, 2: 100_000, 3: 5, 4: 5, LISTS: 5, CONTACTS: 5})
    list_id, list_address = add_list(provider, tenant)
    contact_id, _ = add_contact(provider, tenant)
    ok(provider.pem.removeSubscription({"subscription_id": tenant.subscription_id}))
    assert_not_found(provider.pem.exchange.getDistributionList({"distribution_list_id": list_id}))
    assert_not_found(provider.pem.exchange.getContact({"mail_contact_id": contact_id}))
    del list_address
