"""`pemx mail-config`: the configs of a system Dovecot (store or proxy) or of a Postfix
front end. The decisions are the deploy plan's (adapters/mail/deploy.py, through
bootstrap); this command parses, looks the store up, writes the files and prints."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from pemx.bootstrap import MailConfigKind, plan_mail_config, write_mail_config
from pemx.cli.context import GlobalOptions
from pemx.cli.output import one_line
from pemx.domain.model import MailboxStore
from pemx.service.stores import store_named


@click.command("mail-config")
@click.option(
    "--kind",
    type=click.Choice(["dovecot", "proxy", "postfix", "sogo"]),
    required=True,
    help="dovecot: a system Dovecot 2.3 holding mailboxes (a mailbox store); proxy: a "
    "Dovecot proxy in front of the stores; postfix: a Postfix front end (LMTP); sogo: "
    "the groupware (SOGo, its memcached and an nginx site) on the shared PostgreSQL.",
)
@click.option(
    "--store",
    "store_name",
    help="dovecot: render the mailbox store NAME (see `pemx stores`): its ports, mail root "
    "and doveadm key, serving only its mailboxes. Default: store 1 (local).",
)
@click.option(
    "--trusted-networks",
    default="",
    help="dovecot: the proxies' addresses (login_trusted_networks), space-separated.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write the files into (created; existing files are replaced).",
)
@click.option(
    "--conf-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the files will be installed (default /etc/dovecot, /etc/postfix or "
    "/etc/pemx-sogo).",
)
@click.option("--mail-root", type=click.Path(path_type=Path), help="dovecot: default /var/vmail.")
@click.option("--mail-user", help="dovecot: owner of the mail files (default vmail).")
@click.option(
    "--lmtp",
    help="postfix: Dovecot's LMTP HOST:PORT (default: mail_host:lmtp_port from the settings).",
)
@click.option("--db-user", help="PostgreSQL: the read-only role the mail servers log in as.")
@click.option("--db-password", help="PostgreSQL: that role's password.")
@click.pass_obj
def mail_config(
    options: GlobalOptions,
    kind: str,
    output: Path,
    conf_dir: Path | None,
    mail_root: Path | None,
    mail_user: str | None,
    lmtp: str | None,
    db_user: str | None,
    db_password: str | None,
    store_name: str | None,
    trusted_networks: str,
) -> None:
    """Write the configs for a system Dovecot (store or proxy) or a Postfix front end."""
    settings = options.settings()
    store = _store_named(options, store_name) if store_name is not None else None
    try:
        plan = plan_mail_config(
            cast(MailConfigKind, kind),
            settings,
            store,
            conf_dir=conf_dir,
            mail_root=mail_root,
            mail_user=mail_user,
            lmtp=lmtp,
            db_user=db_user,
            db_password=db_password,
            trusted_networks=trusted_networks,
        )
    except ValueError as exc:
        raise click.ClickException(one_line(exc)) from None
    try:
        written = write_mail_config(plan, output)
    except OSError as exc:
        raise click.ClickException(f"cannot write to {output}: {one_line(exc)}") from None
    click.echo(f"Wrote the {kind} config for {plan.target}:")
    for dest in written:
        click.echo(f"  {dest}")
    click.echo("Next:")
    for number, step in enumerate(plan.steps, 1):
        click.echo(f"  {number}. {step}")


def _store_named(options: GlobalOptions, name: str) -> tuple[MailboxStore, str]:
    """The mailbox store NAME and its doveadm key (the config serves its mailboxes)."""
    with options.database() as database:
        found = store_named(database.unit_of_work(), name)
    if found is None:
        raise click.ClickException(f"no mailbox store named {name!r} (see `pemx stores`)")
    return found
