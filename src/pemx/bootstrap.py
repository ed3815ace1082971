"""The composition root: builds the database, the mail backend, the worker and the API
from settings, every part wired once at construction.

``build_application`` is what `pemx serve` (through ``pemx.node.Node``) and the in-process
tests build; a test hands in its own mail backend, hasher or clock.
"""

from __future__ import annotations

import grp
import os
import pwd
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from pemx.adapters.db import node_state
from pemx.adapters.db.audit import record_refusal, utcnow
from pemx.adapters.db.copy import CopyRefused, copy_rows
from pemx.adapters.db.copy import Progress as TableProgress
from pemx.adapters.db.database import Database
from pemx.adapters.db.private_cluster import MAIL_ROLE, PrivateCluster, PrivateClusterError
from pemx.adapters.db.senders import SqlSendingReads
from pemx.adapters.db.taskqueue import TaskQueue
from pemx.adapters.db.transactions import TransactionRegistry
from pemx.adapters.db.unit_of_work import SqlUnitOfWork
from pemx.adapters.groupware import GroupwareConfig, GroupwareError, SogoCache, SogoDatabase
from pemx.adapters.groupware.config import INSTANCES, memcached_socket
from pemx.adapters.groupware.folders import SogoFolders
from pemx.adapters.groupware.processes import RunAs
from pemx.adapters.groupware.tool import SogoTool
from pemx.adapters.mail import deploy
from pemx.adapters.mail.backend import StoreBackends, StoreEndpoint
from pemx.adapters.mail.database import SqlDatabase, database_from_url, dovecot_connect
from pemx.adapters.mail.dovecot import DovecotConfig
from pemx.adapters.mail.dovecot.config import SubmissionLink
from pemx.adapters.mail.dovecot.mail_owner import ensure_mail_owner
from pemx.adapters.mail.health import store_problem
from pemx.adapters.mail.submission.services import SendingServices, sending_services
from pemx.adapters.passwords import BcryptHasher
from pemx.api.auth import Authenticator
from pemx.api.autodiscover import Autodiscover
from pemx.api.dependencies import ApiDependencies
from pemx.api.metrics import ApiMetrics, NodeSnapshot, StoreState
from pemx.api.probes import Cached
from pemx.api.throttle import LoginThrottle
from pemx.api.wsgi import XmlRpcApp
from pemx.config import Settings
from pemx.domain.errors import PemxError
from pemx.domain.model import LOCAL_STORE_ID, Account, Member
from pemx.service.autodiscover import hosted_domain_of
from pemx.service.outbox import open_missing_calendars
from pemx.service.ports import MailBackend, Operation, PasswordHasher, UnitOfWork
from pemx.service.sending import check_submission
from pemx.service.stores import record_store_health
from pemx.worker import Worker

# What the commands that move the database (pemx.offline) use of the adapters.
__all__ = [
    "CopyRefused",
    "Database",
    "PrivateCluster",
    "PrivateClusterError",
    "TableProgress",
    "copy_rows",
]


@dataclass(frozen=True)
class Application:
    """Everything one pemx process serves with; ``start`` runs the worker, ``close`` ends all."""

    settings: Settings
    database: Database
    transactions: TransactionRegistry
    hasher: PasswordHasher
    mail: MailBackend
    api: XmlRpcApp
    worker: Worker | None  # None: settings.worker is off (another process runs the outbox)

    autodiscover: Autodiscover | None = None

    def announce_web(self, url: str) -> None:
        """Autodiscover and autoconfig announce the groupware front end at ``url`` (when
        public_web_url leaves it to the running front end)."""
        if self.autodiscover is not None and self.autodiscover.endpoints.web_url is None:
            endpoints = replace(self.autodiscover.endpoints, web_url=url.rstrip("/"))
            self.autodiscover.endpoints = endpoints

    def open_missing_calendars(self) -> int:
        """The groupware opens the calendars of user mailboxes added while it was off
        (outbox tasks; raises MailBackendFailure when SOGo's database cannot tell)."""
        if self.worker is None or self.worker.groupware is None:
            return 0
        return open_missing_calendars(self.worker.uow, self.worker.groupware)

    def start(self) -> None:
        """Start the outbox worker (once the mail stores' rows say where they listen)."""
        if self.worker is not None:
            self.worker.start()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.transactions.close()
        self.database.dispose()


