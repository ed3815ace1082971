"""Dovecot 2.3 as pemx's mail backend: config renderer, private instance, doveadm client.

Dovecot reads exactly three objects of pemx's database (the *contract schema*):

- view ``dovecot_mailboxes`` (mailbox_id, username, login, password, quota_kb,
  max_mail_kb, retention_days, folder_language, initialized, enable_imap,
  enable_pop3, enable_owa, enable_activesync, active),
- view ``dovecot_addresses`` (address, username): every address of a mailbox,
  the primary one included,
- table ``dovecot_folder_names`` (language, drafts, sent, trash, junk, archive).

``render_dovecot_conf`` and ``render_sql_conf`` produce the exact files pemx
ships; ``PrivateDovecot`` runs an instance of its own with them (``dovecot -F``,
loopback ports, everything under one work directory), as root or as an
ordinary user; ``DoveadmHttp`` performs the side effects SQL cannot (kick open
sessions, quota usage, folder operations) over the doveadm HTTP API.
"""

from __future__ import annotations

import base64
import contextlib
import grp
import http.client
import ipaddress
import itertools
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, TypedDict

__all__ = [
    "DoveadmHttp",
    "DovecotConfig",
    "MailBackendError",
    "MailPorts",
    "PrivateDovecot",
    "QuotaUsage",
    "dovecot_version",
    "find_dovecot",
    "render_dovecot_conf",
    "render_sql_conf",
]

SUPPORTED_SERIES: Final = "2.3."
# Dovecot is often in /usr/sbin, which an ordinary user's PATH may lack.
_EXTRA_BIN_DIRS: Final = ("/usr/sbin", "/usr/local/sbin", "/sbin")
# Characters allowed in paths that end up in dovecot.conf and inside SQL string
# literals (no quotes, no '%' which Dovecot expands, no spaces or backslashes).
_SAFE_PATH_RE: Final = re.compile(r"[A-Za-z0-9_./+@=,:-]+")
_SAFE_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_.+=/-]+")
# Roles of the special-use folders: config keys (English, the fallback names)
# and the dovecot_folder_names column that localizes each.
_SPECIAL_USE: Final = (
    ("Drafts", "drafts"),
    ("Sent", "sent"),
    ("Trash", "trash"),
    ("Junk", "junk"),
    ("Archive", "archive"),
)
_DOVEADM_PATH: Final = "/doveadm/v1"
# Commands per doveadm HTTP request in DoveadmHttp.call_many.
_DOVEADM_BATCH: Final = 500
# sysexits-style codes that doveadm returns in an HTTP "error" entry.
_DOVEADM_EXIT_CODES: Final[Mapping[int, str]] = {
    64: "usage error",
    65: "data error",
    67: "user unknown",
    68: "not found",
    75: "temporary failure",
    77: "permission denied",
    78: "configuration error",
}


class MailBackendError(Exception):
    """The mail backend failed: Dovecot missing, not starting, or doveadm refusing."""

    def __init__(
        self, message: str, *, exit_code: int | None = None, http_status: int | None = None
    ) -> None:
        super().__init__(message)
        #: doveadm's exit code when the doveadm HTTP API returned an error entry
        self.exit_code = exit_code
        #: the HTTP status when the doveadm HTTP API answered with an error status
        self.http_status = http_status


# --------------------------------------------------------------------- config


