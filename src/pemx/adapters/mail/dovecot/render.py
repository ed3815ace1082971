"""Dovecot's config files, rendered from one Jinja2 template per file and Dovecot series.

``templates/2.3/`` holds ``dovecot.conf.j2``, ``dovecot-sql.conf.ext.j2`` and
``dovecot-dict-usage.conf.ext.j2``. Each template covers every variation of its file:
a private instance or a system Dovecot (``SystemPlacement``), a mailbox store or a
proxy (``DovecotConfig.role``), root or not, SQLite or PostgreSQL, with or without a
store id. tests/unit/mail/test_config_snapshots.py holds the output byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import jinja2

from pemx.adapters.mail.dovecot.config import DovecotConfig, require_resolved
from pemx.adapters.mail.jinja import config_environment
from pemx.domain.folders import ROLES

__all__ = [
    "SERIES",
    "SystemPlacement",
    "instance_files",
    "render_dovecot_conf",
    "render_sql_conf",
    "render_usage_conf",
]

#: The Dovecot series the templates are written for (2.4 changed the config syntax).
SERIES: Final = "2.3"
# The special-use folders' config keys: the roles, capitalized (the English names).
_ROLE_KEYS: Final = tuple(role.capitalize() for role in ROLES)


@dataclass(frozen=True)
class SystemPlacement:
    """Where a system Dovecot's files go and what its listeners bind to.

    IMAP/POP3 listen on ``listen``; LMTP (delivery, no authentication) only on
    ``lmtp_address``, for the local Postfix or the proxies; doveadm's HTTP API only on
    ``doveadm_address``, for the pemx nodes (its key can delete any file of the host).
    A store also answers Postfix's SASL logins (submission) on ``postfix_auth_socket``
    (under Postfix's chroot: smtpd_sasl_path = private/auth).
    """

    sql_conf_path: Path
    listen: str = "*, ::"
    lmtp_address: str = "127.0.0.1"
    doveadm_address: str = "127.0.0.1"
    postfix_auth_socket: Path = Path("/var/spool/postfix/private/auth")


def sql_literal(value: str) -> str:
    """A string literal for a Dovecot SQL query: quotes doubled, '%' escaped."""
    return "'" + value.replace("'", "''").replace("%", "%%") + "'"


@cache
def _environment() -> jinja2.Environment:
    env = config_environment("pemx.adapters.mail.dovecot", f"templates/{SERIES}")
    env.filters["sql_literal"] = sql_literal
    return env


def _render(template: str, cfg: DovecotConfig, system: SystemPlacement | None = None) -> str:
    require_resolved(cfg)
    return (
        _environment()
        .get_template(template)
        .render(
            cfg=cfg,
            system=system,
            roles=_ROLE_KEYS,
            sql_conf_path=system.sql_conf_path if system else cfg.sql_conf_path,
        )
    )


def render_dovecot_conf(cfg: DovecotConfig, system: SystemPlacement | None = None) -> str:
    """``dovecot.conf`` of a private instance, or ``conf.d/99-pemx.conf`` of a system one."""
    return _render("dovecot.conf.j2", cfg, system)


def render_sql_conf(cfg: DovecotConfig) -> str:
    """``dovecot-sql.conf.ext``: the connection and the three queries.

    The queries read only the contract objects and run unchanged on SQLite and
    PostgreSQL. A store with a ``store_id`` reads only that store's mailboxes; a
    proxy's passdb returns where each mailbox lives.
    """
    return _render("dovecot-sql.conf.ext.j2", cfg)


def render_usage_conf(cfg: DovecotConfig) -> str:
    """The dict map file of a store's quota_clone: the two quota keys into ``mailbox_usage``."""
    return _render("dovecot-dict-usage.conf.ext.j2", cfg)


def instance_files(cfg: DovecotConfig) -> dict[Path, str]:
    """{path: content} of a private instance's config files (a proxy has no usage dict)."""
    files = {cfg.conf_path: render_dovecot_conf(cfg), cfg.sql_conf_path: render_sql_conf(cfg)}
    if cfg.role == "store":
        files[cfg.usage_conf_path] = render_usage_conf(cfg)
    return files
