"""The rules of the model that need no I/O (pemx.domain.model): mailbox limits, protocol
switches, where a new mailbox goes, resource limits, who sees which account."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pemx.domain.errors import ErrorCode, PemxError
from pemx.domain.model import (
    PROVIDER_ACCOUNT_ID,
    UNLIMITED,
    Account,
    AccountType,
    Caller,
    ExchangeMode,
    Mailbox,
    MailboxKind,
    MailboxSettings,
    MailboxStore,
    ObjectStatus,
    ResourceDetails,
    ResourceType,
    ResourceUsage,
    Subscription,
    placement_order,
)

SETTINGS = MailboxSettings(
    alias="a", owa=True, mapi=True, active_sync=True, imap4=True, pop3=True,
    size_limit=10_240, migrated=False,
)  # fmt: skip


# --------------------------------------------------------------- resource mailboxes


def test_a_resource_mailbox_is_counted_apart_from_users_mailboxes() -> None:
    assert MailboxKind.USER.counted_as is ResourceType.MAILBOXES
    assert not MailboxKind.USER.is_resource
    for kind in (MailboxKind.ROOM, MailboxKind.EQUIPMENT):
        assert kind.is_resource and kind.counted_as is ResourceType.RESOURCE_MAILBOXES


def test_resource_details_are_trimmed_and_checked() -> None:
    details = ResourceDetails("  Board room ", "  ", 12).checked()
    assert details == ResourceDetails("Board room", None, 12)
    assert ResourceDetails("Van", None, None).checked().capacity is None
    for bad, field in [
        (ResourceDetails(" ", None, 1), "display_name"),
        (ResourceDetails("x" * 256, None, 1), "display_name"),
        (ResourceDetails("Room", "y" * 256, 1), "location"),
        (ResourceDetails("Room", None, 0), "capacity"),
        (ResourceDetails("Room", None, -3), "capacity"),
        (ResourceDetails("Room", None, 100_001), "capacity"),
    ]:
        with pytest.raises(PemxError) as refused:
            bad.checked()
        assert refused.value.properties["field"] == field


# ------------------------------------------------------------------ mailbox limits


@pytest.mark.parametrize(
    ("warning", "prohibit_send", "size"),
    [
        (None, None, 10_240),
        (1_000, 2_000, 3_000),
        (3_000, 3_000, 3_000),  # equal limits are in order
        (1_000, None, 3_000),
        (None, 2_000, 3_000),
        (3_000, None, 3_000),
    ],
)
def test_limits_in_exchange_order_are_accepted(
    warning: int | None, prohibit_send: int | None, size: int
) -> None:
    settings = dataclasses.replace(
        SETTINGS, warning_limit=warning, prohibit_send_limit=prohibit_send, size_limit=size
    )
    settings.check_limits()


@pytest.mark.parametrize(
    ("warning", "prohibit_send", "size", "field"),
    [
        (30_000, None, 20_000, "warning_limit"),  # above size_limit
        (None, 30_000, 20_000, "prohibit_send_limit"),
        (20, 10, 20_000, "warning_limit"),  # above prohibit_send_limit
        (10, 30_000, 20_000, "prohibit_send_limit"),
        (3_001, 3_000, 3_000, "warning_limit"),
    ],
)
def test_limits_out_of_order_name_the_lower_one(
    warning: int | None, prohibit_send: int | None, size: int, field: str
) -> None:
    settings = dataclasses.replace(
        SETTINGS, warning_limit=warning, prohibit_send_limit=prohibit_send, size_limit=size
    )
    with pytest.raises(PemxError) as caught:
        settings.check_limits()
    assert caught.value.code is ErrorCode.INVALID_ARGUMENTS
    assert caught.value.properties["field"] == field


@pytest.mark.parametrize("protocol", ["owa", "mapi", "active_sync", "imap4", "pop3"])
def test_switching_a_protocol_off_closes_access(protocol: str) -> None:
    switched: dict[str, Any] = {protocol: False}
    off = dataclasses.replace(SETTINGS, **switched)
    assert SETTINGS.closes_access(off)
    assert not off.closes_access(SETTINGS)  # switching on closes nothing


def test_changing_limits_or_the_alias_closes_no_access() -> None:
    changed = dataclasses.replace(SETTINGS, alias="b", size_limit=1, warning_limit=1)
    assert not SETTINGS.closes_access(changed)
    assert not SETTINGS.closes_access(SETTINGS)


def test_a_mailbox_being_deleted_says_so() -> None:
    def mailbox(status: ObjectStatus) -> Mailbox:
        return Mailbox(1, 1, 1, 1, "a@d.example", SETTINGS, True, "en", status, (), 1)

    assert mailbox(ObjectStatus.DELETING).deleting
    assert not mailbox(ObjectStatus.READY).deleting
    assert not mailbox(ObjectStatus.UPDATING).deleting


# ----------------------------------------------------------------------- placement


def store(
    store_id: int,
    count: int,
    *,
    max_mailboxes: int = 0,
    accepts_new: bool = True,
    status: ObjectStatus = ObjectStatus.READY,
) -> MailboxStore:
    return MailboxStore(
        id=store_id, name=f"s{store_id}", host="127.0.0.1", imap_port=143, pop3_port=110,
        lmtp_port=24, imap_owa_port=1143, imap_activesync_port=2143, doveadm_port=8080,
        mail_root="/var/mail", max_mailboxes=max_mailboxes, mailbox_count=count,
        accepts_new=accepts_new, status=status,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("max_mailboxes", "count", "room"),
    [(0, 10**6, True), (10, 9, True), (10, 10, False), (10, 11, False), (1, 0, True)],
)
def test_a_store_has_room_below_its_limit_and_always_without_one(
    max_mailboxes: int, count: int, room: bool
) -> None:
    assert store(1, count, max_mailboxes=max_mailboxes).has_room is room


def test_a_new_mailbox_goes_to_the_emptiest_store_then_the_oldest() -> None:
    stores = [store(3, 5), store(1, 7), store(2, 5), store(4, 0)]
    assert [s.id for s in placement_order(stores)] == [4, 2, 3, 1]


def test_closed_full_and_unready_stores_take_no_new_mailbox() -> None:
    unready = [s for s in ObjectStatus if s is not ObjectStatus.READY]
    stores = [
        store(1, 0, accepts_new=False),
        store(2, 10, max_mailboxes=10),
        *(store(3 + i, 0, status=status) for i, status in enumerate(unready)),
        store(9, 50, max_mailboxes=100),
    ]
    assert [s.id for s in placement_order(stores)] == [9]
    assert placement_order(stores[:-1]) == []
    assert placement_order([]) == []


# ----------------------------------------------------------------------- resources


def test_resource_types_keep_their_wire_ids_titles_and_units() -> None:
    assert {r.value: (r.title, r.unit) for r in ResourceType} == {
        1: ("Mailboxes", "item"),
        2: ("Mailbox storage", "kb"),
        3: ("Service users", "item"),
        4: ("Domains", "item"),
        5: ("Exchange resource mailboxes", "item"),
        6: ("Distribution lists", "item"),
        7: ("Mail contacts", "item"),
    }


def test_a_subscription_has_exchange_when_it_carries_mailboxes() -> None:
    def subscription(*resources: ResourceType) -> Subscription:
        usage = {r: ResourceUsage(r, UNLIMITED, 0) for r in resources}
        return Subscription(1, 2, 3, "s", True, ExchangeMode.SUBSCRIPTION_LOCAL, None, usage)

    assert subscription(ResourceType.MAILBOXES).has_exchange
    assert not subscription(ResourceType.SERVICE_USERS, ResourceType.DOMAINS).has_exchange
    assert not subscription().has_exchange


# ------------------------------------------------------------------------ accounts


def account(account_id: int, kind: AccountType, parent_id: int | None) -> Account:
    return Account(account_id, kind, parent_id, None, None, None, None, None, True)


PROVIDER = account(PROVIDER_ACCOUNT_ID, AccountType.PROVIDER, None)
RESELLER = account(10, AccountType.RESELLER, PROVIDER_ACCOUNT_ID)
OTHER_RESELLER = account(11, AccountType.RESELLER, PROVIDER_ACCOUNT_ID)
DIRECT_CUSTOMER = account(20, AccountType.CUSTOMER, PROVIDER_ACCOUNT_ID)
RESELLERS_CUSTOMER = account(21, AccountType.CUSTOMER, RESELLER.id)


@pytest.mark.parametrize(
    ("subject", "reseller_id"),
    [
        (PROVIDER, None),
        (RESELLER, RESELLER.id),  # a reseller belongs to itself
        (DIRECT_CUSTOMER, None),
        (RESELLERS_CUSTOMER, RESELLER.id),
    ],
)
def test_an_account_names_the_reseller_it_belongs_to(
    subject: Account, reseller_id: int | None
) -> None:
    assert subject.reseller_id == reseller_id


def test_provider_staff_see_every_account() -> None:
    caller = Caller(1, PROVIDER.id, AccountType.PROVIDER)
    assert caller.is_provider
    everyone = (PROVIDER, RESELLER, OTHER_RESELLER, DIRECT_CUSTOMER, RESELLERS_CUSTOMER)
    assert all(caller.can_see(a) for a in everyone)


def test_reseller_staff_see_their_account_and_its_customers_only() -> None:
    caller = Caller(2, RESELLER.id, AccountType.RESELLER)
    assert not caller.is_provider
    assert caller.can_see(RESELLER)
    assert caller.can_see(RESELLERS_CUSTOMER)
    assert not caller.can_see(PROVIDER)
    assert not caller.can_see(OTHER_RESELLER)
    assert not caller.can_see(DIRECT_CUSTOMER)