def build_application(
    settings: Settings,
    database: Database | None = None,
    *,
    mail: MailBackend | None = None,
    hasher: PasswordHasher | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Application:
    """The application on ``database`` (default: the settings' one, which must be at the
    current schema; see ``prepare_database``).

    ``mail`` defaults to every mailbox store's doveadm API as its row says; ``clock`` is
    the outbox's idea of now (tests move it instead of sleeping through a backoff).
    """
    if database is None:
        database = open_database(settings)
    if hasher is None:
        hasher = BcryptHasher(settings.bcrypt_rounds)
    if mail is None:
        mail = mail_backend(database)
    worker = None
    if settings.worker:
        worker = Worker(
            SqlUnitOfWork(database),
            TaskQueue(database, clock=clock),
            mail,
            groupware=groupware_cache(settings),
        )
    # The one callback after a commit that queued tasks: the worker looks at once.
    tasks_committed = worker.wake if worker is not None else _nothing
    transactions = TransactionRegistry(database, default_timeout_s=settings.txn_timeout)

    def lookup(login: str) -> tuple[Member, Account] | None:
        with SqlUnitOfWork(database).read() as tx:
            member = tx.members.by_login(login)
            account = tx.accounts.get(member.account_id) if member else None
            parent = tx.accounts.get(account.parent_id) if account and account.parent_id else None
        if member is None or account is None:
            return None
        if parent is not None and not parent.enabled:
            # A suspended reseller's customers' staff are suspended with it.
            account = replace(account, enabled=False)
        return member, account

    def live_password_hash(member_id: int) -> str | None:
        with SqlUnitOfWork(database).read() as tx:
            return tx.members.live_password_hash(member_id)

    def unit_of_work(connection: Connection | None, operation: Operation | None) -> SqlUnitOfWork:
        return SqlUnitOfWork(database, connection, operation, tasks_committed)

    def audit_failure(operation: Operation, error: PemxError) -> None:
        record_refusal(database, operation, error)

    def probe_stores() -> list[tuple[node_state.StoreRow, str | None]]:
        return [
            (row, store_problem(row.host, row.imap_port, row.doveadm_port))
            for row in node_state.store_rows(database)
        ]

    def probe_database() -> str | None:
        try:
            node_state.database_answers(database)
        except Exception as exc:
            return f"database: {type(exc).__name__}"
        return None

    # /readyz and /metrics share each result for probe_cache seconds (several scrapers)
    store_health = Cached(probe_stores, settings.probe_cache)
    database_problem = Cached(probe_database, settings.probe_cache)
    outbox = Cached(partial(node_state.outbox_by_state, database), settings.probe_cache)

    def snapshot() -> NodeSnapshot:
        stores = [
            StoreState(row.name, row.mailboxes, row.max_mailboxes, problem is None)
            for row, problem in store_health()
        ]
        return NodeSnapshot(transactions.open_count(), outbox(), stores)

    def readiness() -> str | None:
        problem = database_problem()
        if problem is not None:
            return problem
        for row, problem in store_health():
            if problem is not None:
                return f"store {row.name}: {problem}"
        return None

    autodiscover = _autodiscover(settings, database)
    api = XmlRpcApp(
        ApiDependencies(
            authenticator=Authenticator(
                lookup,
                hasher,
                live_password_hash=live_password_hash,
                ttl_s=settings.auth_cache_ttl,
            ),
            hasher=hasher,
            transactions=transactions,
            unit_of_work=unit_of_work,
            audit_failure=audit_failure,
            mail=mail,
            groupware=settings.groupware,
            # txn.Commit and pem.batchRequest commit outside a unit of work: same callback
            changed=tasks_committed,
            max_body_bytes=settings.max_body_bytes,
            allowed_networks=settings.networks,
            metrics=ApiMetrics(snapshot),
            throttle=LoginThrottle(
                settings.login_failures,
                settings.login_failure_window,
                settings.login_block_seconds,
            ),
            readiness=readiness,
            autodiscover=autodiscover,
        )
    )
    return Application(settings, database, transactions, hasher, mail, api, worker, autodiscover)


def _autodiscover(settings: Settings, database: Database) -> Autodiscover | None:
    """The mail clients' endpoints, answered from the settings and the hosted domains."""
    if not settings.autodiscover:
        return None

    def hosted(address: str) -> str | None:
        return hosted_domain_of(SqlUnitOfWork(database), address)

    return Autodiscover(settings.client_endpoints, hosted)


def _nothing() -> None:
    pass


def private_cluster(settings: Settings) -> PrivateCluster:
    """The private PostgreSQL cluster of the data directory (not started); as root it
    runs as pemx's mail owner (PostgreSQL refuses root)."""
    run_as = ensure_mail_owner() if os.geteuid() == 0 else None
    return PrivateCluster(
        settings.data_dir / "postgresql", port=settings.postgresql_port, run_as=run_as
    )


def on_private_cluster(settings: Settings, cluster: PrivateCluster) -> Settings:
    """``settings`` with the running private cluster's URL and mail role filled in: every
    part downstream (migrations, grants, Dovecot's connect string) takes them from there."""
    credentials = cluster.credentials()
    return replace(
        settings,
        database_url=cluster.owner_url(),
        mail_db_user=MAIL_ROLE,
        mail_db_password=credentials.mail_password,
    )


def resolve_database(settings: Settings) -> Settings:
    """``settings`` whose ``database`` reaches the database: on the private PostgreSQL
    (runs_private_postgresql), the cluster a running `pemx serve` started (else
    PrivateClusterError)."""
    if not settings.runs_private_postgresql:
        return settings
    cluster = PrivateCluster(settings.data_dir / "postgresql", port=settings.postgresql_port)
    if not cluster.attach():
        raise PrivateClusterError(
            "the private PostgreSQL is not running (it runs while `pemx serve` runs)"
        )
    return on_private_cluster(settings, cluster)


def prepare_database(settings: Settings) -> Database:
    """The database migrated to this pemx's schema: `pemx serve` and `pemx migrate` only."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings = resolve_database(settings)
    database = Database(settings.database, pool_size=max(4, settings.threads))
    database.migrate()
    if settings.mail_db_user:
        database.grant_contract(settings.mail_db_user)
    return database


def open_database(settings: Settings) -> Database:
    """The database for every other command: never migrated; an old or missing schema
    raises SchemaNotCurrent, whose message names `pemx migrate`."""
    return Database.open_current(resolve_database(settings).database)


class CommandDatabase:
    """The database as an operator's command uses it (`pemx tasks`, `audit`, `stores`,
    `mail-config`): never migrated (``open_database``), closed when the command ends."""

    def __init__(self, settings: Settings) -> None:
        self._database = open_database(settings)

    def unit_of_work(
        self, method: str | None = None, params: Mapping[str, Any] | None = None
    ) -> UnitOfWork:
        """Reads; with ``method``, changes audited as that command of the OS user."""
        if method is None:
            return SqlUnitOfWork(self._database)
        return cli_unit_of_work(self._database, method, params)

    def close(self) -> None:
        self._database.dispose()

    def __enter__(self) -> CommandDatabase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def password_hasher(settings: Settings) -> PasswordHasher:
    """The staff password hasher (`pemx members`)."""
    return BcryptHasher(settings.bcrypt_rounds)


def store_problem_at(host: str, imap_port: int, doveadm_port: int) -> str | None:
    """Why a store does not answer (its IMAP greeting, its doveadm API), or None: what
    `pemx stores add` checks before the store takes mailboxes."""
    return store_problem(host, imap_port, doveadm_port)


def check_stores(database: Database) -> None:
    """Probe every store and record it: placement skips one that failed its last check."""
    answering = {
        row.id: store_problem(row.host, row.imap_port, row.doveadm_port) is None
        for row in node_state.store_rows(database)
    }
    record_store_health(SqlUnitOfWork(database), answering)


# `pemx mail-config`: the CLI reaches the config renderers through here, as it reaches
# every adapter (the import contract keeps pemx.cli off pemx.adapters).
MailConfigKind = deploy.Kind
write_mail_config = deploy.write


def plan_mail_config(
    kind: MailConfigKind, settings: Settings, *args: Any, **kwargs: Any
) -> deploy.MailConfigPlan:
    """deploy.plan on the settings' database (a private cluster's as it runs)."""
    return deploy.plan(kind, resolve_database(settings), *args, **kwargs)


def cli_unit_of_work(
    database: Database, method: str, params: Mapping[str, Any] | None = None
) -> SqlUnitOfWork:
    """Transactions of a CLI command: its changes are audited as the user running it."""
    operation = Operation(method=method, actor=cli_actor(), params=params or {})
    return SqlUnitOfWork(database, operation=operation)


def cli_actor() -> str:
    """Who runs a CLI command, for the audit log."""
    try:
        name = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        name = str(os.geteuid())
    return f"cli:{name}"


def mail_backend(database: Database) -> StoreBackends:
    """Every mailbox store, reached through its doveadm HTTP API as its row says."""

    def lookup(store_id: int) -> StoreEndpoint | None:
        with SqlUnitOfWork(database).read() as tx:
            found = tx.stores.access(store_id)
        if found is None:
            return None
        store, api_key = found
        return StoreEndpoint(store.host, store.doveadm_port, api_key, store.mail_root)

    return StoreBackends(lookup)


def dovecot_config(settings: Settings, submission: SubmissionLink | None = None) -> DovecotConfig:
    """The private Dovecot's config: state under <data_dir>/dovecot, mail under <data_dir>/mail;
    ``submission``: its submission service and the relay it hands mail to."""
    driver, connect = dovecot_connect(mail_database(settings))
    config = DovecotConfig(
        work_dir=settings.data_dir / "dovecot",
        mail_root=mail_root(settings),
        sql_driver=driver,
        sql_connect=connect,
        doveadm_api_key=_secret(settings.data_dir, "doveadm-api-key"),
        host=settings.mail_host,
        ports=settings.mail_ports,
        instance_name="pemx-" + secrets.token_hex(4),
        auth_penalty=settings.mail_auth_penalty,
        # The private Dovecot is store 1: it serves the mailboxes placed there only.
        store_id=LOCAL_STORE_ID,
        submission=submission,
    )
    if os.geteuid() == 0:  # mail belongs to a user of pemx's own (created once), not nobody
        owner = ensure_mail_owner()
        config = replace(config, mail_user=owner, mail_group=owner)
    return config.with_free_ports()


def build_sending(settings: Settings, database: Database) -> SendingServices:
    """The sending side (not started): the relay, the policy service and the milter, all
    deciding by the one use case over the contract views."""
    reads = SqlSendingReads(database)
    return sending_services(settings, partial(check_submission, reads), reads)


def mail_database(settings: Settings) -> SqlDatabase:
    """The database as the mail servers reach it: with their read-only role on PostgreSQL."""
    settings = resolve_database(settings)
    return database_from_url(
        settings.database,
        user=settings.mail_db_user or None,
        password=settings.mail_db_password if settings.mail_db_user else None,
    )


def mail_root(settings: Settings) -> Path:
    return Path(settings.mail_root) if settings.mail_root else settings.data_dir / "mail"


def _secret(data_dir: Path, name: str) -> str:
    path = data_dir / name
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    value = secrets.token_hex(16)
    path.write_text(value + "\n", encoding="ascii")
    path.chmod(0o600)
    return value


# groupware (SOGo) --------------------------------------------------------------------------
def groupware_work_dir(settings: Settings) -> Path:
    return settings.data_dir / "groupware"


def groupware_cache(settings: Settings) -> SogoCache | None:
    """SOGo's login caches the outbox keeps current (None: no groupware)."""
    if settings.sogo_cache_sockets:  # a system SOGo's (docs/deployment.md)
        return SogoCache([Path(p) for p in settings.sogo_cache_sockets])
    if not settings.groupware:
        return None
    work_dir = groupware_work_dir(settings)
    run_as = RunAs()
    if os.geteuid() == 0:  # as the stack runs (groupware_config)
        owner = ensure_mail_owner()
        run_as = RunAs(owner, grp.getgrgid(pwd.getpwnam(owner).pw_gid).gr_name, ("sogo",))
    tool = SogoTool(work_dir / "sogo-sync" / "GNUstep.conf", run_as)
    try:  # SOGo's own tables; a node resolves the private PostgreSQL's URL first
        folders: SogoFolders | None = SogoFolders(sogo_databases(settings)[1])
    except (RuntimeError, GroupwareError):  # settings alone, not a node's
        folders = None
    sockets = [memcached_socket(work_dir, name) for name in INSTANCES]
    return SogoCache(sockets, tool=tool, folders=folders)


