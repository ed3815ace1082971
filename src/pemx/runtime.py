"""runtime.json: what a running `pemx serve` tells `pemx status` (and the tests) about
itself: its pid and the endpoints a client needs. Written once listening, removed at stop.

Also the data directory's lock (one `pemx serve` per data directory) and the private
Dovecot and PostgreSQL a killed `pemx serve` may have left running there."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pemx.config import Settings
from pemx.domain.mail_ports import MailPorts

RUNTIME_FILE = "runtime.json"
LOCK_FILE = "serve.lock"
# Where bootstrap.dovecot_config puts the private Dovecot (work_dir = <data_dir>/dovecot)
DOVECOT_PID_FILE = Path("dovecot", "run", "master.pid")
DOVECOT_CONF_FILE = Path("dovecot", "dovecot.conf")
# Where bootstrap.private_cluster puts the private PostgreSQL's cluster
POSTGRESQL_DATA = Path("postgresql", "data")


class DataDirInUse(Exception):
    """Another `pemx serve` holds the data directory; the message says which."""


class DataDirLock:
    """An exclusive flock on <data_dir>/serve.lock, held while `pemx serve` runs.

    Taken before any other file of the data directory is touched; the kernel drops it
    when the process dies, even by kill -9, so a crash never leaves a stale lock. The
    file holds the holder's pid, for the refusal's message."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._fd: int | None = None

    def acquire(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DataDirInUse(
                f"another pemx serve (pid {holder}) uses {self.data_dir}; stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # the lock goes with the descriptor
            self._fd = None


def leftover_dovecot(data_dir: Path) -> int | None:
    """The pid of a private Dovecot still running on ``data_dir`` (left by a killed
    `pemx serve`: the next one stops it), or None."""
    from pemx.adapters.mail.dovecot.procfs import orphaned_master  # /proc only; cheap

    return orphaned_master(data_dir / DOVECOT_PID_FILE, data_dir / DOVECOT_CONF_FILE)


def leftover_postgresql(data_dir: Path) -> int | None:
    """The pid of a private PostgreSQL still running on ``data_dir`` (left by a killed
    `pemx serve`: the next one stops it), or None. Its pid file and its command line
    (naming this data directory's cluster) identify it."""
    data = (data_dir / POSTGRESQL_DATA).absolute()
    try:
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        return None
    return pid if str(data).encode() in argv else None


class DatabaseInfo(NamedTuple):
    """A database this node runs (the private PostgreSQL): what `pemx status` shows."""

    kind: str
    socket: str
    host: str
    port: int


GROUPWARE_RUN_DIR = Path("groupware", "run")  # bootstrap.groupware_work_dir's pid files


def groupware_down(data_dir: Path) -> list[str]:
    """The groupware daemons (memcached-web, sogo-sync, nginx, ...) whose pid file names
    a process that is gone: what `pemx status` reports as down."""
    down = []
    for pid_file in sorted((data_dir / GROUPWARE_RUN_DIR).glob("*.daemon.pid")):
        try:
            pid = int(pid_file.read_text().split()[0])
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError, IndexError):
            state = "X"
        if state in ("Z", "X"):
            down.append(pid_file.name.removesuffix(".daemon.pid"))
    return down


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
    *,
    database: DatabaseInfo | None = None,
) -> None:
    """Record the endpoints of this process: the API on ``api_port`` (the bound one),
    with a private Dovecot its listeners, and the sending side's (``submission``,
    ``policy``, ``milter``: {"host", "port"} each); with a private PostgreSQL, where it
    listens (``postgresql``)."""
    info: dict[str, Any] = {
        "pid": os.getpid(),
        "api": {
            "url": settings.api_url(api_port),
            "host": settings.host,
            "port": api_port,
        },
        "database": _redacted(settings.database),
    }
    if database is not None:
        info["postgresql"] = database._asdict()
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
