"""What every command starts from: the group's options (--data-dir, --config), the
settings they name, and the database an operator's command opens (never migrating it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pemx.cli.output import one_line
from pemx.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from pemx.bootstrap import CommandDatabase


@dataclass
class GlobalOptions:
    """``pemx --data-dir ... --config ...``: handed to every command as its click obj.

    Mutable: the same options given after the subcommand (``pemx status --data-dir D``)
    are set on it while that command's arguments are parsed (see ``accept_group_options``).
    """

    data_dir: Path | None
    config: Path | None

    def settings(self, **overrides: Any) -> Settings:
        """The settings: defaults < the TOML file < PEMX_* variables < these flags."""
        try:
            return load_settings({"data_dir": self.data_dir, **overrides}, config_file=self.config)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None

    @contextmanager
    def database(self) -> Iterator[CommandDatabase]:
        """The database at this pemx's schema (else one line naming `pemx migrate`)."""
        from pemx.bootstrap import CommandDatabase  # heavy: not for `pemx status`

        settings = self.settings()
        try:
            database = CommandDatabase(settings)
        except Exception as exc:
            raise click.ClickException(f"cannot open the database: {one_line(exc)}") from None
        with database:
            yield database


def _set_group_option(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None and param.name is not None:
        setattr(ctx.ensure_object(GlobalOptions), param.name, value)


def _group_options() -> list[click.Option]:
    return [
        click.Option(
            ["--data-dir"],
            type=click.Path(file_okay=False, path_type=Path),
            expose_value=False,
            callback=_set_group_option,
            help="As `pemx --data-dir`: where pemx keeps its data.",
        ),
        click.Option(
            ["--config"],
            type=click.Path(dir_okay=False, path_type=Path),
            expose_value=False,
            callback=_set_group_option,
            help="As `pemx --config`: a TOML settings file.",
        ),
    ]


def accept_group_options(command: click.Command) -> click.Command:
    """Let ``command`` (and, for a group, each of its commands) take --data-dir and
    --config after its name too, as the docs say: `pemx serve --data-dir D`."""
    command.params.extend(_group_options())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_group_options(sub)
    return command
