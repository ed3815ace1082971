"""Use cases for a mailbox's e-mail addresses and the domains they may use."""

from __future__ import annotations

from typing import Any

from pemx.domain.errors import ErrorCode, PemxError, invalid
from pemx.domain.model import ExchangeMode, Mailbox
from pemx.domain.rules import normalize_address
from pemx.service import outbox
from pemx.service.access import visible_mailbox, visible_subscription
from pemx.service.mailboxes import check_address, live_mailbox
from pemx.service.ports import Context, Tx


def get_email_addresses(ctx: Context, *, mailbox_id: int) -> dict[str, Any]:
    with ctx.uow.read() as tx:
        mailbox = visible_mailbox(tx, ctx.caller, mailbox_id)
    return {
        "mailbox_id": mailbox.id,
        "primary_email_address": mailbox.primary_email_address,
        "emails": list(mailbox.addresses),
    }


def add_email_addresses(ctx: Context, *, mailbox_id: int, emails: list[str]) -> None:
    addresses = _addresses(emails)
    with ctx.uow.write() as tx:
        mailbox = live_mailbox(tx, ctx.caller, mailbox_id)
        for address in addresses:
            _attach(tx, mailbox, address, primary=False)
        tx.audit.note("mailbox", mailbox.id, mailbox.account_id)


def remove_email_addresses(ctx: Context, *, mailbox_id: int, emails: list[str]) -> None:
    addresses = _addresses(emails)
    with ctx.uow.write() as tx:
        mailbox = live_mailbox(tx, ctx.caller, mailbox_id)
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
            tx.mailboxes.delete_address(address)
        tx.audit.note("mailbox", mailbox.id, mailbox.account_id)


def change_primary_email_address(ctx: Context, *, mailbox_id: int, email_address: str) -> None:
    address = normalize_address(email_address, "email_address")
    with ctx.uow.write() as tx:
        mailbox = live_mailbox(tx, ctx.caller, mailbox_id)
        if address == mailbox.primary_email_address:
            return
        if address not in mailbox.addresses:
            _attach(tx, mailbox, address, primary=False)
        tx.mailboxes.set_primary_address(mailbox.id, address)
        tx.audit.note("mailbox", mailbox.id, mailbox.account_id)
        # Dovecot names sessions by the primary address: the old name's sessions end.
        outbox.close_sessions(tx, mailbox, [mailbox.primary_email_address])


def get_email_domains(ctx: Context, *, subscription_id: int) -> list[dict[str, Any]]:
    """The domains a mailbox of this subscription may take addresses on."""
    with ctx.uow.read() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        if subscription.exchange_mode is ExchangeMode.ACCOUNT_WIDE:
            domains = tx.domains.of_account(subscription.account_id)
        else:
            domains = tx.domains.of_subscription(subscription.id)
    return [{"domain_id": d.id, "domain_name": d.name} for d in domains]


def _attach(tx: Tx, mailbox: Mailbox, address: str, *, primary: bool) -> None:
    """The same domain and uniqueness rules as pem.exchange.addMailbox."""
    assert mailbox.user_id is not None  # only a mailbox being deleted has none
    user = tx.users.get(mailbox.user_id)
    subscription = tx.subscriptions.require(mailbox.subscription_id)
    assert user is not None
    domain_id = check_address(tx, user, subscription, address)
    tx.mailboxes.add_address(
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
