"""Rows to domain objects and back: written once per aggregate."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy.engine import Row

from pemx.domain.contact import AccountContact, Person
from pemx.domain.model import (
    Account,
    AccountType,
    Domain,
    Mailbox,
    MailboxKind,
    MailboxSettings,
    MailboxStore,
    Member,
    ObjectStatus,
    ResourceDetails,
    ServiceUser,
)

# The mailboxes table has one column per setting, named as the field.
SETTINGS_COLUMNS = tuple(f.name for f in fields(MailboxSettings))


def settings_values(settings: MailboxSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in SETTINGS_COLUMNS}


def account(row: Row[Any]) -> Account:
    return Account(
        id=row.id,
        type=AccountType(row.type),
        parent_id=row.parent_id,
        company_name=row.company_name,
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        locale=row.locale,
        enabled=row.enabled,
    )


def member(row: Row[Any]) -> Member:
    return Member(
        id=row.id,
        account_id=row.account_id,
        login=row.login,
        password_hash=row.password_hash,
        enabled=row.enabled,
        removed=row.removed_at is not None,
    )


def domain(row: Row[Any]) -> Domain:
    return Domain(
        id=row.id, subscription_id=row.subscription_id, account_id=row.account_id, name=row.name
    )


def user(row: Row[Any]) -> ServiceUser:
    return ServiceUser(
        id=row.id,
        account_id=row.account_id,
        subscription_id=row.subscription_id,
        login=row.login,
        display_name=row.display_name,
        locale=row.locale,
        enabled=row.enabled,
        status=ObjectStatus(row.status),
        properties=dict(row.properties or {}),
    )


def mailbox(row: Row[Any], addresses: tuple[str, ...]) -> Mailbox:
    columns = row._mapping
    kind = MailboxKind(row.kind)
    return Mailbox(
        id=row.id,
        user_id=row.user_id,
        subscription_id=row.subscription_id,
        account_id=row.account_id,
        primary_email_address=row.primary_address,
        settings=MailboxSettings(**{name: columns[name] for name in SETTINGS_COLUMNS}),
        initialized=row.initialized,
        folder_language=row.folder_language,
        status=ObjectStatus(row.status),
        addresses=addresses,
        store_id=row.store_id,
        kind=kind,
        resource=resource_details(row) if kind.is_resource else None,
        forward_to=row.forward_to,
        deliver_to_mailbox=bool(row.deliver_to_mailbox),
    )


def resource_details(row: Row[Any]) -> ResourceDetails:
    return ResourceDetails(
        display_name=row.display_name or "", location=row.location, capacity=row.capacity
    )


def resource_values(kind: MailboxKind, resource: ResourceDetails | None) -> dict[str, Any]:
    """The mailboxes columns of a mailbox's kind and resource details."""
    return {
        "kind": kind.value,
        "display_name": resource.display_name if resource else None,
        "location": resource.location if resource else None,
        "capacity": resource.capacity if resource else None,
    }


def mailbox_store(row: Row[Any]) -> MailboxStore:
    return MailboxStore(
        id=row.id,
        name=row.name,
        host=row.host,
        imap_port=row.imap_port,
        pop3_port=row.pop3_port,
        lmtp_port=row.lmtp_port,
        imap_owa_port=row.imap_owa_port,
        imap_activesync_port=row.imap_activesync_port,
        doveadm_port=row.doveadm_port,
        mail_root=row.mail_root,
        max_mailboxes=row.max_mailboxes,
        mailbox_count=row.mailbox_count,
        accepts_new=bool(row.accepts_new),
        status=ObjectStatus(row.status),
    )


def contact_json(contact: AccountContact) -> dict[str, Any]:
    """The accounts.contact column: the given parts, as OA's structs (person first)."""
    parts: dict[str, Any] = {
        "person": contact.person.given() if contact.person is not None else None,
        "address": dict(contact.address) if contact.address is not None else None,
        "phone": dict(contact.phone) if contact.phone is not None else None,
        "fax": dict(contact.fax) if contact.fax is not None else None,
        "branded_domain": contact.branded_domain,
    }
    return {key: value for key, value in parts.items() if value is not None}


def contact(value: dict[str, Any] | None) -> AccountContact:
    data = value or {}
    person = data.get("person")
    return AccountContact(
        person=Person(**person) if person is not None else None,
        address=data.get("address"),
        phone=data.get("phone"),
        fax=data.get("fax"),
        branded_domain=data.get("branded_domain"),
    )
