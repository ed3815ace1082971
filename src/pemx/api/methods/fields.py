"""Field specs that several namespaces share."""

from __future__ import annotations

from pemx.api.schema import INT32_MAX, Field, opt, req


def object_id(doc: str = "") -> Field:
    """A required object id: a positive XML-RPC int."""
    return req("int", doc, minimum=1, maximum=INT32_MAX)


def optional_id(doc: str = "") -> Field:
    """An optional object id (most often a requested id for a new object)."""
    return opt("int", doc, minimum=1, maximum=INT32_MAX)
