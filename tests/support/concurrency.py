"""Many XML-RPC clients at once: the race tests' callers and how their answers came out."""

from __future__ import annotations

import threading
import xmlrpc.client
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .errors import wire_error


def race(url: str, calls: list[Callable[[Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Run every call from its own client, all released at once; the OA envelopes."""
    barrier = threading.Barrier(len(calls))

    def client(call: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        proxy = xmlrpc.client.ServerProxy(url)
        barrier.wait()
        return call(proxy)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(client, calls))


def outcomes(responses: list[dict[str, Any]]) -> Counter[Any]:
    """How many calls succeeded (key "ok") and how many failed with each OA error."""
    return Counter("ok" if r["status"] == 0 else wire_error(r) for r in responses)
