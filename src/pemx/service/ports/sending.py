"""What the submission fronts read, and the sending rules as they ask them."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from pemx.domain.routing import HostedRecipient
from pemx.domain.sending import Message, Refusal, Sender

# ------------------------------------------------------------------------ sending


@dataclass(frozen=True)
class LocalRecipient:
    """A recipient pemx hosts: its mailbox's canonical user and the LMTP of its store."""

    username: str
    lmtp_host: str
    lmtp_port: int


class SendingReads(Protocol):
    """What the submission fronts read (the contract views, never pemx's own tables), at
    every message: no cache, so an API change applies from the next one."""

    def sender(self, login: str) -> Sender | None:
        """The mailbox ``login`` names (its canonical user or its login name), disabled
        ones included; None if there is none."""
        ...

    def hosts_domain(self, domain: str) -> bool:
        """Whether pemx hosts mail for ``domain`` (mail for it never leaves pemx)."""
        ...

    def local_recipient(self, address: str) -> LocalRecipient | None:
        """The active mailbox with this address (+detail removed), else None."""
        ...

    def routes(self, address: str) -> list[str]:
        """Where mail to ``address`` goes besides a mailbox (mail_routes): a list's
        members, a contact's target, a forwarding target; empty: a leaf."""
        ...

    def hosted_recipient(self, address: str) -> HostedRecipient | None:
        """Who holds the address (+detail removed), of any kind; None: nobody."""
        ...

    # The same reads for many addresses at once, one query each (an expansion of a list
    # of thousands costs a few queries per nesting level, not a few per member).

    def routes_of(self, addresses: Collection[str]) -> dict[str, list[str]]:
        """``routes`` of each address (+detail removed) that has any."""
        ...

    def hosted_recipients(self, addresses: Collection[str]) -> dict[str, HostedRecipient]:
        """``hosted_recipient`` of each address (+detail removed) that has a holder."""
        ...

    def local_recipients(self, addresses: Collection[str]) -> dict[str, LocalRecipient]:
        """``local_recipient`` of each address that has one, keyed as given."""
        ...

    def hosted_domains(self, domains: Collection[str]) -> set[str]:
        """The domains among ``domains`` that pemx hosts."""
        ...

    def sent_folder(self, username: str) -> str:
        """The name of the mailbox's Sent folder in its language (English by default)."""
        ...


#: The sending rules as the fronts ask them (service.sending.check_submission, bound to
#: its reads by bootstrap): the login and what is known of the message, None or the
#: refusal.
SubmissionCheck = Callable[[str, Message], Refusal | None]
