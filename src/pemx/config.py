"""Settings: defaults, then a TOML file, then PEMX_* environment variables, then CLI flags."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import tomllib
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any, get_origin, get_type_hints

from pemx.domain.client_endpoints import ClientEndpoints, MailSecurity
from pemx.domain.mail_ports import MailPorts


class SettingsError(Exception):
    """A setting has a wrong value; the message names it."""


#: The data directory of a pemx run as root (a server's usual case): root's home is
#: 0700, which the private Dovecot's unprivileged processes could not traverse.
SYSTEM_DATA_DIR = Path("/var/lib/pemx")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def default_data_dir() -> Path:
    """/var/lib/pemx for root, else $XDG_DATA_HOME/pemx (~/.local/share/pemx)."""
    if os.geteuid() == 0:
        return SYSTEM_DATA_DIR
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pemx"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8440
    database_url: str = ""  # empty: SQLite file <data_dir>/pemx.db
    # PostgreSQL: the read-only role Dovecot and Postfix log in as. Migrations grant it
    # SELECT on the contract views and nothing else; empty = pemx's own role (not for
    # production: the mail servers could then write).
    mail_db_user: str = ""
    mail_db_password: str = ""
    # No database_url: run a private PostgreSQL cluster under <data_dir>/postgresql while
    # `pemx serve` runs (a unix socket there, loopback TCP on postgresql_port), instead
    # of the SQLite file. SOGo reads only PostgreSQL: groupware without a database_url
    # implies it (runs_private_postgresql).
    private_postgresql: bool = False
    postgresql_port: int = 10432
    threads: int = 16
    # Worker threads one client address may hold (0: half of threads): a client that
    # sends its requests slowly cannot starve the others.
    threads_per_client: int = 0
    bcrypt_rounds: int = 10
    max_body_bytes: int = 1024 * 1024
    txn_timeout: int = 30
    auth_cache_ttl: float = 60.0
    allowed_networks: tuple[str, ...] = ()
    # Refused API logins: after login_failures (0: off) within login_failure_window
    # seconds from one address or for one login, that address or login gets only
    # credentials already verified, for login_block_seconds (429 otherwise).
    login_failures: int = 10
    login_failure_window: float = 60.0
    login_block_seconds: float = 300.0
    tls_cert: str = ""
    tls_key: str = ""
    mail: bool = True  # run a private Dovecot
    mail_host: str = "127.0.0.1"
    imap_port: int = 10143
    pop3_port: int = 10110
    lmtp_port: int = 10024
    imap_owa_port: int = 10144
    imap_activesync_port: int = 10145
    doveadm_port: int = 10146
    mail_auth_penalty: bool = True
    mail_root: str = ""  # empty: <data_dir>/mail (homes are <mail_root>/<mailbox_id>)
    # With mail = false: the doveadm HTTP API key of the system Dovecot at
    # mail_host:doveadm_port. Empty: no mail backend, tasks wait in the outbox.
    doveadm_api_key: str = ""
    # Sending. The private Dovecot's submission service (clients log in here) relays each
    # message to pemx's relay on loopback (relay_port, 0: any free port), which applies
    # the sending rules and delivers. The smarthost takes mail for domains pemx does not
    # host; empty smarthost_host: such recipients are refused.
    submission: bool = True
    submission_port: int = 10587
    relay_port: int = 0
    smarthost_host: str = ""
    smarthost_port: int = 587
    smarthost_tls: str = "starttls"  # none | starttls | tls (implicit, usually port 465)
    smarthost_username: str = ""  # empty: no login
    smarthost_password: str = ""
    smarthost_timeout: float = 30.0
    # The relay saves a copy of each sent message in the sender's Sent folder. Off: mail
    # clients save their own (IMAP APPEND), and would then have two.
    submission_save_sent: bool = False
    # Production (Postfix's submission service): the policy service and the From: milter
    # that Postfix asks on loopback (`pemx mail-config --kind postfix` names the ports).
    policy: bool = True
    policy_port: int = 10040
    milter_port: int = 10041
    # Mail from outside in the embedded setting (an MX or a test hands it here): lists,
    # contacts and forwarding expanded as the rendered Postfix does (docs/mail.md).
    inbound: bool = True
    inbound_port: int = 10042
    # Production: where Postfix hands over addresses with routes (transport pemx-routed),
    # after the policy service checked their senders. Runs with the policy service.
    routed_port: int = 10043
    # SQLite: a system group that may read the database (0640), e.g. `postfix` when a
    # Postfix front end reads its maps from it. Empty: pemx's user only (0600).
    database_group: str = ""
    # Groupware (docs/groupware.md): SOGo's webmail, ActiveSync, CalDAV and CardDAV behind
    # one HTTP front end (nginx) on mail_host:groupware_port (0: a free port). SOGo reads
    # only PostgreSQL: without a database_url, the private PostgreSQL holds pemx's
    # database and SOGo's.
    groupware: bool = False
    groupware_port: int = 10080
    # SOGo's own tables (calendars, contacts, sessions). Empty: the database
    # "<pemx's database>_sogo" on pemx's PostgreSQL server, as mail_db_user (its owner;
    # the private PostgreSQL creates it).
    sogo_database_url: str = ""
    sogo_workers: int = 3  # worker processes per SOGo instance (an ActiveSync Ping holds one)
    sogo_cache_seconds: float = 300.0  # how long SOGo trusts a cached login without pemx
    # A system SOGo (`pemx mail-config --kind sogo`): its memcached sockets, where this
    # node's outbox worker drops a changed login. Empty: the private stack's, if any.
    sogo_cache_sockets: tuple[str, ...] = ()
    worker: bool = True  # run the outbox worker in this process
    # Seconds between checks of every mailbox store (0: none): one that does not answer
    # is marked failed and gets no new mailboxes until it answers again.
    store_check_interval: float = 30.0
    # Seconds /readyz and /metrics reuse their check of the database and the stores
    # (0: check on every request): scrapers every few seconds do not hammer the stores.
    probe_cache: float = 5.0
    # The private Dovecot's log (<data_dir>/dovecot/log/dovecot.log) is rotated once it
    # holds dovecot_log_max_bytes (0: never), keeping dovecot_log_backups old files.
    dovecot_log_max_bytes: int = 10_000_000
    dovecot_log_backups: int = 5
    # The same for the private PostgreSQL's log (<data_dir>/postgresql/postgresql.log).
    postgresql_log_max_bytes: int = 10_000_000
    postgresql_log_backups: int = 5
    log_level: str = "INFO"
    log_format: str = "text"  # text | json (one JSON object per line, for a log shipper)
    # What autoconfig and autodiscover tell mail clients (docs/autodiscover.md): the host
    # name clients connect to (empty: this machine's fully qualified name), the public
    # ports (0: imap_port, pop3_port, submission_port), their protection (none |
    # starttls | tls; none matches the private Dovecot, which has no TLS of its own), and
    # the groupware front end's URL (empty: with groupware, http://<public_mail_host>:<the
    # front end's port>; without, no webmail or ActiveSync announced).
    autodiscover: bool = True
    public_mail_host: str = ""
    public_imap_port: int = 0
    public_pop3_port: int = 0
    public_submission_port: int = 0
    public_mail_tls: str = "none"
    public_web_url: str = ""

    @property
    def runs_private_postgresql(self) -> bool:
        """Whether the data directory's private PostgreSQL holds the database: set, or
        implied by groupware without a database_url (SOGo cannot read SQLite), or the
        data directory has the cluster and no SQLite file (a `pemx serve --groupware`
        made it: the operator's commands without the flag find the same database)."""
        if self.database_url:
            return False
        if self.private_postgresql or self.groupware:
            return True
        data_dir = self.data_dir
        return (data_dir / "postgresql" / "data" / "PG_VERSION").exists() and not (
            data_dir / "pemx.db"
        ).exists()

    @property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        if self.runs_private_postgresql:  # bootstrap.resolve_database gives the cluster's URL
            raise RuntimeError("the private PostgreSQL's URL is known once it runs")
        return f"sqlite:///{self.data_dir.absolute() / 'pemx.db'}"

    @property
    def mail_ports(self) -> MailPorts:
        """The mail listeners the settings name (0: a free port, chosen at start)."""
        return MailPorts.from_columns(self)

    @cached_property
    def networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """allowed_networks parsed (once: the API checks every request against them)."""
        try:
            return tuple(ipaddress.ip_network(n, strict=False) for n in self.allowed_networks)
        except ValueError as exc:
            raise SettingsError(f"allowed_networks: {exc}") from None

    @property
    def client_endpoints(self) -> ClientEndpoints:
        """What autoconfig and autodiscover answer: the public_* settings, defaulted."""
        return ClientEndpoints(
            mail_host=self.public_mail_host or socket.getfqdn(),
            imap_port=self.public_imap_port or self.imap_port,
            pop3_port=self.public_pop3_port or self.pop3_port,
            submission_port=self.public_submission_port or self.submission_port,
            security=MailSecurity(self.public_mail_tls),
            web_url=self.public_web_url.rstrip("/") or None,
        )

    def groupware_web_url(self, front_port: int) -> str:
        """What clients are told of the private groupware front end on ``front_port``
        when public_web_url is empty: this host as public_mail_host names it."""
        return f"http://{self.public_mail_host or socket.getfqdn()}:{front_port}"

    def api_url(self, port: int) -> str:
        """The XML-RPC endpoint on ``port`` (the bound one: port 0 means any free port)."""
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://{self.host}:{port}/RPC2"


_FIELDS = {f.name: f for f in fields(Settings)}
# Each setting's type (tuple for tuple[str, ...]): what a value from the environment or
# the TOML file is coerced to.
_KINDS: dict[str, Any] = {
    name: get_origin(hint) or hint
    for name, hint in get_type_hints(Settings).items()
    if name in _FIELDS
}
PORT_SETTINGS = (
    "port",
    *MailPorts.COLUMNS.values(),
    "submission_port",
    "relay_port",
    "smarthost_port",
    "policy_port",
    "milter_port",
    "public_imap_port",
    "public_pop3_port",
    "public_submission_port",
    "postgresql_port",
    "inbound_port",
    "routed_port",
    "groupware_port",
)
SMARTHOST_TLS = ("none", "starttls", "tls")


def _coerce(name: str, value: Any) -> Any:
    kind = _KINDS[name]
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"not a boolean: {value!r}")
        if kind is int:
            return int(value)
        if kind is float:
            return float(value)
        if kind is tuple:
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value)
        if kind is Path:
            return Path(value).expanduser()
        return str(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {name}: {exc}") from None


def load_settings(
    overrides: dict[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    env = os.environ if environ is None else environ
    chosen: dict[str, Any] = {}
    for name in _FIELDS:
        key = "PEMX_" + name.upper()
        if key in env:
            chosen[name] = _coerce(name, env[key])
    for name, value in (overrides or {}).items():
        if value is not None:
            chosen[name] = _coerce(name, value)
    data_dir = chosen.get("data_dir", default_data_dir())
    path = config_file or (Path(data_dir) / "pemx.toml")
    from_file: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"config file {path}: {exc}") from None
        for name, value in raw.items():
            if name not in _FIELDS:
                raise SettingsError(f"config file {path}: unknown setting {name!r}")
            from_file[name] = _coerce(name, value)
    elif config_file is not None:
        raise SettingsError(f"config file {path} does not exist")
    settings = replace(Settings(), **{**from_file, **chosen})
    _check(settings)
    return settings


def write_settings(path: Path, values: dict[str, str | bool]) -> None:
    """Set ``values`` in the TOML file at ``path`` (created 0600 if missing): a line of
    each replaces that setting's line, every other line stays as it was."""
    for name in values:
        if name not in _FIELDS:
            raise SettingsError(f"unknown setting {name!r}")
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in values]
    for name, value in values.items():
        # a JSON string is a TOML basic string (the same escapes)
        literal = ("true" if value else "false") if isinstance(value, bool) else json.dumps(value)
        kept.append(f"{name} = {literal}")
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(kept) + "\n")
    os.replace(tmp, path)


