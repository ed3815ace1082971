"""Configs for running pemx against a *system* Dovecot 2.3 (Debian's /etc/dovecot).

An admin drops two files into a stock Debian Dovecot:

- ``/etc/dovecot/conf.d/99-pemx.conf``: protocols, listeners (IMAP 143, POP3 110,
  LMTP 24 on loopback, plus the webmail (OWA) and ActiveSync IMAP listeners), the
  mail location, the localized special-use folders, quota and the SQL passdb/userdb;
- ``/etc/dovecot/dovecot-pemx-sql.conf.ext``: exactly what ``render_sql_conf``
  renders for the private instance, so a system Dovecot runs the same queries
  over the same contract objects.

Unlike the private instance there is no base_dir, state_dir, instance_name or log
setting (the system's own apply), the auth penalty stays on, and mail belongs to a
dedicated ``vmail`` user under ``/var/vmail``.

With several mailbox stores, each store's Dovecot gets these two files rendered
with its ``store_id`` (it serves only its own mailboxes), and a proxy host gets
``system_proxy_files``: the same two file names, holding a Dovecot that stores no
mail and forwards every login and LMTP recipient to the mailbox's store.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Literal

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from pemx.adapters.mail.dovecot import (
    SHARED_MAIL_SETTINGS,
    DovecotConfig,
    MailPorts,
    render_sql_conf,
    render_usage_conf,
    usage_settings,
)

__all__ = [
    "SYSTEM_CONF_DIR",
    "SYSTEM_MAIL_ROOT",
    "SYSTEM_MAIL_USER",
    "PgsqlDatabase",
    "SqlDatabase",
    "SqliteDatabase",
    "database_from_url",
    "dovecot_connect",
    "render_system_dovecot_conf",
    "render_system_proxy_conf",
    "system_dovecot_config",
    "system_dovecot_files",
    "system_proxy_files",
]

SYSTEM_CONF_DIR: Final = Path("/etc/dovecot")
SYSTEM_MAIL_ROOT: Final = Path("/var/vmail")
SYSTEM_MAIL_USER: Final = "vmail"
CONF_D_NAME: Final = "conf.d/99-pemx.conf"
SQL_CONF_NAME: Final = "dovecot-pemx-sql.conf.ext"
# Roles of the special-use folders (the config keys; the userdb localizes the names).
_ROLES: Final = ("Drafts", "Sent", "Trash", "Junk", "Archive")
_CONNECT_VALUE_RE: Final = re.compile(r"[A-Za-z0-9_.+=/@:,-]+")


# ------------------------------------------------------------------ databases


@dataclass(frozen=True)
class SqliteDatabase:
    """pemx's SQLite file, read by Dovecot and Postfix directly."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).absolute())


@dataclass(frozen=True)
class PgsqlDatabase:
    """pemx's PostgreSQL database; use a read-only role (SELECT on the contract objects)."""

    host: str
    dbname: str
    user: str
    password: str = ""
    port: int = 5432

    def __post_init__(self) -> None:
        for name in ("host", "dbname", "user", "password"):
            value = getattr(self, name)
            if (value or name != "password") and not _CONNECT_VALUE_RE.fullmatch(value):
                raise ValueError(
                    f"PostgreSQL {name} {value!r} is empty or has characters "
                    "(spaces, quotes, '%') that the generated configs cannot carry"
                )


SqlDatabase = SqliteDatabase | PgsqlDatabase


def database_from_url(
    url: str, *, user: str | None = None, password: str | None = None
) -> SqlDatabase:
    """The database behind pemx's SQLAlchemy URL (sqlite:///… or postgresql[+driver]://…).

    ``user``/``password`` replace the URL's credentials (PostgreSQL only): the mail
    servers should log in as a read-only role, not as pemx's owner role.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise ValueError(f"not a database URL: {url!r}") from e
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("an in-memory SQLite database cannot be shared with a mail server")
        if user or password:
            raise ValueError("a database user or password applies to PostgreSQL only")
        return SqliteDatabase(Path(parsed.database))
    if backend == "postgresql":
        if not parsed.database:
            raise ValueError(f"the PostgreSQL URL names no database: {parsed!r}")
        return PgsqlDatabase(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            dbname=parsed.database,
            user=user or parsed.username or "",
            password=password if password is not None else (parsed.password or ""),
        )
    raise ValueError(
        f"unsupported database {backend!r}: Dovecot and Postfix read SQLite or PostgreSQL"
    )


def dovecot_connect(db: SqlDatabase) -> tuple[Literal["sqlite", "pgsql"], str]:
    """Dovecot's SQL ``driver`` and ``connect`` for a database."""
    if isinstance(db, SqliteDatabase):
        return "sqlite", str(db.path)
    connect = f"host={db.host} port={db.port} dbname={db.dbname} user={db.user}"
    if db.password:
        connect += f" password={db.password}"
    return "pgsql", connect


# ------------------------------------------------------------- system Dovecot


