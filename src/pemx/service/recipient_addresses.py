"""The addresses of distribution lists and mail contacts: attached under the rules every
recipient follows (``address_rules``), and the primary one changed."""

from __future__ import annotations

from pemx.domain.model import Subscription
from pemx.domain.recipients import RecipientKind, RecipientRef
from pemx.service.access import ensure_enabled, visible_contact, visible_list
from pemx.service.address_rules import check_address
from pemx.service.ports import Context, Tx


def attach(
    tx: Tx, subscription: Subscription, holder: RecipientRef, address: str, *, primary: bool
) -> None:
    domain_id = check_address(tx, None, subscription, address)
    tx.recipients.add_address(
        address=address, holder=holder, domain_id=domain_id, is_primary=primary
    )


def change_primary(
    ctx: Context, address: str, *, list_id: int | None, contact_id: int | None
) -> None:
    """changePrimaryEmailAddress for a list or a contact: the address is added if new (a
    contact without an address on the customer's domains gets its first one)."""
    with ctx.uow.write() as tx:
        if list_id is not None:
            found_list = visible_list(tx, ctx.caller, list_id)
            holder = RecipientRef(RecipientKind.LIST, found_list.id)
            current: str | None = found_list.primary_email_address
            addresses, subscription_id = found_list.addresses, found_list.subscription_id
            account_id = found_list.account_id
        else:
            assert contact_id is not None
            contact = visible_contact(tx, ctx.caller, contact_id)
            holder = RecipientRef(RecipientKind.CONTACT, contact.id)
            current, addresses = contact.primary_email_address, contact.addresses
            subscription_id, account_id = contact.subscription_id, contact.account_id
        if address == current:
            return
        if address not in addresses:  # a new address: provisioning
            subscription = tx.subscriptions.require(subscription_id)
            ensure_enabled(tx, subscription)
            attach(tx, subscription, holder, address, primary=False)
        tx.recipients.set_primary_address(holder, address)
        tx.audit.note(holder.kind.value, holder.id, account_id)