def _check(settings: Settings) -> None:
    for name in PORT_SETTINGS:
        value = getattr(settings, name)
        if not 0 <= value <= 65535:
            raise SettingsError(f"setting {name}: {value} is not a TCP port")
    try:
        settings.mail_ports  # noqa: B018 - checks that they are distinct
    except ValueError as exc:
        raise SettingsError(f"mail port settings: {exc}") from None
    if settings.smarthost_tls not in SMARTHOST_TLS:
        raise SettingsError(
            f"setting smarthost_tls: {settings.smarthost_tls!r} is not one of "
            + ", ".join(SMARTHOST_TLS)
        )
    if settings.public_mail_tls not in tuple(MailSecurity):
        raise SettingsError(
            f"setting public_mail_tls: {settings.public_mail_tls!r} is not one of "
            + ", ".join(MailSecurity)
        )
    web = settings.public_web_url
    if web and not web.startswith(("https://", "http://")):
        raise SettingsError(f"setting public_web_url: {web!r} is not an http(s) URL")
    if not 0 < settings.smarthost_timeout <= 600:
        raise SettingsError("setting smarthost_timeout: must be between 0 and 600 seconds")
    if settings.smarthost_username and not settings.smarthost_host:
        raise SettingsError("setting smarthost_username needs smarthost_host")
    if settings.private_postgresql or settings.runs_private_postgresql:
        why = "private_postgresql" if settings.private_postgresql else (
            "groupware without database_url, which runs the private PostgreSQL")  # fmt: skip
        for name in ("database_url", "mail_db_user", "mail_db_password"):
            if getattr(settings, name):
                raise SettingsError(
                    f"setting {name}: not with {why} (the private cluster has its own "
                    "database and roles)"
                )
    if not 1 <= settings.sogo_workers <= 64:
        raise SettingsError("setting sogo_workers: must be between 1 and 64")
    if not 1 <= settings.sogo_cache_seconds <= 86400:
        raise SettingsError("setting sogo_cache_seconds: must be between 1 and 86400")
    if not 1 <= settings.threads <= 512:
        raise SettingsError("setting threads: must be between 1 and 512")
    if not 0 <= settings.threads_per_client <= settings.threads:
        raise SettingsError("setting threads_per_client: must be between 0 and threads")
    if not 4 <= settings.bcrypt_rounds <= 16:
        raise SettingsError("setting bcrypt_rounds: must be between 4 and 16")
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise SettingsError("settings tls_cert and tls_key go together")
    for name in ("tls_cert", "tls_key"):
        path = getattr(settings, name)
        if path and not os.access(path, os.R_OK):
            raise SettingsError(f"setting {name}: cannot read {path}")
    for server in ("dovecot", "postgresql"):
        max_bytes = getattr(settings, f"{server}_log_max_bytes")
        if max_bytes < 0 or not 0 <= getattr(settings, f"{server}_log_backups") <= 100:
            raise SettingsError(
                f"settings {server}_log_max_bytes (0 or more) and {server}_log_backups (0 to 100)"
            )
    if not 0 <= settings.probe_cache <= 300:
        raise SettingsError("setting probe_cache: must be between 0 and 300 seconds")
    if settings.log_format not in ("text", "json"):
        raise SettingsError(f"setting log_format: {settings.log_format!r} is not text or json")
    if settings.log_level.upper() not in LOG_LEVELS:
        raise SettingsError(
            f"setting log_level: {settings.log_level!r} is not one of " + ", ".join(LOG_LEVELS)
        )
    settings.networks  # noqa: B018 - parses, raising SettingsError on a bad network
