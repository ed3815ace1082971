"""Loopback ports for the servers pemx runs (listeners, SOGo, the private PostgreSQL)."""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port(host: str) -> int:
    """A port free on ``host`` now (another process may still take it before it is bound)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
