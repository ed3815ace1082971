"""The directories a test session makes for its servers, and the processes still running
in them: after the session none may be left (a Dovecot, PostgreSQL, SOGo, memcached,
nginx, Postfix or pemx that a test did not stop)."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

#: Every directory this process made with watched_tmpdir (or watched), never forgotten:
#: a leaked process keeps naming a directory after it is removed.
_DIRECTORIES: list[Path] = []


def watched_tmpdir(prefix: str) -> Path:
    """A new temporary directory (mkdtemp, 0700), watched for leftover processes."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    watch(path)
    return path


def watch(path: Path) -> None:
    _DIRECTORIES.append(path.absolute())


def leftover_processes(within: Iterable[Path] | None = None) -> list[tuple[int, str]]:
    """(pid, what) of every other live process whose command line or working directory
    names a watched directory (or one of ``within``). By /proc, never by name."""
    directories = _DIRECTORIES if within is None else [p.absolute() for p in within]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd").removesuffix(" (deleted)")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue  # gone meanwhile, or not ours to read
        words = [a.decode(errors="replace") for a in argv if a]
        if state in ("Z", "X") or not words:
            continue
        if any(_names(directory, [cwd, *words]) for directory in directories):
            found.append((int(entry.name), f"{' '.join(words)[:200]} (cwd {cwd})"))
    return found


def end(pids: list[int], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` s, to these processes (by pid)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _names(directory: Path, words: list[str]) -> bool:
    text = str(directory)
    # /tmp/x/pytest-1 must not match /tmp/x/pytest-12: whole path components only
    return any(text == w or f"{text}/" in w for w in words)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")
