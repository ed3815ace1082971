"""The private Dovecot instance: pemx runs ``dovecot -F`` with its own config."""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Final

from pemx.adapters.mail.dovecot.config import DovecotConfig, current_user
from pemx.adapters.mail.dovecot.doveadm import DoveadmHttp
from pemx.adapters.mail.dovecot.errors import MailBackendError
from pemx.adapters.mail.dovecot.logfile import rotate_if_large
from pemx.adapters.mail.dovecot.procfs import (
    listening_tcp_ports,
    live_group_members,
    orphaned_master,
    wait_until_idle,
)
from pemx.adapters.mail.dovecot.render import instance_files

__all__ = ["SUPPORTED_SERIES", "PrivateDovecot", "dovecot_version", "find_dovecot"]

SUPPORTED_SERIES: Final = "2.3."
# Dovecot is often in /usr/sbin, which an ordinary user's PATH may lack.
_EXTRA_BIN_DIRS: Final = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def find_dovecot() -> str | None:
    """Path of the ``dovecot`` binary (PATH, then the sbin directories), or None."""
    search = os.pathsep.join([os.environ.get("PATH", os.defpath), *_EXTRA_BIN_DIRS])
    return shutil.which("dovecot", path=search)


def dovecot_version(binary: str) -> str:
    """``dovecot --version`` output, e.g. ``'2.3.19.1 (9b53102964)'``."""
    try:
        res = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as e:
        raise MailBackendError(f"cannot run {binary}: {e}") from e
    if res.returncode != 0:
        raise MailBackendError(
            f"{binary} --version failed ({res.returncode}): {res.stderr.strip()}"
        )
    return res.stdout.strip()


def _uid_gids(user: str, group: str | None = None) -> tuple[int, set[int]]:
    try:
        pw = pwd.getpwnam(user)
    except KeyError as e:
        raise MailBackendError(f"no such system user: {user!r}") from e
    gids = {pw.pw_gid, *os.getgrouplist(user, pw.pw_gid)}
    if group is not None:
        try:
            gids.add(grp.getgrnam(group).gr_gid)
        except KeyError as e:
            raise MailBackendError(f"no such system group: {group!r}") from e
    return pw.pw_uid, gids


def _blocking_dir(path: Path, uid: int, gids: set[int]) -> Path | None:
    """The first directory from / down to ``path`` that ``uid`` cannot traverse."""
    for d in [*reversed(path.parents), path]:
        st = d.stat()
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid in gids:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return d
    return None


