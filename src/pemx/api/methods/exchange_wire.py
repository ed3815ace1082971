"""pem.exchange.*'s answers: the use cases' dataclasses as OA's structs.

OA's sentinels are written here only: 0 for "no limit" and for a missing id, "" for a
missing string, -1 for a size the mail backend did not report, statuses as integers, and
2^31-1 for a size or count that does not fit XML-RPC's int.
"""

from __future__ import annotations

from typing import Any

from pemx.api.methods.fields import capped_int32
from pemx.domain.model import Domain, Mailbox, MailboxStore
from pemx.service.mailbox_queries import MailboxInfo, MailboxSummary
from pemx.service.mailboxes import AddedMailbox

SIZE_UNKNOWN = -1  # the mail backend did not answer: documented in docs/api.md


def added_mailbox(added: AddedMailbox) -> dict[str, Any]:
    answer: dict[str, Any] = {"mailbox_id": added.mailbox_id, "user_id": added.user_id}
    if added.password is not None:
        answer["password"] = added.password
    return answer


def mailbox_info(info: MailboxInfo) -> dict[str, Any]:
    mailbox, user, settings = info.mailbox, info.user, info.mailbox.settings
    return {
        "mailbox_id": mailbox.id,
        "user_id": user.id if user else 0,
        "subscription_id": mailbox.subscription_id,
        "login": user.login if user else "",
        "display_name": user.display_name if user else "",
        "alias": settings.alias,
        "primary_email_address": mailbox.primary_email_address,
        "email_addresses": list(mailbox.addresses),
        "owa": settings.owa,
        "mapi": settings.mapi,
        "active_sync": settings.active_sync,
        "imap4": settings.imap4,
        "pop3": settings.pop3,
        "size": _size(info.size_kb),
        "size_limit": settings.size_limit,
        "warning_limit": settings.warning_limit or 0,
        "prohibit_send_limit": settings.prohibit_send_limit or 0,
        "incoming_item_max_size": settings.incoming_item_max_size or 0,
        "outgoing_item_max_size": settings.outgoing_item_max_size or 0,
        "recipient_list_max_size": settings.recipient_list_max_size or 0,
        "message_retention": settings.message_retention or 0,
        "show_in_address_book": settings.show_in_address_book,
        "migrated": settings.migrated,
        "initialized": mailbox.initialized,
        "status": int(mailbox.status),
        # pemx: the forwarding (pem.exchange.enableForwarding); "" = none
        "forward_to": mailbox.forward_to or "",
        "deliver_to_mailbox": mailbox.deliver_to_mailbox,
    }


def mailbox_summaries(summaries: list[MailboxSummary]) -> list[dict[str, Any]]:
    return [
        {
            "mailbox_id": s.mailbox_id,
            "email_address": s.primary_email_address,
            "size": _size(s.size_kb),
            "user_id": s.user_id,
            "display_name": s.display_name,
            "login": s.login,
            "alias": s.alias,
        }
        for s in summaries
    ]


def email_addresses(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "mailbox_id": mailbox.id,
        "primary_email_address": mailbox.primary_email_address,
        "emails": list(mailbox.addresses),
    }


def email_domains(domains: list[Domain]) -> list[dict[str, Any]]:
    return [{"domain_id": d.id, "domain_name": d.name} for d in domains]


def mailbox_stores(stores: list[MailboxStore]) -> list[dict[str, Any]]:
    """OA's mailbox store states: 0 ready, 1 creating, 2 deleting, 4 failed."""
    return [
        {
            "store_id": s.id,
            "name": s.name,
            "status": int(s.status),
            "host": s.host,
            "mailboxes": capped_int32(s.mailbox_count),
            "max_mailboxes": capped_int32(s.max_mailboxes),
            "accepts_new_mailboxes": s.accepts_new,
        }
        for s in stores
    ]


def _size(size_kb: int | None) -> int:
    return SIZE_UNKNOWN if size_kb is None else capped_int32(size_kb)
