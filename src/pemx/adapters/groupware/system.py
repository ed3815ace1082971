"""A system SOGo (`pemx mail-config --kind sogo`): both instances against the shared
PostgreSQL, reading mail through the Dovecot proxy's owa and activesync listeners, run
by systemd as the package's user sogo, behind the system nginx."""

from __future__ import annotations

from pathlib import Path

from pemx.adapters.groupware.config import GroupwareConfig, SogoDatabase
from pemx.adapters.groupware.render import stack_files
from pemx.config import Settings

__all__ = ["SYSTEM_CONF_DIR", "plan"]

SYSTEM_CONF_DIR = Path("/etc/pemx-sogo")
WEB_PORT, SYNC_PORT = 20000, 20001  # sogod on loopback, behind nginx


def plan(
    settings: Settings,
    target: Path,
    *,
    db_user: str | None = None,
    db_password: str | None = None,
) -> tuple[dict[Path, str], list[str]]:
    """The files (absolute paths under ``target``) and the steps that install them."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database)
    if not url.drivername.startswith("postgresql"):
        raise ValueError("--kind sogo needs a PostgreSQL database_url (SOGo cannot read SQLite)")
    user = db_user or settings.mail_db_user or url.username or ""
    password = db_password if db_password is not None else settings.mail_db_password
    contract = SogoDatabase(url.host or "127.0.0.1", url.port or 5432, url.database or "",
                            user, password or "")  # fmt: skip
    storage = SogoDatabase(contract.host, contract.port, f"{contract.name}_sogo", user,
                           password or "")  # fmt: skip
    if settings.sogo_database_url:
        own = make_url(settings.sogo_database_url)
        storage = SogoDatabase(own.host or contract.host, own.port or contract.port,
                               own.database or "", own.username or user,
                               str(own.password or password or ""))  # fmt: skip
    cfg = GroupwareConfig(
        work_dir=target,
        contract=contract,
        storage=storage,
        imap_host=settings.mail_host,
        imap_owa_port=settings.imap_owa_port,
        imap_activesync_port=settings.imap_activesync_port,
        smtp_port=587,
        host="127.0.0.1",
        front_port=80,
        web_port=WEB_PORT,
        sync_port=SYNC_PORT,
        workers=settings.sogo_workers,
        cache_seconds=settings.sogo_cache_seconds,
        system=True,
    )
    sockets = ",".join(str(cfg.memcached_socket(n)) for n in ("web", "sync"))
    steps = [
        "apt-get install sogo sogo-activesync memcached nginx (scripts/install --groupware); "
        "systemctl disable --now sogo (the package's single instance)",
        f"create SOGo's database: CREATE DATABASE {storage.name} OWNER {storage.user}",
        f"copy the files to {target} (same relative paths; mode 640, group sogo); "
        f"install -d -o sogo -g sogo {cfg.spool_dir('web')} {cfg.spool_dir('sync')}",
        f"cp {target}/systemd/*.service /etc/systemd/system/; systemctl daemon-reload; "
        "systemctl enable --now pemx-sogo@web pemx-sogo@sync",
        f"cp {target}/nginx/pemx-sogo.conf /etc/nginx/conf.d/; add TLS; systemctl reload nginx",
        f"SOGo reads mail from the Dovecot proxy at {settings.mail_host} (imap_owa_port "
        f"{settings.imap_owa_port}, imap_activesync_port {settings.imap_activesync_port}) and "
        f"sends through Postfix's submission on {settings.mail_host}:587",
        f"on the pemx node that runs the outbox worker (this host): sogo_cache_sockets = "
        f'"{sockets}" in pemx.toml, and add its user to the group sogo',
    ]
    return stack_files(cfg), steps
