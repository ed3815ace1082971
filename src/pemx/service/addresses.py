"""Use cases for a mailbox's e-mail addresses and the domains they may use."""

from __future__ import annotations

from typing import Any

from pemx.domain.errors import ErrorCode, PemxError, invalid
from pemx.domain.model import ExchangeMode, Mailbox
from pemx.domain.rules import normalize_address
from pemx.service import outbox
from pemx.service.access import visible_mailbox, visible_subscription
from pemx.service.mailboxes import check_address, live_mailbox
from pemx.service.ports import Context, Store


def get_email_addresses(ctx: Context, *, mailbox_id: int) -> dict[str, Any]:
    with ctx.uow.read() as store:
        mailbox = visible_mailbox(store, ctx.caller, mailbox_id)
    return {
        "mailbox_id": mailbox.id,
        "primary_email_address": mailbox.primary_email_address,
        "emails": list(mailbox.addresses),
    }


def add_email_addresses(ctx: Context, *, mailbox_id: int, emails: list[str]) -> None:
    addresses = _addresses(emails)
    with ctx.uow.write() as store:
        mailbox = live_mailbox(store, ctx.caller, mailbox_id)
        for address in addresses:
            _attach(store, mailbox, address, primary=False)
        store.note("mailbox", mailbox.id, mailbox.account_id)


def remove_email_addresses(ctx: Context, *, mailbox_id: int, emails: list[str]) -> None:
    addresses = _addresses(emails)
    with ctx.uow.write() as store:
        mailbox = live_mailbox(store, ctx.caller, mailbox_id)
        for index, address in enumerate(addresses):
            if address == mailbox.primary_email_address:
                raise PemxError(
                    ErrorCode.PRIMARY_ADDRESS_REQUIRED,
                    f'"{address}" is the primary address of mailbox "{mailbox.id}"; make '
                    "another address primary with pem.exchange.changePrimaryEmailAddress first.",
                    {"address": address, "mailbox_id": str(mailbox.id)},
                )
            if address not in mailbox.addresses:
                raise invalid(
                    f"emails[{index}]", f'"{address}" is not an address of mailbox {mailbox.id}'
                )
            store.delete_address(address)
        store.note("mailbox", mailbox.id, mailbox.account_id)


def change_primary_email_address(ctx: Context, *, mailbox_id: int, email_address: str) -> None:
    address = normalize_address(email_address, "email_address")
    with ctx.uow.write() as store:
        mailbox = live_mailbox(store, ctx.caller, mailbox_id)
        if address == mailbox.primary_email_address:
            return
        if address not in mailbox.addresses:
            _attach(store, mailbox, address, primary=False)
        store.set_primary_address(mailbox.id, address)
        store.note("mailbox", mailbox.id, mailbox.account_id)
        # Dovecot names sessions by the primary address: the old name's sessions end.
        outbox.close_sessions(store, mailbox, [mailbox.primary_email_address])


def get_email_domains(ctx: Context, *, subscription_id: int) -> list[dict[str, Any]]:
    """The domains a mailbox of this subscription may take addresses on."""
    with ctx.uow.read() as store:
        subscription = visible_subscription(store, ctx.caller, subscription_id)
        if subscription.exchange_mode is ExchangeMode.ACCOUNT_WIDE:
            domains = store.account_domains(subscription.account_id)
        else:
            domains = store.subscription_domains(subscription.id)
    return [{"domain_id": d.id, "domain_name": d.name} for d in domains]


def _attach(store: Store, mailbox: Mailbox, address: str, *, primary: bool) -> None:
    """The same domain and uniqueness rules as pem.exchange.addMailbox."""
    assert mailbox.user_id is not None  # only a mailbox being deleted has none
    user = store.get_user(mailbox.user_id)
    subscription = store.get_subscription(mailbox.subscription_id)
    assert user is not None and subscription is not None
    domain_id = check_address(store, user, subscription, address)
    store.insert_address(
        address=address, mailbox_id=mailbox.id, domain_id=domain_id, is_primary=primary
    )


def _addresses(emails: list[str]) -> list[str]:
    if not emails:
        raise invalid("emails", "give at least one address")
    result: list[str] = []
    for index, raw in enumerate(emails):
        address = normalize_address(raw, f"emails[{index}]")
        if address in result:
            raise invalid(f"emails[{index}]", f'"{address}" is given twice')
        result.append(address)
    return result
