"""The `pemx` command: serve, status, migrate, mail-config, tasks, audit, stores, members,
database.

Each command parses its options, calls bootstrap or a service function, and prints. A
call refused with a PemxError ends the command here, in one place: its message on one
line (`Error: ...`) and the exit status of its code (``EXIT_STATUS``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import click

from pemx import __version__
from pemx.cli.context import GlobalOptions, accept_group_options
from pemx.domain.errors import ErrorCode, PemxError

#: The exit status of a command refused with each error code: 1 for every one
#: (docs/errors.md). 2 is click's usage error and 3 `pemx status`'s "not running".
EXIT_STATUS: Mapping[ErrorCode, int] = MappingProxyType({code: 1 for code in ErrorCode})


#: command name -> (module, attribute): each module is imported only when its command
#: runs (`pemx status` must not pay for SQLAlchemy, Alembic and the API).
COMMANDS = {
    "serve": ("pemx.cli.serve", "serve"),
    "status": ("pemx.cli.status", "status"),
    "migrate": ("pemx.cli.serve", "migrate"),
    "mail-config": ("pemx.cli.mail_config", "mail_config"),
    "tasks": ("pemx.cli.tasks", "tasks"),
    "audit": ("pemx.cli.audit", "audit"),
    "stores": ("pemx.cli.stores", "stores"),
    "members": ("pemx.cli.members", "members"),
    "systemd-unit": ("pemx.cli.unit", "systemd_unit"),
    "backup": ("pemx.cli.backup", "backup"),
    "restore": ("pemx.cli.backup", "restore"),
    "database": ("pemx.cli.database", "database"),
}


class PemxGroup(click.Group):
    """The command group that ends a command refused with a PemxError, whichever it is,
    and loads the commands of COMMANDS when they are asked for."""

    def __init__(
        self, *args: Any, lazy: Mapping[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, attribute = self.lazy[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(accept_group_options(command), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PemxError as exc:
            click.echo(f"Error: {exc.message}", err=True)  # as click prints its errors
            ctx.exit(EXIT_STATUS[exc.code])


@click.group(cls=PemxGroup, lazy=COMMANDS)
@click.version_option(__version__, prog_name="pemx")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where pemx keeps its database, mail and state (env PEMX_DATA_DIR; default "
    "/var/lib/pemx for root, ~/.local/share/pemx for others).",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML settings file (default: <data-dir>/pemx.toml).",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, config: Path | None) -> None:
    """pemx: the Operations (OA) public API for hosted mailboxes, made real on Dovecot."""
    ctx.obj = GlobalOptions(data_dir, config)  # options after the subcommand win


def main() -> None:
    """`pemx`: every error on one line, a usage error too (click prints the usage and a
    hint before it otherwise)."""
    try:
        status = cli(standalone_mode=False)
    except click.UsageError as exc:
        where = f"`{exc.ctx.command_path} --help`" if exc.ctx else "`pemx --help`"
        click.echo(f"Error: {exc.format_message()} See {where}.", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)