def _require_submission_service(binary: str) -> None:
    """Dovecot's submission service is a package of its own on Debian; without it Dovecot
    stops at start with only "Unknown protocol": say which package is missing."""
    libexec = Path(binary).resolve().parent.parent / "lib" / "dovecot"
    if (libexec / "imap").exists() and not (libexec / "submission").exists():
        raise MailBackendError(
            f"Dovecot's submission service is not installed ({libexec / 'submission'}): "
            "apt-get install dovecot-submissiond, or set submission = false"
        )


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _write_private(path: Path, text: str, mode: int) -> None:
    """Write a file atomically that is never readable by others, not even briefly."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)  # also when tmp existed with other permissions
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for parent, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            os.chown(os.path.join(parent, name), uid, gid, follow_symlinks=False)


class PrivateDovecot:
    """One Dovecot instance owned by this process: ``dovecot -F -c <work_dir>/dovecot.conf``.

    Ports that are 0 in the config are replaced by free ones at construction;
    ``config`` has the resolved ones. Usable as a context manager (start/stop).
    """

    def __init__(self, config: DovecotConfig, *, binary: str | None = None) -> None:
        self.config = config.with_free_ports()
        self._binary = binary
        self._proc: subprocess.Popen[bytes] | None = None

    # --- binary and version
    @property
    def binary(self) -> str:
        """The dovecot binary; ``MailBackendError`` if it is not installed."""
        found = self._binary or find_dovecot()
        if not found or not os.access(found, os.X_OK):
            raise MailBackendError(
                f"dovecot binary not found ({self._binary or 'searched PATH and /usr/sbin'}); "
                "install Dovecot 2.3: apt-get install dovecot-core dovecot-imapd "
                "dovecot-pop3d dovecot-lmtpd dovecot-sqlite (or dovecot-pgsql)"
            )
        return found

    def check_version(self) -> str:
        """The Dovecot version; ``MailBackendError`` unless it is 2.3.*."""
        version = dovecot_version(self.binary)
        if not version.startswith(SUPPORTED_SERIES):
            raise MailBackendError(
                f"Dovecot {version} is not supported: pemx's config is written for Dovecot "
                "2.3 (Debian 12); 2.4 changed the config syntax"
            )
        return version

    # --- files
    def write_config(self) -> None:
        """Create the directories and write both config files."""
        cfg = self.config
        for d in (cfg.work_dir, cfg.state_dir, cfg.log_dir):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Dovecot wants base_dir world-readable (it holds the listener sockets).
        cfg.base_dir.mkdir(exist_ok=True)
        cfg.base_dir.chmod(0o755)
        if cfg.role == "store":  # a proxy has no mail
            cfg.mail_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if cfg.as_root:
            self._prepare_root_permissions()
        # They hold the doveadm API key and perhaps the database password. Dovecot
        # reads them as root (or as the invoking user): 0600 is enough (tested).
        for path, text in instance_files(cfg).items():
            _write_private(path, text, 0o600)

    def _prepare_root_permissions(self) -> None:
        cfg = self.config
        if os.geteuid() != 0:
            raise MailBackendError("as_root=True, but this process is not root")
        # Login and mail processes reach the sockets in base_dir: the work dir
        # must be traversable (not readable) for them.
        os.chmod(cfg.work_dir, 0o711)
        checks: list[tuple[Path, str, int, set[int]]] = []
        if cfg.role == "store":
            mail_uid, mail_gids = _uid_gids(cfg.mail_user, cfg.mail_group)
            mail_gid = grp.getgrnam(cfg.mail_group).gr_gid
            if cfg.mail_root.stat().st_uid != mail_uid:  # mail of an older owner (nobody)
                _chown_tree(cfg.mail_root, mail_uid, mail_gid)
            os.chmod(cfg.mail_root, 0o700)
            checks += [
                (cfg.mail_root.parent, cfg.mail_user, mail_uid, mail_gids),
                (cfg.work_dir, cfg.mail_user, mail_uid, mail_gids),
            ]
        for user in ("dovecot", "dovenull"):
            uid, gids = _uid_gids(user)
            checks.append((cfg.work_dir, user, uid, gids))
        for path, user, uid, gids in checks:
            blocked = _blocking_dir(path, uid, gids)
            if blocked is not None:
                raise MailBackendError(
                    f"user {user!r} cannot traverse {blocked} "
                    f"(mode {stat.S_IMODE(blocked.stat().st_mode):o}), which Dovecot's "
                    f"unprivileged processes need for {path}; use a directory outside it "
                    "(for example under /tmp or /var/lib) or allow o+x"
                )

    # --- process
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 15.0) -> float:
        """Start Dovecot and wait until every port listens (accepts connections).

        Returns the seconds it took. Raises ``MailBackendError`` with the log
        tail if Dovecot exits or the ports do not open within ``timeout``.
        """
        if self.is_running():
            raise MailBackendError(f"Dovecot is already running (pid {self.pid})")
        cfg = self.config
        binary = self.binary
        self.check_version()
        if not cfg.as_root and os.geteuid() != 0 and cfg.mail_user != current_user():
            raise MailBackendError(
                f"not root: the mail user must be the invoking user {current_user()!r}, "
                f"not {cfg.mail_user!r}"
            )
        if cfg.submission is not None:
            _require_submission_service(binary)
        if self.stop_orphan() is None:
            # Not our Dovecot's (that one was just stopped): a pid file left by a killed
            # run whose pid another program now has (after a reboot). Dovecot would refuse
            # to start ("already running with PID ...") for ever.
            (cfg.base_dir / "master.pid").unlink(missing_ok=True)
        self.write_config()
        t0 = time.monotonic()
        # -F: the master stays in the foreground, so this process owns its PID;
        # own session: stop() can kill the whole process group as a last resort.
        # Early errors (before the log is set up) go to dovecot.stderr.
        with open(cfg.log_dir / "dovecot.stderr", "ab") as err:
            self._proc = subprocess.Popen(
                [binary, "-F", "-c", str(cfg.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # The master writes master.pid only after it bound every listener (a bind
        # failure is fatal before that), so a port answered by another process
        # is never taken for Dovecot's.
        pid_file = cfg.base_dir / "master.pid"
        pending = [port for _, port in cfg.ports.items()]
        if cfg.submission is not None:
            pending.append(cfg.submission.port)
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._proc = None
                raise MailBackendError(
                    f"dovecot exited with status {code} at start: {self.failure_reason()}\n"
                    f"{self.log_tail()}"
                )
            if _read_pid(pid_file) == self._proc.pid:
                pending = self._not_listening(pending)
                if not pending:
                    wait_until_idle(self._proc.pid, timeout=1.0)
                    return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                self.stop()
                raise MailBackendError(
                    f"dovecot did not open ports {pending} within {timeout} s\n{self.log_tail()}"
                )
            time.sleep(0.01)

    def _not_listening(self, ports: list[int]) -> list[int]:
        """The ports that do not accept connections yet.

        Read from /proc/net/tcp where possible: a test connection would make the
        master spawn a login process, and a stop() while such a process is still
        starting up takes 6 s instead of 1 s.
        """
        listening = listening_tcp_ports(self.config.host)
        if listening is None:
            return [port for port in ports if not self._accepts(port)]
        return [port for port in ports if port not in listening]

    def _accepts(self, port: int) -> bool:
        try:
            with socket.create_connection((self.config.host, port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> float:
        """SIGTERM the master, which stops its children; SIGKILL the group on timeout.

        Children still alive shortly after the master exited (none normally) are
        killed too, so no process keeps the listening sockets. Returns the
        seconds it took; a no-op when not running.
        """
        t0 = time.monotonic()
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            # The master's own session: its pid is the group id of all its children.
            deadline = time.monotonic() + 2.0
            while live_group_members(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if live_group_members(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        return time.monotonic() - t0

    def stop_orphan(self, timeout: float = 10.0) -> int | None:
        """Stop the Dovecot a killed pemx left running on this work dir, if any.

        It is recognised by its master.pid and by the config path on its command line
        (so by this data directory), never by name. Returns its pid, or None."""
        pid = orphaned_master(self.config.base_dir / "master.pid", self.config.conf_path)
        if pid is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while live_group_members(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if live_group_members(pid):  # its own session: the pid is its group's id
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        return pid

    def rotate_log(self, max_bytes: int, backups: int) -> bool:
        """Rotate Dovecot's log file once it holds ``max_bytes`` (see logfile.py)."""
        if not self.is_running() or not rotate_if_large(self.config.log_path, max_bytes, backups):
            return False
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            self._proc.send_signal(signal.SIGUSR1)  # the master reopens its log files
        return True

    def failure_reason(self) -> str:
        """Dovecot's own words on why it stopped: its last fatal line and the error
        before it ("Failed to start listeners: bind(...) failed: Address already in use")."""
        lines = self.log_tail(lines=200).splitlines()
        said = []
        for marker in ("Fatal: ", "Error: "):
            last = next((line for line in lines[::-1] if marker in line), None)
            if last is not None:
                said.append(last.split(marker, 1)[1].strip())
        if not said:
            return f"no reason in its log (see {self.config.log_dir})"
        return ": ".join(said)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of Dovecot's stderr and log file, for error messages."""
        parts = []
        for path in (self.config.log_dir / "dovecot.stderr", self.config.log_path):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            tail = text.splitlines()[-lines:]
            if tail:
                parts.append(f"--- {path} (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(parts) or "(no Dovecot output)"

    def doveadm_http(self, timeout: float = 10.0) -> DoveadmHttp:
        """A doveadm HTTP API client for this instance."""
        return DoveadmHttp.for_config(self.config, timeout=timeout)

    def __enter__(self) -> PrivateDovecot:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
