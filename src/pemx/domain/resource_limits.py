"""Resource limits as templates and subscriptions carry them."""

from __future__ import annotations

from collections.abc import Mapping

from pemx.domain.errors import invalid
from pemx.domain.model import UNLIMITED, ResourceType

# A limit per resource type: a count (or KB of storage), or UNLIMITED.
ResourceLimits = Mapping[ResourceType, int]


def check_resource_limit(limit: int, field: str) -> int:
    """A limit is UNLIMITED (-1) or at least 0."""
    if limit < UNLIMITED:
        raise invalid(field, "must be -1 (unlimited) or at least 0")
    return limit
