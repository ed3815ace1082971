"""`pemx systemd-unit`: the systemd unit that runs `pemx serve` as a service."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pemx.cli.context import GlobalOptions

UNIT = """\
[Unit]
Description=pemx: the OA provisioning API on a private Dovecot
Documentation=file://{docs}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User={user}
Group={group}
ExecStart={python} -m pemx serve --data-dir {data_dir}
Restart=on-failure
RestartSec=2s
# Dovecot gets SIGTERM from pemx; give it the time it takes to stop
TimeoutStopSec=30s
UMask=0077
StateDirectory={state_directory}
StateDirectoryMode=0700
NoNewPrivileges=yes
ProtectSystem=full
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
"""


@click.command("systemd-unit")
@click.option("--user", default="pemx", show_default=True, help="The user pemx runs as.")
@click.option("--group", help="Its group (default: the user's name).")
@click.pass_obj
def systemd_unit(options: GlobalOptions, user: str, group: str | None) -> None:
    """Print a systemd unit for `pemx serve` (save it as /etc/systemd/system/pemx.service).

    The data directory must be under /var/lib (systemd's StateDirectory creates it for
    the user); the user must exist: `useradd --system --home-dir /var/lib/pemx pemx`."""
    data_dir = (options.data_dir or Path("/var/lib/pemx")).absolute()
    if data_dir.parent != Path("/var/lib"):
        raise click.UsageError("--data-dir: the unit keeps it in /var/lib/<name>")
    docs = Path(__file__).resolve().parents[3] / "docs" / "operations.md"
    click.echo(
        UNIT.format(
            docs=docs,
            user=user,
            group=group or user,
            python=sys.executable,
            data_dir=data_dir,
            state_directory=data_dir.name,
        ),
        nl=False,
    )
