"""A private PostgreSQL cluster in the data directory, run by `pemx serve`.

<root> (<data_dir>/postgresql) holds ``data/`` (the cluster, owned by the user that
runs it), ``run/`` (its unix socket, 0700), ``credentials.json`` (the generated
passwords of pemx's roles, 0600) and ``postgresql.log`` (rotated by size: rotate_log).
The configs are rendered into ``data/`` at every start. PostgreSQL refuses to run as
root: as root the cluster runs as ``run_as`` (pemx's mail owner, the user the private
Dovecot's mail processes are).

The socket admits the operating system user running pemx only (peer, as the
superuser or pemx's owner role); loopback TCP admits roles by password: pemx's owner
role ``pemx`` and the mail servers' read-only role ``pemx_mail``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pemx.adapters.mail.dovecot.logfile import rotate_if_large
from pemx.adapters.mail.jinja import config_environment
from pemx.adapters.net import free_port

__all__ = [
    "DATABASE",
    "MAIL_ROLE",
    "OWNER_ROLE",
    "ClusterCredentials",
    "PrivateCluster",
    "PrivateClusterError",
    "find_bindir",
]

SUPERUSER: Final = "postgres"
OWNER_ROLE: Final = "pemx"
MAIL_ROLE: Final = "pemx_mail"
DATABASE: Final = "pemx"
HOST: Final = "127.0.0.1"
MAX_CONNECTIONS: Final = 200
# A unix socket's path must fit sockaddr_un.sun_path (108 bytes with its NUL).
_SOCKET_PATH_MAX: Final = 107
_TEMPLATES = config_environment("pemx.adapters.db", "templates")
_INITDB_OPTS: Final = ("-E", "UTF8", "--locale=C", "--no-instructions")


class PrivateClusterError(Exception):
    """The private cluster cannot be created, started or reached; the message says why."""


def find_bindir(major: str | None = None) -> Path:
    """The server binaries (initdb, postgres, pg_ctl) of Debian's PostgreSQL: of version
    ``major`` (an existing cluster's), else the newest installed."""
    root = Path("/usr/lib/postgresql")
    candidates = [root / major / "bin"] if major else sorted(root.glob("*/bin"), reverse=True)
    found = shutil.which("initdb")
    if found and not major:
        candidates.append(Path(found).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    wanted = f"postgresql-{major}" if major else "postgresql"
    raise PrivateClusterError(
        f"the PostgreSQL server binaries are not installed (apt-get install {wanted})"
    )


@dataclass(frozen=True)
class ClusterCredentials:
    """The passwords of pemx's roles on loopback TCP, generated once."""

    owner_password: str
    mail_password: str

    @classmethod
    def load_or_create(cls, path: Path) -> ClusterCredentials:
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(str(data["owner_password"]), str(data["mail_password"]))
        made = cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24))
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"owner_password": made.owner_password,
                       "mail_password": made.mail_password}, f)  # fmt: skip
        os.replace(tmp, path)
        return made


