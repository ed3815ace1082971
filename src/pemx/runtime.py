"""runtime.json: what a running `pemx serve` tells `pemx status` (and the tests) about
itself: its pid and the endpoints a client needs. Written once listening, removed at stop."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pemx.config import Settings
from pemx.domain.mail_ports import MailPorts

RUNTIME_FILE = "runtime.json"


class MailListeners(NamedTuple):
    """Where this node's private Dovecot listens, and where it keeps the homes."""

    host: str
    ports: MailPorts
    mail_root: Path


def write_runtime(
    settings: Settings,
    api_port: int,
    mail: MailListeners | None = None,
    sending: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Record the endpoints of this process: the API on ``api_port`` (the bound one),
    with a private Dovecot its listeners, and the sending side's (``submission``,
    ``policy``, ``milter``: {"host", "port"} each)."""
    info: dict[str, Any] = {
        "pid": os.getpid(),
        "api": {
            "url": settings.api_url(api_port),
            "host": settings.host,
            "port": api_port,
        },
        "database": _redacted(settings.database),
    }
    if mail is not None:
        host, ports, root = mail
        info.update({name: {"host": host, "port": port} for name, port in ports.items()})
        info["mail_root"] = str(root)
    info.update({name: dict(endpoint) for name, endpoint in (sending or {}).items()})
    path = settings.data_dir / RUNTIME_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_runtime(data_dir: Path) -> dict[str, Any] | None:
    path = data_dir / RUNTIME_FILE
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def clear_runtime(data_dir: Path) -> None:
    (data_dir / RUNTIME_FILE).unlink(missing_ok=True)


def _redacted(url: str) -> str:
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"