@dataclass(frozen=True)
class MailPorts:
    """The TCP ports of one Dovecot instance. 0 means "pick a free one" (``with_free_ports``).

    ``imap_owa`` and ``imap_activesync`` are extra IMAP listeners for a webmail
    (OWA-like) and an ActiveSync gateway: a login there is checked against
    ``enable_owa`` / ``enable_activesync`` instead of ``enable_imap``.
    """

    imap: int = 0
    pop3: int = 0
    lmtp: int = 0
    imap_owa: int = 0
    imap_activesync: int = 0
    doveadm_http: int = 0

    def __post_init__(self) -> None:
        used = [p for _, p in self.items() if p]
        for name, port in self.items():
            if not 0 <= port <= 65535:
                raise ValueError(f"port {name}={port} is out of range")
        if len(set(used)) != len(used):
            raise ValueError(f"the ports must be distinct: {self}")

    def items(self) -> list[tuple[str, int]]:
        """(name, port) pairs in field order."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    @property
    def resolved(self) -> bool:
        """True when no port is 0."""
        return all(p for _, p in self.items())

    def with_free_ports(self, host: str = "127.0.0.1") -> MailPorts:
        """A copy in which every 0 is replaced by a port that is free on ``host`` now.

        All sockets stay bound until every port is chosen, so the picks are distinct.
        (Another process may still take a port before Dovecot binds it; ``start``
        then fails with Dovecot's "Address already in use" in the error.)
        """
        missing = [name for name, port in self.items() if port == 0]
        if not missing:
            return self
        taken = {p for _, p in self.items() if p}
        chosen: dict[str, int] = {}
        socks: list[socket.socket] = []
        try:
            while len(chosen) < len(missing):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind((host, 0))
                port = int(s.getsockname()[1])
                if port not in taken:
                    taken.add(port)
                    chosen[missing[len(chosen)]] = port
        finally:
            for s in socks:
                s.close()
        return replace(self, **chosen)


def _current_user() -> str:
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _current_group() -> str:
    gid = os.getegid()
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _default_mail_user() -> str:
    return "nobody" if os.geteuid() == 0 else _current_user()


def _default_mail_group() -> str:
    return "nogroup" if os.geteuid() == 0 else _current_group()


@dataclass(frozen=True)
class DovecotConfig:
    """Everything that varies between Dovecot instances run by pemx.

    ``work_dir`` holds ``run/`` (base_dir), ``state/``, ``log/`` and the two
    generated config files; ``mail_root`` holds one home per mailbox,
    ``<mail_root>/<mailbox_id>``.

    ``as_root`` (default: whether this process is root) selects the privilege
    model. As root, Dovecot's internal and login processes run as Debian's
    ``dovecot`` / ``dovenull`` users and mail files belong to ``mail_user`` /
    ``mail_group`` (default nobody/nogroup; production should use a dedicated
    ``vmail`` user). Otherwise every process runs as the invoking user, which
    is then also the mail owner (the defaults of ``mail_user``/``mail_group``).

    ``auth_penalty=False`` (tests, private instances) turns off both delays of
    failed logins: ``auth_failure_delay`` and anvil's per-IP auth penalty.
    Keep it True in production.

    ``role`` selects what the instance is. A ``"store"`` holds mailboxes; with
    ``store_id`` set it serves only the mailboxes whose ``store_id`` column
    equals it (None: every mailbox, one store for all). A ``"proxy"`` holds no
    mail: it checks each login (password and protocol switch) itself and
    forwards it, and every LMTP recipient, to the store the contract names
    (``store_host`` and the ``store_*_port`` of the matching listener);
    ``store_id``, ``mail_root`` and the mail user do not apply to it.

    ``login_trusted_networks`` (space-separated networks, e.g. the proxies'
    addresses): clients there may pass the real client address on (IMAP ID,
    XCLIENT), and login with a trusted proxy's session id.
    """

    work_dir: Path
    mail_root: Path
    sql_connect: str
    doveadm_api_key: str
    sql_driver: Literal["sqlite", "pgsql"] = "sqlite"
    host: str = "127.0.0.1"
    ports: MailPorts = field(default_factory=MailPorts)
    password_scheme: str = "BLF-CRYPT"
    instance_name: str = "pemx"
    auth_penalty: bool = True
    as_root: bool = field(default_factory=lambda: os.geteuid() == 0)
    mail_user: str = field(default_factory=_default_mail_user)
    mail_group: str = field(default_factory=_default_mail_group)
    role: Literal["store", "proxy"] = "store"
    store_id: int | None = None
    login_trusted_networks: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "work_dir", Path(self.work_dir).absolute())
        object.__setattr__(self, "mail_root", Path(self.mail_root).absolute())
        for name in ("work_dir", "mail_root"):
            value = str(getattr(self, name))
            if not _SAFE_PATH_RE.fullmatch(value):
                raise ValueError(
                    f"{name}={value!r}: only letters, digits and _ . / + @ = , : - are supported"
                )
        if self.sql_driver not in ("sqlite", "pgsql"):
            raise ValueError(f"sql_driver must be 'sqlite' or 'pgsql', not {self.sql_driver!r}")
        if not self.sql_connect or any(c in self.sql_connect for c in "\r\n"):
            raise ValueError("sql_connect must be a non-empty single line")
        for name in ("doveadm_api_key", "password_scheme", "instance_name", "host"):
            value = getattr(self, name)
            if not _SAFE_TOKEN_RE.fullmatch(value):
                raise ValueError(f"{name}={value!r} is empty or has unsupported characters")
        for name in ("mail_user", "mail_group"):
            value = getattr(self, name)
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", value):
                raise ValueError(f"{name}={value!r} is not a valid user or group name")
        if self.role not in ("store", "proxy"):
            raise ValueError(f"role must be 'store' or 'proxy', not {self.role!r}")
        if self.store_id is not None and (
            type(self.store_id) is not int or not 0 <= self.store_id < 2**31
        ):
            raise ValueError(f"store_id={self.store_id!r} must be None or an int >= 0")
        for network in self.login_trusted_networks.split():
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as e:
                raise ValueError(f"login_trusted_networks: {network!r} is not an IP network") from e

    # where things live
    @property
    def conf_path(self) -> Path:
        return self.work_dir / "dovecot.conf"

    @property
    def sql_conf_path(self) -> Path:
        return self.work_dir / "dovecot-sql.conf.ext"

    @property
    def usage_conf_path(self) -> Path:
        return self.work_dir / "dovecot-dict-usage.conf.ext"

    @property
    def base_dir(self) -> Path:
        return self.work_dir / "run"

    @property
    def state_dir(self) -> Path:
        return self.work_dir / "state"

    @property
    def log_dir(self) -> Path:
        return self.work_dir / "log"

    @property
    def log_path(self) -> Path:
        return self.log_dir / "dovecot.log"

    def home_of(self, mailbox_id: int) -> Path:
        """The mail home of a mailbox, as the user_query returns it."""
        return self.mail_root / str(mailbox_id)

    def with_free_ports(self) -> DovecotConfig:
        """A copy whose 0 ports are replaced by free ports on ``host``."""
        return replace(self, ports=self.ports.with_free_ports(self.host))


# ------------------------------------------------------------------ rendering


# The quota and retention settings every pemx Dovecot shares (private and system
# instances). The userdb adds the per-mailbox values: quota_rule, quota_max_mail_size
# and the Trash folder's autoexpunge.
SHARED_MAIL_SETTINGS = """\
# Trash retention (autoexpunge) counts from a message's save date. Maildir keeps
# it only in the index cache, else takes the file's ctime, which every flag change
# renews: cache it when the message is saved, so it stays the day of deletion.
mail_always_cache_fields = date.save
plugin {
  # count: the usage lives in Dovecot's index, exact limits (no 10 % grace)
  quota = count:User quota
  quota_vsizes = yes
  quota_grace = 0%%
  quota_exceeded_message = Quota exceeded (mailbox is full)
}
protocol imap {
  mail_plugins = $mail_plugins imap_quota
}
"""


def usage_settings(cfg: DovecotConfig, *, dict_as_root: bool) -> str:
    """A store's quota_clone: Dovecot writes each mailbox's usage to pemx's database.

    Only the dict process has the SQL dict driver, so the mail processes reach it
    through ``proxy::``. ``dict_as_root``: the dict process runs as root, which can write
    a root-owned SQLite file and read the map file (it holds the database password).
    """
    out = [
        f"""# Each mailbox's usage (bytes, messages) goes to pemx's table mailbox_usage,
# written by the dict process before a delivery is acknowledged and after
# IMAP/POP3 changes: pemx reads the sizes of many mailboxes with one SELECT.
dict {{
  pemxusage = {cfg.sql_driver}:{cfg.usage_conf_path}
}}
plugin {{
  quota_clone_dict = proxy::pemxusage
}}
"""
    ]
    if cfg.as_root:
        owner = "  user = root\n" if dict_as_root else ""
        out.append(
            "service dict {\n"
            f"{owner}"
            "  # the mail processes, and doveadm run as root (it drops to the mail user)\n"
            f"  unix_listener dict {{\n    mode = 0600\n    user = {cfg.mail_user}\n  }}\n"
            "}\n"
        )
    return "".join(out)


def render_usage_conf(cfg: DovecotConfig) -> str:
    """The dict map file of quota_clone: the two quota keys into ``mailbox_usage``."""
    maps = "".join(
        f"""map {{
  pattern = priv/quota/{key}
  table = mailbox_usage
  username_field = username
  value_field = {field}
  value_type = uint
}}
"""
        for key, field in (("storage", "storage_bytes"), ("messages", "messages"))
    )
    return (
        "# The quota_clone dict of a pemx mailbox store (generated). Dovecot upserts\n"
        "# one row per username (ON CONFLICT (username) DO UPDATE).\n"
        f"connect = {cfg.sql_connect}\n{maps}"
    )


def _require_resolved(cfg: DovecotConfig) -> None:
    if not cfg.ports.resolved:
        raise ValueError(f"ports must be chosen before rendering (with_free_ports): {cfg.ports}")


def render_dovecot_conf(cfg: DovecotConfig) -> str:
    """The ``dovecot.conf`` of an instance (Dovecot 2.3 syntax): a store or a proxy."""
    _require_resolved(cfg)
    if cfg.role == "proxy":
        return _render_proxy_conf(cfg)
    wd, host = cfg.work_dir, cfg.host
    privileges, chroot = _privileges(cfg)
    out = [
        f"""\
# dovecot.conf for pemx (generated; pemx rewrites it at every start). Dovecot 2.3.
# Private instance: listeners on {host} only, all state under {wd}.
# Dovecot reads the mailboxes from SQL: see dovecot-sql.conf.ext.
""",
        _common_settings(cfg),
        f"""
{privileges}
first_valid_uid = 1
mail_uid = {cfg.mail_user}
mail_gid = {cfg.mail_group}

# The userdb returns home = {cfg.mail_root}/<mailbox_id>.
# Maildir++ with listescape (folder names may contain "."): LAYOUT=fs, sdbox and
# mdbox failed under concurrent first deliveries in 2.3.19.
mail_location = maildir:~/Maildir
# quota_clone here, not later: protocol imap's mail_plugins expands this line
mail_plugins = $mail_plugins quota listescape quota_clone
recipient_delimiter = +
lmtp_rcpt_check_quota = yes
doveadm_api_key = {cfg.doveadm_api_key}

namespace inbox {{
  inbox = yes
  separator = /
  # Keys are roles; the userdb sets each folder's localized name, and
  # auto = subscribe once the mailbox is initialized.
""",
    ]
    for key, _ in _SPECIAL_USE:
        out.append(f"  mailbox {key} {{\n    special_use = \\{key}\n    auto = no\n  }}\n")
    out.append(
        f"""}}

passdb {{
  driver = sql
  args = {cfg.sql_conf_path}
}}
userdb {{
  driver = sql
  args = {cfg.sql_conf_path}
}}

{SHARED_MAIL_SETTINGS}
"""
    )
    out.append(usage_settings(cfg, dict_as_root=True))
    out.append(_service_settings(cfg, chroot))
    return "".join(out)


def _render_proxy_conf(cfg: DovecotConfig) -> str:
    wd, host = cfg.work_dir, cfg.host
    privileges, chroot = _privileges(cfg)
    return "".join(
        [
            f"""\
# dovecot.conf for a pemx proxy (generated; pemx rewrites it at every start). Dovecot 2.3.
# Private instance: listeners on {host} only, all state under {wd}.
# The proxy stores no mail: it checks each login itself and forwards it, and
# every LMTP recipient, to the mailbox store the SQL passdb names (proxy, host,
# port): see dovecot-sql.conf.ext.
""",
            _common_settings(cfg),
            f"""
{privileges}

# LMTP: each recipient (without +detail) is looked up in the passdb and the
# message forwarded to its store, RCPT TO rewritten to the canonical address.
# A recipient the passdb does not know falls through to the userdb, which knows
# nobody here: "550 user unknown", never a local delivery.
lmtp_proxy = yes
recipient_delimiter = +
doveadm_api_key = {cfg.doveadm_api_key}

passdb {{
  driver = sql
  args = {cfg.sql_conf_path}
}}
userdb {{
  driver = sql
  args = {cfg.sql_conf_path}
}}

""",
            _service_settings(cfg, chroot),
        ]
    )


def _privileges(cfg: DovecotConfig) -> tuple[str, str]:
    """The user settings of an instance (with their comment) and the services' chroot line."""
    store = cfg.role == "store"
    if cfg.as_root:
        internal_user, internal_group, login_user = "dovecot", "dovecot", "dovenull"
        comment = "# as root: Debian's dovecot/dovenull users" + (
            "; mail files belong to the mail user" if store else ""
        )
    else:
        internal_user, internal_group, login_user = cfg.mail_user, cfg.mail_group, cfg.mail_user
        comment = "# not root: every process runs as the invoking user" + (
            ", the mail owner too" if store else ""
        )
    # Without root, chroot is impossible: these services chroot by default.
    chroot = "" if cfg.as_root else "  chroot =\n"
    return (
        f"{comment}\n"
        f"default_internal_user = {internal_user}\n"
        f"default_internal_group = {internal_group}\n"
        f"default_login_user = {login_user}"
    ), chroot


def _common_settings(cfg: DovecotConfig) -> str:
    """Paths, protocols and authentication settings every private instance shares."""
    out = [
        f"""\
base_dir = {cfg.base_dir}
state_dir = {cfg.state_dir}
instance_name = {cfg.instance_name}
log_path = {cfg.log_path}
info_log_path = {cfg.log_path}
auth_verbose = yes
protocols = imap pop3 lmtp
listen = {cfg.host}
# No TLS: the listeners are for loopback or a TLS-terminating front end.
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
"""
    ]
    if not cfg.auth_penalty:
        out.append(
            "# test/private instance: failed logins are not delayed\nauth_failure_delay = 0\n"
        )
    out.append(_trusted_networks(cfg))
    return "".join(out)


def _trusted_networks(cfg: DovecotConfig) -> str:
    networks = " ".join(cfg.login_trusted_networks.split())
    if not networks:
        return ""
    return (
        "# Proxies (and gateways) here may pass the client's address on (ID/XCLIENT).\n"
        "# The per-listener switches use %{real_lport}, so a forwarded port changes nothing.\n"
        f"login_trusted_networks = {networks}\n"
    )


def _service_settings(cfg: DovecotConfig, chroot: str) -> str:
    """The listeners (the same ports on a store and a proxy) and service tweaks."""
    p, host = cfg.ports, cfg.host
    out = [
        f"""\
service imap-login {{
{chroot}  inet_listener imap {{
    address = {host}
    port = {p.imap}
  }}
  # IMAP for the webmail (OWA) gateway: logins checked against enable_owa
  inet_listener imap_owa {{
    address = {host}
    port = {p.imap_owa}
  }}
  # IMAP for the ActiveSync gateway: logins checked against enable_activesync
  inet_listener imap_activesync {{
    address = {host}
    port = {p.imap_activesync}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
{chroot}  inet_listener pop3 {{
    address = {host}
    port = {p.pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {host}
    port = {p.lmtp}
  }}
}}
service doveadm {{
  inet_listener http {{
    address = {host}
    port = {p.doveadm_http}
  }}
}}
"""
    ]
    if not cfg.auth_penalty or not cfg.as_root:
        out.append("service anvil {\n" + chroot)
        if not cfg.auth_penalty:
            out.append(
                "  # no auth penalty (2^n s delay per IP after failed logins)\n"
                "  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n"
            )
        out.append("}\n")
    if not cfg.as_root:
        out.extend(f"service {svc} {{\n  chroot =\n}}\n" for svc in ("ipc", "old-stats"))
    return "".join(out)


def _sql_literal(value: str) -> str:
    """A string literal for a Dovecot SQL query: quotes doubled, '%' escaped."""
    return "'" + value.replace("'", "''").replace("%", "%%") + "'"


def render_sql_conf(cfg: DovecotConfig) -> str:
    """The ``dovecot-sql.conf.ext`` of an instance: connection and the three queries.

    The queries read only the contract objects and run unchanged on SQLite and
    PostgreSQL. A store with a ``store_id`` reads only that store's mailboxes; a
    proxy's passdb returns where each mailbox lives (``_render_proxy_sql``).
    """
    _require_resolved(cfg)
    if cfg.role == "proxy":
        return _render_proxy_sql(cfg)
    p = cfg.ports
    if cfg.store_id is None:
        only, only_m, store_note = "", "", ""
    else:
        # Unary +: the store is a filter, never the index to search by (without table
        # statistics, SQLite took store_id's index and read all of a store's mailboxes
        # at every login: 105 ms at 1,000,000 mailboxes instead of 0.4 ms).
        only = f" AND +store_id = {cfg.store_id}"
        only_m = f" AND +m.store_id = {cfg.store_id}"
        store_note = (
            f"\n# Mailbox store {cfg.store_id}: every query reads only the mailboxes with"
            f" store_id = {cfg.store_id};\n# the others are unknown here (a proxy sends"
            " their logins and mail to their own\n# store).\n"
        )
    home = _sql_literal(f"{cfg.mail_root}/")
    names = "".join(
        f'  COALESCE(f.{col}, en.{col}) AS "namespace/inbox/mailbox/{key}/name", \\\n'
        for key, col in _SPECIAL_USE
    )
    auto = ", \\\n".join(
        f"  CASE m.initialized WHEN 1 THEN 'subscribe' END"
        f' AS "namespace/inbox/mailbox/{key}/auto"'
        for key, _ in _SPECIAL_USE
    )
    return f"""\
# dovecot-sql.conf.ext for pemx (generated). Dovecot reads only the contract
# objects dovecot_mailboxes, dovecot_addresses and dovecot_folder_names.
driver = {cfg.sql_driver}
connect = {cfg.sql_connect}
default_pass_scheme = {cfg.password_scheme}
{store_note}
# passdb: login by the primary address or by the login name, any letter case
# (a union, not an OR across two tables, so that both lookups use an index).
# The protocol switch is chosen by service (%Ls) and, for IMAP, by the listener
# port: {p.imap_owa} = webmail (OWA) gateway, {p.imap_activesync} = ActiveSync gateway.
# %{{real_lport}}, not %{{lport}}: a trusted proxy (login_trusted_networks) forwards
# the port the client reached on the proxy, which would replace this listener's.
# A disabled protocol is refused only once the password matched (nologin +
# reason); a wrong password fails exactly like an unknown user.
password_query = SELECT username AS user, password, \\
    CASE allowed WHEN 1 THEN NULL ELSE 'Y' END AS nologin, \\
    CASE allowed WHEN 1 THEN NULL ELSE 'This protocol is disabled for this mailbox' END AS reason \\
  FROM (SELECT username, password, \\
      CASE '%Ls' \\
        WHEN 'imap' THEN (CASE '%{{real_lport}}' WHEN '{p.imap_owa}' THEN enable_owa \\
                                               WHEN '{p.imap_activesync}' THEN enable_activesync \\
                                               ELSE enable_imap END) \\
        WHEN 'pop3' THEN enable_pop3 \\
        ELSE 0 END AS allowed, \\
      CASE username WHEN '%Lu' THEN 0 ELSE 1 END AS by_login \\
    FROM dovecot_mailboxes \\
    WHERE username IN (SELECT '%Lu' \\
                       UNION ALL SELECT username FROM dovecot_mailboxes WHERE login = '%Lu') \\
      AND active = 1{only}) AS m \\
  ORDER BY by_login LIMIT 1

# userdb (after login, LMTP, doveadm): any address of a mailbox resolves to its
# canonical user. The home is keyed on mailbox_id, so the primary address can
# change. A NULL field is ignored: no quota_rule = unlimited storage, no
# quota_max_mail_size = messages of any size, no autoexpunge = the Trash keeps
# mail forever (autoexpunge counts from the day a message entered the Trash, and
# runs at the end of each IMAP/POP3 session and LMTP delivery). Folder names come
# from the mailbox's language, else English; they are auto-created once initialized.
user_query = SELECT m.username AS user, \\
  {home} || m.mailbox_id AS home, \\
  CASE WHEN m.quota_kb > 0 THEN '*:storage=' || m.quota_kb || 'K' END AS quota_rule, \\
  CASE WHEN m.max_mail_kb > 0 THEN m.max_mail_kb || 'K' END AS quota_max_mail_size, \\
  CASE WHEN m.retention_days > 0 THEN m.retention_days || 'd' END \\
    AS "namespace/inbox/mailbox/Trash/autoexpunge", \\
{names}{auto} \\
  FROM dovecot_addresses a \\
  JOIN dovecot_mailboxes m ON m.username = a.username \\
  LEFT JOIN dovecot_folder_names f ON f.language = m.folder_language \\
  LEFT JOIN dovecot_folder_names en ON en.language = 'en' \\
  WHERE a.address = '%Lu' AND m.active = 1{only_m}

# doveadm -A
iterate_query = SELECT username AS user FROM dovecot_mailboxes WHERE active = 1{only}
"""


def _render_proxy_sql(cfg: DovecotConfig) -> str:
    p = cfg.ports
    return f"""\
# dovecot-sql.conf.ext for a pemx proxy (generated). Dovecot reads only the
# contract objects dovecot_mailboxes and dovecot_addresses.
driver = {cfg.sql_driver}
connect = {cfg.sql_connect}
default_pass_scheme = {cfg.password_scheme}

# passdb, IMAP/POP3: login by the primary address or by the login name, any letter
# case. The proxy checks the password and the protocol switch itself (service
# %Ls and, for IMAP, its own listener: {p.imap_owa} = webmail (OWA) gateway,
# {p.imap_activesync} = ActiveSync gateway), then forwards the login as the
# canonical username ("user") to the mailbox's store: store_host and the store's
# port of the matching listener, where the store checks it once more.
# A disabled protocol is refused only once the password matched (nologin +
# reason); a wrong password fails exactly like an unknown user.
# passdb, LMTP (lmtp_proxy): the recipient, without +detail, may be any address
# of the mailbox (dovecot_addresses), not a login name, as on the store itself;
# "user" rewrites RCPT TO to the primary address.
password_query = SELECT username AS user, password, \\
    CASE allowed WHEN 1 THEN 'Y' END AS proxy, \\
    CASE allowed WHEN 1 THEN NULL ELSE 'Y' END AS nologin, \\
    CASE allowed WHEN 1 THEN NULL \\
      ELSE 'This protocol is disabled for this mailbox' END AS reason, \\
    CASE allowed WHEN 1 THEN store_host END AS host, \\
    CASE allowed WHEN 1 THEN port END AS port \\
  FROM (SELECT username, password, store_host, \\
      CASE '%Ls' \\
        WHEN 'imap' THEN (CASE '%{{real_lport}}' \\
            WHEN '{p.imap_owa}' THEN enable_owa \\
            WHEN '{p.imap_activesync}' THEN enable_activesync \\
            ELSE enable_imap END) \\
        WHEN 'pop3' THEN enable_pop3 \\
        WHEN 'lmtp' THEN 1 \\
        ELSE 0 END AS allowed, \\
      CASE '%Ls' \\
        WHEN 'imap' THEN (CASE '%{{real_lport}}' \\
            WHEN '{p.imap_owa}' THEN store_imap_owa_port \\
            WHEN '{p.imap_activesync}' THEN store_imap_activesync_port \\
            ELSE store_imap_port END) \\
        WHEN 'pop3' THEN store_pop3_port \\
        WHEN 'lmtp' THEN store_lmtp_port \\
        END AS port, \\
      CASE username WHEN '%Lu' THEN 0 ELSE 1 END AS by_login \\
    FROM dovecot_mailboxes \\
    WHERE active = 1 AND username IN ( \\
      SELECT '%Lu' WHERE '%Ls' <> 'lmtp' \\
      UNION ALL SELECT username FROM dovecot_mailboxes WHERE '%Ls' <> 'lmtp' AND login = '%Lu' \\
      UNION ALL SELECT username FROM dovecot_addresses \\
                WHERE '%Ls' = 'lmtp' AND address = '%Lu')) AS m \\
  ORDER BY by_login LIMIT 1

# userdb: the proxy has no local users. Reached only for an LMTP recipient the
# passdb does not know, which must end in "user unknown", not a local delivery.
user_query = SELECT NULL AS user WHERE 1 = 0

# doveadm -A: nobody here
iterate_query = SELECT NULL AS user WHERE 1 = 0
"""


# ------------------------------------------------------------ private instance


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


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _listening_tcp_ports(host: str) -> set[int] | None:
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


def _wait_until_idle(pgid: int, timeout: float) -> None:
    """Wait until every process of the group sleeps in its event loop (Linux /proc).

    Right after master.pid appears, anvil still waits for its settings from the
    config process; a SIGTERM in those few milliseconds makes Dovecot 2.3's
    master wait 5 s for anvil before killing it. Gives up after ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        channels = set()
        for pid in _live_group_members(pgid):
            with contextlib.suppress(OSError):  # it may have exited meanwhile
                channels.add(Path(f"/proc/{pid}/wchan").read_text().strip())
        if channels <= {"do_epoll_wait", "ep_poll"}:
            return
        time.sleep(0.002)


def _live_group_members(pgid: int) -> list[int]:
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


def _write_private(path: Path, text: str, mode: int) -> None:
    """Write a file atomically that is never readable by others, not even briefly."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)  # also when tmp existed with other permissions
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


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
        _write_private(cfg.conf_path, render_dovecot_conf(cfg), 0o600)
        _write_private(cfg.sql_conf_path, render_sql_conf(cfg), 0o600)
        if cfg.role == "store":
            _write_private(cfg.usage_conf_path, render_usage_conf(cfg), 0o600)

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
            os.chown(cfg.mail_root, mail_uid, mail_gid)
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
        if not cfg.as_root and os.geteuid() != 0 and cfg.mail_user != _current_user():
            raise MailBackendError(
                f"not root: the mail user must be the invoking user {_current_user()!r}, "
                f"not {cfg.mail_user!r}"
            )
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
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._proc = None
                raise MailBackendError(
                    f"dovecot exited with status {code} at start\n{self.log_tail()}"
                )
            if _read_pid(pid_file) == self._proc.pid:
                pending = self._not_listening(pending)
                if not pending:
                    _wait_until_idle(self._proc.pid, timeout=1.0)
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
        listening = _listening_tcp_ports(self.config.host)
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
            while _live_group_members(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _live_group_members(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        return time.monotonic() - t0

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


# ------------------------------------------------------------- doveadm client


class QuotaUsage(TypedDict):
    """A mailbox's usage and limits as ``quotaGet`` reports them (None = no limit)."""

    storage_kb: int
    storage_limit_kb: int | None
    messages: int
    messages_limit: int | None


class DoveadmHttp:
    """A small client for Dovecot's doveadm HTTP API (``POST /doveadm/v1``)."""

    def __init__(self, host: str, port: int, api_key: str, *, timeout: float = 10.0) -> None:
        self.host, self.port = host, port
        self.url = f"http://{host}:{port}{_DOVEADM_PATH}"
        self.timeout = timeout
        self._auth = "X-Dovecot-API " + base64.b64encode(api_key.encode()).decode()
        self._tags: Iterator[int] = itertools.count(1)

    @classmethod
    def for_config(cls, cfg: DovecotConfig, *, timeout: float = 10.0) -> DoveadmHttp:
        _require_resolved(cfg)
        return cls(cfg.host, cfg.ports.doveadm_http, cfg.doveadm_api_key, timeout=timeout)

    def call(self, command: str, parameters: Mapping[str, object]) -> Any:
        """Run one doveadm command; return the payload of its ``doveadmResponse``."""
        result = self.call_many([(command, parameters)])[0]
        if isinstance(result, MailBackendError):
            raise result
        return result

    def call_many(
        self, commands: Sequence[tuple[str, Mapping[str, object]]]
    ) -> list[Any | MailBackendError]:
        """Run many doveadm commands, up to 500 per HTTP request (one JSON array).

        Returns one result per command, in order: the payload of its
        ``doveadmResponse``, or the ``MailBackendError`` (returned, not raised) of
        a command that failed, e.g. exit_code 67 for an unknown user. A failure
        of a whole request (unreachable, HTTP error, garbled answer) raises.
        """
        results: list[Any | MailBackendError] = []
        for start in range(0, len(commands), _DOVEADM_BATCH):
            results.extend(self._post(commands[start : start + _DOVEADM_BATCH]))
        return results

    def _post(
        self, commands: Sequence[tuple[str, Mapping[str, object]]]
    ) -> list[Any | MailBackendError]:
        tags = [f"pemx{next(self._tags)}" for _ in commands]
        body = json.dumps(
            [
                [command, dict(parameters), tag]
                for (command, parameters), tag in zip(commands, tags, strict=True)
            ]
        ).encode()
        what = commands[0][0] if len(commands) == 1 else f"batch of {len(commands)} commands"
        # http.client rather than urllib: urllib always sends "Connection: close",
        # and then Dovecot 2.3.19 never sends its 401 for a wrong API key.
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(
                "POST",
                _DOVEADM_PATH,
                body=body,
                headers={"Content-Type": "application/json", "Authorization": self._auth},
            )
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise MailBackendError(f"doveadm {what}: cannot reach {self.url}: {e!r}") from e
        finally:
            conn.close()
        if resp.status != 200:
            detail = raw.decode(errors="replace").strip()
            raise MailBackendError(
                f"doveadm {what}: HTTP {resp.status} {resp.reason}"
                + (f": {detail}" if detail else ""),
                http_status=resp.status,
            )
        try:
            by_tag = {str(tag): (kind, payload) for kind, payload, tag in _doveadm_entries(raw)}
        except (ValueError, TypeError) as e:
            raise MailBackendError(f"doveadm {what}: unexpected response {raw[:200]!r}") from e
        results: list[Any | MailBackendError] = []
        for (command, parameters), tag in zip(commands, tags, strict=True):
            if tag not in by_tag:
                raise MailBackendError(f"doveadm {what}: no response tagged {tag!r}")
            kind, payload = by_tag[tag]
            if kind == "doveadmResponse":
                results.append(payload)
            elif kind == "error":
                results.append(_command_error(command, parameters, payload))
            else:
                raise MailBackendError(f"doveadm {what}: unexpected response {raw[:200]!r}")
        return results

    def fs_stat(self, path: str | Path) -> bool:
        """True if ``path`` (absolute, a file or a directory) exists on the Dovecot host."""
        try:
            self.call("fsStat", _posix_fs(path))
        except MailBackendError as e:
            if e.exit_code == 68:  # not found
                return False
            raise
        return True

    def fs_delete(self, path: str | Path) -> None:
        """Delete ``path`` (absolute) and everything below it on the Dovecot host.

        doveadm ``fsDelete`` (posix driver, recursive, "dirs": directories go too),
        run by Dovecot's doveadm service (as root on a root instance). A path that
        does not exist fails with exit code 75, like other failures: use
        ``delete_home`` to tell "already gone" apart.
        """
        self.call("fsDelete", {**_posix_fs(path), "recursive": True})

    def delete_home(self, mail_root: str | Path, mailbox_id: int) -> bool:
        """Delete the home ``<mail_root>/<mailbox_id>`` of a mailbox, mail and all.

        True if it existed and is gone now, False if it was gone already (a
        mailbox that never logged in or received mail has no home). Raises
        ``MailBackendError`` if ``mail_root`` does not exist on the Dovecot host
        (the wrong store, or the wrong path: nothing was looked at), or if the
        home still exists afterwards. One request: stat the root and the home,
        delete, stat the home again (doveadm runs them in order).
        """
        if isinstance(mailbox_id, bool) or not isinstance(mailbox_id, int) or mailbox_id < 0:
            raise ValueError(f"mailbox_id must be an int >= 0, not {mailbox_id!r}")
        root = _fs_path(mail_root)
        home = f"{root}/{int(mailbox_id)}"
        root_stat, before, deleted, after = self.call_many(
            [
                ("fsStat", _posix_fs(root)),
                ("fsStat", _posix_fs(home)),
                ("fsDelete", {**_posix_fs(home), "recursive": True}),
                ("fsStat", _posix_fs(home)),
            ]
        )
        if isinstance(root_stat, MailBackendError):
            if root_stat.exit_code == 68:
                raise MailBackendError(
                    f"cannot delete home {home}: mail root {root} does not exist on the "
                    f"Dovecot at {self.host}:{self.port}",
                    exit_code=68,
                )
            raise root_stat
        if not isinstance(after, MailBackendError):
            reason = deleted if isinstance(deleted, MailBackendError) else "no error reported"
            raise MailBackendError(f"home {home} still exists after fsDelete ({reason})")
        if after.exit_code != 68:
            raise after
        return not isinstance(before, MailBackendError)

    def kick(self, user: str) -> bool:
        """Close every open session of ``user``. False if the user had none."""
        try:
            self.call("kick", {"mask": [user]})
        except MailBackendError as e:
            if e.exit_code == 68:  # nobody matching is connected
                return False
            raise
        return True

    def quota_get(self, user: str) -> QuotaUsage:
        """Storage used (KB) and limit, message count and limit."""
        return _quota_usage(self.call("quotaGet", {"user": user}))

    def quota_get_many(self, users: Sequence[str]) -> dict[str, QuotaUsage | None]:
        """``quota_get`` for many users, 500 per HTTP request.

        A user whose command fails (unknown or inactive: exit code 67, or any
        other doveadm error) maps to None; a failed request raises.
        """
        unique = list(dict.fromkeys(users))
        results = self.call_many([("quotaGet", {"user": user}) for user in unique])
        return {
            user: None if isinstance(result, MailBackendError) else _quota_usage(result)
            for user, result in zip(unique, results, strict=True)
        }

    def mailbox_list(self, user: str) -> list[str]:
        """The user's folder names (UTF-8, '/' as hierarchy separator).

        Like IMAP LIST, this includes parents that only hold children and the
        special folders (auto = subscribe) that are not created yet.
        """
        rows = self.call("mailboxList", {"user": user})
        return [str(row["mailbox"]) for row in rows]

    def existing_mailboxes(self, user: str) -> dict[str, int]:
        """The folders that exist in storage, with their message counts.

        Unlike ``mailbox_list``: no special folder that is only announced (auto)
        and not created yet, no parent that only holds children.
        """
        try:
            rows = self.call(
                "mailboxStatus", {"user": user, "field": ["messages"], "mailboxMask": ["*"]}
            )
        except MailBackendError as e:
            if e.exit_code == 68:  # nothing in storage yet
                return {}
            raise
        return {str(row["mailbox"]): int(row.get("messages") or 0) for row in rows}

    def mailbox_exists(self, user: str, mailbox: str) -> bool:
        """True if the folder exists in storage (see ``existing_mailboxes``)."""
        return mailbox in self.existing_mailboxes(user)

    def mailbox_create(
        self, user: str, mailboxes: str | Sequence[str], *, subscribe: bool = True
    ) -> None:
        """Create folders (and their parents), subscribed by default."""
        names = [mailboxes] if isinstance(mailboxes, str) else list(mailboxes)
        self.call("mailboxCreate", {"user": user, "mailbox": names, "subscriptions": subscribe})

    def mailbox_rename(self, user: str, old: str, new: str, *, subscribe: bool = True) -> None:
        """Rename a folder (its children move along), updating subscriptions by default."""
        self.call(
            "mailboxRename",
            {"user": user, "mailbox": old, "newName": new, "subscriptions": subscribe},
        )

    def mailbox_delete(
        self, user: str, mailboxes: str | Sequence[str], *, unsubscribe: bool = True
    ) -> None:
        """Delete folders with the messages in them (not their children), unsubscribing them."""
        names = [mailboxes] if isinstance(mailboxes, str) else list(mailboxes)
        self.call("mailboxDelete", {"user": user, "mailbox": names, "subscriptions": unsubscribe})

    def move_messages(self, user: str, source: str, destination: str) -> None:
        """Move every message of one folder into another (doveadm ``move``).

        The destination must exist or be an auto folder; the moved messages get
        a new save date (Trash retention restarts for them).
        """
        self.call(
            "move",
            {"user": user, "destinationMailbox": destination, "query": ["mailbox", source, "all"]},
        )

    def localize_folders(self, user: str, renames: Sequence[tuple[str, str]]) -> None:
        """Carry special folders over to their new names after a language change.

        For each (old, new) pair: nothing if ``old`` does not exist; a rename
        (children and subscription move along) if ``new`` does not exist in
        storage yet; otherwise, since a login after the change already created
        ``new``, a merge: children of ``old`` go under ``new`` (the same way, one
        level at a time), its messages are moved into ``new`` and ``old`` is
        deleted. Idempotent: running it again, or after a partial failure,
        finishes the job and changes nothing more.
        """
        for old, new in renames:
            if old != new:
                self._carry_over(user, old, new)

    def _carry_over(self, user: str, old: str, new: str) -> None:
        stored = self.existing_mailboxes(user)
        listed = self.mailbox_list(user)
        old_children = _children(old, listed)
        if old not in stored and not old_children:
            return
        if new not in stored and not _children(new, listed):
            self.mailbox_rename(user, old, new)
            return
        for child in old_children:
            self._carry_over(user, f"{old}/{child}", f"{new}/{child}")
        if old in stored:
            if new not in stored:  # new is only a parent of other folders: make it selectable
                self.mailbox_create(user, new)
            if stored[old]:
                self.move_messages(user, old, new)
            self.mailbox_delete(user, old)


def _children(parent: str, names: Sequence[str]) -> list[str]:
    """The names of the direct children of ``parent`` among folder names ('/' separator)."""
    prefix = parent + "/"
    return list(
        dict.fromkeys(n[len(prefix) :].split("/", 1)[0] for n in names if n.startswith(prefix))
    )


def _quota_usage(rows: Any) -> QuotaUsage:
    usage: QuotaUsage = {
        "storage_kb": 0,
        "storage_limit_kb": None,
        "messages": 0,
        "messages_limit": None,
    }
    for row in rows:
        value = int(row.get("value") or 0)
        limit = _int_or_none(row.get("limit"))
        if row.get("type") == "STORAGE":
            usage["storage_kb"], usage["storage_limit_kb"] = value, limit
        elif row.get("type") == "MESSAGE":
            usage["messages"], usage["messages_limit"] = value, limit
    return usage


def _fs_path(path: str | Path) -> str:
    """An absolute, normalized path other than / for doveadm's fs commands."""
    text = str(path)
    parts = text.split("/")
    if (
        not text.startswith("/")
        or text == "/"
        or not _SAFE_PATH_RE.fullmatch(text)
        or any(part in (".", "..") for part in parts)
        or "" in parts[1:]
    ):
        raise ValueError(f"{text!r}: an absolute, normalized path other than / is required")
    return text


def _posix_fs(path: str | Path) -> dict[str, object]:
    # "dirs": the posix driver treats directories as objects too (fsDelete removes
    # them, not only the files in them)
    return {"fsDriver": "posix", "fsArgs": "dirs", "path": _fs_path(path)}


def _doveadm_entries(raw: bytes) -> list[Any]:
    """The entries of a doveadm HTTP response (a JSON array of [kind, payload, tag]).

    Dovecot 2.3.19 leaves out the commas between the entries of a response that
    contains an "unknownMethod" error: ``[[...]["error",...]]``. Such a response
    is read entry by entry.
    """
    text = raw.decode()
    try:
        parsed = json.loads(text)
    except ValueError:
        pass
    else:
        if not isinstance(parsed, list):
            raise ValueError("not a JSON array")
        return parsed
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    if text[pos : pos + 1] != "[":
        raise ValueError("not a JSON array")
    entries: list[Any] = []
    pos = _skip_space(text, pos + 1)
    while text[pos : pos + 1] != "]":
        if entries and text[pos : pos + 1] == ",":
            pos = _skip_space(text, pos + 1)
        if pos >= len(text):
            raise ValueError("truncated JSON array")
        entry, pos = decoder.raw_decode(text, pos)
        entries.append(entry)
        pos = _skip_space(text, pos)
    if text[pos + 1 :].strip():
        raise ValueError("data after the JSON array")
    return entries


def _skip_space(text: str, pos: int) -> int:
    while text[pos : pos + 1] in (" ", "\t", "\r", "\n"):
        pos += 1
    return pos


def _command_error(
    command: str, parameters: Mapping[str, object], payload: Any
) -> MailBackendError:
    if isinstance(payload, dict) and payload.get("type") not in (None, "exitCode"):
        # e.g. "unknownMethod"; its exitCode is stale (the previous command's) in 2.3.19
        return MailBackendError(f"doveadm {command} {_describe(parameters)}: {payload['type']}")
    code = payload.get("exitCode") if isinstance(payload, dict) else None
    what = _DOVEADM_EXIT_CODES.get(code, "failed") if isinstance(code, int) else "failed"
    return MailBackendError(
        f"doveadm {command} {_describe(parameters)}: {what} ({payload})",
        exit_code=code if isinstance(code, int) else None,
    )


def _int_or_none(value: object) -> int | None:
    if value in (None, "", "-"):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _describe(parameters: Mapping[str, object]) -> str:
    user = parameters.get("user") or parameters.get("mask")
    if not user and parameters.get("path"):
        return f"on {parameters['path']}"
    return f"for {user}" if user else ""
