"""The batched reads of ``SendingReads`` for a test double that has the single ones."""

from __future__ import annotations

from collections.abc import Collection

from pemx.domain.routing import HostedRecipient
from pemx.service.ports import LocalRecipient


class BatchedFromSingle:
    """Answers the batched reads from the single ones (``routes``, ``hosted_recipient``,
    ``local_recipient``, ``hosts_domain``) of the class it is mixed into, as the adapter
    answers them."""

    def routes(self, address: str) -> list[str]:
        raise NotImplementedError

    def hosted_recipient(self, address: str) -> HostedRecipient | None:
        raise NotImplementedError

    def local_recipient(self, address: str) -> LocalRecipient | None:
        raise NotImplementedError

    def hosts_domain(self, domain: str) -> bool:
        raise NotImplementedError

    def routes_of(self, addresses: Collection[str]) -> dict[str, list[str]]:
        return {a: self.routes(a) for a in addresses if self.routes(a)}

    def hosted_recipients(self, addresses: Collection[str]) -> dict[str, HostedRecipient]:
        found = {a: self.hosted_recipient(a) for a in addresses}
        return {a: h for a, h in found.items() if h is not None}

    def local_recipients(self, addresses: Collection[str]) -> dict[str, LocalRecipient]:
        found = {a: self.local_recipient(a) for a in addresses}
        return {a: r for a, r in found.items() if r is not None}

    def hosted_domains(self, domains: Collection[str]) -> set[str]:
        return {d for d in domains if self.hosts_domain(d)}
