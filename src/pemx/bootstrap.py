"""The composition root: builds the database, the mail backend and the API from settings."""

from __future__ import annotations

import json
import os
import pwd
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from pemx.adapters.db.audit import record_refusal
from pemx.adapters.db.database import Database
from pemx.adapters.db.taskqueue import TaskQueue
from pemx.adapters.db.transactions import TransactionRegistry
from pemx.adapters.db.unit_of_work import SqlUnitOfWork
from pemx.adapters.mail.backend import StoreBackends, StoreEndpoint
from pemx.adapters.mail.database import SqlDatabase, database_from_url, dovecot_connect
from pemx.adapters.mail.dovecot import DovecotConfig, PrivateDovecot
from pemx.adapters.passwords import BcryptHasher
from pemx.adapters.worker import Worker
from pemx.api.auth import Authenticator
from pemx.api.dependencies import ApiDependencies
from pemx.api.wsgi import XmlRpcApp
from pemx.config import Settings
from pemx.domain.errors import PemxError
from pemx.domain.model import LOCAL_STORE_ID, Account, Member
from pemx.service.ports import Operation

RUNTIME_FILE = "runtime.json"


@dataclass
class Application:
    settings: Settings
    database: Database
    transactions: TransactionRegistry
    hasher: BcryptHasher
    api: XmlRpcApp
    worker: Worker | None = None

    def attach_mail(self, backend: StoreBackends | None) -> None:
        """Reads report sizes through the backend; the outbox worker runs tasks on it."""
        self.api.deps.mail = backend
        if backend is None or not self.settings.worker:
            return
        self.worker = Worker(SqlUnitOfWork(self.database), TaskQueue(self.database), backend)
        self.api.deps.changed = self.worker.wake
        self.worker.start()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.transactions.close()
        self.database.dispose()


def prepare_database(settings: Settings) -> Database:
    """The database migrated to this pemx's schema: `pemx serve` and `pemx migrate` only."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.database, pool_size=max(4, settings.threads))
    database.migrate()
    if settings.mail_db_user:
        database.grant_contract(settings.mail_db_user)
    return database


def open_database(settings: Settings) -> Database:
    """The database for every other command: never migrated; an old or missing schema
    raises SchemaNotCurrent, whose message names `pemx migrate`."""
    return Database.open_current(settings.database)


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


def build_application(settings: Settings, database: Database) -> Application:
    hasher = BcryptHasher(settings.bcrypt_rounds)
    transactions = TransactionRegistry(database, default_timeout_s=settings.txn_timeout)

    def lookup(login: str) -> tuple[Member, Account] | None:
        with SqlUnitOfWork(database).read() as tx:
            member = tx.members.by_login(login)
            account = tx.accounts.get(member.account_id) if member else None
        return (member, account) if member and account else None

    def live_password_hash(member_id: int) -> str | None:
        with SqlUnitOfWork(database).read() as tx:
            return tx.members.live_password_hash(member_id)

    def unit_of_work(connection: Connection | None, operation: Operation | None) -> SqlUnitOfWork:
        # api.deps.changed is the worker's wake once mail is attached
        return SqlUnitOfWork(database, connection, operation, lambda: api.deps.changed())

    def audit_failure(operation: Operation, error: PemxError) -> None:
        record_refusal(database, operation, error)

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
            max_body_bytes=settings.max_body_bytes,
            allowed_networks=settings.networks,
        )
    )
    return Application(settings, database, transactions, hasher, api)


def dovecot_config(settings: Settings) -> DovecotConfig:
    """The private Dovecot's config: state under <data_dir>/dovecot, mail under <data_dir>/mail."""
    driver, connect = dovecot_connect(mail_database(settings))
    ports = settings.mail_ports
    config = DovecotConfig(
        work_dir=settings.data_dir / "dovecot",
        mail_root=mail_root(settings),
        sql_driver=driver,
        sql_connect=connect,
        doveadm_api_key=_secret(settings.data_dir, "doveadm-api-key"),
        host=settings.mail_host,
        ports=ports,
        instance_name="pemx-" + secrets.token_hex(4),
        auth_penalty=settings.mail_auth_penalty,
        # The private Dovecot is store 1: it serves the mailboxes placed there only.
        store_id=LOCAL_STORE_ID,
    )
    return config.with_free_ports()


def mail_database(settings: Settings) -> SqlDatabase:
    """The database as the mail servers reach it: with their read-only role on PostgreSQL."""
    return database_from_url(
        settings.database,
        user=settings.mail_db_user or None,
        password=settings.mail_db_password if settings.mail_db_user else None,
    )


def mail_root(settings: Settings) -> Path:
    return Path(settings.mail_root) if settings.mail_root else settings.data_dir / "mail"


def mail_backend(settings: Settings, database: Database) -> StoreBackends:
    """Every mailbox store, reached through its doveadm HTTP API as its row says."""

    def lookup(store_id: int) -> StoreEndpoint | None:
        with SqlUnitOfWork(database).read() as tx:
            found = tx.stores.access(store_id)
        if found is None:
            return None
        store, api_key = found
        return StoreEndpoint(store.host, store.doveadm_port, api_key, store.mail_root)

    return StoreBackends(lookup)


def register_local_store(
    settings: Settings, database: Database, dovecot: PrivateDovecot | None
) -> None:
    """Store 1 is the Dovecot this node runs (private) or names (doveadm_api_key): keep
    its row equal to where it listens now (a private one's ports may change per start)."""
    if dovecot is not None:
        cfg = dovecot.config
        host, ports, api_key, root = cfg.host, cfg.ports, cfg.doveadm_api_key, cfg.mail_root
    elif settings.doveadm_api_key:
        host, api_key, root = settings.mail_host, settings.doveadm_api_key, mail_root(settings)
        ports = settings.mail_ports
    else:
        return  # stores registered with `pemx stores add` (a cluster layout)
    with SqlUnitOfWork(database).write() as tx:
        tx.stores.update(
            LOCAL_STORE_ID,
            {
                "host": host,
                **ports.columns(),
                "doveadm_api_key": api_key,
                "mail_root": str(root),
            },
        )


def start_mail(settings: Settings) -> PrivateDovecot:
    dovecot = PrivateDovecot(dovecot_config(settings))
    dovecot.start()
    return dovecot


def write_runtime(settings: Settings, api_port: int, mail: DovecotConfig | None) -> None:
    """What `pemx status` reports: the endpoints of the running service."""
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
        host = mail.host
        ports = mail.ports
        info.update(
            {
                "imap": {"host": host, "port": ports.imap},
                "pop3": {"host": host, "port": ports.pop3},
                "lmtp": {"host": host, "port": ports.lmtp},
                "imap_owa": {"host": host, "port": ports.imap_owa},
                "imap_activesync": {"host": host, "port": ports.imap_activesync},
                "doveadm_http": {"host": host, "port": ports.doveadm_http},
                "mail_root": str(mail.mail_root),
            }
        )
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


def _secret(data_dir: Path, name: str) -> str:
    path = data_dir / name
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    value = secrets.token_hex(16)
    path.write_text(value + "\n", encoding="ascii")
    path.chmod(0o600)
    return value


def _redacted(url: str) -> str:
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"
