"""`pemx audit`: who changed what, through the API or the CLI, newest first."""

from __future__ import annotations

from datetime import datetime

import click

from pemx.cli.context import GlobalOptions
from pemx.cli.output import show
from pemx.service.audit import find_entries
from pemx.service.ports import AuditQuery


@click.command()
@click.option("--account", "account_id", type=int, help="Entries touching this account.")
@click.option("--object", "object_ref", help="Entries touching this object, e.g. mailbox:5.")
@click.option("--since", type=click.DateTime(), help="From this UTC time (ISO 8601).")
@click.option("--until", type=click.DateTime(), help="Before this UTC time (ISO 8601).")
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def audit(
    options: GlobalOptions,
    account_id: int | None,
    object_ref: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show the audit log, newest first: who changed what, through the API or the CLI."""
    kind = object_id = None
    if object_ref is not None:
        kind, sep, number = object_ref.partition(":")
        if not sep or not number.isdigit() or not kind:
            raise click.BadParameter("expected KIND:ID, e.g. mailbox:5", param_hint="--object")
        object_id = int(number)
    with options.database() as database:
        query = AuditQuery(account_id, kind, object_id, since, until, limit)
        entries = find_entries(database.unit_of_work(), query)
    show(
        "pemx audit",
        entries,
        as_json,
        {
            "id": lambda e: str(e.id),
            "at (UTC)": lambda e: e.at.strftime("%Y-%m-%d %H:%M:%S"),
            "actor": lambda e: e.actor,
            "method": lambda e: e.method,
            "objects": lambda e: " ".join(e.objects),
            "outcome": lambda e: e.outcome,
            "request": lambda e: e.request_id or "",
        },
    )
