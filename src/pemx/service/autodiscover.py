"""The one question autoconfig and autodiscover ask of the database: is the domain of this
address hosted here? Asked by unauthenticated clients, so it never looks at the address's
local part: the answer for a mailbox that exists and for one that does not is the same."""

from __future__ import annotations

from pemx.domain.errors import PemxError
from pemx.domain.rules import domain_of, normalize_address, normalize_domain
from pemx.service.ports import UnitOfWork


def hosted_domain_of(uow: UnitOfWork, address: str) -> str | None:
    """The (lower-case) domain of ``address`` if pemx hosts mail for it, else None (also
    for anything that is not an address)."""
    try:
        domain = domain_of(normalize_address(address, "emailaddress"))
    except PemxError:
        return None
    return hosted_domain(uow, domain)


def hosted_domain(uow: UnitOfWork, name: str) -> str | None:
    """The (lower-case) domain if pemx hosts mail for it, else None."""
    try:
        domain = normalize_domain(name)
    except PemxError:
        return None
    with uow.read() as tx:
        return domain if tx.domains.by_name(domain) is not None else None
