"""Registering, reading and removing a customer's mail domains (pem.addDomainToAccount,
pem.getDomainList, pem.removeDomain, ...).

A domain registered on an account without hosting (pem.addDomainToAccount) belongs to no
subscription: it is the customer's (a login may be on it), but no mailbox address may be
on it, and mail to it is refused, until pem.addDomain binds it to one of the account's
subscriptions (where it is then counted). A domain is removed only when nothing uses a
name on it any more: no address, no service user's login, no mailbox; the refusal says
how many of each.
"""

from __future__ import annotations

from pemx.domain.errors import ErrorCode, PemxError, invalid, not_found
from pemx.domain.model import AccountType, Caller, Domain, ResourceType
from pemx.domain.rules import normalize_domain
from pemx.service.access import (
    ensure_account_enabled,
    ensure_id_free,
    sees_owner,
    visible_account,
    visible_subscription,
)
from pemx.service.ports import Context, Tx
from pemx.service.resources import consume


def add_domain_to_account(
    ctx: Context,
    *,
    account_id: int,
    domain_name: str,
    domain_id: int | None = None,
    force: bool = False,
) -> int:
    """Register a domain on a customer's account without hosting; returns its id.

    A name registered already is refused (DOMAIN_IN_USE), as by pem.addDomain. With
    ``force`` (OA's flag), a name the same account holds answers its id and changes
    nothing; a name another account holds is taken over only if the caller sees that
    account and nothing uses a name on the domain (else the same refusals as
    pem.removeDomain, or DOMAIN_IN_USE for an account the caller does not see).
    """
    name = normalize_domain(domain_name)
    with ctx.uow.write() as tx:
        account = visible_account(tx, ctx.caller, account_id)
        if account.type is not AccountType.CUSTOMER:
            raise invalid("account_id", "domains are registered on customer accounts")
        ensure_account_enabled(tx, account.id)
        existing = tx.domains.by_name(name)
        if existing is not None:
            if force and existing.account_id == account.id:
                return existing.id
            if not force or not sees_owner(tx, ctx.caller, existing):
                raise registered_already(name)
            _remove(tx, ctx.caller, existing, "domain_name")
        ensure_id_free(ctx.caller, tx.domains.get, domain_id, "Domain", "domain_id")
        new_id = tx.domains.add(
            domain_id=domain_id, subscription_id=None, account_id=account.id, name=name
        )
        tx.audit.note("domain", new_id, account.id)
    return new_id


def registered_already(name: str) -> PemxError:
    """A name taken: the same answer whoever holds it."""
    return PemxError(
        ErrorCode.DOMAIN_IN_USE,
        f'The domain "{name}" is registered already.',
        {"field": "domain_name"},
    )


def get_domain_list(ctx: Context) -> list[Domain]:
    """Every domain the caller sees: the provider all, a reseller its own and its customers'."""
    caller = ctx.caller
    with ctx.uow.read() as tx:
        return tx.domains.of_vendor(None if caller.is_provider else caller.account_id)


def get_account_domains(ctx: Context, *, account_id: int) -> list[Domain]:
    """The domains of an account the caller sees."""
    with ctx.uow.read() as tx:
        account = visible_account(tx, ctx.caller, account_id)
        return tx.domains.of_account(account.id)


def get_domain_by_name(ctx: Context, *, domain_name: str) -> Domain:
    """A domain by its name (any letter case); another tenant's is 'not found'."""
    name = normalize_domain(domain_name)
    with ctx.uow.read() as tx:
        found = tx.domains.by_name(name)
        if found is None or not sees_owner(tx, ctx.caller, found):
            raise not_found("Domain", name)
        return found


def get_domain_subscription(ctx: Context, *, domain_id: int) -> Domain:
    """The domain, which names the subscription it is registered in."""
    with ctx.uow.read() as tx:
        return _visible_domain(tx, ctx.caller, domain_id)


def remove_domain(ctx: Context, *, domain_id: int) -> None:
    """Remove a domain nothing uses any more, and free it on its subscription (if it has
    one: a domain without hosting is counted nowhere)."""
    with ctx.uow.write() as tx:
        _remove(tx, ctx.caller, _visible_domain(tx, ctx.caller, domain_id))


def _remove(tx: Tx, caller: Caller, domain: Domain, field: str = "domain_id") -> None:
    uses = tx.domains.uses(domain.name)
    if uses.addresses or uses.logins or uses.mailboxes:
        raise PemxError(
            ErrorCode.DOMAIN_NOT_EMPTY,
            f'The domain "{domain.name}" is in use: {uses.addresses} address(es), '
            f"{uses.logins} user login(s), {uses.mailboxes} mailbox(es).",
            {
                "field": field,
                "addresses": str(uses.addresses),
                "logins": str(uses.logins),
                "mailboxes": str(uses.mailboxes),
            },
        )
    # Removed first: of two callers removing one domain, only the first frees its unit.
    if not tx.domains.remove(domain.id):
        raise not_found("Domain", domain.id)
    if domain.subscription_id is not None:
        subscription = visible_subscription(tx, caller, domain.subscription_id)
        consume(tx, subscription, ResourceType.DOMAINS, -1)
    tx.audit.note("domain", domain.id, domain.account_id)


def _visible_domain(tx: Tx, caller: Caller, domain_id: int) -> Domain:
    found = tx.domains.get(domain_id)
    if found is None or not sees_owner(tx, caller, found):
        raise not_found("Domain", domain_id)
    return found
