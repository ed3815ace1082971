"""`pemx serve`, `pemx status` and `pemx migrate`: running a node, and its schema.

Only these two commands touch the schema (serve and migrate migrate it); status reads
runtime.json and never opens the database.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import click
from rich.console import Console
from rich.table import Table

from pemx import __version__
from pemx.bootstrap import prepare_database
from pemx.cli.context import GlobalOptions
from pemx.cli.output import one_line
from pemx.config import Settings
from pemx.domain.mail_ports import MailPorts
from pemx.node import Node, StartFailed
from pemx.runtime import leftover_dovecot, read_runtime

STATUS_NOT_RUNNING = 3  # `pemx status` when no node runs (docs/configuration.md)


@click.command()
@click.option("--host", help="Address the API listens on (env PEMX_HOST; default 127.0.0.1).")
@click.option("--port", type=int, help="API port (env PEMX_PORT; default 8440; 0 = any free).")
@click.option("--database-url", help="SQLAlchemy URL (default: SQLite in the data dir).")
@click.option("--threads", type=int, help="Worker threads (default 16).")
@click.option("--no-mail", is_flag=True, help="Do not start the private Dovecot.")
@click.pass_obj
def serve(
    options: GlobalOptions,
    host: str | None,
    port: int | None,
    database_url: str | None,
    threads: int | None,
    no_mail: bool,
) -> None:
    """Run the API server and a private Dovecot until interrupted."""
    settings = options.settings(
        host=host,
        port=port,
        database_url=database_url,
        threads=threads,
        mail=False if no_mail else None,
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


# runtime.json's entries of the sending side, as `pemx status` labels them
SENDING_LABELS = {
    "submission": "SMTP submission (sending)",
    "policy": "Postfix policy service",
    "milter": "Postfix From: milter",
}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the endpoints as JSON.")
@click.pass_obj
def status(options: GlobalOptions, as_json: bool) -> None:
    """Show whether pemx runs and the endpoints a client needs."""
    settings = options.settings()
    info = read_runtime(settings.data_dir)
    if info is None or not _alive(int(info.get("pid", 0))):
        if as_json:
            click.echo(json.dumps({"running": False, "data_dir": str(settings.data_dir)}))
        else:
            click.echo(f"pemx is not running (data dir {settings.data_dir})")
            orphan = leftover_dovecot(settings.data_dir)
            if orphan is not None:
                click.echo(
                    f"a killed pemx serve left a Dovecot (pid {orphan}) running; "
                    "the next `pemx serve` stops it"
                )
        sys.exit(STATUS_NOT_RUNNING)
    info = {"running": True, "data_dir": str(settings.data_dir), **info}
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    table = Table(title=f"pemx (pid {info['pid']}) — {settings.data_dir}")
    table.add_column("endpoint")
    table.add_column("address")
    table.add_row("XML-RPC API", info["api"]["url"])
    for name, label in MailPorts.LABELS.items():
        if name in info and name != "doveadm_http":  # the operator's port, not a client's
            table.add_row(label, f"{info[name]['host']}:{info[name]['port']}")
    for name, label in SENDING_LABELS.items():
        if name in info:
            table.add_row(label, f"{info[name]['host']}:{info[name]['port']}")
    Console().print(table)


@click.command()
@click.pass_obj
def migrate(options: GlobalOptions) -> None:
    """Create or upgrade the database schema."""
    settings = options.settings()
    _logging(settings)  # the one line "database schema migrated from X to Y"
    try:
        prepare_database(settings).dispose()
    except Exception as exc:
        raise click.ClickException(f"migration failed: {one_line(exc)}") from None
    click.echo("database is at the newest schema", err=True)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
