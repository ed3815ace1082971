"""The configs of `pemx mail-config`, run for real against the `server` fixture's database.

- A system Dovecot 2.3 built from the generated conf.d/99-pemx.conf and
  dovecot-pemx-sql.conf.ext (free ports, temp paths) logs in and delivers to a
  mailbox created through the API.
- A private Postfix with the generated main.cf settings and maps accepts mail for
  the primary and an alternative address (delivered over LMTP into the server's
  Dovecot), refuses an unknown recipient (550) and a foreign domain (554).

Both need root (Dovecot's mail uid, Postfix's master); Postfix must be installed.
Without them the tests skip, or fail when CI=true.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pemx.adapters.mail.database import SqliteDatabase
from pemx.adapters.mail.dovecot import MailPorts, find_dovecot
from pemx.adapters.mail.dovecot.system import (
    dovecot_connect,
    system_dovecot_config,
    system_dovecot_files,
)
from pemx.adapters.mail.postfix import PostfixSubmission, postfix_files
from pemx.cli import cli
from tests.support.builders import mailbox_params, make_tenant, unique
from tests.support.calls import ok
from tests.support.leftovers import watched_tmpdir
from tests.support.mailclient import imap_login, inbox_subjects, lmtp_deliver, make_message
from tests.support.postfix import private_main_cf
from tests.support.server import Server

IN_CI = os.environ.get("CI") == "true"
SBIN = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin"])


def missing(message: str) -> None:
    if IN_CI:
        pytest.fail(message + " (CI must provide it: scripts/install, run as root)")
    pytest.skip(message)


def require_root() -> None:
    if os.geteuid() != 0:
        missing("needs root (Dovecot's mail uid / Postfix's master)")


def require_postfix() -> str:
    require_root()
    binary = shutil.which("postfix", path=SBIN)
    if binary is None:
        missing("Postfix is not installed: apt-get install postfix postfix-sqlite")
    assert binary is not None
    return binary


def wait_listening(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}:\n{_tail(log)}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not listen on {port} within 20 s:\n{_tail(log)}")


def _tail(path: Path) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-30:])
    except OSError:
        return "(no log)"


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def base() -> Iterator[Path]:
    path = watched_tmpdir("pemx-syscfg-")
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def mailbox(server: Server, provider: Any) -> dict[str, Any]:
    """A mailbox made through the API: primary and alternative address, its password."""
    tenant = make_tenant(provider)
    login = unique("sys")
    primary = f"{login}@{tenant.domain}"
    alternative = f"alt-{login}@{tenant.domain}"
    result = ok(
        provider.pem.exchange.addMailbox(
            {
                "new_user": {"subscription_id": tenant.subscription_id, "login": login},
                "alt_email_addresses": [alternative],
                **mailbox_params(primary),
            }
        )
    )
    return {
        "primary": primary,
        "alternative": alternative,
        "password": result["password"],
        "domain": tenant.domain,
    }


def test_mail_config_cli_writes_the_files(server: Server, base: Path) -> None:
    runner = CliRunner()
    args = ["--data-dir", str(server.data_dir), "mail-config", "--output"]
    res = runner.invoke(cli, [*args, str(base / "dv"), "--kind", "dovecot"])
    assert res.exit_code == 0, res.output
    conf = (base / "dv" / "conf.d" / "99-pemx.conf").read_text()
    sql = (base / "dv" / "dovecot-pemx-sql.conf.ext").read_text()
    assert "args = /etc/dovecot/dovecot-pemx-sql.conf.ext" in conf
    assert "port = 143" in conf and "port = 110" in conf and "port = 24" in conf
    assert "base_dir" not in conf and "auth_failure_delay" not in conf
    driver, connect = dovecot_connect(server.mail_database())
    assert f"driver = {driver}\nconnect = {connect}\n" in sql and "'/var/vmail/'" in sql
    assert "Next:" in res.output

    res = runner.invoke(cli, [*args, str(base / "pf"), "--kind", "postfix", "--lmtp", "h:24"])
    assert res.exit_code == 0, res.output
    main_cf = (base / "pf" / "main.cf.pemx").read_text()
    assert "virtual_transport = lmtp:inet:h:24" in main_cf
    maps = "sqlite" if driver == "sqlite" else "pgsql"
    assert f"virtual_alias_maps = proxy:{maps}:/etc/postfix/pemx-aliases.cf" in main_cf
    assert "FROM mail_domains" in (base / "pf" / "pemx-domains.cf").read_text()

    res = runner.invoke(cli, [*args, str(base / "x"), "--kind", "postfix", "--lmtp", "nope"])
    assert res.exit_code == 1 and res.output.count("\n") == 1, res.output


def test_system_dovecot_config_serves_api_mailboxes(
    server: Server, mailbox: dict[str, Any], base: Path
) -> None:
    require_root()
    binary = find_dovecot()
    if binary is None:
        missing("Dovecot is not installed")
    assert binary is not None
    etc, mail_root = base / "etc", base / "vmail"
    mail_root.mkdir()
    shutil.chown(mail_root, "nobody", "nogroup")
    ports = MailPorts().with_free_ports()
    cfg = system_dovecot_config(
        server.mail_database(),
        ports=ports,
        conf_dir=etc,
        mail_root=mail_root,
        mail_user="nobody",
        mail_group="nogroup",
    )
    files = system_dovecot_files(cfg, listen="127.0.0.1", postfix_auth_socket=base / "auth")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    # What the system's own dovecot.conf provides (Debian's would include conf.d/*.conf).
    (base / "run").mkdir(mode=0o755)
    (etc / "dovecot.conf").write_text(
        f"base_dir = {base}/run\nstate_dir = {base}/state\ninstance_name = {base.name}\n"
        f"log_path = {base}/dovecot.log\nssl = no\n"
        "service imap-login {\n  inet_listener imaps {\n    port = 0\n  }\n}\n"
        "service pop3-login {\n  inet_listener pop3s {\n    port = 0\n  }\n}\n"
        "!include conf.d/*.conf\n"
    )
    log = base / "dovecot.log"
    with open(base / "stderr.log", "wb") as err:
        proc = subprocess.Popen(
            [binary, "-F", "-c", str(etc / "dovecot.conf")],
            stdout=err,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        for port in (ports.imap, ports.lmtp, ports.imap_owa):
            wait_listening(port, proc, "system-config dovecot", log)
        assert lmtp_deliver("127.0.0.1", ports.lmtp, mailbox["alternative"], "via system") == (
            250,
            250,
        )
        for port in (ports.imap, ports.imap_owa):
            imap = imap_login("127.0.0.1", port, mailbox["primary"], mailbox["password"])
            assert inbox_subjects(imap) == ["via system"]
            imap.logout()
        # the system instance stores its mail under its own mail_root/<mailbox_id>
        assert any(mail_root.iterdir())
    finally:
        stop(proc)


def test_postfix_front_end_delivers_over_lmtp(
    server: Server, mailbox: dict[str, Any], base: Path
) -> None:
    binary = require_postfix()
    pf = base / "postfix"
    (pf / "data").mkdir(parents=True)
    (pf / "queue").mkdir()
    shutil.chown(pf / "data", "postfix")
    lmtp_host, lmtp_port = server.mail("lmtp")
    smtp_port = MailPorts().with_free_ports().imap
    files = postfix_files(
        server.mail_database(),
        lmtp_host=lmtp_host,
        lmtp_port=lmtp_port,
        conf_dir=pf,
        # port 25 asks pemx's policy service at RCPT (a list's accept_mail_from)
        submission=PostfixSubmission(policy=f"127.0.0.1:{server.runtime['policy']['port']}"),
    )
    for path, text in files.items():
        path.write_text(text)
    (pf / "main.cf").write_text(private_main_cf(pf, "relayhost ="))
    (pf / "master.cf").write_text(MASTER_CF.format(smtp_port=smtp_port))
    postconf = shutil.which("postconf", path=SBIN) or "postconf"
    maps = subprocess.run(
        [postconf, "-c", str(pf), "-m"], capture_output=True, text=True, check=False
    ).stdout.split()
    wanted_map = "sqlite" if isinstance(server.mail_database(), SqliteDatabase) else "pgsql"
    if wanted_map not in maps or "proxy" not in maps:
        missing(
            f"Postfix has no {wanted_map}/proxy maps ({maps}): apt-get install postfix-{wanted_map}"
        )
    check = subprocess.run([binary, "-c", str(pf), "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    log = pf / "maillog"
    proc = subprocess.Popen(
        [binary, "-c", str(pf), "start-fg"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_listening(smtp_port, proc, "postfix", log)
        primary, alternative = mailbox["primary"], mailbox["alternative"]
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.ehlo("client.test")
            smtp.mail("sender@example.org")
            codes = [
                smtp.rcpt(r)[0]
                for r in (
                    primary,
                    alternative.upper(),
                    f"nobody-{unique()}@{mailbox['domain']}",
                    "x@not-ours.example",
                )
            ]
            assert codes == [250, 250, 550, 554], codes
            smtp.rset()
            for rcpt in (alternative, primary):
                smtp.sendmail("sender@example.org", [rcpt], make_message(f"smtp to {rcpt}"))
        wanted = sorted(f"smtp to {r}" for r in (alternative, primary))
        deadline = time.monotonic() + 15
        got: list[str] = []
        while time.monotonic() < deadline:
            imap = imap_login(*server.mail("imap"), primary, mailbox["password"])
            got = sorted(s for s in inbox_subjects(imap) if s.startswith("smtp to"))
            imap.logout()
            if got == wanted:
                break
            time.sleep(0.1)
        assert got == wanted, _tail(log)
    finally:
        subprocess.run([binary, "-c", str(pf), "stop"], capture_output=True, check=False)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            stop(proc)


# one smtpd on a free port; nothing chrooted (the test's paths are not in a chroot)
MASTER_CF = """\
{smtp_port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
lmtp      unix  - - n -  - lmtp
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""
