"""What varies between pemx's Dovecot instances: ports, paths, privileges, role."""

from __future__ import annotations

import grp
import ipaddress
import os
import pwd
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, Literal

from pemx.domain.mail_ports import MailPorts

__all__ = [
    "SAFE_PATH_RE",
    "DovecotConfig",
    "MailPorts",
    "SubmissionLink",
    "current_user",
    "require_resolved",
]

# Characters allowed in paths that end up in dovecot.conf and inside SQL string
# literals (no quotes, no '%' which Dovecot expands, no spaces or backslashes).
SAFE_PATH_RE: Final = re.compile(r"[A-Za-z0-9_./+@=,:-]+")
SAFE_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_.+=/-]+")


def current_user() -> str:
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
    return "nobody" if os.geteuid() == 0 else current_user()


def _default_mail_group() -> str:
    return "nogroup" if os.geteuid() == 0 else _current_group()


@dataclass(frozen=True)
class SubmissionLink:
    """Dovecot's submission service of a private store, and the relay it hands mail to.

    Clients log in on ``port`` (the SQL passdb, as for IMAP); Dovecot relays each message
    to pemx's relay at ``relay_host:relay_port`` as the master user ``relay_user`` with
    ``relay_secret`` and the mailbox as authorization id (the userdb's
    ``submission_relay_user``).
    """

    port: int
    relay_port: int
    relay_secret: str
    relay_host: str = "127.0.0.1"
    relay_user: str = "pemx-relay"

    def __post_init__(self) -> None:
        for name in ("port", "relay_port"):
            if not 0 < getattr(self, name) <= 65535:
                raise ValueError(f"submission {name}={getattr(self, name)} is not a TCP port")
        for name in ("relay_secret", "relay_host", "relay_user"):
            if not SAFE_TOKEN_RE.fullmatch(getattr(self, name)):
                raise ValueError(f"submission {name} is empty or has unsupported characters")


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

    ``submission`` (a private store only): run Dovecot's submission service, relaying
    to pemx's relay (``SubmissionLink``); None: no submission.
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
    submission: SubmissionLink | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "work_dir", Path(self.work_dir).absolute())
        object.__setattr__(self, "mail_root", Path(self.mail_root).absolute())
        for name in ("work_dir", "mail_root"):
            value = str(getattr(self, name))
            if not SAFE_PATH_RE.fullmatch(value):
                raise ValueError(
                    f"{name}={value!r}: only letters, digits and _ . / + @ = , : - are supported"
                )
        if self.sql_driver not in ("sqlite", "pgsql"):
            raise ValueError(f"sql_driver must be 'sqlite' or 'pgsql', not {self.sql_driver!r}")
        if not self.sql_connect or any(c in self.sql_connect for c in "\r\n"):
            raise ValueError("sql_connect must be a non-empty single line")
        for name in ("doveadm_api_key", "password_scheme", "instance_name", "host"):
            value = getattr(self, name)
            if not SAFE_TOKEN_RE.fullmatch(value):
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
        if self.submission is not None and self.role != "store":
            raise ValueError("submission runs on a mailbox store, not on a proxy")
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


def require_resolved(cfg: DovecotConfig) -> None:
    if not cfg.ports.resolved:
        raise ValueError(f"ports must be chosen before rendering (with_free_ports): {cfg.ports}")