class PrivateCluster:
    """One PostgreSQL cluster under ``root``, started and stopped by this process.

    ``port`` 0 picks a free one at start. ``run_as``: the system user the server runs
    as when this process is root (required then)."""

    def __init__(self, root: Path, *, port: int, run_as: str | None = None) -> None:
        self.root = root.absolute()
        self.data = self.root / "data"
        self.socket_dir = self.root / "run"
        self.log_file = self.root / "postgresql.log"
        self.credentials_file = self.root / "credentials.json"
        self.port = port
        self.run_as = run_as
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_start = 0  # where this start's lines begin in the log

    @property
    def created(self) -> bool:
        """Whether initdb made the cluster already (a start then only starts it)."""
        return (self.data / "PG_VERSION").exists()

    # --- what clients need
    @property
    def socket_path(self) -> Path:
        return self.socket_dir / f".s.PGSQL.{self.port}"

    def credentials(self) -> ClusterCredentials:
        return ClusterCredentials.load_or_create(self.credentials_file)

    def owner_url(self) -> str:
        """pemx's own URL (loopback TCP, the owner role)."""
        password = self.credentials().owner_password
        return f"postgresql+psycopg://{OWNER_ROLE}:{password}@{HOST}:{self.port}/{DATABASE}"

    def running_pid(self) -> int | None:
        """The postmaster running on this cluster's data directory (its pid file and its
        command line name it), or None. Never found by name."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            pid = int(lines[0])
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError, IndexError):
            return None
        if str(self.data).encode() not in argv or state in ("Z", "X"):
            return None
        return pid

    def attach(self) -> bool:
        """Take the port of a cluster running here (started by a running `pemx serve`):
        True if one runs."""
        if self.running_pid() is None:
            return False
        with contextlib.suppress(OSError, ValueError, IndexError):
            self.port = int((self.data / "postmaster.pid").read_text().splitlines()[3])
            return True
        return False

    # --- start and stop
    def start(self, timeout: float = 60.0) -> float:
        """Create the cluster on the first start (initdb), start it, wait until it
        accepts connections, and make pemx's roles and database. Returns the seconds."""
        t0 = time.monotonic()
        try:
            import psycopg  # noqa: F401 - pemx reaches the cluster through it
        except ImportError:
            raise PrivateClusterError(
                "the PostgreSQL driver is not installed: pip install 'pemx[postgres]' (psycopg)"
            ) from None
        self.stop_orphan()
        self._prepare_directories()
        if not self.created:
            self._initdb()
        major = (self.data / "PG_VERSION").read_text().strip()
        bindir = find_bindir(major)
        if self.port == 0:
            self.port = free_port(HOST)
        if len(str(self.socket_path)) > _SOCKET_PATH_MAX:
            raise PrivateClusterError(
                f"the socket path {self.socket_path} is longer than {_SOCKET_PATH_MAX} "
                "bytes: use a shorter data directory"
            )
        self._write_configs()
        log = os.fdopen(self._open_log(), "ab")
        self._log_start = log.tell() if log.seekable() else 0
        try:
            self._proc = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(self.data)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data,
                start_new_session=True,  # a pemx killed by SIGKILL leaves it: stop_orphan
                **self._as_owner(),
            )
        finally:
            log.close()
        try:
            self._wait_ready(t0 + timeout)
            self._ensure_roles()
        except BaseException:
            self.stop()  # never left running by a start that failed
            raise
        return time.monotonic() - t0

    def stop(self, timeout: float = 30.0) -> float:
        """Fast shutdown (SIGINT: sessions are ended, the cluster is consistent on disk);
        immediate, then SIGKILL, if it takes longer than ``timeout``."""
        t0 = time.monotonic()
        proc, self._proc = self._proc, None
        if proc is not None:
            _shut_down(proc.pid, timeout, proc.wait)
        return time.monotonic() - t0

    def stop_orphan(self, timeout: float = 30.0) -> int | None:
        """Stop a cluster a killed `pemx serve` left running here; its pid, or None."""
        pid = self.running_pid()
        if pid is None:
            return None

        def wait(limit: float) -> None:
            deadline = time.monotonic() + limit
            while self.running_pid() == pid:
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired("postgres", limit)
                time.sleep(0.05)

        _shut_down(pid, timeout, wait)
        return pid

    def rotate_log(self, max_bytes: int, backups: int) -> bool:
        """Rotate the log once it holds ``max_bytes`` (0: never), keeping ``backups``
        old files: postgresql.log becomes postgresql.log.1, then the logging collector
        opens a new postgresql.log. Lines written in between end up in .1: none is lost."""
        if self._proc is None or not rotate_if_large(self.log_file, max_bytes, backups):
            return False
        import psycopg

        os.close(self._open_log())  # made here: as root, <root> is not the server's
        try:
            self.admin("SELECT pg_rotate_logfile()")
        except psycopg.Error as exc:
            raise PrivateClusterError(f"cannot reopen the log: {exc}") from None
        return True

    def admin(self, *statements: Any, dbname: str = "postgres") -> None:
        """Run statements as the superuser over the socket (peer authentication)."""
        import psycopg

        dsn = f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname={dbname}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def ensure_database(self, name: str, *, owner: str) -> None:
        """A database ``name`` owned by the role ``owner`` (made if missing): SOGo's own
        tables beside pemx's, which only pemx's roles may reach."""
        import psycopg
        from psycopg import sql

        dsn = f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname=postgres"
        database = sql.Identifier(name)
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if found.fetchone() is None:
                    conn.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            database, sql.Identifier(owner)
                        )
                    )
                conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
        except psycopg.Error as exc:
            raise PrivateClusterError(f"cannot create the database {name}: {exc}") from None

    # --- steps
    def _prepare_directories(self) -> None:
        as_root = os.geteuid() == 0
        if as_root and not self.run_as:
            raise PrivateClusterError("as root the cluster needs a user to run as (run_as)")
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        # as root: the server's user must traverse the data directory and <root> to its
        # data and socket (traverse only: 0711, as for the private Dovecot's users)
        self.root.chmod(0o711 if as_root else 0o700)
        if as_root:
            self.root.parent.chmod(self.root.parent.stat().st_mode & 0o7777 | 0o011)
        for directory in (self.data, self.socket_dir):
            directory.mkdir(mode=0o700, exist_ok=True)
            directory.chmod(0o700)
            if self.run_as:
                shutil.chown(directory, self.run_as, self.run_as)

    def _initdb(self) -> None:
        if any(self.data.iterdir()):  # an initdb that did not finish: start again
            shutil.rmtree(self.data)
            self._prepare_directories()
        bindir = find_bindir()
        result = subprocess.run(
            [str(bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
             "--auth=peer", *_INITDB_OPTS],
            capture_output=True, text=True, cwd=self.data, check=False, **self._as_owner(),
        )  # fmt: skip
        if result.returncode != 0:
            raise PrivateClusterError(
                f"initdb failed ({result.returncode}): {result.stderr.strip()[-800:]}"
            )

    def _write_configs(self) -> None:
        values = {
            "data_dir": self.data,
            "socket_dir": self.socket_dir,
            "host": HOST,
            "port": self.port,
            "max_connections": MAX_CONNECTIONS,
            "log_file": self.log_file,
            "client_user": _current_user(),
            "roles": (SUPERUSER, OWNER_ROLE),
        }
        for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
            text = _TEMPLATES.get_template(f"{name}.j2").render(**values)
            path = self.data / name
            tmp = path.with_name(name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            if self.run_as:
                shutil.chown(tmp, self.run_as, self.run_as)
            os.replace(tmp, path)

    def _wait_ready(self, deadline: float) -> None:
        """Until the pid file says "ready" (the server accepts connections)."""
        assert self._proc is not None
        pid_file = self.data / "postmaster.pid"
        while True:
            if self._proc.poll() is not None:
                code, self._proc = self._proc.returncode, None
                raise PrivateClusterError(
                    f"PostgreSQL exited with status {code} at start: {self.failure_reason()}"
                    f"\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                ours = len(lines) >= 8 and lines[0] == str(self._proc.pid)
                if ours and lines[7].strip() == "ready":
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise PrivateClusterError(f"PostgreSQL did not start in time:\n{self.log_tail()}")
            time.sleep(0.02)

    def _ensure_roles(self) -> None:
        """pemx's roles (their passwords as credentials.json says) and database."""
        import psycopg
        from psycopg import sql

        creds = self.credentials()
        database = sql.Identifier(DATABASE)
        dsn = f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname=postgres"
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for role, password in (
                    (OWNER_ROLE, creds.owner_password),
                    (MAIL_ROLE, creds.mail_password),
                ):
                    found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                    verb = "ALTER" if found.fetchone() else "CREATE"
                    conn.execute(
                        sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                            sql.Identifier(role), sql.Literal(password)
                        )
                    )
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
                if found.fetchone() is None:
                    conn.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            database, sql.Identifier(OWNER_ROLE)
                        )
                    )
                # Only pemx's roles may connect to pemx's database (SOGo's get their own).
                conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(database))
                conn.execute(
                    sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                        database, sql.Identifier(MAIL_ROLE)
                    )
                )
        except psycopg.Error as exc:
            raise PrivateClusterError(f"cannot set up pemx's roles: {exc}") from None

    def _open_log(self) -> int:
        """The log file opened for appending (made 0600, the server's user's)."""
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if self.run_as:
            shutil.chown(self.log_file, self.run_as, self.run_as)
        return fd

    def _as_owner(self) -> dict[str, Any]:
        if not self.run_as:
            return {}
        return {"user": self.run_as, "group": self.run_as, "extra_groups": []}

    def failure_reason(self) -> str:
        """PostgreSQL's own words on why this start failed: the errors it logged since."""
        try:
            with open(self.log_file, "rb") as log:
                log.seek(self._log_start)
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return "no reason in its log"
        said: list[str] = []
        for line in text.splitlines():
            for marker in ("FATAL:  ", "ERROR:  ", "LOG:  could not "):
                if marker in line:
                    words = line.split(marker, 1)[1].strip()
                    words = "could not " + words if marker.endswith("could not ") else words
                    if words not in said:
                        said.append(words)
        return ": ".join(said) or f"no reason in its log ({self.log_file})"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no PostgreSQL log)"
        return "\n".join(text.splitlines()[-lines:]) or "(no PostgreSQL output)"


def _shut_down(pid: int, timeout: float, wait: Any) -> None:
    """SIGINT (fast shutdown), then SIGQUIT (immediate), then SIGKILL to the group."""
    for sig, limit in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        try:
            wait(limit)
            return
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # its own session: the pid is its group's id
    with contextlib.suppress(subprocess.TimeoutExpired):
        wait(5.0)


def _current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name
