"""`pemx members add` and `pemx members password`: provider staff, on the data directory
(a lost admin password is recoverable without the API). Audited as CLI changes; the
password is read from stdin (--password-stdin) or generated and printed once."""

from __future__ import annotations

import sys

import click

from pemx.bootstrap import password_hasher
from pemx.cli.context import GlobalOptions
from pemx.service.setup import add_provider_member, reset_member_password


def _password(password_stdin: bool) -> str | None:
    if not password_stdin:
        return None
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise click.UsageError("--password-stdin: stdin has no password")
    return value


def _show(login: str, generated: str | None, what: str) -> None:
    click.echo(f"{what} {login!r}", err=True)
    if generated is not None:
        click.echo(generated)  # alone on stdout: a script can capture it


@click.group()
def members() -> None:
    """Provider staff members (API logins)."""


@members.command("add")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.pass_obj
def add(options: GlobalOptions, login: str, password_stdin: bool) -> None:
    """Add a provider staff member; prints a generated password once."""
    password = _password(password_stdin)
    settings = options.settings()
    with options.database() as database:
        uow = database.unit_of_work("pemx members add", {"login": login})
        generated = add_provider_member(uow, password_hasher(settings), login, password)
    _show(login, generated, "added provider staff member")


@members.command("password")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.pass_obj
def password(options: GlobalOptions, login: str, password_stdin: bool) -> None:
    """Set a staff member's password; prints a generated one once."""
    new_password = _password(password_stdin)
    settings = options.settings()
    with options.database() as database:
        uow = database.unit_of_work("pemx members password", {"login": login})
        generated = reset_member_password(uow, password_hasher(settings), login, new_password)
    _show(login, generated, "new password for")
