"""The `pemx` command: serve, status, migrate, mail-config, tasks, audit, stores."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import click
from rich.console import Console
from rich.table import Table

from pemx import __version__
from pemx.config import Settings, SettingsError, load_settings
from pemx.domain.errors import PemxError
from pemx.domain.model import MailboxStore

console = Console(stderr=True)


def _settings(ctx_obj: dict[str, Any], **overrides: Any) -> Settings:
    try:
        return load_settings(
            {"data_dir": ctx_obj.get("data_dir"), **overrides}, config_file=ctx_obj.get("config")
        )
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(__version__, prog_name="pemx")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where pemx keeps its database, mail and state (env PEMX_DATA_DIR).",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML settings file (default: <data-dir>/pemx.toml).",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, config: Path | None) -> None:
    """pemx: the Operations (OA) public API for hosted mailboxes, made real on Dovecot."""
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir
    ctx.obj["config"] = config


@cli.command()
@click.option("--host", help="Address the API listens on (env PEMX_HOST; default 127.0.0.1).")
@click.option("--port", type=int, help="API port (env PEMX_PORT; default 8440; 0 = any free).")
@click.option("--database-url", help="SQLAlchemy URL (default: SQLite in the data dir).")
@click.option("--threads", type=int, help="Worker threads (default 16).")
@click.option("--no-mail", is_flag=True, help="Do not start the private Dovecot.")
@click.pass_obj
def serve(
    obj: dict[str, Any],
    host: str | None,
    port: int | None,
    database_url: str | None,
    threads: int | None,
    no_mail: bool,
) -> None:
    """Run the API server and a private Dovecot until interrupted."""
    from pemx.node import Node, StartFailed

    settings = _settings(
        obj,
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


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the endpoints as JSON.")
@click.pass_obj
def status(obj: dict[str, Any], as_json: bool) -> None:
    """Show whether pemx runs and the endpoints a client needs."""
    from pemx.runtime import read_runtime

    settings = _settings(obj)
    info = read_runtime(settings.data_dir)
    running = info is not None and _alive(int(info.get("pid", 0)))
    if info is None or not running:
        if as_json:
            click.echo(json.dumps({"running": False, "data_dir": str(settings.data_dir)}))
        else:
            click.echo(f"pemx is not running (data dir {settings.data_dir})")
        sys.exit(3)
    info = {"running": True, "data_dir": str(settings.data_dir), **info}
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    table = Table(title=f"pemx (pid {info['pid']}) — {settings.data_dir}")
    table.add_column("endpoint")
    table.add_column("address")
    table.add_row("XML-RPC API", info["api"]["url"])
    for key, label in (
        ("imap", "IMAP"),
        ("pop3", "POP3"),
        ("lmtp", "LMTP (delivery)"),
        ("imap_owa", "IMAP for webmail (OWA switch)"),
        ("imap_activesync", "IMAP for ActiveSync gateway"),
    ):
        if key in info:
            table.add_row(label, f"{info[key]['host']}:{info[key]['port']}")
    Console().print(table)


@cli.command()
@click.pass_obj
def migrate(obj: dict[str, Any]) -> None:
    """Create or upgrade the database schema."""
    from pemx import bootstrap

    settings = _settings(obj)
    _logging(settings)  # the one line "database schema migrated from X to Y"
    try:
        bootstrap.prepare_database(settings).dispose()
    except Exception as exc:
        raise click.ClickException(f"migration failed: {_one_line(exc)}") from None
    click.echo("database is at the newest schema", err=True)


@cli.command("mail-config")
@click.option(
    "--kind",
    type=click.Choice(["dovecot", "proxy", "postfix"]),
    required=True,
    help="dovecot: a system Dovecot 2.3 holding mailboxes (a mailbox store); proxy: a "
    "Dovecot proxy in front of the stores; postfix: a Postfix front end (LMTP).",
)
@click.option(
    "--store",
    "store_name",
    help="dovecot: render the mailbox store NAME (see `pemx stores`): its ports, mail root "
    "and doveadm key, serving only its mailboxes. Default: store 1 (local).",
)
@click.option(
    "--trusted-networks",
    default="",
    help="dovecot: the proxies' addresses (login_trusted_networks), space-separated.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write the files into (created; existing files are replaced).",
)
@click.option(
    "--conf-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the files will be installed (default /etc/dovecot or /etc/postfix).",
)
@click.option("--mail-root", type=click.Path(path_type=Path), help="dovecot: default /var/vmail.")
@click.option("--mail-user", help="dovecot: owner of the mail files (default vmail).")
@click.option(
    "--lmtp",
    help="postfix: Dovecot's LMTP HOST:PORT (default: mail_host:lmtp_port from the settings).",
)
@click.option("--db-user", help="PostgreSQL: the read-only role the mail servers log in as.")
@click.option("--db-password", help="PostgreSQL: that role's password.")
@click.pass_obj
def mail_config(
    obj: dict[str, Any],
    kind: str,
    output: Path,
    conf_dir: Path | None,
    mail_root: Path | None,
    mail_user: str | None,
    lmtp: str | None,
    db_user: str | None,
    db_password: str | None,
    store_name: str | None,
    trusted_networks: str,
) -> None:
    """Write the configs for a system Dovecot (store or proxy) or a Postfix front end."""
    from pemx.adapters.mail import deploy

    settings = _settings(obj)
    store = _store_named(obj, store_name) if store_name is not None else None
    try:
        plan = deploy.plan(
            cast(deploy.Kind, kind),
            settings,
            store,
            conf_dir=conf_dir,
            mail_root=mail_root,
            mail_user=mail_user,
            lmtp=lmtp,
            db_user=db_user,
            db_password=db_password,
            trusted_networks=trusted_networks,
        )
    except ValueError as exc:
        raise click.ClickException(_one_line(exc)) from None
    try:
        written = deploy.write(plan, output)
    except OSError as exc:
        raise click.ClickException(f"cannot write to {output}: {_one_line(exc)}") from None
    click.echo(f"Wrote the {kind} config for {plan.target}:")
    for dest in written:
        click.echo(f"  {dest}")
    click.echo("Next:")
    for number, step in enumerate(plan.steps, 1):
        click.echo(f"  {number}. {step}")


@cli.group(invoke_without_command=True)
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(["pending", "running", "done", "failed"]),
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
    from pemx.adapters.db.unit_of_work import SqlUnitOfWork
    from pemx.service import outbox

    database = _database(ctx.obj)
    try:
        rows = outbox.list_tasks(
            SqlUnitOfWork(database), states=states or outbox.UNFINISHED, mailbox_id=mailbox_id
        )
    finally:
        database.dispose()
    _show(
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
def tasks_retry(obj: dict[str, Any], task_ids: tuple[int, ...], all_failed: bool) -> None:
    """Put failed tasks back in the queue, due now (the running worker picks them up)."""
    from pemx.bootstrap import cli_unit_of_work
    from pemx.service import outbox

    if bool(task_ids) == all_failed:
        raise click.UsageError("give task ids or --all-failed (not both)")
    database = _database(obj)
    params = {"task_ids": list(task_ids)} if task_ids else {"all_failed": True}
    try:
        uow = cli_unit_of_work(database, "pemx tasks retry", params)
        retried = outbox.retry_tasks(uow, list(task_ids) or None)
    finally:
        database.dispose()
    missing = sorted(set(task_ids) - set(retried))
    click.echo(f"queued again: {', '.join(map(str, retried)) or 'none'}")
    if missing:
        raise click.ClickException(f"not failed (or unknown): {', '.join(map(str, missing))}")


@cli.command()
@click.option("--account", "account_id", type=int, help="Entries touching this account.")
@click.option("--object", "object_ref", help="Entries touching this object, e.g. mailbox:5.")
@click.option("--since", type=click.DateTime(), help="From this UTC time (ISO 8601).")
@click.option("--until", type=click.DateTime(), help="Before this UTC time (ISO 8601).")
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def audit(
    obj: dict[str, Any],
    account_id: int | None,
    object_ref: str | None,
    since: Any,
    until: Any,
    limit: int,
    as_json: bool,
) -> None:
    """Show the audit log, newest first: who changed what, through the API or the CLI."""
    from pemx.adapters.db.unit_of_work import SqlUnitOfWork
    from pemx.service.audit import find_entries

    kind = object_id = None
    if object_ref is not None:
        kind, sep, number = object_ref.partition(":")
        if not sep or not number.isdigit() or not kind:
            raise click.BadParameter("expected KIND:ID, e.g. mailbox:5", param_hint="--object")
        object_id = int(number)
    database = _database(obj)
    try:
        entries = find_entries(
            SqlUnitOfWork(database),
            account_id=account_id,
            kind=kind,
            object_id=object_id,
            since=since,
            until=until,
            limit=limit,
        )
    finally:
        database.dispose()
    _show(
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


_STORE_PORTS = ("imap", "pop3", "lmtp", "imap_owa", "imap_activesync", "doveadm")


def _store_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options `stores add` and `stores set` share (set: only what is given changes)."""
    for port in reversed(_STORE_PORTS):
        command = click.option(
            f"--{port.replace('_', '-')}-port", type=click.IntRange(1, 65535), help=f"{port} port"
        )(command)
    command = click.option("--host", help="Address the proxy and the API nodes reach it at.")(
        command
    )
    command = click.option("--doveadm-api-key", help="The store's doveadm_api_key.")(command)
    command = click.option(
        "--mail-root", help="Its mail root on its own host (homes: <root>/<id>)."
    )(command)
    command = click.option(
        "--max-mailboxes", type=click.IntRange(0), help="Most mailboxes it takes (0: no limit)."
    )(command)
    return click.option(
        "--accepts-new/--closed", default=None, help="Whether new mailboxes may be placed there."
    )(command)


