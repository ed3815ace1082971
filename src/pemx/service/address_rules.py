"""The rules every recipient's addresses follow, whatever its kind (mailbox, distribution
list, mail contact): on the customer's domains, and held by one recipient system-wide."""

from __future__ import annotations

from pemx.domain.errors import ErrorCode, PemxError, invalid
from pemx.domain.model import Domain, ExchangeMode, Subscription
from pemx.domain.rules import domain_of, normalize_address
from pemx.service.ports import Tx


def check_address(tx: Tx, user_id: int | None, subscription: Subscription, address: str) -> int:
    """The id of the address's domain, if a recipient of this subscription (the mailbox of
    user ``user_id``; None: a list, a contact or a resource mailbox, which have no user)
    may take the address: on the customer's (or,
    subscription-local, the subscription's) domains, held by no recipient of any kind,
    and not another user's login."""
    domain = owned_domain(tx, subscription, address)
    if domain is None:
        raise PemxError(
            ErrorCode.FOREIGN_DOMAIN,
            f'The address "{address}" is not on a domain of the customer\'s subscription '
            f'"{subscription.id}".',
            {"address": address, "subscription_id": str(subscription.id)},
        )
    holder = tx.users.by_login(address)
    if tx.recipients.address_holder(address) is not None or (
        holder is not None and holder.id != user_id
    ):
        raise PemxError(
            ErrorCode.ADDRESS_IN_USE,
            f'The address "{address}" is in use.',
            {"address": address},
        )
    return domain.id


def owned_domain(tx: Tx, subscription: Subscription, address: str) -> Domain | None:
    """The address's domain if it is one of the customer's (subscription-local: of the
    subscription), else None."""
    domain = tx.domains.by_name(domain_of(address))
    # A domain without hosting (bound to no subscription) takes no address.
    own = (
        domain is not None
        and domain.account_id == subscription.account_id
        and domain.subscription_id is not None
    )
    if own and subscription.exchange_mode is ExchangeMode.SUBSCRIPTION_LOCAL:
        own = domain is not None and domain.subscription_id == subscription.id
    return domain if own else None


def addresses_given(emails: list[str], field: str = "emails") -> list[str]:
    if not emails:
        raise invalid(field, "give at least one address")
    return distinct_addresses(emails, field)


def distinct_addresses(emails: list[str], field: str, before: tuple[str, ...] = ()) -> list[str]:
    """``before`` (normalized already), then each of ``emails`` (the list ``field``)
    normalized; an address given twice is refused."""
    result = list(before)
    for index, raw in enumerate(emails):
        address = normalize_address(raw, f"{field}[{index}]")
        if address in result:
            raise invalid(f"{field}[{index}]", f'"{address}" is given twice')
        result.append(address)
    return result
