"""`pemx tasks` and `pemx tasks retry`: the outbox as an operator sees and mends it."""

from __future__ import annotations

import click

from pemx.cli.context import GlobalOptions
from pemx.cli.output import show
from pemx.domain.model import TASK_STATES, UNFINISHED
from pemx.service import outbox


@click.group(invoke_without_command=True)
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(list(TASK_STATES)),
    help="Show tasks in this state (repeatable; default: pending, running, failed).",
)
@click.option("--mailbox", "mailbox_id", type=int, help="Only this mailbox's tasks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def tasks(
    ctx: click.Context, states: tuple[str, ...], mailbox_id: int | None, as_json: bool
) -> None:
    """List the outbox: side effects waiting for, or given up on, the mail backend."""
    if ctx.invoked_subcommand is not None:
        return
    options: GlobalOptions = ctx.obj
    with options.database() as database:
        rows = outbox.list_tasks(
            database.unit_of_work(), states=states or UNFINISHED, mailbox_id=mailbox_id
        )
    show(
        "pemx tasks",
        rows,
        as_json,
        {
            "id": lambda r: str(r.id),
            "kind": lambda r: r.kind,
            "mailbox": lambda r: str(r.mailbox_id or ""),
            "state": lambda r: r.state,
            "attempts": lambda r: str(r.attempts),
            "due (UTC)": lambda r: r.due_at.strftime("%Y-%m-%d %H:%M:%S"),
            "last error": lambda r: r.last_error or "",
        },
    )


@tasks.command("retry")
@click.argument("task_ids", nargs=-1, type=int)
@click.option("--all-failed", is_flag=True, help="Retry every failed task.")
@click.pass_obj
def retry(options: GlobalOptions, task_ids: tuple[int, ...], all_failed: bool) -> None:
    """Put failed tasks back in the queue, due now (the running worker picks them up)."""
    if bool(task_ids) == all_failed:
        raise click.UsageError("give task ids or --all-failed (not both)")
    params = {"task_ids": list(task_ids)} if task_ids else {"all_failed": True}
    with options.database() as database:
        uow = database.unit_of_work("pemx tasks retry", params)
        retried = outbox.retry_tasks(uow, list(task_ids) or None)
    missing = sorted(set(task_ids) - set(retried))
    click.echo(f"queued again: {', '.join(map(str, retried)) or 'none'}")
    if missing:
        raise click.ClickException(f"not failed (or unknown): {', '.join(map(str, missing))}")