def _store_named(obj: dict[str, Any], name: str) -> tuple[MailboxStore, str]:
    from pemx.adapters.db.unit_of_work import SqlUnitOfWork
    from pemx.service.stores import store_named

    database = _database(obj)
    try:
        found = store_named(SqlUnitOfWork(database), name)
    finally:
        database.dispose()
    if found is None:
        raise click.ClickException(f"no mailbox store named {name!r} (see `pemx stores`)")
    return found


def _store_values(options: dict[str, Any]) -> dict[str, Any]:
    renamed = {"accepts_new": options.pop("accepts_new", None)}
    return {k: v for k, v in {**options, **renamed}.items() if v is not None}


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stores(ctx: click.Context, as_json: bool) -> None:
    """List the mailbox stores (Dovecot backends) and how full they are."""
    if ctx.invoked_subcommand is not None:
        return
    from pemx.adapters.db.unit_of_work import SqlUnitOfWork
    from pemx.service.stores import list_stores

    database = _database(ctx.obj)
    try:
        rows = list_stores(SqlUnitOfWork(database))
    finally:
        database.dispose()
    _show(
        "mailbox stores",
        rows,
        as_json,
        {
            "id": lambda s: str(s.id),
            "name": lambda s: s.name,
            "host": lambda s: s.host,
            "imap/pop3/lmtp/doveadm": lambda s: (
                f"{s.imap_port}/{s.pop3_port}/{s.lmtp_port}/{s.doveadm_port}"
            ),
            "mailboxes": lambda s: f"{s.mailbox_count}/{s.max_mailboxes or '∞'}",
            "new mailboxes": lambda s: "yes" if s.accepts_new else "closed",
            "status": lambda s: str(int(s.status)),
        },
    )


