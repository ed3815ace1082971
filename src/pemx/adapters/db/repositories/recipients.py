"""Distribution lists, their members, mail contacts, every recipient's addresses, and
mailboxes' forwarding (implements service.ports.Recipients)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from pemx.adapters.db.tables import (
    distribution_list_members,
    distribution_lists,
    email_addresses,
    mail_contacts,
    mailboxes,
)
from pemx.domain.recipients import (
    AcceptMailFrom,
    ContactInfo,
    DistributionList,
    MailContact,
    RecipientKind,
    RecipientRef,
)

# The column of email_addresses, and of distribution_list_members, for each kind.
_ADDRESS_COLUMN = {
    RecipientKind.MAILBOX: email_addresses.c.mailbox_id,
    RecipientKind.LIST: email_addresses.c.distribution_list_id,
    RecipientKind.CONTACT: email_addresses.c.mail_contact_id,
}
_MEMBER_COLUMN = {
    RecipientKind.MAILBOX: distribution_list_members.c.mailbox_id,
    RecipientKind.LIST: distribution_list_members.c.member_list_id,
    RecipientKind.CONTACT: distribution_list_members.c.mail_contact_id,
}
_HOLDER = sa.select(
    email_addresses.c.mailbox_id,
    email_addresses.c.distribution_list_id,
    email_addresses.c.mail_contact_id,
).where(email_addresses.c.address == sa.bindparam("value"))


def _ref(mailbox_id: int | None, list_id: int | None, contact_id: int | None) -> RecipientRef:
    if mailbox_id is not None:
        return RecipientRef(RecipientKind.MAILBOX, mailbox_id)
    if list_id is not None:
        return RecipientRef(RecipientKind.LIST, list_id)
    assert contact_id is not None
    return RecipientRef(RecipientKind.CONTACT, contact_id)


class SqlRecipients:
    def __init__(self, conn: Connection, *, lock_rows: bool) -> None:
        self.conn = conn
        self.lock_rows = lock_rows

    # ------------------------------------------------------------- addresses
    def address_holder(self, address: str) -> RecipientRef | None:
        row = self.conn.execute(_HOLDER, {"value": address}).first()
        return None if row is None else _ref(*row)

    def add_address(
        self, *, address: str, holder: RecipientRef, domain_id: int, is_primary: bool
    ) -> None:
        values: dict[str, Any] = {
            "address": address,
            "domain_id": domain_id,
            "is_primary": is_primary,
            "mailbox_id": None,
            "distribution_list_id": None,
            "mail_contact_id": None,
        }
        values[_ADDRESS_COLUMN[holder.kind].name] = holder.id
        self.conn.execute(sa.insert(email_addresses), values)

    def delete_address(self, address: str) -> None:
        self.conn.execute(sa.delete(email_addresses).where(email_addresses.c.address == address))
        self._drop_forwardings([address])

    def set_primary_address(self, holder: RecipientRef, address: str) -> None:
        column = _ADDRESS_COLUMN[holder.kind]
        self.conn.execute(
            sa.update(email_addresses)
            .where(column == holder.id)
            .values(is_primary=email_addresses.c.address == address)
        )
        table = distribution_lists if holder.kind is RecipientKind.LIST else mail_contacts
        self.conn.execute(
            sa.update(table).where(table.c.id == holder.id).values(primary_address=address)
        )

    def _addresses(self, holder: RecipientRef) -> tuple[str, ...]:
        column = _ADDRESS_COLUMN[holder.kind]
        query = (
            sa.select(email_addresses.c.address)
            .where(column == holder.id)
            .order_by(email_addresses.c.is_primary.desc(), email_addresses.c.address)
        )
        return tuple(self.conn.scalars(query))

    def _remove_addresses(self, holder: RecipientRef) -> None:
        addresses = self._addresses(holder)
        column = _ADDRESS_COLUMN[holder.kind]
        self.conn.execute(sa.delete(email_addresses).where(column == holder.id))
        self._drop_forwardings(addresses)

    def _drop_forwardings(self, addresses: Iterable[str]) -> None:
        gone = list(addresses)
        if gone:
            self.conn.execute(
                sa.update(mailboxes)
                .where(mailboxes.c.forward_to.in_(gone))
                .values(forward_to=None, deliver_to_mailbox=False)
            )

    # ----------------------------------------------------------------- lists
    def add_list(
        self,
        *,
        subscription_id: int,
        account_id: int,
        alias: str,
        display_name: str,
        primary_address: str,
        show_in_address_book: bool,
        accept_mail_from: AcceptMailFrom,
    ) -> int:
        result = self.conn.execute(
            sa.insert(distribution_lists),
            {
                "subscription_id": subscription_id,
                "account_id": account_id,
                "alias": alias,
                "display_name": display_name,
                "primary_address": primary_address,
                "show_in_address_book": show_in_address_book,
                "accept_mail_from": int(accept_mail_from),
            },
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def get_list(self, list_id: int) -> DistributionList | None:
        query = sa.select(distribution_lists).where(distribution_lists.c.id == list_id)
        if self.lock_rows:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return None if row is None else self._list(row)

    def lists_of_subscription(self, subscription_id: int) -> list[DistributionList]:
        query = (
            sa.select(distribution_lists)
            .where(distribution_lists.c.subscription_id == subscription_id)
            .order_by(distribution_lists.c.id)
        )
        return [self._list(row) for row in self.conn.execute(query)]

    def _list(self, row: Row[Any]) -> DistributionList:
        ref = RecipientRef(RecipientKind.LIST, row.id)
        members = self.conn.execute(
            sa.select(
                distribution_list_members.c.mailbox_id,
                distribution_list_members.c.member_list_id,
                distribution_list_members.c.mail_contact_id,
            )
            .where(distribution_list_members.c.list_id == row.id)
            .order_by(distribution_list_members.c.id)
        )
        return DistributionList(
            id=row.id,
            subscription_id=row.subscription_id,
            account_id=row.account_id,
            alias=row.alias,
            display_name=row.display_name,
            primary_email_address=row.primary_address,
            show_in_address_book=bool(row.show_in_address_book),
            accept_mail_from=AcceptMailFrom(row.accept_mail_from),
            addresses=self._addresses(ref),
            members=tuple(_ref(*member) for member in members),
        )

    def update_list(self, list_id: int, values: dict[str, Any]) -> None:
        if values:
            self.conn.execute(
                sa.update(distribution_lists)
                .where(distribution_lists.c.id == list_id)
                .values(values)
            )

    def remove_list(self, list_id: int) -> None:
        self._remove_addresses(RecipientRef(RecipientKind.LIST, list_id))
        self.conn.execute(
            sa.delete(distribution_list_members).where(
                sa.or_(
                    distribution_list_members.c.list_id == list_id,
                    distribution_list_members.c.member_list_id == list_id,
                )
            )
        )
        self.conn.execute(sa.delete(distribution_lists).where(distribution_lists.c.id == list_id))

    def add_member(self, list_id: int, member: RecipientRef) -> bool:
        if self._is_member(list_id, member):
            return False
        values: dict[str, Any] = {
            "list_id": list_id,
            "mailbox_id": None,
            "member_list_id": None,
            "mail_contact_id": None,
        }
        values[_MEMBER_COLUMN[member.kind].name] = member.id
        self.conn.execute(sa.insert(distribution_list_members), values)
        return True

    def remove_member(self, list_id: int, member: RecipientRef) -> bool:
        result = self.conn.execute(
            sa.delete(distribution_list_members)
            .where(distribution_list_members.c.list_id == list_id)
            .where(_MEMBER_COLUMN[member.kind] == member.id)
        )
        return bool(result.rowcount)

    def _is_member(self, list_id: int, member: RecipientRef) -> bool:
        found = self.conn.scalar(
            sa.select(distribution_list_members.c.id)
            .where(distribution_list_members.c.list_id == list_id)
            .where(_MEMBER_COLUMN[member.kind] == member.id)
        )
        return found is not None

    def nested_lists(self, list_id: int) -> list[int]:
        return list(
            self.conn.scalars(
                sa.select(distribution_list_members.c.member_list_id)
                .where(distribution_list_members.c.list_id == list_id)
                .where(distribution_list_members.c.member_list_id.is_not(None))
            )
        )

    # -------------------------------------------------------------- contacts
    def add_contact(
        self,
        *,
        subscription_id: int,
        account_id: int,
        alias: str,
        display_name: str,
        target_address: str,
        show_in_address_book: bool,
        contact_info: ContactInfo,
    ) -> int:
        result = self.conn.execute(
            sa.insert(mail_contacts),
            {
                "subscription_id": subscription_id,
                "account_id": account_id,
                "alias": alias,
                "display_name": display_name,
                "target_address": target_address,
                "primary_address": None,
                "show_in_address_book": show_in_address_book,
                "contact_info": dict(contact_info),
            },
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def get_contact(self, contact_id: int) -> MailContact | None:
        query = sa.select(mail_contacts).where(mail_contacts.c.id == contact_id)
        if self.lock_rows:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return None if row is None else self._contact(row)

    def contacts_of_subscription(self, subscription_id: int) -> list[MailContact]:
        query = (
            sa.select(mail_contacts)
            .where(mail_contacts.c.subscription_id == subscription_id)
            .order_by(mail_contacts.c.id)
        )
        return [self._contact(row) for row in self.conn.execute(query)]

    def _contact(self, row: Row[Any]) -> MailContact:
        return MailContact(
            id=row.id,
            subscription_id=row.subscription_id,
            account_id=row.account_id,
            alias=row.alias,
            display_name=row.display_name,
            target_email_address=row.target_address,
            show_in_address_book=bool(row.show_in_address_book),
            contact_info=dict(row.contact_info or {}),
            primary_email_address=row.primary_address,
            addresses=self._addresses(RecipientRef(RecipientKind.CONTACT, row.id)),
        )

    def update_contact(self, contact_id: int, values: dict[str, Any]) -> None:
        if values:
            self.conn.execute(
                sa.update(mail_contacts).where(mail_contacts.c.id == contact_id).values(values)
            )

    def remove_contact(self, contact_id: int) -> None:
        self._remove_addresses(RecipientRef(RecipientKind.CONTACT, contact_id))
        self.conn.execute(
            sa.delete(distribution_list_members).where(
                distribution_list_members.c.mail_contact_id == contact_id
            )
        )
        self.conn.execute(sa.delete(mail_contacts).where(mail_contacts.c.id == contact_id))

    # ------------------------------------------------------------ forwarding
    def set_forwarding(self, mailbox_id: int, forward_to: str | None, keep_copy: bool) -> None:
        self.conn.execute(
            sa.update(mailboxes)
            .where(mailboxes.c.id == mailbox_id)
            .values(forward_to=forward_to, deliver_to_mailbox=keep_copy and forward_to is not None)
        )

    def forget_mailbox(self, mailbox_id: int, addresses: Iterable[str]) -> None:
        self.conn.execute(
            sa.delete(distribution_list_members).where(
                distribution_list_members.c.mailbox_id == mailbox_id
            )
        )
        self._drop_forwardings(addresses)
        self.set_forwarding(mailbox_id, None, False)

    def remove_of_subscription(self, subscription_id: int) -> None:
        for found in self.lists_of_subscription(subscription_id):
            self.remove_list(found.id)
        for contact in self.contacts_of_subscription(subscription_id):
            self.remove_contact(contact.id)
