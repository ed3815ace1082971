"""The private groupware stack of `pemx serve --groupware`: two memcached, two sogod and
the nginx front end, started in order and stopped together within a few seconds."""

from __future__ import annotations

import contextlib
import grp
import http.client
import os
import pwd
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

from pemx.adapters.groupware.config import INSTANCES, GroupwareConfig, SogoDatabase
from pemx.adapters.groupware.processes import (
    Daemon,
    RunAs,
    descendants,
    kill_tree,
    marked_processes,
)
from pemx.adapters.groupware.render import stack_files
from pemx.adapters.groupware.tool import SogoTool
from pemx.adapters.net import free_port

__all__ = ["SOGOD", "GroupwareError", "PrivateGroupware", "leftover_processes"]

SOGOD = "/usr/sbin/sogod"
SYSTEM_CONF = Path("/etc/sogo/sogo.conf")  # sogod aborts when it exists and is unreadable
STOP_GRACE_S = 2.0  # then SIGKILL: sogod's workers may take 30 s to notice a SIGTERM
_DIRS = ("run", "log", "nginx", "sogo-web/Defaults", "sogo-web/spool", "sogo-sync/Defaults",
         "sogo-sync/spool")  # fmt: skip


class GroupwareError(Exception):
    """The groupware could not start; the message is one line that says why."""


def leftover_processes(work_dir: Path) -> list[int]:
    """Daemons a killed `pemx serve` left on ``work_dir``: those its pid files name that
    still run with our paths, their children (sogod workers), and any process whose
    command line or environment names the directory (a worker whose watchdog died)."""
    marker = str(work_dir) + "/"
    marked = set(marked_processes(marker))
    found = set(marked)
    for pid_file in (work_dir / "run").glob("*.pid"):
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().split()[0])
            if pid in marked:
                found.update(descendants(pid))
    return sorted(found)


