"""`pemx serve --groupware` as an ordinary user: pemx, Dovecot, SOGo, memcached and nginx
all run as that user (here `nobody`, a member of the group sogo, which may read
/etc/sogo/sogo.conf), and a new mailbox works in the web UI and over ActiveSync: on a
PostgreSQL database_url, then on a fresh data directory without one (the private
PostgreSQL, run by that user too).

Run as root (as CI is), this installs pemx into a venv of Debian's Python that `nobody`
can execute, like tests/test_nonroot.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from pemx.adapters.groupware.processes import marked_processes
from tests.support.builders import make_tenant, new_user_mailbox
from tests.support.groupware import (
    ActiveSync,
    Web,
    front,
    require_groupware,
    start_groupware_server,
)
from tests.support.postgres import PostgresCluster
from tests.support.server import IN_CI, server_base, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
PASSWORD = "Nobody-Groupware-1"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the server as `nobody`")
def test_groupware_as_an_unprivileged_user(request: pytest.FixtureRequest) -> None:
    require_groupware()
    if not (Path(SYSTEM_PYTHON).exists() and shutil.which("runuser")):
        message = "needs Debian's python3 (python3-venv) and runuser to test as `nobody`"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    base = server_base()
    venv = base / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", f"{ROOT}[groupware]"],
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    shutil.chown(base, "nobody", "nogroup")
    command = ["runuser", "-u", "nobody", "-g", "nogroup", "-G", "sogo", "--",
               str(venv / "bin/pemx")]  # fmt: skip
    server = start_groupware_server(cluster, base, command=command, owner="nobody",
                                    env={"HOME": str(base)})  # fmt: skip
    marker = str(server.data_dir / "groupware") + "/"
    try:
        daemons = marked_processes(marker)
        assert daemons and all(Path(f"/proc/{p}").stat().st_uid == 65534 for p in daemons)
        api = server.proxy()
        _, _, _, address = new_user_mailbox(api, make_tenant(api), PASSWORD)
        assert Web(front(server)).login(address, PASSWORD).status_code == 200
        assert ActiveSync(front(server), address, PASSWORD).folder_sync()[0] == 200
    finally:
        # pemx itself, not runuser: runuser SIGKILLs its child 2 s after its own SIGTERM
        os.kill(int(server.runtime["pid"]), signal.SIGTERM)
        try:
            server.process.wait(30)
        finally:
            stop_server(server)
    assert marked_processes(marker) == []

    # on a fresh data directory with no database_url: the private PostgreSQL, as nobody
    data_dir = base / "private"
    data_dir.mkdir()
    shutil.chown(data_dir, "nobody", "nogroup")
    env = {"HOME": str(base), "PEMX_GROUPWARE_PORT": "0", "PEMX_SOGO_WORKERS": "2",
           "PEMX_POSTGRESQL_PORT": "0"}  # fmt: skip
    server = start_server(data_dir, "--groupware", env=env, command=command, timeout=180)
    marker = str(data_dir / "groupware") + "/"
    try:
        postmaster = int((data_dir / "postgresql/data/postmaster.pid").read_text().split()[0])
        assert Path(f"/proc/{postmaster}").stat().st_uid == 65534
        api = server.proxy()
        _, _, _, address = new_user_mailbox(api, make_tenant(api), PASSWORD)
        assert Web(front(server)).login(address, PASSWORD).status_code == 200
        assert ActiveSync(front(server), address, PASSWORD).folder_sync()[0] == 200
    finally:
        os.kill(int(server.runtime["pid"]), signal.SIGTERM)
        try:
            server.process.wait(30)
        finally:
            stop_server(server)
    assert marked_processes(marker) == []
    assert not Path(f"/proc/{postmaster}").exists()