def system_dovecot_config(
    db: SqlDatabase,
    *,
    ports: MailPorts | None = None,
    conf_dir: Path = SYSTEM_CONF_DIR,
    mail_root: Path = SYSTEM_MAIL_ROOT,
    mail_user: str = SYSTEM_MAIL_USER,
    mail_group: str = SYSTEM_MAIL_USER,
    password_scheme: str = "BLF-CRYPT",
    store_id: int | None = None,
    login_trusted_networks: str = "",
    doveadm_api_key: str | None = None,
) -> DovecotConfig:
    """A ``DovecotConfig`` with a system Dovecot's paths (render_sql_conf reads it).

    ``ports`` defaults to the standard 143/110/24 with the webmail (OWA) and
    ActiveSync IMAP listeners on 10144/10145 and doveadm's HTTP API on 10146 (pemx's
    outbox and mailbox sizes; ``doveadm_api_key`` is the store's key, random if None).
    ``store_id``: the mailbox store this Dovecot is (only its mailboxes), None for
    all mailboxes. ``login_trusted_networks``: the proxies' addresses, on a store
    behind proxies (the real client address reaches the store's log).
    """
    driver, connect = dovecot_connect(db)
    return DovecotConfig(
        work_dir=conf_dir,
        mail_root=mail_root,
        sql_connect=connect,
        sql_driver=driver,
        doveadm_api_key=doveadm_api_key or secrets.token_hex(16),
        ports=ports or MailPorts(143, 110, 24, 10144, 10145, 10146),
        password_scheme=password_scheme,
        auth_penalty=True,
        as_root=True,
        mail_user=mail_user,
        mail_group=mail_group,
        store_id=store_id,
        login_trusted_networks=login_trusted_networks,
    )


def render_system_dovecot_conf(
    cfg: DovecotConfig,
    *,
    sql_conf_path: Path,
    listen: str = "*, ::",
    lmtp_address: str = "127.0.0.1",
    doveadm_address: str = "127.0.0.1",
) -> str:
    """``conf.d/99-pemx.conf``: what a stock Debian Dovecot 2.3 needs on top of its own files.

    IMAP/POP3 listen on ``listen``; LMTP (delivery, no authentication) only on
    ``lmtp_address``, for the local Postfix or the proxies; doveadm's HTTP API only on
    ``doveadm_address``, for the pemx nodes (its key can delete any file of the host).
    """
    if not cfg.ports.resolved:
        raise ValueError(f"ports must be chosen before rendering: {cfg.ports}")
    p = cfg.ports
    networks = " ".join(cfg.login_trusted_networks.split())
    trusted = (
        f"# The proxies: they pass the client's address on (ID/XCLIENT).\n"
        f"login_trusted_networks = {networks}\n"
        if networks
        else ""
    )
    store = (
        f"# Mailbox store {cfg.store_id}: only the mailboxes with store_id = {cfg.store_id}.\n"
        if cfg.store_id is not None
        else ""
    )
    namespace = "".join(
        f"  mailbox {role} {{\n    special_use = \\{role}\n    auto = no\n  }}\n" for role in _ROLES
    )
    # SQLite: the dict process writes the root-owned database file. PostgreSQL: it runs
    # as dovecot, and reads the map file (make it root:dovecot 0640).
    usage = usage_settings(cfg, dict_as_root=cfg.sql_driver == "sqlite")
    return f"""\
# 99-pemx.conf (generated by `pemx mail-config --kind dovecot`). Dovecot 2.3.
# Mailboxes come from pemx's database through {sql_conf_path}.
# Also comment out `!include auth-system.conf.ext` in conf.d/10-auth.conf, so that
# only pemx's mailboxes can log in.
{store}protocols = imap pop3 lmtp
listen = {listen}
auth_mechanisms = plain login
{trusted}
# All mail belongs to one system user; the userdb returns home = {cfg.mail_root}/<mailbox_id>.
mail_uid = {cfg.mail_user}
mail_gid = {cfg.mail_group}
first_valid_uid = 1
# Maildir++ with listescape (folder names may contain ".").
mail_location = maildir:~/Maildir
# quota_clone here, not later: protocol imap's mail_plugins expands this line
mail_plugins = $mail_plugins quota listescape quota_clone
recipient_delimiter = +
lmtp_rcpt_check_quota = yes

namespace inbox {{
  inbox = yes
  separator = /
  # Keys are roles; the userdb sets each folder's localized name, and
  # auto = subscribe once the mailbox is initialized.
{namespace}}}

passdb {{
  driver = sql
  args = {sql_conf_path}
}}
userdb {{
  driver = sql
  args = {sql_conf_path}
}}

{SHARED_MAIL_SETTINGS}
{usage}service imap-login {{
  inet_listener imap {{
    port = {p.imap}
  }}
  # IMAP for the webmail (OWA) gateway: logins checked against enable_owa
  inet_listener imap_owa {{
    port = {p.imap_owa}
  }}
  # IMAP for the ActiveSync gateway: logins checked against enable_activesync
  inet_listener imap_activesync {{
    port = {p.imap_activesync}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {p.pop3}
  }}
}}
# Delivery from Postfix (virtual_transport = lmtp:inet:{lmtp_address}:{p.lmtp}) or a proxy
service lmtp {{
  inet_listener lmtp {{
    address = {lmtp_address}
    port = {p.lmtp}
  }}
}}
# pemx's outbox (close sessions, rename folders, delete homes) and mailbox sizes.
# Reachable by the pemx nodes only: the key allows any doveadm command.
doveadm_api_key = {cfg.doveadm_api_key}
service doveadm {{
  inet_listener http {{
    address = {doveadm_address}
    port = {p.doveadm_http}
  }}
}}
"""