class PrivateGroupware:
    def __init__(self, config: GroupwareConfig) -> None:
        self.config = config
        self.daemons: dict[str, Daemon] = {}
        self._ready: dict[str, Callable[[], bool]] = {}

    # start ---------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> float:
        """Start everything; returns the seconds it took. Raises GroupwareError after
        stopping whatever had started."""
        started = time.monotonic()
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return time.monotonic() - started

    def _start(self, timeout: float) -> None:
        self._check_installed()
        run_as = self._run_as()
        for database in (self.config.contract, self.config.storage):
            _check_database(database)
        leftovers = leftover_processes(self.config.work_dir)
        if leftovers:  # a killed pemx serve's: they hold our ports and sockets
            kill_tree(leftovers, 0)
        cfg = self.config
        host = cfg.host
        self.config = cfg = replace(
            cfg,
            front_port=cfg.front_port or free_port(host),
            web_port=cfg.web_port or free_port(host),
            sync_port=cfg.sync_port or free_port(host),
        )
        self._prepare(run_as)
        for name in INSTANCES:
            sock = cfg.memcached_socket(name)
            sock.unlink(missing_ok=True)
            self._spawn(
                f"memcached-{name}",
                ["memcached", "-s", str(sock), "-a", "0700", "-m", "64", "-c", "512"],
                run_as,
            )
            self._ready[f"memcached-{name}"] = partial(_accepts_unix, sock)
            self._wait(f"memcached-{name}", timeout)
        # one after the other: on a fresh database the first creates SOGo's tables
        for name in INSTANCES:
            env = {
                "GNUSTEP_CONFIG_FILE": str(cfg.instance_dir(name) / "GNUstep.conf"),
                "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG": "C.UTF-8",
                "HOME": str(cfg.instance_dir(name)),
            }
            self._spawn(f"sogo-{name}", [SOGOD], run_as, env=env, cwd=cfg.instance_dir(name))
            self._ready[f"sogo-{name}"] = partial(_answers, host, cfg.port_of(name))
            self._wait(f"sogo-{name}", timeout)
        nginx_dir = cfg.work_dir / "nginx"
        argv = ["nginx", "-p", str(nginx_dir), "-c", str(nginx_dir / "nginx.conf"),
                "-e", str(cfg.log_dir / "nginx-error.log"), "-g", "daemon off;"]  # fmt: skip
        self._spawn("nginx", argv, run_as)
        self._ready["nginx"] = partial(_answers, host, cfg.front_port)
        self._wait("nginx", timeout)

    def _check_installed(self) -> None:
        missing = [b for b in (SOGOD, "memcached", "nginx") if shutil.which(b) is None]
        if missing or not self.config.static_dir.is_dir():
            raise GroupwareError(
                f"SOGo is not installed ({', '.join(missing) or self.config.static_dir} "
                "missing): run scripts/install --groupware"
            )

    def _run_as(self) -> RunAs:
        """As root: the configured system user (sogod refuses root) with the group that
        may read /etc/sogo/sogo.conf; otherwise this user, who must be able to read it."""
        cfg = self.config
        if os.geteuid() == 0:
            if cfg.run_user is None:
                raise GroupwareError("SOGo refuses to run as root and no run user is set")
            groups = tuple(g for g in cfg.extra_groups if _group_exists(g))
            group = grp.getgrgid(pwd.getpwnam(cfg.run_user).pw_gid).gr_name
            return RunAs(cfg.run_user, group, groups)
        if SYSTEM_CONF.exists() and not os.access(SYSTEM_CONF, os.R_OK):
            raise GroupwareError(
                f"SOGo needs to read {SYSTEM_CONF}: add this user to the group sogo "
                "(adduser $USER sogo) or run scripts/install --groupware as root"
            )
        return RunAs()

    def _prepare(self, run_as: RunAs) -> None:
        cfg = self.config
        cfg.work_dir.mkdir(mode=0o700, exist_ok=True)
        for sub in _DIRS:
            (cfg.work_dir / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        for path, text in stack_files(cfg).items():
            path.write_text(text, encoding="utf-8")
            path.chmod(0o600)  # the plists hold database passwords
        if run_as.user is not None:
            uid = pwd.getpwnam(run_as.user).pw_uid
            gid = pwd.getpwnam(run_as.user).pw_gid
            for root, dirs, files in os.walk(cfg.work_dir):
                os.chown(root, uid, gid)
                for name in dirs + files:
                    os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)

    def _spawn(
        self,
        name: str,
        argv: list[str],
        run_as: RunAs,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        cfg = self.config
        daemon = Daemon(
            name,
            argv,
            cfg.log_dir / f"{name}.out",
            cfg.work_dir / "run" / f"{name}.daemon.pid",
            env=env or {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            cwd=cwd or cfg.work_dir,
            run_as=run_as,
        )
        try:
            daemon.start()
        except OSError as exc:
            raise GroupwareError(f"cannot start {name}: {exc}") from None
        self.daemons[name] = daemon

    def _wait(self, name: str, timeout: float) -> None:
        daemon, ready = self.daemons[name], self._ready[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not daemon.running():
                raise GroupwareError(f"{name} exited at start: {self._tail(name)}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if ready():
                    return
            time.sleep(0.05)
        raise GroupwareError(f"{name} did not answer within {timeout:.0f} s: {self._tail(name)}")

    def _tail(self, name: str) -> str:
        logs = [self.config.log_dir / f"{name}.out", self.config.log_dir / f"{name}.log"]
        for path in logs:
            with contextlib.suppress(OSError):
                lines = [x for x in path.read_text(errors="replace").splitlines() if x.strip()]
                if lines:
                    return lines[-1].strip()[:300]
        return "no log"

    # state and stop --------------------------------------------------------------------
    def problems(self) -> list[str]:
        """The daemons that are not running (empty: all are)."""
        return [name for name, daemon in self.daemons.items() if not daemon.running()]

    def expire_sessions(self, idle_minutes: int) -> None:
        """Delete web sessions idle for longer (SOGo's sessions table only grows
        otherwise); raises MailBackendFailure."""
        run_as = self.daemons["sogo-web"].run_as if "sogo-web" in self.daemons else RunAs()
        tool = SogoTool(self.config.instance_dir("web") / "GNUstep.conf", run_as)
        tool.run("expire-sessions", str(idle_minutes))

    def revive(self, timeout: float = 30.0) -> list[str]:
        """Start again the daemons that died (the node's health loop calls this): a
        memcached on a fresh socket (an empty cache), a sogod once its orphaned workers,
        which hold its port, are gone. Returns the names started; GroupwareError when one
        does not come back."""
        revived = []
        for name, daemon in self.daemons.items():
            if daemon.running():
                continue
            daemon.reap()
            if name.startswith("memcached-"):
                self.config.memcached_socket(name.removeprefix("memcached-")).unlink(
                    missing_ok=True
                )
            elif name.startswith("sogo-"):
                instance = self.config.instance_dir(name.removeprefix("sogo-"))
                kill_tree(marked_processes(str(instance) + "/"), 0)
            try:
                daemon.start()
            except OSError as exc:
                raise GroupwareError(f"cannot start {name} again: {exc}") from None
            self._wait(name, timeout)
            revived.append(name)
        return revived

    def stop(self, grace: float = STOP_GRACE_S) -> float:
        """Every daemon and every sogod worker gone; returns the seconds it took."""
        pids: list[int] = []
        for daemon in self.daemons.values():
            pids += daemon.tree()
        took = kill_tree(pids, grace) if pids else 0.0
        for daemon in self.daemons.values():
            daemon.reap()
        self.daemons.clear()
        return took


def _check_database(database: SogoDatabase) -> None:
    """SOGo only logs "cannot connect" per request: refuse to start instead."""
    import psycopg  # a PostgreSQL installation has it

    try:
        psycopg.connect(
            host=database.host, port=database.port, dbname=database.name,
            user=database.user, password=database.password, connect_timeout=5,
        ).close()  # fmt: skip
    except psycopg.Error as exc:
        raise GroupwareError(
            f"SOGo cannot reach database {database.name!r} as {database.user!r} "
            f"({_first_line(str(exc))}); create it or set sogo_database_url"
        ) from None


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "?"


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _accepts_unix(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(1)
        return s.connect_ex(str(path)) == 0


def _answers(host: str, port: int) -> bool:
    """GET /SOGo/ answers 200 (the login page): sogod, or the front end before it."""
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", "/SOGo/")
        return conn.getresponse().status == 200
    finally:
        conn.close()