def sogo_databases(settings: Settings) -> tuple[SogoDatabase, SogoDatabase]:
    """pemx's database as SOGo reads it (the mail servers' read-only role), and SOGo's
    own (sogo_database_url; default "<pemx's>_sogo" on the same server, same role)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database)
    if not url.drivername.startswith("postgresql"):
        raise GroupwareError("groupware needs a PostgreSQL database_url (SOGo cannot read SQLite)")
    user = settings.mail_db_user or url.username or ""
    password = settings.mail_db_password if settings.mail_db_user else (url.password or "")
    host, port = url.host or "127.0.0.1", url.port or 5432
    contract = SogoDatabase(host, port, url.database or "", user, str(password))
    if not settings.sogo_database_url:
        return contract, replace(contract, name=f"{contract.name}_sogo")
    own = make_url(settings.sogo_database_url)
    storage = SogoDatabase(
        own.host or host, own.port or port, own.database or "", own.username or user,
        str(own.password or password),
    )  # fmt: skip
    return contract, storage


def groupware_config(
    settings: Settings, imap_host: str, imap_owa_port: int, imap_activesync_port: int,
    smtp_port: int,
) -> GroupwareConfig:  # fmt: skip
    """The private groupware stack: under <data_dir>/groupware, reading mail from the
    private Dovecot's two gated IMAP listeners; as root run by the mail owner, with the
    group sogo (which may read /etc/sogo/sogo.conf)."""
    contract, storage = sogo_databases(settings)
    config = GroupwareConfig(
        work_dir=groupware_work_dir(settings),
        contract=contract,
        storage=storage,
        imap_host=imap_host,
        imap_owa_port=imap_owa_port,
        imap_activesync_port=imap_activesync_port,
        smtp_port=smtp_port,
        host=settings.mail_host,
        front_port=settings.groupware_port,
        workers=settings.sogo_workers,
        cache_seconds=settings.sogo_cache_seconds,
    )
    if os.geteuid() == 0:
        config = replace(config, run_user=ensure_mail_owner(), extra_groups=("sogo",))
    return config
