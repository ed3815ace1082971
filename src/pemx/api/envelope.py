"""OA's answer envelope: {status: 0, result} or {status: -1, module_id, extype_id, ...}."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from pemx.domain.errors import ErrorCode, PemxError

log = logging.getLogger("pemx.api")


def ok(result: Any) -> dict[str, Any]:
    """A method without output answers the status alone."""
    return {"status": 0} if result is None else {"status": 0, "result": result}


def error(exc: PemxError) -> dict[str, Any]:
    return {
        "status": -1,
        "error_message": exc.message,
        "module_id": exc.code.module_id,
        "extype_id": exc.code.extype_id,
        "properties": dict(exc.properties),
    }


def internal_error(method_name: str) -> dict[str, Any]:
    """An unexpected exception: the caller gets a reference id, the log gets the details.

    Call it from an ``except`` block: the traceback logged is the one being handled.
    """
    error_id = uuid.uuid4().hex[:12]
    log.exception("internal error %s in %s", error_id, method_name)
    return error(
        PemxError(
            ErrorCode.INTERNAL,
            f"Internal error (reference {error_id}); the server log has the details.",
            {"error_id": error_id},
        )
    )
