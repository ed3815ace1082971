"""`pemx serve` works as an ordinary user: API, private Dovecot, a live mailbox.

Run as root (as CI is), this installs pemx into a venv of Debian's Python that the
unprivileged user can execute and runs the server as `nobody`. Run as an ordinary user,
every other test already runs pemx unprivileged, so there is nothing more to prove.
"""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import subprocess
from pathlib import Path

import pytest

from tests.support import leftovers
from tests.support.calls import ok
from tests.support.mailclient import imap_login, inbox_subjects, lmtp_deliver
from tests.support.server import (
    IN_CI,
    Server,
    require_dovecot,
    server_base,
    start_server,
    stop_server,
)

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.mark.skipif(os.geteuid() != 0, reason="already unprivileged: the whole suite proves it")
def test_serve_as_an_unprivileged_user() -> None:
    require_dovecot()
    if not (Path(SYSTEM_PYTHON).exists() and shutil.which("runuser")):
        message = "needs Debian's python3 (python3-venv) and runuser to test as `nobody`"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    base = server_base()
    try:
        venv = base / "venv"
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            # [postgres]: the private PostgreSQL run below (psycopg)
            [str(venv / "bin/pip"), "install", "-q", f"{ROOT}[postgres]"],
            check=True,
            capture_output=True,
            timeout=600,
        )
        data = base / "data"
        data.mkdir()
        shutil.chown(data, "nobody", "nogroup")
        shutil.chown(base, "nobody", "nogroup")
        running = start_server(
            data,
            command=["runuser", "-u", "nobody", "--", str(venv / "bin/pemx")],
            env={"HOME": str(base), "PEMX_DATABASE_GROUP": ""},  # nobody is not in it
        )
        try:
            pid = running.runtime["pid"]
            assert Path(f"/proc/{pid}").stat().st_uid == 65534  # pemx itself is nobody
            password = _one_mailbox(running, "np")
            assert lmtp_deliver(*running.mail("lmtp"), "np@np.example", "unprivileged") == (
                250,
                250,
            )
            # sending works unprivileged too: Dovecot's submission and pemx's relay
            with smtplib.SMTP(*running.mail("submission"), timeout=20) as smtp:
                smtp.login("np", password)
                smtp.sendmail(
                    "np@np.example",
                    ["np@np.example"],
                    b"From: np@np.example\r\nSubject: sent unprivileged\r\n\r\nhi\r\n",
                )
            imap = imap_login(*running.mail("imap"), "np", password)
            assert inbox_subjects(imap) == ["unprivileged", "sent unprivileged"]
            imap.logout()
            homes = list((data / "mail").iterdir())
            assert [h.stat().st_uid for h in homes] == [65534]
        finally:
            _stop(running)
        _private_postgresql_as_nobody(base, venv)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _one_mailbox(running: Server, name: str) -> str:
    """A customer with the domain ``name``.example and the mailbox ``name``@ it (login
    ``name``, every protocol on): its generated password."""
    provider = running.proxy()
    customer = ok(provider.pem.addAccount({"account_type": "C", "person": {"first_name": name}}))[
        "account_id"
    ]
    template = ok(
        provider.pem.addServiceTemplate(
            {"name": "t", "resource_types": [{"resource_type_id": 1, "resource_limit": 5}]}
        )
    )["service_template_id"]
    subscription = ok(
        provider.pem.activateSubscription({"account_id": customer, "service_template_id": template})
    )["subscription_id"]
    domain = f"{name}.example"
    ok(provider.pem.addDomain({"subscription_id": subscription, "domain_name": domain}))
    result = ok(
        provider.pem.exchange.addMailbox(
            {
                "new_user": {"subscription_id": subscription, "login": name},
                "alias": name,
                "primary_email_address": f"{name}@{domain}",
                **dict.fromkeys(("owa", "mapi", "active_sync", "imap4", "pop3"), True),
                "size_limit": 1000,
            }
        )
    )
    return str(result["password"])


def _private_postgresql_as_nobody(base: Path, venv: Path) -> None:
    """Issue 19: the private PostgreSQL cluster runs as the unprivileged user too."""
    data = base / "data-pg"
    data.mkdir()
    shutil.chown(data, "nobody", "nogroup")
    running = start_server(
        data,
        command=["runuser", "-u", "nobody", "--", str(venv / "bin/pemx")],
        env={
            "HOME": str(base),
            "PEMX_DATABASE_GROUP": "",
            "PEMX_PRIVATE_POSTGRESQL": "1",
            "PEMX_POSTGRESQL_PORT": "0",
        },
        timeout=90,
    )
    try:
        postmaster = int((data / "postgresql/data/postmaster.pid").read_text().split()[0])
        assert Path(f"/proc/{postmaster}").stat().st_uid == 65534
        password = _one_mailbox(running, "pg")
        assert lmtp_deliver(*running.mail("lmtp"), "pg@pg.example", "on postgresql") == (250, 250)
        imap = imap_login(*running.mail("imap"), "pg", password)
        assert inbox_subjects(imap) == ["on postgresql"]
        imap.logout()
    finally:
        _stop(running)
    log = (base / "data-pg.log").read_text(errors="replace")
    assert not (data / "postgresql/data/postmaster.pid").exists(), log  # stopped with pemx


def _stop(running: Server) -> None:
    """SIGTERM to pemx itself, then wait: runuser SIGKILLs its child 2 s after a SIGTERM
    of its own, which could kill pemx mid-stop and leave its Dovecot (nobody's) running.
    Nothing of it may be left running in its data directory."""
    os.kill(running.runtime["pid"], signal.SIGTERM)
    try:
        running.process.wait(60)  # runuser exits with pemx
    finally:
        stop_server(running)  # only if pemx did not stop in time
    log = (running.data_dir.parent / f"{running.data_dir.name}.log").read_text(errors="replace")
    assert running.process.returncode == 0, log
    assert leftovers.leftover_processes(within=[running.data_dir]) == [], log
