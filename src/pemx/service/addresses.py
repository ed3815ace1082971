"""Use cases for a mailbox's e-mail addresses and the domains they may use."""

from __future__ import annotations

from pemx.domain.errors import ErrorCode, PemxError, invalid
from pemx.domain.model import Domain, ExchangeMode, Mailbox, ServiceUser, Subscription
from pemx.domain.rules import domain_of, normalize_address
from pemx.service import outbox
from pemx.service.access import visible_mailbox, visible_subscription
from pemx.service.mailbox_queries import live_mailbox
from pemx.service.ports import Context, Tx


def get_email_addresses(ctx: Context, *, mailbox_id: int) -> Mailbox:
    """A mailbox the caller sees: its primary address and all its addresses."""
    with ctx.uow.read() as tx:
        return visible_mailbox(tx, ctx.caller, mailbox_id)


def add_email_addresses(ctx: Context, *, mailbox_id: int, emails: list[str]) -> None:
    """Add alternative addresses to a mailbox (see ``check_address`` for the rules)."""
    addresses = _addresses(emails)
    with ctx.uow.write() as tx:
        mailbox = live_mailbox(tx, ctx.caller, mailbox_id)
        for address in addresses:
            _attach(tx, mailbox, address, primary=False)
        tx.audit.note("mailbox", mailbox.id, mailbox.account_id)


def remove_email_addresses(ctx: Context, *, mailbox_id: int, emails: list[str]) -> None:
    """Remove alternative addresses of a mailbox (never its primary one)."""
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
        # a removed address no longer logs in to the groupware, cached or not
        outbox.forget_logins(tx, mailbox)


def change_primary_email_address(ctx: Context, *, mailbox_id: int, email_address: str) -> None:
    """Make an address primary (added first if new); the old primary stays an alternative."""
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


def get_email_domains(ctx: Context, *, subscription_id: int) -> list[Domain]:
    """The domains a mailbox of this subscription may take addresses on."""
    with ctx.uow.read() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        if subscription.exchange_mode is ExchangeMode.ACCOUNT_WIDE:
            domains = tx.domains.of_account(subscription.account_id)
        else:
            domains = tx.domains.of_subscription(subscription.id)
    return domains


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


def check_address(tx: Tx, user: ServiceUser, subscription: Subscription, address: str) -> int:
    """The id of the address's domain, if a mailbox of this user on this subscription may
    take the address: on the customer's (or, subscription-local, the subscription's)
    domains, and not in use by another mailbox nor as another user's login."""
    domain = tx.domains.by_name(domain_of(address))
    own = domain is not None and domain.account_id == subscription.account_id
    if own and subscription.exchange_mode is ExchangeMode.SUBSCRIPTION_LOCAL:
        own = domain is not None and domain.subscription_id == subscription.id
    if domain is None or not own:
        raise PemxError(
            ErrorCode.FOREIGN_DOMAIN,
            f'The address "{address}" is not on a domain of the customer\'s subscription '
            f'"{subscription.id}".',
            {"address": address, "subscription_id": str(subscription.id)},
        )
    holder = tx.users.by_login(address)
    if tx.mailboxes.address_owner(address) is not None or (
        holder is not None and holder.id != user.id
    ):
        raise PemxError(
            ErrorCode.ADDRESS_IN_USE,
            f'The address "{address}" is in use.',
            {"address": address},
        )
    return domain.id


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
