"""The repository of recipients beyond the mailbox: distribution lists, their members,
mail contacts, the addresses of every kind of recipient, and mailboxes' forwarding."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from pemx.domain.recipients import (
    AcceptMailFrom,
    ContactInfo,
    DistributionList,
    MailContact,
    RecipientRef,
)


class Recipients(Protocol):
    def address_holder(self, address: str) -> RecipientRef | None:
        """Who holds this (normalized) address, whatever its kind; None: it is free."""
        ...

    def add_address(
        self, *, address: str, holder: RecipientRef, domain_id: int, is_primary: bool
    ) -> None: ...
    def delete_address(self, address: str) -> None:
        """Free an address; a forwarding to it is dropped with it."""
        ...

    def set_primary_address(self, holder: RecipientRef, address: str) -> None:
        """A list's or contact's primary address (already one of its addresses)."""
        ...

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
    ) -> int: ...
    def get_list(self, list_id: int) -> DistributionList | None: ...
    def lists_of_subscription(self, subscription_id: int) -> list[DistributionList]: ...
    def update_list(self, list_id: int, values: dict[str, Any]) -> None: ...
    def remove_list(self, list_id: int) -> None:
        """The list, its addresses and its memberships (in it and of it), now."""
        ...

    def add_member(self, list_id: int, member: RecipientRef) -> bool:
        """False if it was a member already."""
        ...

    def remove_member(self, list_id: int, member: RecipientRef) -> bool:
        """False if it was not a member."""
        ...

    def nested_lists(self, list_id: int) -> list[int]:
        """The lists that are members of this list."""
        ...

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
    ) -> int: ...
    def get_contact(self, contact_id: int) -> MailContact | None: ...
    def contacts_of_subscription(self, subscription_id: int) -> list[MailContact]: ...
    def update_contact(self, contact_id: int, values: dict[str, Any]) -> None: ...
    def remove_contact(self, contact_id: int) -> None:
        """The contact, its addresses and its memberships, now."""
        ...

    # ------------------------------------------------------------ forwarding
    def set_forwarding(self, mailbox_id: int, forward_to: str | None, keep_copy: bool) -> None: ...
    def forget_mailbox(self, mailbox_id: int, addresses: Iterable[str]) -> None:
        """A removed mailbox leaves every list, and forwardings to its addresses end."""
        ...

    def remove_of_subscription(self, subscription_id: int) -> None:
        """Every list and contact of a terminated subscription, with their addresses."""
        ...
