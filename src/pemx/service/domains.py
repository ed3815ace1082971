"""Reading and removing a customer's mail domains (pem.getDomainList, pem.removeDomain, ...).

A domain is removed only when nothing uses a name on it any more: no address, no service
user's login, no mailbox; the refusal says how many of each.
"""

from __future__ import annotations

from pemx.domain.errors import ErrorCode, PemxError, not_found
from pemx.domain.model import Caller, Domain, ResourceType
from pemx.domain.rules import normalize_domain
from pemx.service.access import sees_owner, visible_account, visible_subscription
from pemx.service.ports import Context, Tx
from pemx.service.resources import consume


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
    """Remove a domain nothing uses any more, and free it on its subscription."""
    with ctx.uow.write() as tx:
        domain = _visible_domain(tx, ctx.caller, domain_id)
        uses = tx.domains.uses(domain.name)
        if uses.addresses or uses.logins or uses.mailboxes:
            raise PemxError(
                ErrorCode.DOMAIN_NOT_EMPTY,
                f'The domain "{domain.name}" is in use: {uses.addresses} address(es), '
                f"{uses.logins} user login(s), {uses.mailboxes} mailbox(es).",
                {
                    "field": "domain_id",
                    "addresses": str(uses.addresses),
                    "logins": str(uses.logins),
                    "mailboxes": str(uses.mailboxes),
                },
            )
        subscription = visible_subscription(tx, ctx.caller, domain.subscription_id)
        consume(tx, subscription, ResourceType.DOMAINS, -1)
        tx.domains.remove(domain.id)
        tx.audit.note("domain", domain.id, domain.account_id)


def _visible_domain(tx: Tx, caller: Caller, domain_id: int) -> Domain:
    found = tx.domains.get(domain_id)
    if found is None or not sees_owner(tx, caller, found):
        raise not_found("Domain", domain_id)
    return found
