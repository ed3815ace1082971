"""Whether a mailbox store answers: its IMAP greeting and its doveadm HTTP API."""

from __future__ import annotations

import http.client
import socket

__all__ = ["store_problem"]


def store_problem(host: str, imap_port: int, doveadm_port: int, timeout: float = 2.0) -> str | None:
    """None when the store's IMAP greets and its doveadm HTTP API answers, else why not.

    The IMAP greeting is read to its end: a connection closed while the login process
    Dovecot spawned for it is still starting up makes a later stop wait seconds."""
    try:
        with socket.create_connection((host, imap_port), timeout=timeout) as imap:
            greeting = imap.recv(512)
        if not greeting.startswith(b"* OK"):
            return f"IMAP at {host}:{imap_port} did not greet ({greeting[:40]!r})"
    except OSError as exc:
        return f"IMAP at {host}:{imap_port}: {exc}"
    conn = http.client.HTTPConnection(host, doveadm_port, timeout=timeout)
    try:
        conn.request("GET", "/doveadm/v1")
        conn.getresponse().read()  # any HTTP answer: it listens (the key is not sent)
    except (OSError, http.client.HTTPException) as exc:
        return f"doveadm API at {host}:{doveadm_port}: {exc}"
    finally:
        conn.close()
    return None
