"""Use cases for a mailbox's forwarding (pem.exchange.enableForwarding, disableForwarding):
its mail goes to an address outside or to another recipient of the same customer, with
or without a copy kept in the mailbox. Routing reads it from the next message on."""

from __future__ import annotations

from pemx.domain.errors import invalid
from pemx.domain.recipients import RecipientKind, RecipientRef
from pemx.domain.rules import domain_of, normalize_address
from pemx.service.access import ensure_enabled_under
from pemx.service.mailbox_queries import live_mailbox
from pemx.service.ports import Context, Tx

MAX_WALK = 10_000  # recipients looked at when checking for a loop (a safety bound)


def enable_forwarding(
    ctx: Context, *, mailbox_id: int, forward_to: str, deliver_to_mailbox: bool = False
) -> None:
    """Forward the mailbox's mail to ``forward_to``; ``deliver_to_mailbox`` keeps a copy.

    An address on one of the customer's domains must belong to one of the customer's
    recipients, and that recipient may not lead back to this mailbox (itself, a list it
    is in, a mailbox forwarding to it): mail would go round or vanish."""
    target = normalize_address(forward_to, "forward_to")
    with ctx.uow.write() as tx:
        mailbox = live_mailbox(tx, ctx.caller, mailbox_id)
        ensure_enabled_under(tx, mailbox.subscription_id)
        if target in mailbox.addresses:
            raise invalid("forward_to", f'"{target}" is an address of mailbox {mailbox.id} itself')
        domain = tx.domains.by_name(domain_of(target))
        if domain is not None and domain.account_id == mailbox.account_id:
            holder = tx.recipients.address_holder(target)
            if holder is None:
                raise invalid("forward_to", f'no recipient of the customer has "{target}"')
            if leads_to(tx, holder, RecipientRef(RecipientKind.MAILBOX, mailbox.id)):
                raise invalid(
                    "forward_to",
                    f'"{target}" leads back to mailbox {mailbox.id} (a list it is a member '
                    "of, or a mailbox forwarding to it)",
                )
        tx.recipients.set_forwarding(mailbox.id, target, deliver_to_mailbox)
        tx.audit.note("mailbox", mailbox.id, mailbox.account_id)


def disable_forwarding(ctx: Context, *, mailbox_id: int) -> None:
    with ctx.uow.write() as tx:
        mailbox = live_mailbox(tx, ctx.caller, mailbox_id)
        tx.recipients.set_forwarding(mailbox.id, None, False)
        tx.audit.note("mailbox", mailbox.id, mailbox.account_id)


def leads_to(tx: Tx, start: RecipientRef, goal: RecipientRef) -> bool:
    """Whether mail to ``start`` can reach ``goal``: through list members and through
    forwardings to the customer's own recipients."""
    seen: set[RecipientRef] = set()
    stack = [start]
    while stack and len(seen) < MAX_WALK:
        current = stack.pop()
        if current == goal:
            return True
        if current in seen:
            continue
        seen.add(current)
        if current.kind is RecipientKind.LIST:
            found = tx.recipients.get_list(current.id)
            stack.extend(found.members if found is not None else ())
        elif current.kind is RecipientKind.MAILBOX:
            mailbox = tx.mailboxes.get(current.id)
            if mailbox is not None and mailbox.forward_to is not None:
                holder = tx.recipients.address_holder(mailbox.forward_to)
                if holder is not None:
                    stack.append(holder)
    return False
