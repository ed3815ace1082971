"""Configs for running pemx against a *system* Dovecot 2.3 (Debian's /etc/dovecot).

An admin drops two files into a stock Debian Dovecot:

- ``/etc/dovecot/conf.d/99-pemx.conf``: protocols, listeners (IMAP 143, POP3 110,
  LMTP 24 on loopback, plus the webmail (OWA) and ActiveSync IMAP listeners), the
  mail location, the localized special-use folders, quota and the SQL passdb/userdb;
- ``/etc/dovecot/dovecot-pemx-sql.conf.ext``: rendered from the same template as the
  private instance's, so a system Dovecot runs the same queries
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

import secrets
from dataclasses import replace
from pathlib import Path
from typing import Final

from pemx.adapters.mail.database import SqlDatabase, dovecot_connect
from pemx.adapters.mail.dovecot.config import DovecotConfig, MailPorts
from pemx.adapters.mail.dovecot.render import (
    SystemPlacement,
    render_dovecot_conf,
    render_sql_conf,
    render_usage_conf,
)

__all__ = [
    "CONF_D_NAME",
    "SQL_CONF_NAME",
    "SYSTEM_CONF_DIR",
    "SYSTEM_MAIL_ROOT",
    "SYSTEM_MAIL_USER",
    "system_dovecot_config",
    "system_dovecot_files",
    "system_proxy_files",
]

SYSTEM_CONF_DIR: Final = Path("/etc/dovecot")
SYSTEM_MAIL_ROOT: Final = Path("/var/vmail")
SYSTEM_MAIL_USER: Final = "vmail"
CONF_D_NAME: Final = "conf.d/99-pemx.conf"
SQL_CONF_NAME: Final = "dovecot-pemx-sql.conf.ext"


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


def system_dovecot_files(
    cfg: DovecotConfig,
    *,
    listen: str = "*, ::",
    lmtp_address: str = "127.0.0.1",
    doveadm_address: str = "127.0.0.1",
    postfix_auth_socket: Path | None = None,
) -> dict[Path, str]:
    """{absolute path under ``cfg.work_dir``: content} of both files for a system Dovecot.

    A store (``cfg.role`` "store", the default); ``system_proxy_files`` for a proxy.
    ``postfix_auth_socket``: where Postfix's submission finds Dovecot's SASL (None:
    Debian's /var/spool/postfix/private/auth).
    """
    if cfg.role != "store":
        raise ValueError("system_dovecot_files renders a mailbox store: use system_proxy_files")
    system = SystemPlacement(cfg.work_dir / SQL_CONF_NAME, listen, lmtp_address, doveadm_address)
    if postfix_auth_socket is not None:
        system = replace(system, postfix_auth_socket=postfix_auth_socket)
    return {
        cfg.work_dir / CONF_D_NAME: render_dovecot_conf(cfg, system),
        system.sql_conf_path: render_sql_conf(cfg),
        cfg.usage_conf_path: render_usage_conf(cfg),
    }


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
    system = SystemPlacement(cfg.work_dir / SQL_CONF_NAME, listen, lmtp_address)
    return {
        cfg.work_dir / CONF_D_NAME: render_dovecot_conf(cfg, system),
        system.sql_conf_path: render_sql_conf(cfg),
    }
