"""`pemx backup DIR` and `pemx restore DIR` (see pemx.backup), with a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress

from pemx.backup import BackupError
from pemx.backup import backup as make_backup
from pemx.backup import restore as restore_backup
from pemx.bootstrap import PrivateClusterError
from pemx.cli.context import GlobalOptions
from pemx.offline import reachable_database


@contextmanager
def _bar(what: str) -> Iterator[Callable[[int, int], None]]:
    """A bar that pulses while the database is copied, then counts the mailboxes."""
    console = Console(stderr=True)  # stdout stays for what a command prints
    with Progress(transient=True, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("database", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        yield advance


@click.command()
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Mailboxes copied at a time.",
)
@click.pass_obj
def backup(options: GlobalOptions, target: Path, jobs: int) -> None:
    """Copy the database and every local mailbox into TARGET (new or empty), consistently,
    also while pemx serve runs."""
    try:
        # a private PostgreSQL: the running node's cluster, or one started for the backup
        with reachable_database(options.settings()) as settings, _bar("mailboxes") as progress:
            manifest = make_backup(settings, target, progress, jobs=jobs)
    except (BackupError, PrivateClusterError) as exc:
        raise click.ClickException(str(exc)) from None
    count = len(manifest["mailboxes"])  # type: ignore[arg-type]
    click.echo(f"backed up the database and {count} mailboxes to {target}", err=True)


@click.command()
@click.argument("source", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.pass_obj
def restore(options: GlobalOptions, source: Path) -> None:
    """Bring the backup in SOURCE into a fresh data directory; then `pemx serve`."""
    settings = options.settings()
    try:
        with _bar("mailboxes") as progress:
            manifest = restore_backup(settings, source, progress)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    count = len(manifest["mailboxes"])  # type: ignore[arg-type]
    click.echo(
        f"restored the database and {count} mailboxes into {settings.data_dir}; "
        "start it with `pemx serve`",
        err=True,
    )
