"""`pemx database move-to-postgresql`: an SQLite installation moved to PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.progress import Progress, TaskID

from pemx.cli.context import GlobalOptions
from pemx.cli.output import one_line


@click.group()
def database() -> None:
    """Move the data directory's database."""


@contextmanager
def _bars() -> Iterator[Callable[[str, int, int], None]]:
    """One progress bar per table, shown while it is copied."""
    with Progress(transient=True) as bars:
        tasks: dict[str, TaskID] = {}

        def advance(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bars.add_task(table, total=total)
            bars.update(tasks[table], completed=done, total=total)

        yield advance


@database.command("move-to-postgresql")
@click.option(
    "--database-url",
    default="",
    help="SQLAlchemy URL of an empty PostgreSQL database (postgresql+psycopg://...); "
    "default: a private PostgreSQL cluster in the data directory.",
)
@click.option("--mail-db-user", default="", help="With --database-url: the mail servers' role.")
@click.option("--mail-db-password", default="", help="With --database-url: its password.")
@click.pass_obj
def move_to_postgresql(
    options: GlobalOptions, database_url: str, mail_db_user: str, mail_db_password: str
) -> None:
    """Copy every row of the SQLite database (ids kept) into PostgreSQL in one
    transaction, check the row counts, then switch pemx.toml to it. The server must be
    stopped; the mail stays where it is, pemx.db stays as it was."""
    from pemx.offline import MoveFailed
    from pemx.offline import move_to_postgresql as move

    settings = options.settings()
    try:
        with _bars() as progress:
            result = move(
                settings,
                progress,
                database_url=database_url,
                mail_db_user=mail_db_user,
                mail_db_password=mail_db_password,
                config_file=options.config,
            )
    except MoveFailed as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:
        raise click.ClickException(f"the move failed, nothing changed: {one_line(exc)}") from None
    total = sum(result.rows.values())
    click.echo(
        f"moved {total} rows in {len(result.rows)} tables to {result.target} "
        f"({result.rows.get('mailboxes', 0)} mailboxes); {result.config_file} now names it: "
        "start pemx serve",
        err=True,
    )
