"""Plans: listing service templates, taking one off sale and back, changing its limits.

A deactivated template cannot be subscribed to (nor upgraded to); the subscriptions made
from it keep working. New limits apply to subscriptions made from now on; existing ones
keep theirs (``pem.setResourceTypeLimit(s)`` changes those).
"""

from __future__ import annotations

from collections.abc import Sequence

from pemx.domain.errors import invalid, not_found
from pemx.domain.model import ServiceTemplate
from pemx.domain.resource_limits import ResourceLimit, limits_by_type
from pemx.service.access import visible_account
from pemx.service.ports import Context
from pemx.service.subscriptions import check_within_pool, visible_template


def get_service_template_list(
    ctx: Context, *, owner_account_id: int | None = None
) -> list[ServiceTemplate]:
    """The templates of an owner the caller sees (default: the caller's own; the
    provider's staff may ask for every owner's with owner_account_id 0)."""
    caller = ctx.caller
    with ctx.uow.read() as tx:
        if owner_account_id is None:
            owner: int | None = None if caller.is_provider else caller.account_id
        else:
            owner = visible_account(tx, caller, owner_account_id).id
        found = [tx.templates.get(template_id) for template_id in tx.templates.ids(owner)]
    return [template for template in found if template is not None]


def activate_st(ctx: Context, *, service_template_id: int) -> None:
    """Put a template (back) on sale; refused if it is active."""
    _set_active(ctx, service_template_id, True)


def deactivate_st(ctx: Context, *, service_template_id: int) -> None:
    """Take a template off sale: no new subscriptions; refused if it is inactive."""
    _set_active(ctx, service_template_id, False)


def set_st_rt_limits(
    ctx: Context, *, service_template_id: int, resource_types: Sequence[ResourceLimit]
) -> None:
    """Change (or add) limits of a template, for subscriptions made from now on; a
    reseller's template stays within the reseller's pool."""
    limits = limits_by_type(resource_types, "resource_types", "resource_type_id")
    with ctx.uow.write() as tx:
        template = visible_template(tx, ctx.caller, service_template_id)
        if template.source_subscription_id is not None:
            pool = tx.subscriptions.get(template.source_subscription_id)
            if pool is None:
                raise not_found("Subscription", template.source_subscription_id)
            check_within_pool(limits, pool, "resource_types")
        tx.templates.set_limits(template.id, limits)
        tx.audit.note("template", template.id, template.owner_account_id)


def _set_active(ctx: Context, template_id: int, active: bool) -> None:
    with ctx.uow.write() as tx:
        template = visible_template(tx, ctx.caller, template_id)
        if template.active == active:
            state = "active" if active else "inactive"
            raise invalid("service_template_id", f"the service template is {state} already")
        tx.templates.set_active(template.id, active)
        tx.audit.note("template", template.id, template.owner_account_id)
