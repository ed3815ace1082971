"""`pemx serve` and `pemx migrate`: running a node, and its schema (only these two
commands touch the schema: both migrate it)."""

from __future__ import annotations

import json
import logging

import click

from pemx import __version__
from pemx.bootstrap import prepare_database
from pemx.cli.context import GlobalOptions
from pemx.cli.output import one_line
from pemx.config import Settings
from pemx.node import Node, StartFailed


@click.command()
@click.option("--host", help="Address the API listens on (env PEMX_HOST; default 127.0.0.1).")
@click.option("--port", type=int, help="API port (env PEMX_PORT; default 8440; 0 = any free).")
@click.option("--database-url", help="SQLAlchemy URL (default: SQLite in the data dir).")
@click.option("--threads", type=int, help="Worker threads (default 16).")
@click.option("--no-mail", is_flag=True, help="Do not start the private Dovecot.")
@click.option(
    "--private-postgresql",
    is_flag=True,
    help="Run a private PostgreSQL in the data dir instead of SQLite (env "
    "PEMX_PRIVATE_POSTGRESQL).",
)
@click.option(
    "--groupware",
    is_flag=True,
    default=None,
    help="Also run SOGo: webmail, ActiveSync, CalDAV, CardDAV (needs PostgreSQL).",
)
@click.pass_obj
def serve(
    options: GlobalOptions,
    host: str | None,
    port: int | None,
    database_url: str | None,
    threads: int | None,
    no_mail: bool,
    private_postgresql: bool,
    groupware: bool | None,
) -> None:
    """Run the API server and a private Dovecot until interrupted."""
    settings = options.settings(
        host=host,
        port=port,
        database_url=database_url,
        threads=threads,
        mail=False if no_mail else None,
        private_postgresql=True if private_postgresql else None,
        groupware=groupware or None,
    )
    _logging(settings)
    node = Node(settings)
    try:
        node.start()
    except StartFailed as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if node.first_admin is not None:
            login, password = node.first_admin
            click.echo(
                f"Created the provider's first staff member: login {login!r}, password "
                f"{password!r}. Shown once only; set PEMX_ADMIN_LOGIN/PEMX_ADMIN_PASSWORD "
                "before the first start to choose them.",
                err=True,
            )
    click.echo(f"pemx {__version__} serving {settings.api_url(node.api_port)}", err=True)
    try:
        node.serve_until_signalled()
    finally:
        click.echo("pemx stopped", err=True)


@click.command()
@click.pass_obj
def migrate(options: GlobalOptions) -> None:
    """Create or upgrade the database schema."""
    from pemx.offline import reachable_database

    settings = options.settings()
    _logging(settings)  # the one line "database schema migrated from X to Y"
    try:
        with reachable_database(settings) as reachable:
            prepare_database(reachable).dispose()
    except Exception as exc:
        raise click.ClickException(f"migration failed: {one_line(exc)}") from None
    click.echo("database is at the newest schema", err=True)


class JsonLines(logging.Formatter):
    """log_format = "json": one JSON object per line (time, level, logger, message)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if settings.log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonLines())