@stores.command("add")
@click.argument("name")
@_store_options
@click.pass_obj
def stores_add(obj: dict[str, Any], /, name: str, **options: Any) -> None:
    """Register a mailbox store: new mailboxes may be placed on it at once."""
    from pemx.bootstrap import cli_unit_of_work
    from pemx.service.stores import add_store, audit_params

    values = _store_values(options)
    missing = [
        f"--{k.replace('_', '-')}"
        for k in ("host", *(f"{p}_port" for p in _STORE_PORTS), "doveadm_api_key", "mail_root")
        if k not in values
    ]
    if missing:
        raise click.UsageError("missing " + ", ".join(missing))
    database = _database(obj)
    try:
        uow = cli_unit_of_work(database, "pemx stores add", audit_params(name, values))
        store_id = add_store(uow, name, values)
    except PemxError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        database.dispose()
    click.echo(f"mailbox store {name!r} added with id {store_id}", err=True)


@stores.command("set")
@click.argument("name")
@_store_options
@click.pass_obj
def stores_set(obj: dict[str, Any], /, name: str, **options: Any) -> None:
    """Change a store: its limit, whether it takes new mailboxes, where it listens."""
    from pemx.bootstrap import cli_unit_of_work
    from pemx.service.stores import audit_params, change_store

    values = _store_values(options)
    if not values:
        raise click.UsageError("nothing to change")
    database = _database(obj)
    try:
        uow = cli_unit_of_work(database, "pemx stores set", audit_params(name, values))
        change_store(uow, name, values)
    except PemxError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        database.dispose()
    click.echo(f"mailbox store {name!r} changed", err=True)


def _show(
    title: str, records: list[Any], as_json: bool, columns: dict[str, Callable[[Any], str]]
) -> None:
    """Records (the use cases' dataclasses) as JSON, or as a table with these columns."""
    if as_json:
        rows = [_jsonable(dataclasses.asdict(record)) for record in records]
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{title} ({len(records)})")
    for name in columns:
        table.add_column(name)
    for record in records:
        table.add_row(*(cell(record) for cell in columns.values()))
    Console().print(table)


def _database(obj: dict[str, Any]) -> Any:
    from pemx import bootstrap

    try:
        return bootstrap.open_database(_settings(obj))
    except Exception as exc:
        raise click.ClickException(f"cannot open the database: {_one_line(exc)}") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
