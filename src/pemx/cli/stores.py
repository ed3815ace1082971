"""`pemx stores`, `stores add`, `stores set` and `stores remove`: the mailbox stores
(Dovecot backends)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from pemx.bootstrap import store_problem_at
from pemx.cli.context import GlobalOptions
from pemx.cli.output import show
from pemx.domain.mail_ports import MailPorts
from pemx.service.stores import (
    StoreValues,
    add_store,
    audit_params,
    change_store,
    list_stores,
    remove_store,
)

Command = TypeVar("Command", bound=Callable[..., Any])

#: the store's columns that hold its listeners, in MailPorts' order (imap_port, ...)
PORT_COLUMNS = tuple(MailPorts.COLUMNS.values())
#: what `stores add` needs besides the limit and accepts_new (which have defaults)
REQUIRED = ("host", *PORT_COLUMNS, "doveadm_api_key", "mail_root")


def _store_options(command: Command) -> Command:
    """The options `stores add` and `stores set` share (set: only what is given changes)."""
    for column in reversed(PORT_COLUMNS):
        command = click.option(
            f"--{column.replace('_', '-')}",
            type=click.IntRange(1, 65535),
            help=f"{column.removesuffix('_port')} port",
        )(command)
    command = click.option("--host", help="Address the proxy and the API nodes reach it at.")(
        command
    )
    command = click.option("--doveadm-api-key", help="The store's doveadm_api_key.")(command)
    command = click.option(
        "--mail-root", help="Its mail root on its own host (homes: <root>/<id>)."
    )(command)
    command = click.option(
        "--max-mailboxes", type=click.IntRange(0), help="Most mailboxes it takes (0: no limit)."
    )(command)
    return click.option(
        "--accepts-new/--closed", default=None, help="Whether new mailboxes may be placed there."
    )(command)


def _store_values(options: dict[str, Any]) -> StoreValues:
    """The options given (None: not given), accepts_new last as the audit log has it."""
    ordered = {k: v for k, v in options.items() if k != "accepts_new"}
    ordered["accepts_new"] = options.get("accepts_new")
    return {k: v for k, v in ordered.items() if v is not None}


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stores(ctx: click.Context, as_json: bool) -> None:
    """List the mailbox stores (Dovecot backends) and how full they are."""
    if ctx.invoked_subcommand is not None:
        return
    options: GlobalOptions = ctx.obj
    with options.database() as database:
        rows = list_stores(database.unit_of_work())
    show(
        "mailbox stores",
        rows,
        as_json,
        {
            "id": lambda s: str(s.id),
            "name": lambda s: s.name,
            "host": lambda s: s.host,
            "imap/pop3/lmtp/doveadm": lambda s: (
                f"{s.imap_port}/{s.pop3_port}/{s.lmtp_port}/{s.doveadm_port}"
            ),
            "mailboxes": lambda s: f"{s.mailbox_count}/{s.max_mailboxes or '∞'}",
            "new mailboxes": lambda s: "yes" if s.accepts_new else "closed",
            "status": lambda s: str(int(s.status)),
        },
    )


@stores.command("add")
@click.argument("name")
@_store_options
@click.option(
    "--no-check", is_flag=True, help="Add it without checking that it answers (set it up later)."
)
@click.pass_obj
def add(options: GlobalOptions, /, name: str, no_check: bool, **given: Any) -> None:
    """Register a mailbox store once it answers: new mailboxes may be placed on it at once."""
    values = _store_values(given)
    missing = [f"--{k.replace('_', '-')}" for k in REQUIRED if k not in values]
    if missing:
        raise click.UsageError("missing " + ", ".join(missing))
    # "live at the ack": a store that does not answer never takes a mailbox
    problem = (
        None
        if no_check
        else store_problem_at(
            str(values["host"]), int(values["imap_port"]), int(values["doveadm_port"])
        )
    )
    if problem is not None:
        raise click.ClickException(f"store {name!r} does not answer ({problem}); not added")
    with options.database() as database:
        uow = database.unit_of_work("pemx stores add", audit_params(name, values))
        store_id = add_store(uow, name, values)
    click.echo(f"mailbox store {name!r} added with id {store_id}", err=True)


@stores.command("set")
@click.argument("name")
@_store_options
@click.pass_obj
def set_(options: GlobalOptions, /, name: str, **given: Any) -> None:
    """Change a store: its limit, whether it takes new mailboxes, where it listens."""
    values = _store_values(given)
    if not values:
        raise click.UsageError("nothing to change")
    with options.database() as database:
        uow = database.unit_of_work("pemx stores set", audit_params(name, values))
        change_store(uow, name, values)
    click.echo(f"mailbox store {name!r} changed", err=True)


@stores.command("remove")
@click.argument("name")
@click.pass_obj
def remove(options: GlobalOptions, /, name: str) -> None:
    """Remove an empty mailbox store (not store 1, the node's own)."""
    with options.database() as database:
        remove_store(database.unit_of_work("pemx stores remove", {"name": name}), name)
    click.echo(f"mailbox store {name!r} removed", err=True)
