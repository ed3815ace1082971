"""A private Postfix with the submission service `pemx mail-config --kind postfix`
renders, in front of a running `pemx serve` (its policy service, milter, LMTP), and a
Dovecot from the generated system config that only answers Postfix's SASL logins."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from pemx.adapters.mail.dovecot import MailPorts, find_dovecot
from pemx.adapters.mail.dovecot.system import system_dovecot_config, system_dovecot_files
from pemx.adapters.mail.postfix import PostfixSubmission, postfix_files, render_master_cf
from tests.mail.test_system_configs import (
    MASTER_CF,
    SBIN,
    missing,
    require_postfix,
    stop,
    wait_listening,
)
from tests.support.leftovers import watched_tmpdir
from tests.support.postfix import private_main_cf
from tests.support.server import Server


def _free_ports(count: int) -> list[int]:
    ports = MailPorts().with_free_ports()
    return [port for _, port in ports.items()][:count]


@contextmanager
def _sasl_dovecot(server: Server, base: Path) -> Iterator[Path]:
    binary = find_dovecot()
    if binary is None:
        missing("Dovecot is not installed")
    assert binary is not None
    etc, mail_root = base / "etc", base / "vmail"
    mail_root.mkdir()
    shutil.chown(mail_root, "nobody", "nogroup")
    cfg = system_dovecot_config(
        server.mail_database(),
        ports=MailPorts().with_free_ports(),
        conf_dir=etc,
        mail_root=mail_root,
        mail_user="nobody",
        mail_group="nogroup",
    )
    socket_path = base / "auth"
    for path, text in system_dovecot_files(
        cfg, listen="127.0.0.1", postfix_auth_socket=socket_path
    ).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (base / "run").mkdir(mode=0o755)
    (etc / "dovecot.conf").write_text(
        f"base_dir = {base}/run\nstate_dir = {base}/state\ninstance_name = {base.name}\n"
        f"log_path = {base}/dovecot.log\nssl = no\nauth_failure_delay = 0\n"
        "service imap-login {\n  inet_listener imaps {\n    port = 0\n  }\n}\n"
        "service pop3-login {\n  inet_listener pop3s {\n    port = 0\n  }\n}\n"
        "!include conf.d/*.conf\n"
    )
    with open(base / "dovecot.stderr", "wb") as err:
        proc = subprocess.Popen(
            [binary, "-F", "-c", str(etc / "dovecot.conf")],
            stdout=err,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_listening(cfg.ports.imap, proc, "SASL dovecot", base / "dovecot.log")
        yield socket_path
    finally:
        stop(proc)


@dataclass(frozen=True)
class PostfixPorts:
    """The rendered submission service, and two copies whose policy service or milter
    address has nothing listening (pemx down, as Postfix sees it)."""

    submission: int
    policy_down: int
    milter_down: int
    smtp: int = 0  # the port 25 service: mail from outside


@contextmanager
def running_postfix(server: Server, smarthost_port: int) -> Iterator[PostfixPorts]:
    binary = require_postfix()
    base = watched_tmpdir("pemx-submission-")
    base.chmod(0o755)
    try:
        with _sasl_dovecot(server, base) as auth_socket:
            yield from _postfix(binary, server, base, auth_socket, smarthost_port)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _postfix(
    binary: str, server: Server, base: Path, auth_socket: Path, smarthost_port: int
) -> Iterator[PostfixPorts]:
    pf = base / "postfix"
    (pf / "data").mkdir(parents=True)
    (pf / "queue").mkdir()
    shutil.chown(pf / "data", "postfix")
    lmtp_host, lmtp_port = server.mail("lmtp")
    smtp_port, submission_port, policy_down, milter_down, dead = _free_ports(5)
    submission = PostfixSubmission(
        policy=f"127.0.0.1:{server.runtime['policy']['port']}",
        milter=f"127.0.0.1:{server.runtime['milter']['port']}",
        service=f"127.0.0.1:{submission_port}",
        chroot=False,  # the test's paths are not in a chroot
        require_tls=False,  # loopback; production encrypts
        sasl_path=str(auth_socket),
        relayhost=f"[127.0.0.1]:{smarthost_port}",
        relay_tls="none",
        routed=f"127.0.0.1:{server.runtime['routed']['port']}",
    )
    files = postfix_files(
        server.mail_database(),
        lmtp_host=lmtp_host,
        lmtp_port=lmtp_port,
        conf_dir=pf,
        submission=submission,
    )
    for path, text in files.items():
        path.write_text(text)
    (pf / "main.cf").write_text(private_main_cf(pf, "smtp_tls_security_level = none"))
    down = [
        render_master_cf(
            replace(submission, service=f"127.0.0.1:{port}", **{field: f"127.0.0.1:{dead}"})
        )
        for port, field in ((policy_down, "policy"), (milter_down, "milter"))
    ]
    (pf / "master.cf").write_text(
        MASTER_CF.format(smtp_port=smtp_port) + (pf / "master.cf.pemx").read_text() + "".join(down)
    )
    postconf = shutil.which("postconf", path=SBIN) or "postconf"
    maps = subprocess.run(
        [postconf, "-c", str(pf), "-m"], capture_output=True, text=True, check=False
    ).stdout.split()
    if "sqlite" not in maps and "pgsql" not in maps:
        missing(f"Postfix has no SQL maps ({maps}): apt-get install postfix-sqlite postfix-pgsql")
    check = subprocess.run([binary, "-c", str(pf), "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [binary, "-c", str(pf), "start-fg"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for port in (submission_port, policy_down, milter_down, smtp_port):
            wait_listening(port, proc, "postfix", pf / "maillog")
        yield PostfixPorts(submission_port, policy_down, milter_down, smtp_port)
    finally:
        subprocess.run([binary, "-c", str(pf), "stop"], capture_output=True, check=False)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            stop(proc)
