"""What varies between groupware stacks: paths, ports, databases, the user it runs as."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

__all__ = ["INSTANCES", "GroupwareConfig", "SogoDatabase", "memcached_socket"]

#: The two sogod instances. ``web`` serves browsers and admits owa = 1 only; ``sync``
#: serves ActiveSync (its own switch) and CalDAV/CardDAV. One instance cannot tell a
#: browser from a phone: both log in through the same source (docs/groupware.md).
INSTANCES = ("web", "sync")
STATIC_DIR = Path("/usr/lib/GNUstep/SOGo/WebServerResources")


def memcached_socket(work_dir: Path, name: str) -> Path:
    """The instance's memcached: a unix socket (0700), since it holds password hashes."""
    return work_dir / "run" / f"memcached-{name}.sock"


@dataclass(frozen=True)
class SogoDatabase:
    """A PostgreSQL server as SOGo's URLs name it (postgresql://user:pw@host:port/db)."""

    host: str
    port: int
    name: str
    user: str
    password: str

    def url(self, table: str) -> str:
        credentials = quote(self.user, safe="") + ":" + quote(self.password, safe="")
        return f"postgresql://{credentials}@{self.host}:{self.port}/{self.name}/{table}"


@dataclass(frozen=True)
class GroupwareConfig:
    """One groupware stack. ``work_dir`` holds its configs, pid files, sockets, logs and
    spool (the private stack's is <data_dir>/groupware; a system one's is /etc/sogo)."""

    work_dir: Path
    contract: SogoDatabase  # pemx's database: the views sogo_users and sogo_directory
    storage: SogoDatabase  # SOGo's own tables
    imap_host: str
    imap_owa_port: int  # the web instance reads mail here (Dovecot admits owa = 1 only)
    imap_activesync_port: int  # the sync instance (Dovecot admits active_sync = 1 only)
    smtp_port: int  # Dovecot's submission service: SOGo sends as the logged-in user
    host: str = "127.0.0.1"  # where the front end and the sogod instances listen
    front_port: int = 10080
    web_port: int = 0  # sogod "web" (loopback, behind the front end)
    sync_port: int = 0
    workers: int = 3
    cache_seconds: float = 300.0
    mail_domain: str = "localhost"
    #: as root: the system user every daemon runs as (sogod refuses root), plus the
    #: group that may read /etc/sogo/sogo.conf
    run_user: str | None = None
    extra_groups: tuple[str, ...] = field(default_factory=tuple)
    static_dir: Path = STATIC_DIR
    system: bool = False  # rendered for a system installation (pemx mail-config)
    #: a system installation's places (the private stack keeps all under work_dir)
    system_run_dir: Path = Path("/run/pemx-sogo")
    system_log_dir: Path = Path("/var/log/sogo")
    system_spool_dir: Path = Path("/var/spool/sogo")

    def instance_dir(self, name: str) -> Path:
        return self.work_dir / f"sogo-{name}"

    @property
    def run_dir(self) -> Path:
        return self.system_run_dir if self.system else self.work_dir / "run"

    def spool_dir(self, name: str) -> Path:
        if self.system:
            return self.system_spool_dir / name
        return self.instance_dir(name) / "spool"

    def memcached_socket(self, name: str) -> Path:
        return self.run_dir / f"memcached-{name}.sock"

    def port_of(self, name: str) -> int:
        return self.web_port if name == "web" else self.sync_port

    def imap_port_of(self, name: str) -> int:
        return self.imap_owa_port if name == "web" else self.imap_activesync_port

    @property
    def log_dir(self) -> Path:
        return self.system_log_dir if self.system else self.work_dir / "log"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.front_port}"

    def endpoints(self) -> dict[str, dict[str, object]]:
        """What runtime.json and `pemx status` show: the front end's client URLs."""
        base = self.base_url
        urls = {
            "web": f"{base}/SOGo/",
            "activesync": f"{base}/Microsoft-Server-ActiveSync",
            "caldav": f"{base}/SOGo/dav/",
            "carddav": f"{base}/SOGo/dav/",
        }
        return {
            name: {"host": self.host, "port": self.front_port, "url": url}
            for name, url in urls.items()
        }
