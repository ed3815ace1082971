"""Use cases for a mailbox's e-mail addresses and the domains they may use."""

from __future__ import annotations

from pemx.domain.errors import ErrorCode, PemxError, invalid
from pemx.domain.model import Domain, ExchangeMode, Mailbox
from pemx.domain.rules import normalize_address
from pemx.service import outbox, recipient_addresses
from pemx.service.access import ensure_enabled_under, visible_mailbox, visible_subscription
from pemx.service.address_rules import addresses_given, check_address
from pemx.service.mailbox_queries import live_mailbox
from pemx.service.ports import Context, Tx


def get_email_addresses(ctx: Context, *, mailbox_id: int) -> Mailbox:
    """A mailbox the caller sees: its primary address and all its addresses."""
    with ctx.uow.read() as tx:
        return visible_mailbox(tx, ctx.caller, mailbox_id)


def add_email_addresses(ctx: Context, *, mailbox_id: int, emails: list[str]) -> None:
    """Add alternative addresses to a mailbox (see ``check_address`` for the rules)."""
    addresses = addresses_given(emails)
    with ctx.uow.write() as tx:
        mailbox = live_mailbox(tx, ctx.caller, mailbox_id)
        ensure_enabled_under(tx, mailbox.subscription_id)
        for address in addresses:
            _attach(tx, mailbox, address, primary=False)
        tx.audit.note("mailbox", mailbox.id, mailbox.account_id)


def remove_email_addresses(ctx: Context, *, mailbox_id: int, emails: list[str]) -> None:
    """Remove alternative addresses of a mailbox (never its primary one)."""
    addresses = addresses_given(emails)
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
            tx.recipients.delete_address(address)  # a forwarding to it ends too
        tx.audit.note("mailbox", mailbox.id, mailbox.account_id)
        # a removed address no longer logs in to the groupware, cached or not
        outbox.forget_logins(tx, mailbox)


def change_primary_email_address(
    ctx: Context,
    *,
    email_address: str,
    mailbox_id: int | None = None,
    distribution_list_id: int | None = None,
    mail_contact_id: int | None = None,
) -> None:
    """Make an address primary (added first if new); the old primary stays an alternative.
    Exactly one of a mailbox, a distribution list or a mail contact."""
    given = [i for i in (mailbox_id, distribution_list_id, mail_contact_id) if i is not None]
    if len(given) != 1:
        raise invalid(
            "mailbox_id", "give exactly one of mailbox_id, distribution_list_id, mail_contact_id"
        )
    address = normalize_address(email_address, "email_address")
    if mailbox_id is None:
        recipient_addresses.change_primary(
            ctx, address, list_id=distribution_list_id, contact_id=mail_contact_id
        )
        return
    with ctx.uow.write() as tx:
        mailbox = live_mailbox(tx, ctx.caller, mailbox_id)
        if address == mailbox.primary_email_address:
            return
        if address not in mailbox.addresses:  # a new address: provisioning
            ensure_enabled_under(tx, mailbox.subscription_id)
            _attach(tx, mailbox, address, primary=False)
        tx.mailboxes.set_primary_address(mailbox.id, address)
        tx.audit.note("mailbox", mailbox.id, mailbox.account_id)
        # Dovecot names sessions by the primary address: the old name's sessions end.
        outbox.close_sessions(tx, mailbox, [mailbox.primary_email_address])


def get_email_domains(ctx: Context, *, subscription_id: int) -> list[Domain]:
    """The domains a mailbox of this subscription may take addresses on."""
    with ctx.uow.read() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        if subscription.exchange_mode is ExchangeMode.ACCOUNT_WIDE:
            domains = [
                domain
                for domain in tx.domains.of_account(subscription.account_id)
                if domain.subscription_id is not None  # one without hosting takes none
            ]
        else:
            domains = tx.domains.of_subscription(subscription.id)
    return domains


def _attach(tx: Tx, mailbox: Mailbox, address: str, *, primary: bool) -> None:
    """The same domain and uniqueness rules as pem.exchange.addMailbox."""
    subscription = tx.subscriptions.require(mailbox.subscription_id)
    # A live mailbox has its user, or is a resource's, which has none.
    domain_id = check_address(tx, mailbox.user_id, subscription, address)
    tx.mailboxes.add_address(
        address=address, mailbox_id=mailbox.id, domain_id=domain_id, is_primary=primary
    )
