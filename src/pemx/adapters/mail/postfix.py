"""A Postfix front end for pemx's mailboxes: main.cf settings and SQL map files.

Postfix accepts mail for the registered domains, validates every recipient at
RCPT TO (no backscatter), rewrites alternative addresses to the primary one and
delivers over LMTP into Dovecot. Its maps read only contract objects:

- ``mail_domains`` (domain): virtual_mailbox_domains,
- ``dovecot_mailboxes`` (username, deliverable): virtual_mailbox_maps (a suspended
  subscription's mailboxes still receive mail),
- ``dovecot_addresses`` (address, username): virtual_alias_maps,
- ``mail_senders`` (address, username): smtpd_sender_login_maps of the submission
  service (``master.cf.pemx``), which also asks pemx's policy service and milter;
- ``mail_routes`` (address, destination): an address with routes (a distribution list, a
  mail contact, a forwarding mailbox) is a valid recipient (virtual_mailbox_maps) whose
  transport (transport_maps) is pemx's hand-over listener, which expands it and sends each
  copy on with its own envelope (docs/mail.md: Postfix alone cannot give a forwarded
  copy another envelope sender than the whole message's).

pemx's policy service also sits in smtpd_recipient_restrictions: it applies a
distribution list's accept_mail_from at RCPT, so a refused sender is told in the SMTP
dialogue (no bounce later).

The maps are ``proxy:``-wrapped so that chrooted smtpd processes (Debian's default)
reach the database through the unchrooted proxymap service.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import jinja2

from pemx.adapters.mail.database import SqlDatabase, SqliteDatabase
from pemx.adapters.mail.jinja import config_environment

__all__ = [
    "MAP_QUERIES",
    "POSTFIX_CONF_DIR",
    "PostfixSubmission",
    "postfix_files",
    "render_main_cf",
    "render_map",
    "render_master_cf",
    "render_routed_transport",
]

POSTFIX_CONF_DIR: Final = Path("/etc/postfix")

# map file name -> query (%s = the lookup key; Postfix lower-cases addresses,
# pemx stores them in lower case). Same SQL on SQLite and PostgreSQL.
MAP_QUERIES: Final = {
    "pemx-domains.cf": "SELECT 'OK' FROM mail_domains WHERE domain = '%s'",
    "pemx-mailboxes.cf": (
        "SELECT 'OK' FROM dovecot_mailboxes WHERE username = '%s' AND deliverable = 1"
    ),
    "pemx-aliases.cf": (
        "SELECT a.username FROM dovecot_addresses a"
        " JOIN dovecot_mailboxes m ON m.username = a.username"
        " WHERE a.address = '%s' AND m.deliverable = 1"
    ),
    # Postfix looks the sender up as given, then without +detail; the SASL user it
    # compares with is Dovecot's canonical user (the primary address).
    "pemx-senders.cf": "SELECT username FROM mail_senders WHERE address = '%s'",
}
ROUTED_MAP: Final = "pemx-routed.cf"
_SETTING_OF: Final = {
    "virtual_mailbox_domains": ("pemx-domains.cf",),
    # an address with routes is a recipient too (the value is not read: its transport is
    # transport_maps' pemx-routed, not the virtual delivery agent)
    "virtual_mailbox_maps": ("pemx-mailboxes.cf", ROUTED_MAP),
    "virtual_alias_maps": ("pemx-aliases.cf",),
    "transport_maps": (ROUTED_MAP,),
}
ROUTED_TRANSPORT: Final = "pemx-routed"


@dataclass(frozen=True)
class PostfixSubmission:
    """The submission service: its master.cf service name (``submission`` = port 587, or
    ``host:port``), chroot (Debian's default) and TLS, where pemx's policy service and
    milter listen (``host:port``), Dovecot's SASL socket (relative: under the queue
    directory) and the smarthost (``relayhost``, empty: direct delivery)."""

    policy: str = "127.0.0.1:10040"
    milter: str = "127.0.0.1:10041"
    service: str = "submission"
    chroot: bool = True
    require_tls: bool = True
    sasl_path: str = "private/auth"
    relayhost: str = ""
    relay_tls: str = "starttls"
    routed: str = "127.0.0.1:10043"  # pemx's hand-over listener (routed_port)

    def __post_init__(self) -> None:
        for name in ("policy", "milter", "service", "sasl_path", "relayhost", "routed"):
            value = getattr(self, name)
            if any(c in value for c in " \t\r\n,{}"):
                raise ValueError(f"submission {name} {value!r} has spaces or separators")


def _map_type(db: SqlDatabase) -> str:
    return "sqlite" if isinstance(db, SqliteDatabase) else "pgsql"


@cache
def _environment() -> jinja2.Environment:
    return config_environment("pemx.adapters.mail", "templates")


def render_main_cf(
    db: SqlDatabase,
    *,
    lmtp_host: str,
    lmtp_port: int,
    conf_dir: Path = POSTFIX_CONF_DIR,
    proxy: bool = True,
    submission: PostfixSubmission | None = None,
) -> str:
    """The main.cf settings (append them, or apply each with ``postconf -e``)."""
    if not 0 < lmtp_port <= 65535:
        raise ValueError(f"LMTP port {lmtp_port} is out of range")
    if not lmtp_host or any(c in lmtp_host for c in " \t\r\n,"):
        raise ValueError(f"LMTP host {lmtp_host!r} is not a host name or address")
    return (
        _environment()
        .get_template("main.cf.pemx.j2")
        .render(
            maps=_SETTING_OF,
            map_type=("proxy:" if proxy else "") + _map_type(db),
            conf_dir=conf_dir,
            lmtp_host=lmtp_host,
            lmtp_port=lmtp_port,
            sub=submission or PostfixSubmission(),
        )
    )


def render_master_cf(submission: PostfixSubmission) -> str:
    """The submission service's lines for master.cf."""
    return _environment().get_template("master.cf.pemx.j2").render(sub=submission)


