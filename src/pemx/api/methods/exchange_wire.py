"""pem.exchange.*'s answers: the use cases' dataclasses as OA's structs.

OA's sentinels are written here only: 0 for "no limit" and for a missing id, "" for a
missing string, -1 for a size the mail backend did not report, statuses as integers, and
2^31-1 for a size or count that does not fit XML-RPC's int.
"""

from __future__ import annotations

from typing import Any

from pemx.api.methods.fields import capped_int32
from pemx.domain.errors import invalid
from pemx.domain.model import Domain, Mailbox, MailboxKind, MailboxStore
from pemx.service.mailbox_queries import MailboxInfo, MailboxSummary
from pemx.service.mailboxes import AddedMailbox
from pemx.service.resource_mailboxes import ResourceMailbox

SIZE_UNKNOWN = -1  # the mail backend did not answer: documented in docs/api.md

# A resource mailbox's ``type``: OA's documentation says "a room or equipment" and gives no
# numbers; these are pemx's choice (Exchange's own order of the two).
RESOURCE_TYPES = {0: MailboxKind.ROOM, 1: MailboxKind.EQUIPMENT}
_RESOURCE_TYPE_IDS = {kind: number for number, kind in RESOURCE_TYPES.items()}


def resource_kind(number: int) -> MailboxKind:
    """The wire's resource ``type`` as a mailbox kind; any other number is refused."""
    if number not in RESOURCE_TYPES:
        known = ", ".join(f"{n} ({kind.value})" for n, kind in RESOURCE_TYPES.items())
        raise invalid("type", f"unknown resource type; known: {known}")
    return RESOURCE_TYPES[number]


def resource_mailbox_list(found: list[ResourceMailbox]) -> list[dict[str, Any]]:
    return [
        {
            "mailbox_id": r.mailbox_id,
            "type": _RESOURCE_TYPE_IDS[r.kind],
            "email_address": r.primary_email_address,
            "display_name": r.display_name,
            "alias": r.alias,
        }
        for r in found
    ]


def added_resource_mailbox(mailbox_id: int) -> dict[str, Any]:
    return {"mailbox_id": mailbox_id}


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
        "display_name": _display_name(info),
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
        **_resource_fields(mailbox),
    }


def _resource_fields(mailbox: Mailbox) -> dict[str, Any]:
    """A resource mailbox's own fields (pemx's: getMailboxInfo has none for them in OA)."""
    resource = mailbox.resource
    if resource is None:
        return {}
    return {
        "type": _RESOURCE_TYPE_IDS[mailbox.kind],
        "location": resource.location or "",
        "capacity": resource.capacity or 0,
    }


def mailbox_summaries(summaries: list[MailboxSummary]) -> list[dict[str, Any]]:
    return [
        {
            "mailbox_id": s.mailbox_id,
            "email_address": s.primary_email_address,
            "size": _size(s.size_kb),
            "user_id": s.user_id or 0,  # 0: a resource mailbox, which has no user
            "display_name": s.display_name,
            "login": s.login or "",
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


def _display_name(info: MailboxInfo) -> str:
    """A resource mailbox's own name, else its user's ("" once the user is removed)."""
    if info.mailbox.resource is not None:
        return info.mailbox.resource.display_name
    return info.user.display_name if info.user else ""


def _size(size_kb: int | None) -> int:
    return SIZE_UNKNOWN if size_kb is None else capped_int32(size_kb)