def system_dovecot_files(
    cfg: DovecotConfig,
    *,
    listen: str = "*, ::",
    lmtp_address: str = "127.0.0.1",
    doveadm_address: str = "127.0.0.1",
) -> dict[Path, str]:
    """{absolute path under ``cfg.work_dir``: content} of both files for a system Dovecot.

    A store (``cfg.role`` "store", the default); ``system_proxy_files`` for a proxy.
    """
    if cfg.role != "store":
        raise ValueError("system_dovecot_files renders a mailbox store: use system_proxy_files")
    sql_conf_path = cfg.work_dir / SQL_CONF_NAME
    return {
        cfg.work_dir / CONF_D_NAME: render_system_dovecot_conf(
            cfg,
            sql_conf_path=sql_conf_path,
            listen=listen,
            lmtp_address=lmtp_address,
            doveadm_address=doveadm_address,
        ),
        sql_conf_path: render_sql_conf(cfg),
        cfg.usage_conf_path: render_usage_conf(cfg),
    }


def render_system_proxy_conf(
    cfg: DovecotConfig,
    *,
    sql_conf_path: Path,
    listen: str = "*, ::",
    lmtp_address: str = "127.0.0.1",
) -> str:
    """``conf.d/99-pemx.conf`` of a proxy host: a stock Debian Dovecot 2.3 that stores no mail.

    Logins (IMAP, POP3, the OWA and ActiveSync listeners) are checked here and
    forwarded to the mailbox's store, where the same listener checks them again;
    LMTP recipients are forwarded too (``lmtp_proxy``). IMAP/POP3 listen on
    ``listen``, LMTP only on ``lmtp_address``, for the local Postfix.
    """
    if not cfg.ports.resolved:
        raise ValueError(f"ports must be chosen before rendering: {cfg.ports}")
    p = cfg.ports
    networks = " ".join(cfg.login_trusted_networks.split())
    trusted = (
        f"# Front ends that pass the client's address on (ID/XCLIENT).\n"
        f"login_trusted_networks = {networks}\n"
        if networks
        else ""
    )
    return f"""\
# 99-pemx.conf of a pemx proxy (generated). Dovecot 2.3.
# The proxy stores no mail: it looks every login and LMTP recipient up in pemx's
# database through {sql_conf_path} and forwards it to the mailbox's store.
# Also comment out `!include auth-system.conf.ext` in conf.d/10-auth.conf: with
# the system's users the proxy would let them log in and deliver to them locally.
protocols = imap pop3 lmtp
listen = {listen}
auth_mechanisms = plain login
{trusted}
# LMTP: each recipient (without +detail) is looked up in the passdb and the
# message forwarded to its store, RCPT TO rewritten to the canonical address. A
# recipient the passdb does not know falls through to the userdb, which knows
# nobody: "550 user unknown", never a local delivery.
lmtp_proxy = yes
recipient_delimiter = +

passdb {{
  driver = sql
  args = {sql_conf_path}
}}
userdb {{
  driver = sql
  args = {sql_conf_path}
}}

service imap-login {{
  inet_listener imap {{
    port = {p.imap}
  }}
  # IMAP for the webmail (OWA) gateway: logins checked against enable_owa
  inet_listener imap_owa {{
    port = {p.imap_owa}
  }}
  # IMAP for the ActiveSync gateway: logins checked against enable_activesync
  inet_listener imap_activesync {{
    port = {p.imap_activesync}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {p.pop3}
  }}
}}
# Delivery from Postfix (virtual_transport = lmtp:inet:{lmtp_address}:{p.lmtp})
service lmtp {{
  inet_listener lmtp {{
    address = {lmtp_address}
    port = {p.lmtp}
  }}
}}
"""


def system_proxy_files(
    cfg: DovecotConfig, *, listen: str = "*, ::", lmtp_address: str = "127.0.0.1"
) -> dict[Path, str]:
    """{absolute path under ``cfg.work_dir``: content} of both files for a proxy host.

    ``cfg`` as from ``system_dovecot_config`` (its role is taken as "proxy";
    mail_root, the mail user and store_id do not apply). The proxy's ports and
    the stores' are independent: the SQL maps each proxy listener to the store's
    port of the same kind (``store_*_port``), by the proxy's own port numbers.
    """
    cfg = replace(cfg, role="proxy", store_id=None)
    sql_conf_path = cfg.work_dir / SQL_CONF_NAME
    return {
        cfg.work_dir / CONF_D_NAME: render_system_proxy_conf(
            cfg, sql_conf_path=sql_conf_path, listen=listen, lmtp_address=lmtp_address
        ),
        sql_conf_path: render_sql_conf(cfg),
    }
