"""One running pemx node (`pemx serve`): started and stopped in the one right order.

Start: the private PostgreSQL (with private_postgresql), migrate the database, create
the provider on the first start, build the application, start the sending side (the
relay, the policy service, the milter), start the private Dovecot (its submission
service told the relay's port), keep store 1's row equal to where it listens, start
the outbox worker, bind the API, write runtime.json.
Stop: the reverse, for whatever had started.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from types import FrameType

from cheroot import wsgi

from pemx.adapters.db.database import Database
from pemx.adapters.db.private_cluster import (
    DATABASE,
    MAIL_ROLE,
    PrivateCluster,
    PrivateClusterError,
)
from pemx.adapters.db.unit_of_work import SqlUnitOfWork
from pemx.adapters.groupware import GroupwareError, PrivateGroupware
from pemx.adapters.mail.dovecot import MailBackendError, PrivateDovecot
from pemx.adapters.mail.submission.services import SendingServices
from pemx.adapters.passwords import BcryptHasher
from pemx.api.server import make_server
from pemx.bootstrap import (
    Application,
    build_application,
    build_sending,
    check_stores,
    cli_unit_of_work,
    dovecot_config,
    groupware_config,
    mail_root,
    on_private_cluster,
    prepare_database,
    private_cluster,
    sogo_databases,
)
from pemx.config import Settings
from pemx.domain.errors import PemxError
from pemx.domain.mail_ports import MailPorts
from pemx.domain.model import LOCAL_STORE_ID
from pemx.runtime import (
    DatabaseInfo,
    DataDirInUse,
    DataDirLock,
    MailListeners,
    clear_runtime,
    write_runtime,
)
from pemx.service import setup
from pemx.service.ports import MailBackendFailure

#: How often the private Dovecot's and PostgreSQL's log sizes are looked at
LOG_ROTATION_CHECK_SECONDS = 2.0
SESSION_IDLE_MINUTES = 24 * 60  # a web session unused this long is deleted (hourly)


class StartFailed(Exception):
    """The node could not start; the message is one line that says which step failed."""


class Node:
    """The database, the application, the private Dovecot and the API server of one
    process. ``start`` raises StartFailed after undoing what it did; ``stop`` is safe
    to call at any point, and more than once."""

    def __init__(self, settings: Settings, *, environ: Mapping[str, str] = os.environ) -> None:
        self.settings = settings
        self.environ = environ  # PEMX_ADMIN_LOGIN / PEMX_ADMIN_PASSWORD on the first start
        #: (login, password) of the provider's first staff member when start generated
        #: the password: shown once by the caller.
        self.first_admin: tuple[str, str] | None = None
        self.app: Application | None = None
        self.dovecot: PrivateDovecot | None = None
        self.sending: SendingServices | None = None
        self.groupware: PrivateGroupware | None = None
        self._sessions_expired_at: float | None = None
        self.server: wsgi.Server | None = None
        self.postgresql: PrivateCluster | None = None
        self._database: Database | None = None
        self._runtime_written = False
        self._lock = DataDirLock(settings.data_dir)
        self._umask: int | None = None
        self._health: threading.Thread | None = None
        self._log_rotation: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def api_port(self) -> int:
        """The port the API is bound to (settings.port 0 means any free one)."""
        assert self.server is not None, "the node is not started"
        return int(self.server.bind_addr[1])

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        settings = self.settings
        try:  # first: a second node must not touch the running one's files
            self._lock.acquire()
        except DataDirInUse as exc:
            raise StartFailed(str(exc)) from None
        if settings.groupware and not settings.mail:
            raise StartFailed("groupware needs the private Dovecot (mail = true)")
        # nothing this process creates is readable by other local users (until stop)
        self._umask = os.umask(0o077)
        if settings.runs_private_postgresql:  # set, or implied by groupware
            settings = self.settings = self._start_postgresql(settings)
        elif not settings.database_url and (settings.data_dir / PRIVATE_CLUSTER).exists():
            raise StartFailed(
                f"{settings.data_dir} moved to its private PostgreSQL: set "
                "private_postgresql = true (pemx.db is the copy from before the move)"
            )
        if settings.groupware:
            try:  # before the database is touched: SOGo reads PostgreSQL only
                sogo_databases(settings)
            except GroupwareError as exc:
                raise StartFailed(str(exc)) from None
        hasher = BcryptHasher(settings.bcrypt_rounds)
        try:
            self._database = prepare_database(settings)
            uow = cli_unit_of_work(self._database, "create provider")
            self.first_admin = setup.ensure_provider(uow, hasher, self.environ)
        except PemxError as exc:
            raise StartFailed(exc.message) from None
        except Exception as exc:
            raise StartFailed(f"cannot open the database: {_one_line(exc)}") from None
        try:
            _make_private(settings)
        except (OSError, LookupError) as exc:
            raise StartFailed(f"cannot make the data files private: {_one_line(exc)}") from None
        self.app = build_application(settings, self._database, hasher=hasher)
        sending = build_sending(settings, self._database)
        try:
            sending.start()
        except OSError as exc:
            raise StartFailed(f"cannot start the sending services: {_one_line(exc)}") from None
        self.sending = sending
        if settings.mail:
            link = sending.link(settings.mail_host)
            try:
                dovecot = PrivateDovecot(dovecot_config(settings, link))
                dovecot.start()
            except (MailBackendError, RuntimeError, ValueError, OSError) as exc:
                reason = _one_line(exc)
                raise StartFailed(
                    f"cannot start Dovecot: {reason}{_port_hint(settings, reason)}"
                ) from None
            self.dovecot = dovecot
            sending.attach_dovecot(dovecot.doveadm_http())
        if settings.groupware:
            self._start_groupware(sending)
        self._register_local_store()
        self.app.start()
        if (self.dovecot is not None and settings.dovecot_log_max_bytes > 0) or (
            self.postgresql is not None and settings.postgresql_log_max_bytes > 0
        ):
            self._log_rotation = threading.Thread(
                target=self._rotate_logs, name="pemx-log-rotation", daemon=True
            )
            self._log_rotation.start()
        if settings.store_check_interval > 0:
            self._health = threading.Thread(
                target=self._check_stores, name="pemx-store-health", daemon=True
            )
            self._health.start()
        server = make_server(
            self.app.api,
            host=settings.host,
            port=settings.port,
            threads=settings.threads,
            threads_per_client=settings.threads_per_client,
            max_body_bytes=settings.max_body_bytes,
            tls_cert=settings.tls_cert,
            tls_key=settings.tls_key,
        )
        try:
            server.prepare()
        except OSError as exc:
            raise StartFailed(f"cannot listen on {settings.host}:{settings.port}: {exc}") from None
        self.server = server
        mail = None
        if self.dovecot is not None:
            cfg = self.dovecot.config
            mail = MailListeners(cfg.host, cfg.ports, cfg.mail_root)
        endpoints = sending.endpoints(settings.mail_host)
        if self.groupware is not None:
            endpoints.update(self.groupware.config.endpoints())
        write_runtime(settings, self.api_port, mail, endpoints, database=self._database_info())
        self._runtime_written = True

    def _start_postgresql(self, settings: Settings) -> Settings:
        """Start the private cluster (created on the first start; one a killed pemx left
        running here is stopped first); the settings then name its URL and mail role."""
        try:
            cluster = private_cluster(settings)
            if not cluster.created and (settings.data_dir / "pemx.db").exists():
                why = "a new private PostgreSQL would start empty"
                if not settings.private_postgresql:  # implied by groupware
                    why = "groupware needs PostgreSQL; " + why
                raise StartFailed(
                    f"{settings.data_dir} has an SQLite database (pemx.db): move it with "
                    f"`pemx database move-to-postgresql` ({why})"
                )
            new = not cluster.created
            seconds = cluster.start()
            if settings.groupware and not settings.sogo_database_url:
                # SOGo's own tables, beside pemx's database (sogo_databases' default)
                cluster.ensure_database(f"{DATABASE}_sogo", owner=MAIL_ROLE)
        except (PrivateClusterError, MailBackendError, OSError) as exc:
            raise StartFailed(f"cannot start the private PostgreSQL: {_one_line(exc)}") from None
        self.postgresql = cluster
        logging.getLogger("pemx.postgresql").info(
            "private PostgreSQL %s in %.2f s (socket %s, 127.0.0.1:%d)",
            "created and started" if new else "started",
            seconds,
            cluster.socket_path,
            cluster.port,
        )
        return on_private_cluster(settings, cluster)

    def _database_info(self) -> DatabaseInfo | None:
        cluster = self.postgresql
        if cluster is None:
            return None
        socket = str(cluster.socket_path)
        return DatabaseInfo("private PostgreSQL", socket, "127.0.0.1", cluster.port)

    def _start_groupware(self, sending: SendingServices) -> None:
        """SOGo (web and sync), its memcached and the front end, reading mail from the
        private Dovecot's owa and activesync listeners (each gated by its switch)."""
        assert self.dovecot is not None
        dovecot = self.dovecot.config
        smtp_port = int(sending.endpoints(dovecot.host).get("submission", {}).get("port", 0))
        try:
            config = groupware_config(
                self.settings,
                dovecot.host,
                dovecot.ports.imap_owa,
                dovecot.ports.imap_activesync,
                smtp_port,
            )
            groupware = PrivateGroupware(config)
            took = groupware.start()
        except (GroupwareError, OSError, LookupError) as exc:
            raise StartFailed(f"cannot start the groupware: {_one_line(exc)}") from None
        self.groupware = groupware
        logging.getLogger("pemx.groupware").info("groupware started in %.1f s", took)
        if self.app is not None and not self.settings.public_web_url:
            # mail clients are told the front end (Outlook, phones: ActiveSync)
            self.app.announce_web(self.settings.groupware_web_url(groupware.config.front_port))
        if self.app is not None:
            self._open_missing_calendars(self.app)

    def _open_missing_calendars(self, app: Application) -> None:
        """Mailboxes added while the groupware was off get their calendars now."""
        log = logging.getLogger("pemx.groupware")
        try:
            queued = app.open_missing_calendars()
        except MailBackendFailure as exc:  # not fatal: the next start tries again
            log.warning("groupware: cannot look for unopened calendars: %s", exc)
            return
        if queued:
            log.info("groupware: opening the calendars of %d mailboxes", queued)

    def _expire_sessions(self, groupware: PrivateGroupware, log: logging.Logger) -> None:
        """At the first health check, then hourly: SOGo's idle web sessions go."""
        now = time.monotonic()
        if self._sessions_expired_at is not None and now - self._sessions_expired_at < 3600:
            return
        self._sessions_expired_at = now
        try:
            groupware.expire_sessions(SESSION_IDLE_MINUTES)
        except Exception as exc:
            log.warning("groupware: expiring SOGo's sessions failed: %s", exc)
        else:
            log.info("groupware: expired SOGo sessions idle for %s min", SESSION_IDLE_MINUTES)

    def _register_local_store(self) -> None:
        """Store 1 is the Dovecot this node runs (private) or names (doveadm_api_key): keep
        its row equal to where it listens now (a private one's ports may change per start)."""
        settings = self.settings
        if self.dovecot is not None:
            cfg = self.dovecot.config
            host, ports, api_key, root = cfg.host, cfg.ports, cfg.doveadm_api_key, cfg.mail_root
        elif settings.doveadm_api_key:
            host, api_key, root = settings.mail_host, settings.doveadm_api_key, mail_root(settings)
            ports = settings.mail_ports
        else:
            return  # stores registered with `pemx stores add` (a cluster layout)
        values = {**ports.columns(), "host": host, "doveadm_api_key": api_key}
        values["mail_root"] = str(root)
        assert self._database is not None
        with SqlUnitOfWork(self._database).write() as tx:
            tx.stores.update(LOCAL_STORE_ID, values)

    def _check_stores(self) -> None:
        """Every store_check_interval: probe the stores; one that does not answer is
        FAILED (placement skips it) until it answers again. The groupware's daemons that
        died are started again (a memcached that is down fails the outbox's cache drops)."""
        log = logging.getLogger("pemx.stores")
        while not self._stopping.wait(self.settings.store_check_interval):
            database = self._database
            if database is None:
                return
            try:
                check_stores(database)
            except Exception:
                log.exception("store health check failed")
            groupware = self.groupware
            if groupware is not None and not self._stopping.is_set():
                try:
                    revived = groupware.revive()
                except Exception:
                    log.exception("the groupware could not be started again")
                else:
                    if revived:
                        log.warning("groupware: started again: %s", ", ".join(revived))
                self._expire_sessions(groupware, log)

    def _rotate_logs(self) -> None:
        """Every few seconds: rotate the private Dovecot's and PostgreSQL's logs once
        they are large."""
        settings = self.settings
        while not self._stopping.wait(LOG_ROTATION_CHECK_SECONDS):
            dovecot, cluster = self.dovecot, self.postgresql
            if dovecot is not None:
                _rotate(
                    "pemx.dovecot",
                    dovecot.config.log_path,
                    partial(
                        dovecot.rotate_log,
                        settings.dovecot_log_max_bytes,
                        settings.dovecot_log_backups,
                    ),
                )
            if cluster is not None:
                _rotate(
                    "pemx.postgresql",
                    cluster.log_file,
                    partial(
                        cluster.rotate_log,
                        settings.postgresql_log_max_bytes,
                        settings.postgresql_log_backups,
                    ),
                )

    def serve(self) -> None:
        """Serve API calls until ``stop`` (from another thread) or a signal."""
        assert self.server is not None, "the node is not started"
        self.server.serve()

    def serve_until_signalled(self) -> None:
        """Serve until SIGTERM or SIGINT (main thread only), then stop everything."""
        assert self.server is not None, "the node is not started"
        server = self.server
        stopping = threading.Event()

        def _stop(signum: int, _frame: FrameType | None) -> None:
            if not stopping.is_set():
                stopping.set()
                threading.Thread(target=server.stop, daemon=True).start()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        try:
            self.serve()
        finally:
            self.stop()

    def stop(self) -> None:
        """The API first (no new calls), the sending side, then the worker and the
        database, then Dovecot (its submission answers 421 meanwhile: temporary), then
        the private PostgreSQL."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        self._stopping.set()
        for thread in (self._health, self._log_rotation):
            if thread is not None:
                thread.join()
        self._health = self._log_rotation = None
        if self.sending is not None:  # before the database goes: they read it
            self.sending.stop()
            self.sending = None
        if self.app is not None:
            self.app.close()  # disposes the database too
            self.app = None
        elif self._database is not None:
            self._database.dispose()
        self._database = None
        if self.groupware is not None:  # before Dovecot: SOGo holds IMAP sessions there
            self.groupware.stop()
            self.groupware = None
        if self.dovecot is not None:
            self.dovecot.stop()
            self.dovecot = None
        if self.postgresql is not None:  # last: everything above reads the database
            self.postgresql.stop()
            self.postgresql = None
        if self._runtime_written:
            clear_runtime(self.settings.data_dir)
            self._runtime_written = False
        self._lock.release()
        if self._umask is not None:  # an embedding process (a test) gets its own back
            os.umask(self._umask)
            self._umask = None


# The private PostgreSQL's cluster, once initdb made it (bootstrap.private_cluster)
PRIVATE_CLUSTER = os.path.join("postgresql", "data", "PG_VERSION")

# Files of the data directory that hold credentials or data (SQLite's WAL and SHM
# files too): 0600 also when an older pemx created them with the default umask.
PRIVATE_FILES = ("pemx.db", "pemx.db-wal", "pemx.db-shm", "pemx.toml", "doveadm-api-key")


def _make_private(settings: Settings) -> None:
    """The data directory is not listable by other local users: 0700, or 0711 as root
    with a private Dovecot, whose unprivileged processes must traverse it to the mail
    and the sockets; its files are 0600 (the database 0640 for database_group)."""
    data_dir = settings.data_dir
    shared = bool(settings.database_group)  # its readers must traverse the directory
    # (the private PostgreSQL's user too, to its cluster under <data_dir>/postgresql)
    served = settings.mail or settings.private_postgresql
    data_dir.chmod(0o711 if shared or (served and os.geteuid() == 0) else 0o700)
    for name in PRIVATE_FILES:
        path = data_dir / name
        if not path.exists():
            continue
        if shared and name.startswith("pemx.db"):
            # SQLite gives the WAL and SHM files it creates the database file's mode
            shutil.chown(path, group=settings.database_group)
            path.chmod(0o640)
        else:
            path.chmod(0o600)


def _port_hint(settings: Settings, reason: str) -> str:
    """For Dovecot's "bind(127.0.0.1, 10143) failed: ..." (or listen(...)): the setting
    that moves the port."""
    bound = re.search(r"(?:bind|listen)\([^,]*, (\d+)\) failed: (.*)", reason)
    if bound is None:
        return ""
    port = int(bound.group(1))
    ports = {p: MailPorts.COLUMNS[name] for name, p in settings.mail_ports.items() if p}
    if settings.submission_port:
        ports.setdefault(settings.submission_port, "submission_port")
    setting = ports.get(port)
    if setting is None:
        return ""
    if port < 1024 and os.geteuid() != 0 and "Permission denied" in bound.group(2):
        return (
            f"; ports below 1024 need root: set {setting} (PEMX_{setting.upper()}) to 1024 or more"
        )
    return f"; set {setting} (PEMX_{setting.upper()}) to a free port, or 0 for any free one"


def _rotate(logger: str, path: Path, rotate: Callable[[], bool]) -> None:
    """One server's log rotated if large (``rotate``); said in pemx's log."""
    log = logging.getLogger(logger)
    try:
        if rotate():
            log.info("rotated %s", path)
    except (OSError, PrivateClusterError) as exc:
        log.warning("cannot rotate %s: %s", path, exc)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
