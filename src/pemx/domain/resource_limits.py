"""Resource limits as templates and subscriptions carry them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pemx.domain.errors import ErrorCode, PemxError, invalid
from pemx.domain.model import UNLIMITED, ResourceType

# A limit per resource type: a count (or KB of storage), or UNLIMITED.
ResourceLimits = Mapping[ResourceType, int]


@dataclass(frozen=True)
class ResourceLimit:
    """One requested limit, as a caller lists it (checked by ``limits_by_type``)."""

    resource_id: int
    limit: int


@dataclass(frozen=True)
class ActivationParameter:
    """One of OA's activation parameters (``parameters[{var_name, var_value}]`` of
    pem.setResourceTypeLimits): accepted, and used by nothing pemx provisions."""

    name: str
    value: str


def limits_by_type(items: Iterable[ResourceLimit], field: str, id_field: str) -> ResourceLimits:
    """The listed limits by resource type. Refuses an unknown type, a type listed twice, and
    a limit below UNLIMITED; ``field`` and ``id_field`` name the request's list and id."""
    limits: dict[ResourceType, int] = {}
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        try:
            resource = ResourceType(item.resource_id)
        except ValueError:
            known = ", ".join(f"{int(rt)} ({rt.title})" for rt in ResourceType)
            raise invalid(f"{where}.{id_field}", f"unknown resource type; known: {known}") from None
        if resource in limits:
            raise invalid(where, f"resource {int(resource)} is listed twice")
        if item.limit < UNLIMITED:
            raise invalid(f"{where}.resource_limit", "must be -1 (unlimited) or at least 0")
        limits[resource] = item.limit
    return limits


def with_overrides(template: ResourceLimits, overrides: ResourceLimits) -> dict[ResourceType, int]:
    """A service template's limits with a caller's overrides (``resource_limits``) over
    them; refuses an override of a resource the template does not have."""
    unknown = set(overrides) - set(template)
    if unknown:
        raise PemxError(
            ErrorCode.RESOURCE_NOT_IN_TEMPLATE,
            f"resource_limits: resource {min(unknown)} is not in the service template",
            {"field": "resource_limits", "resource_id": str(min(unknown))},
        )
    return {**template, **overrides}
