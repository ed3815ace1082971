"""What `pemx mail-config` writes: the files of a system Dovecot (store or proxy) or of
a Postfix front end, and the steps that install them.

``plan`` makes every decision (ports, store, doveadm key, paths, steps) and touches
nothing; ``write`` puts the files into a directory. The CLI only parses and prints.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from pemx.adapters.groupware import system as groupware_system
from pemx.adapters.mail import postfix
from pemx.adapters.mail.database import PgsqlDatabase, database_from_url
from pemx.adapters.mail.dovecot import system
from pemx.config import Settings
from pemx.domain.model import LOCAL_STORE_ID, MailboxStore

__all__ = ["Kind", "MailConfigPlan", "StoreAccess", "plan", "write"]

Kind = Literal["dovecot", "proxy", "postfix", "sogo"]
#: a mailbox store and its doveadm API key
StoreAccess = tuple[MailboxStore, str]


@dataclass(frozen=True)
class MailConfigPlan:
    """The files to install under ``target`` (absolute paths), their mode, the steps."""

    kind: Kind
    target: Path
    files: dict[Path, str]
    mode: int
    steps: list[str]


def plan(
    kind: Kind,
    settings: Settings,
    store: StoreAccess | None = None,
    *,
    conf_dir: Path | None = None,
    mail_root: Path | None = None,
    mail_user: str | None = None,
    lmtp: str | None = None,
    db_user: str | None = None,
    db_password: str | None = None,
    trusted_networks: str = "",
) -> MailConfigPlan:
    """The configs for a system Dovecot holding mailboxes (``store``: that mailbox store,
    None: the local store 1), a Dovecot proxy, or Postfix. ``ValueError`` on a bad value.
    """
    db = database_from_url(
        settings.database,
        user=db_user or settings.mail_db_user or None,
        password=db_password if db_password is not None else settings.mail_db_password or None,
    )
    # The files hold the database password: not world-readable then.
    mode = 0o640 if isinstance(db, PgsqlDatabase) else 0o644
    # A system Dovecot (store or proxy) listens on the standard ports; the webmail,
    # ActiveSync and doveadm listeners keep the settings' numbers.
    system_ports = replace(settings.mail_ports, imap=143, pop3=110, lmtp=24)
    if kind == "dovecot":
        target = conf_dir or system.SYSTEM_CONF_DIR
        user = mail_user or system.SYSTEM_MAIL_USER
        if store is not None:
            row, api_key = store
            ports, root, store_id, reach = row.ports, Path(row.mail_root), row.id, row.host
        else:
            api_key = settings.doveadm_api_key or secrets.token_hex(16)
            ports = system_ports
            root = mail_root or system.SYSTEM_MAIL_ROOT
            store_id, reach = LOCAL_STORE_ID, "127.0.0.1"
        cfg = system.system_dovecot_config(
            db,
            ports=ports,
            conf_dir=target,
            mail_root=root,
            mail_user=user,
            mail_group=user,
            store_id=store_id,
            login_trusted_networks=trusted_networks,
            doveadm_api_key=api_key,
        )
        files = system.system_dovecot_files(cfg, lmtp_address=reach, doveadm_address=reach)
        steps = [
            f"adduser --system --group --home {cfg.mail_root} {user}; "
            f"install -d -o {user} -g {user} -m 700 {cfg.mail_root}",
            f"copy the files to {target} (same relative paths)",
            f"comment out '!include auth-system.conf.ext' in {target}/conf.d/10-auth.conf",
            "doveconf -n (check), then systemctl restart dovecot",
            "start pemx without its private Dovecot: pemx serve --no-mail"
            + (
                f", with doveadm_api_key = {api_key} in pemx.toml"
                if store is None and not settings.doveadm_api_key
                else ""
            ),
        ]
    elif kind == "proxy":
        target = conf_dir or system.SYSTEM_CONF_DIR
        cfg = system.system_dovecot_config(db, ports=system_ports, conf_dir=target)
        files = system.system_proxy_files(cfg)
        steps = [
            f"copy the files to {target} (same relative paths)",
            f"comment out '!include auth-system.conf.ext' in {target}/conf.d/10-auth.conf",
            "doveconf -n (check), then systemctl restart dovecot",
            "render each store with --kind dovecot --store NAME --trusted-networks "
            "<this proxy's address>",
        ]
    elif kind == "sogo":
        target = conf_dir or groupware_system.SYSTEM_CONF_DIR
        files, steps = groupware_system.plan(
            settings, target, db_user=db_user, db_password=db_password
        )
        mode = 0o640  # the plists hold the database password
    else:
        target = conf_dir or postfix.POSTFIX_CONF_DIR
        host, port = _host_port(lmtp or f"{settings.mail_host}:{settings.lmtp_port}")
        relayhost = (
            f"[{settings.smarthost_host}]:{settings.smarthost_port}"
            if settings.smarthost_host
            else ""
        )
        submission = postfix.PostfixSubmission(
            policy=f"127.0.0.1:{settings.policy_port}",
            milter=f"127.0.0.1:{settings.milter_port}",
            routed=f"127.0.0.1:{settings.routed_port}",
            relayhost=relayhost,
            relay_tls=settings.smarthost_tls,
        )
        files = postfix.postfix_files(
            db, lmtp_host=host, lmtp_port=port, conf_dir=target, submission=submission
        )
        steps = [
            "apt-get install postfix postfix-sqlite (or postfix-pgsql)",
            f"copy the pemx-*.cf files to {target} (mode 640, group postfix)",
            f"apply each setting of main.cf.pemx: postconf -e 'name = value' (or append to "
            f"{target}/main.cf)",
            f"append master.cf.pemx (the submission service) to {target}/master.cf; TLS "
            "needs smtpd_tls_cert_file and smtpd_tls_key_file",
            "run pemx serve on this host (its policy service, milter and hand-over listener "
            f"are on 127.0.0.1:{settings.policy_port}, :{settings.milter_port} and "
            f":{settings.routed_port}); Dovecot "
            "(--kind dovecot) gives Postfix its SASL socket: start it first",
            f"check: postmap -q <address> proxy:...:{target}/pemx-aliases.cf",
            "systemctl reload postfix",
        ]
    return MailConfigPlan(kind, target, files, mode, steps)


def write(plan: MailConfigPlan, output: Path) -> list[Path]:
    """Write the files into ``output`` (their paths relative to the target); OSError."""
    written = []
    for path, text in plan.files.items():
        dest = output / path.relative_to(plan.target)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        dest.chmod(plan.mode)
        written.append(dest)
    return written


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"--lmtp {value!r}: expected HOST:PORT")
    return host, int(port)
