"""`pemx status`: whether a node runs on the data directory, and its endpoints.

It reads runtime.json and never opens the database; it imports nothing it does not
need, so it answers in a fraction of a second (the CLI loads each command's module only
when that command runs)."""

from __future__ import annotations

import json
import os
import sys

import click

from pemx.cli.context import GlobalOptions
from pemx.domain.mail_ports import MailPorts
from pemx.runtime import groupware_down, leftover_dovecot, leftover_postgresql, read_runtime

STATUS_NOT_RUNNING = 3  # `pemx status` when no node runs (docs/configuration.md)

# runtime.json's entries of the sending side, as `pemx status` labels them
SENDING_LABELS = {
    "submission": "SMTP submission (sending)",
    "policy": "Postfix policy service",
    "milter": "Postfix From: milter",
    "inbound": "SMTP inbound (lists, contacts, forwarding)",
    "routed": "Postfix hand-over of lists, contacts, forwarding",
}

# runtime.json's entries of the groupware (pemx serve --groupware)
GROUPWARE_LABELS = {
    "web": "Webmail (owa)",
    "activesync": "ActiveSync",
    "caldav": "CalDAV",
    "carddav": "CardDAV",
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
            orphan = leftover_postgresql(settings.data_dir)
            if orphan is not None:
                click.echo(
                    f"a killed pemx serve left its private PostgreSQL (pid {orphan}) running; "
                    "the next `pemx serve` stops it"
                )
        sys.exit(STATUS_NOT_RUNNING)
    info = {"running": True, "data_dir": str(settings.data_dir), **info}
    if isinstance(info.get("postgresql"), dict):  # the private cluster: still running?
        running = leftover_postgresql(settings.data_dir) is not None
        info["postgresql"] = {**info["postgresql"], "running": running}
    if "web" in info:  # the groupware runs: which of its daemons are down
        info["groupware_down"] = groupware_down(settings.data_dir)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

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
    table.add_row("database", database_line(info))
    for name, label in GROUPWARE_LABELS.items():
        if name in info:
            table.add_row(label, info[name]["url"])
    Console().print(table)
    if info.get("groupware_down"):
        click.echo("groupware down: " + ", ".join(info["groupware_down"]))


def database_line(info: dict[str, object]) -> str:
    """What the node's database is: its (password-less) URL, or the private cluster."""
    cluster = info.get("postgresql")
    if isinstance(cluster, dict):
        state = "running" if cluster.get("running", True) else "DOWN"
        return (
            f"private PostgreSQL, socket {cluster['socket']}, "
            f"{cluster['host']}:{cluster['port']}, {state}"
        )
    return str(info.get("database", "?"))


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
