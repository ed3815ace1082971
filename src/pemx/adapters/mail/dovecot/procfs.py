"""Linux /proc readings about Dovecot's processes and listeners."""

from __future__ import annotations

import contextlib
import socket
import sys
import time
from pathlib import Path

__all__ = ["listening_tcp_ports", "live_group_members", "orphaned_master", "wait_until_idle"]


def listening_tcp_ports(host: str) -> set[int] | None:
    """TCP ports in LISTEN state on an IPv4 address (Linux /proc/net/tcp), or None."""
    try:
        packed = socket.inet_aton(host)
        text = Path("/proc/net/tcp").read_text()
    except OSError:
        return None
    # /proc/net/tcp shows the address as a host-byte-order 32-bit hex number
    addr = (packed[::-1] if sys.byteorder == "little" else packed).hex().upper()
    ports = set()
    for line in text.splitlines()[1:]:
        fields_ = line.split()
        local_addr, _, local_port = fields_[1].partition(":")
        if fields_[3] == "0A" and local_addr in (addr, "00000000"):  # 0A = LISTEN
            ports.add(int(local_port, 16))
    return ports


def wait_until_idle(pgid: int, timeout: float) -> None:
    """Wait until every process of the group sleeps in its event loop (Linux /proc).

    Right after master.pid appears, anvil still waits for its settings from the
    config process; a SIGTERM in those few milliseconds makes Dovecot 2.3's
    master wait 5 s for anvil before killing it. Gives up after ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        channels = set()
        for pid in live_group_members(pgid):
            with contextlib.suppress(OSError):  # it may have exited meanwhile
                channels.add(Path(f"/proc/{pid}/wchan").read_text().strip())
        if channels <= {"do_epoll_wait", "ep_poll"}:
            return
        time.sleep(0.002)


def live_group_members(pgid: int) -> list[int]:
    """Pids of the running (not zombie) processes in a process group (Linux /proc)."""
    members = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = entry.read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses
        state, _ppid, pgrp, *_ = text.rsplit(")", 1)[1].split()
        if int(pgrp) == pgid and state not in ("Z", "X"):
            members.append(int(entry.parent.name))
    return members


def orphaned_master(pid_file: Path, conf_path: Path) -> int | None:
    """The pid in ``pid_file`` if that process still runs ``dovecot ... -c conf_path``.

    A Dovecot master that outlived the pemx that started it (kill -9): its pid file and
    its command line, naming this data directory's config, identify it; a pid reused
    by another program never matches."""
    try:
        pid = int(pid_file.read_text().strip())
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if str(conf_path).encode() not in argv or not live_group_members(pid):
        return None
    return pid