def render_routed_transport(submission: PostfixSubmission) -> str:
    """The master.cf lines of the transport to pemx's inbound listener."""
    return (
        _environment()
        .get_template("master.cf.routed.j2")
        .render(sub=submission, transport=ROUTED_TRANSPORT)
    )


def routed_query(submission: PostfixSubmission) -> str:
    """pemx-routed.cf's query: an address with routes goes to pemx's inbound listener."""
    host, _, port = submission.routed.rpartition(":")
    return (
        f"SELECT '{ROUTED_TRANSPORT}:[{host}]:{port}' FROM mail_routes WHERE address = '%s' LIMIT 1"
    )


def render_map(db: SqlDatabase, query: str) -> str:
    """One map file: connection settings and the query."""
    return _environment().get_template("postfix-map.cf.j2").render(db=db, query=query)


def postfix_files(
    db: SqlDatabase,
    *,
    lmtp_host: str,
    lmtp_port: int,
    conf_dir: Path = POSTFIX_CONF_DIR,
    proxy: bool = True,
    submission: PostfixSubmission | None = None,
) -> dict[Path, str]:
    """{path: content}: ``<conf_dir>/main.cf.pemx`` (the settings), ``master.cf.pemx``
    (the submission service and the transport to pemx's inbound listener) and the five
    maps."""
    sub = submission or PostfixSubmission()
    files = {
        conf_dir / "main.cf.pemx": render_main_cf(
            db,
            lmtp_host=lmtp_host,
            lmtp_port=lmtp_port,
            conf_dir=conf_dir,
            proxy=proxy,
            submission=sub,
        ),
        conf_dir / "master.cf.pemx": render_master_cf(sub) + render_routed_transport(sub),
    }
    files.update({conf_dir / name: render_map(db, query) for name, query in MAP_QUERIES.items()})
    files[conf_dir / ROUTED_MAP] = render_map(db, routed_query(sub))
    return files
