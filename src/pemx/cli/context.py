"""What every command starts from: the group's options (--data-dir, --config), the
settings they name, and the database an operator's command opens (never migrating it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from pemx.bootstrap import CommandDatabase
from pemx.cli.output import one_line
from pemx.config import Settings, SettingsError, load_settings


@dataclass(frozen=True)
class GlobalOptions:
    """``pemx --data-dir ... --config ...``: handed to every command as its click obj."""

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
        settings = self.settings()
        try:
            database = CommandDatabase(settings)
        except Exception as exc:
            raise click.ClickException(f"cannot open the database: {one_line(exc)}") from None
        with database:
            yield database
