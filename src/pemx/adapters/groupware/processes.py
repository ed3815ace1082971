"""The groupware's daemons as processes: started as the right user, stopped as a tree.

sogod's watchdog forks workers that call setsid(): they leave the process group, so a
group signal misses them, and after SIGTERM each leaves only when its run loop next
wakes (4-28 s measured). Stopping therefore finds the whole tree in /proc, sends SIGTERM,
and SIGKILLs what is left after a short grace: nothing lives on disk but database rows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Daemon", "RunAs", "descendants", "kill_tree", "marked_processes"]


@dataclass(frozen=True)
class RunAs:
    """As root: the user, its group and the extra groups a daemon runs with."""

    user: str | None = None
    group: str | None = None
    extra_groups: tuple[str, ...] = ()

    def popen_args(self) -> dict[str, Any]:
        if self.user is None or os.geteuid() != 0:
            return {}
        return {"user": self.user, "group": self.group, "extra_groups": list(self.extra_groups)}


def _parents() -> dict[int, int]:
    """Every live process's parent pid (zombies left out)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            state, ppid, *_ = stat.read_text().rsplit(")", 1)[1].split()
            if state not in ("Z", "X"):
                parents[int(stat.parent.name)] = int(ppid)
    return parents


def descendants(pid: int) -> list[int]:
    """``pid``'s children, their children, ... (Linux /proc)."""
    parents = _parents()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found += children
        frontier += children
    return found


#: what the groupware runs: nothing else is ever taken for a leftover (an operator's
#: `tail -f` of a groupware log names the directory too)
DAEMON_NAMES = frozenset({"sogod", "memcached", "nginx"})


def marked_processes(marker: str) -> list[int]:
    """The groupware's daemons whose command line or environment names ``marker`` (a path
    of ours): a sogod worker whose watchdog is gone still has the watchdog's environment."""
    needle = marker.encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        try:
            if pid == os.getpid() or (entry / "comm").read_text().strip() not in DAEMON_NAMES:
                continue
        except OSError:
            continue
        for name in ("cmdline", "environ"):
            with contextlib.suppress(OSError):
                if needle in (entry / name).read_bytes():
                    found.append(pid)
                    break
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def kill_tree(pids: Iterable[int], grace: float) -> float:
    """SIGTERM every pid, SIGKILL those still alive after ``grace`` s; returns seconds."""
    started = time.monotonic()
    targets = sorted(set(pids))
    if grace > 0:
        _signal(targets, signal.SIGTERM)
        deadline = started + grace
        while time.monotonic() < deadline and any(_alive(p) for p in targets):
            time.sleep(0.05)
    _signal([p for p in targets if _alive(p)], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in targets):
        time.sleep(0.02)
    return time.monotonic() - started


def _signal(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


@dataclass
class Daemon:
    """One foreground daemon (memcached, a sogod watchdog, the nginx master). Its pid is
    also kept in ``pid_file``, so a pemx killed with -9 leaves a trail to its leftovers."""

    name: str
    argv: list[str]
    log_file: Path
    pid_file: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    run_as: RunAs = field(default_factory=RunAs)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(self.env),
                cwd=self.cwd,
                start_new_session=True,  # a Ctrl-C of the terminal reaches pemx only
                **self.run_as.popen_args(),
            )
        self.pid_file.write_text(f"{self.process.pid}\n", encoding="ascii")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tree(self) -> list[int]:
        if self.process is None or self.process.poll() is not None:
            return []
        return [self.process.pid, *descendants(self.process.pid)]

    def reap(self) -> None:
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(1)
            self.process = None
        self.pid_file.unlink(missing_ok=True)
