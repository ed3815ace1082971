"""Issue 17: what an operator meets running `pemx serve` for real: the first start, its
errors, a restart after a crash, one instance per data directory, private files."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.calls import ok
from tests.support.server import (
    IN_CI,
    Server,
    ServerDatabase,
    require_dovecot,
    server_base,
    start_server,
    stop_server,
)

AS_ROOT = os.geteuid() == 0


def _pemx(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pemx", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def base() -> Iterator[Path]:
    path = server_base()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _dovecot_pids(data_dir: Path) -> list[int]:
    """Live processes whose command line names this data directory's Dovecot config."""
    conf = str(data_dir / "dovecot" / "dovecot.conf")
    pids = []
    for entry in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = entry.read_bytes().split(b"\0")
        except OSError:
            continue
        if conf.encode() in argv:
            pids.append(int(entry.parent.name))
    return pids


# --- defect 1: group options after the subcommand


def test_group_options_are_accepted_after_the_subcommand(tmp_path: Path) -> None:
    result = _pemx("status", "--data-dir", str(tmp_path), "--json")
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout) == {"running": False, "data_dir": str(tmp_path)}
    (tmp_path / "other.toml").write_text("threads = 0\n")
    result = _pemx("serve", "--data-dir", str(tmp_path), "--config", str(tmp_path / "other.toml"))
    assert result.stderr.strip() == "Error: setting threads: must be between 1 and 512"
    result = _pemx("audit", "list", "--data-dir", str(tmp_path), "--help")
    assert result.returncode == 0 and "--data-dir" in result.stdout


# --- defect 2: errors say what happened, in one line


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PEMX_LOG_LEVEL", "LOUD", "Error: setting log_level: 'LOUD' is not one of "),
        ("PEMX_TLS_CERT", "/nonexistent/cert.pem", "Error: setting tls_cert: cannot read "),
    ],
)
def test_a_bad_setting_is_one_line_not_a_traceback(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    env = {variable: value, "PEMX_TLS_KEY": "/nonexistent/key.pem"}
    if variable == "PEMX_LOG_LEVEL":
        env = {variable: value}
    result = _pemx("--data-dir", str(tmp_path), "serve", "--no-mail", "--port", "0", env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith(message), result.stderr


def test_a_bad_tls_key_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("not read before the key is\n")
    env = {"PEMX_TLS_CERT": str(tmp_path / "cert.pem"), "PEMX_TLS_KEY": "/nonexistent/key.pem"}
    result = _pemx("--data-dir", str(tmp_path), "serve", "--no-mail", "--port", "0", env=env)
    assert result.returncode == 1
    assert result.stderr == "Error: setting tls_key: cannot read /nonexistent/key.pem\n"


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["tasks", "lst"], 2, "No such command 'lst'. See `python -m pemx tasks --help`."),
        (
            ["migrate", "--bogus"],
            2,
            "No such option '--bogus'. See `python -m pemx migrate --help`.",
        ),
        (
            ["stores", "remove", "s9"],
            1,
            "cannot open the database: no database at {d}/pemx.db: run `pemx migrate`",
        ),
        (["backup", "{d}/copy"], 1, "no database at {d}/pemx.db"),
        (
            ["restore", "{d}"],
            1,
            "{d} is not a pemx backup ([Errno 2] No such file or directory: '{d}/manifest.json')",
        ),
        (
            ["--config", "{d}/bad.toml", "status"],
            1,
            "config file {d}/bad.toml: unknown setting 'nope'",
        ),
    ],
)
def test_every_cli_error_is_one_line(
    tmp_path: Path, argv: list[str], status: int, message: str
) -> None:
    (tmp_path / "bad.toml").write_text("nope = 1\n")
    args = [arg.replace("{d}", str(tmp_path)) for arg in argv]
    result = _pemx("--data-dir", str(tmp_path), *args)
    expected = "Error: " + message.replace("{d}", str(tmp_path)) + "\n"
    assert (result.returncode, result.stderr) == (status, expected)


def test_a_dovecot_that_cannot_start_is_reported_with_its_own_reason(base: Path) -> None:
    require_dovecot()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError) as failed:
            start_server(base / "data", env={"PEMX_IMAP_PORT": str(port)})
    output = str(failed.value)
    assert "Traceback" not in output
    reason = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(reason) == 1, output
    assert "cannot start Dovecot" in reason[0]
    assert "Address already in use" in reason[0], reason[0]
    assert re.search(
        rf"(bind|listen)\(127\.0\.0\.1, {port}\) failed: Address already in use; "
        r"set imap_port \(PEMX_IMAP_PORT\) to a free port, or 0 for any free one$",
        reason[0],
    ), reason[0]
    assert not _dovecot_pids(base / "data")


if not AS_ROOT:  # as root (CI), tests/test_install.py tries it as an ordinary user

    def test_a_privileged_port_as_non_root_is_reported_with_the_setting(base: Path) -> None:
        require_dovecot()
        unprivileged = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        if unprivileged.exists() and int(unprivileged.read_text()) <= 143:
            pytest.skip("this machine lets any user bind port 143")
        reason = _start_error(base / "data", {"PEMX_IMAP_PORT": "143"})
        assert reason.endswith(
            "(127.0.0.1, 143) failed: Permission denied; ports below 1024 need root: "
            "set imap_port (PEMX_IMAP_PORT) to 1024 or more"
        ), reason


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _start_error(data_dir: Path, env: dict[str, str]) -> str:
    with pytest.raises(RuntimeError) as failed:
        start_server(data_dir, env=env)
    output = str(failed.value)
    assert "Traceback" not in output
    reason = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(reason) == 1, output
    return reason[0]


def test_another_instance_on_the_same_ports_is_named_with_the_setting(base: Path) -> None:
    """Two nodes on one host with the default ports: the second says which port of which
    listener is taken and which setting moves it (the sending side, then Dovecot)."""
    require_dovecot()
    imap, pop3, lmtp, owa, eas, doveadm, submission, policy, milter = _free_ports(9)
    ports = {
        "PEMX_IMAP_PORT": imap, "PEMX_POP3_PORT": pop3, "PEMX_LMTP_PORT": lmtp,
        "PEMX_IMAP_OWA_PORT": owa, "PEMX_IMAP_ACTIVESYNC_PORT": eas,
        "PEMX_DOVEADM_PORT": doveadm, "PEMX_SUBMISSION_PORT": submission,
        "PEMX_POLICY_PORT": policy, "PEMX_MILTER_PORT": milter,
    }  # fmt: skip
    env = {name: str(port) for name, port in ports.items()}
    first = start_server(base / "first", env=env)
    try:
        reason = _start_error(base / "second", env)
        assert reason == (
            "Error: cannot start the sending services: the policy service cannot listen on "
            f"127.0.0.1:{policy} (Address already in use): another process (another pemx?) "
            "uses it; set policy_port (PEMX_POLICY_PORT) to a free port, or 0 for any free one"
        )
        reason = _start_error(
            base / "third", {**env, "PEMX_POLICY_PORT": "0", "PEMX_MILTER_PORT": "0"}
        )
        assert reason.startswith("Error: cannot start Dovecot: "), reason
        assert "failed: Address already in use; set " in reason, reason
        assert not _dovecot_pids(base / "third")
        assert ok(first.proxy().pem.getAccountInfo({"account_id": 1}))["account_id"] == 1
    finally:
        stop_server(first)


def test_a_leftover_process_is_reported_or_cleared(base: Path) -> None:
    """A leftover process that holds a port is named with Dovecot's reason; a pid file
    left by a killed run whose pid another program now has (after a reboot) is not
    Dovecot's, and no longer stops the start ("Dovecot is already running")."""
    require_dovecot()
    (port,) = _free_ports(1)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])));"
         "s.listen(); print('ready', flush=True); time.sleep(120)", str(port)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        reason = _start_error(base / "data", {"PEMX_LMTP_PORT": str(port)})
        assert re.search(
            rf"(bind|listen)\(127\.0\.0\.1, {port}\) failed: Address already in use; "
            r"set lmtp_port \(PEMX_LMTP_PORT\) to a free port, or 0 for any free one$",
            reason,
        ), reason
    finally:
        holder.kill()
        holder.wait()
    stranger = subprocess.Popen(["sleep", "120"])
    try:
        pid_file = base / "data" / "dovecot" / "run" / "master.pid"
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(f"{stranger.pid}\n")
        server = start_server(base / "data")
        try:
            assert ok(server.proxy().pem.getAccountInfo({"account_id": 1}))
        finally:
            stop_server(server)
        assert stranger.poll() is None  # not Dovecot's: left alone
    finally:
        stranger.kill()
        stranger.wait()


# --- defects 3 and 4: a crash, and a second instance


def test_a_second_serve_on_a_data_dir_in_use_refuses_at_once(base: Path) -> None:
    require_dovecot()
    server = start_server(base / "data")
    try:
        runtime = (server.data_dir / "runtime.json").read_bytes()
        conf = (server.data_dir / "dovecot" / "dovecot.conf").read_bytes()
        t0 = time.monotonic()
        result = _pemx("--data-dir", str(server.data_dir), "serve", "--port", "0")
        assert time.monotonic() - t0 < 10
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f"Error: another pemx serve (pid {server.process.pid}) uses {server.data_dir}; "
            "stop it first"
        )
        assert (server.data_dir / "runtime.json").read_bytes() == runtime
        assert (server.data_dir / "dovecot" / "dovecot.conf").read_bytes() == conf
        assert ok(server.proxy().pem.getAccountInfo({"account_id": 1}))["account_id"] == 1
    finally:
        stop_server(server)


def test_serve_recovers_after_a_kill_9_and_status_tells_the_truth(base: Path) -> None:
    require_dovecot()
    data_dir = base / "data"
    server = start_server(data_dir)
    orphans = _dovecot_pids(data_dir)
    assert orphans
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    assert _dovecot_pids(data_dir) == orphans  # Dovecot outlives its parent
    status = _pemx("--data-dir", str(data_dir), "status")
    assert status.returncode == 3
    assert "not running" in status.stdout and "left a Dovecot" in status.stdout, status.stdout
    again: Server | None = None
    try:
        again = start_server(data_dir)
        assert ok(again.proxy().pem.getAccountInfo({"account_id": 1}))["account_id"] == 1
        assert not set(orphans) & set(_dovecot_pids(data_dir))
        assert _pemx("--data-dir", str(data_dir), "status").returncode == 0
    finally:
        if again is not None:
            stop_server(again)
    assert not _dovecot_pids(data_dir)


# --- defect 5: private files, mail and sockets


def _as_nobody(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, user="nobody", timeout=30)


@pytest.mark.skipif(not AS_ROOT, reason="trying as another local user needs root")
def test_files_mail_and_sockets_are_private(base: Path) -> None:
    require_dovecot()
    data_dir = base / "data"
    server = start_server(data_dir, env={"PEMX_DATABASE_GROUP": ""})  # the default
    try:
        mode = stat.S_IMODE(data_dir.stat().st_mode)
        assert not mode & 0o044, oct(mode)  # nobody may list it
        for name in ("pemx.db", "pemx.db-wal", "pemx.db-shm", "doveadm-api-key"):
            path = data_dir / name
            if path.exists():
                assert not stat.S_IMODE(path.stat().st_mode) & 0o077, name
                assert _as_nobody("cat", str(path)).returncode != 0, name
        for conf in (data_dir / "dovecot").glob("*.conf*"):
            assert _as_nobody("cat", str(conf)).returncode != 0, conf
        # the mail belongs to a user of pemx's own, not to nobody
        mail = data_dir / "mail"
        import pwd

        owner = pwd.getpwuid(mail.stat().st_uid).pw_name
        assert owner == "pemx-mail", owner
        assert _as_nobody("ls", str(mail)).returncode != 0
        for name in ("auth-userdb", "lmtp", "indexer", "auth-master", "dict"):
            sock = data_dir / "dovecot" / "run" / name
            if sock.exists():
                assert not stat.S_IMODE(sock.stat().st_mode) & 0o006, name
                probe = (
                    "import socket,sys; s=socket.socket(socket.AF_UNIX);"
                    f"sys.exit(s.connect_ex({str(sock)!r}))"
                )
                assert _as_nobody("/usr/bin/python3", "-c", probe).returncode != 0, name
    finally:
        stop_server(server)


# --- health, readiness and metrics


def _get(server: Server, path: str) -> tuple[int, str]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _curl(server: Server, path: str) -> str:
    curl = shutil.which("curl")
    if curl is None:
        if IN_CI:
            pytest.fail("curl is missing; .ci/run installs it")
        pytest.skip("curl is not installed")
    done = subprocess.run(
        [curl, "-sf", f"http://127.0.0.1:{server.port}{path}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_health_readiness_and_metrics_move_with_real_calls(base: Path) -> None:
    require_dovecot()
    server = start_server(base / "data", env={"PEMX_LOG_LEVEL": "INFO"})
    try:
        assert _get(server, "/healthz") == (200, "ok\n")
        assert _get(server, "/readyz") == (200, "ready\n")
        before = _get(server, "/metrics")[1]
        proxy = server.proxy()
        for _ in range(3):
            ok(proxy.pem.getAccountInfo({"account_id": 1}))
        refused = proxy.pem.getAccountInfo({"account_id": 999_999})
        assert refused["status"] == -1
        import xmlrpc.client

        with pytest.raises(xmlrpc.client.ProtocolError):
            server.proxy(password="wrong-password").pem.getAccountInfo({"account_id": 1})
        assert _get(server, "/metrics")[0] == 200
        after = _curl(server, "/metrics")  # as an operator looks
        calls = {"method": "pem.getAccountInfo", "outcome": "ok"}
        assert _sample(after, "pemx_calls_total", **calls) == (
            _sample(before, "pemx_calls_total", **calls) + 3
        )
        failed = {"method": "pem.getAccountInfo", "outcome": str(refused["extype_id"])}
        assert _sample(after, "pemx_calls_total", **failed) == 1
        assert _sample(after, "pemx_call_duration_seconds_count", method="pem.getAccountInfo") >= 4
        assert _sample(after, "pemx_failed_logins_total") == 1
        assert _sample(after, "pemx_store_up", store=_store_name(server)) == 1
        assert "pemx_open_transactions 0.0" in after
        assert "pemx_outbox_tasks" in after
    finally:
        stop_server(server)
    log = (base / "data.log").read_text()
    assert "login failed client=127.0.0.1 login='admin'" in log
    assert "wrong-password" not in log
    assert (
        "call client=127.0.0.1 login=admin method=pem.getAccountInfo outcome=ok duration_ms=" in log
    )


def _store_name(server: Server) -> str:
    return str(server.rows("SELECT name FROM mailbox_stores WHERE id = 1")[0][0])


def test_a_store_that_does_not_answer_is_not_ready_and_gets_no_mailboxes(base: Path) -> None:
    require_dovecot()
    server = start_server(base / "data", env={"PEMX_STORE_CHECK_INTERVAL": "0.2"})
    try:
        _dead_store(server)
        status, body = _get(server, "/readyz")
        assert status == 503 and body.startswith("store dead: IMAP at 127.0.0.1:"), body
        assert _sample(_get(server, "/metrics")[1], "pemx_store_up", store="dead") == 0
        assert _get(server, "/healthz")[0] == 200
        # the node's periodic check marks it failed: placement skips it (READY only)
        deadline = time.monotonic() + 10
        status_of = "SELECT status FROM mailbox_stores WHERE name = 'dead'"
        while server.rows(status_of)[0][0] != 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.rows(status_of)[0][0] == 4
        assert server.rows("SELECT status FROM mailbox_stores WHERE id = 1")[0][0] == 0
    finally:
        stop_server(server)


def test_probes_reuse_their_check_for_probe_cache_seconds(base: Path) -> None:
    """Scrapers every second share one check of the stores; a store that stops answering
    still shows within probe_cache seconds."""
    require_dovecot()
    server = start_server(
        base / "data", env={"PEMX_PROBE_CACHE": "2", "PEMX_STORE_CHECK_INTERVAL": "0"}
    )
    try:
        assert _get(server, "/readyz") == (200, "ready\n")
        _dead_store(server)
        t0 = time.monotonic()
        assert _get(server, "/readyz") == (200, "ready\n")  # the check of a moment ago
        assert 'store="dead"' not in _get(server, "/metrics")[1]  # /metrics shares it
        while _get(server, "/readyz")[0] == 200:
            assert time.monotonic() - t0 < 2.5, "the dead store did not show in time"
            time.sleep(0.1)
        status, body = _get(server, "/readyz")
        assert status == 503 and body.startswith("store dead: "), body
        assert 'pemx_store_up{store="dead"} 0.0' in _get(server, "/metrics")[1]
    finally:
        stop_server(server)


def _dead_store(server: Server) -> None:
    """A second store whose ports nobody listens on."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    server.rows(
        "INSERT INTO mailbox_stores (name, host, imap_port, pop3_port, lmtp_port, "
        "imap_owa_port, imap_activesync_port, doveadm_port, doveadm_api_key, mail_root, "
        "max_mailboxes, mailbox_count, accepts_new, status, created_at) VALUES "
        "('dead', '127.0.0.1', :p, :p, :p, :p, :p, :p, 'k', '/nonexistent', 0, 0, 0, 0, "
        "CURRENT_TIMESTAMP)",
        p=port,
    )


def test_the_private_dovecots_log_is_rotated_by_size(base: Path) -> None:
    """Dovecot's log file is rotated once it holds dovecot_log_max_bytes, keeping
    dovecot_log_backups old files, and Dovecot writes on into the new file."""
    import imaplib

    from tests.support.mailclient import imap_login

    require_dovecot()
    env = {
        "PEMX_DOVECOT_LOG_MAX_BYTES": "3000",
        "PEMX_DOVECOT_LOG_BACKUPS": "2",
        "PEMX_LOG_LEVEL": "INFO",
    }
    server = start_server(base / "data", env=env)
    log = base / "data" / "dovecot" / "log" / "dovecot.log"
    host, port = server.mail("imap")

    def refused_logins(count: int, who: str) -> None:  # each is a line in Dovecot's log
        for n in range(count):
            with pytest.raises(imaplib.IMAP4.error):
                imap_login(host, port, f"{who}-{n}@nowhere.example", "wrong")

    try:
        # until three rotations happened: gen0's lines are gone, the oldest dropped
        deadline = time.monotonic() + 90
        generation = 0
        while not any(
            path.exists() and "gen0-" not in path.read_text(errors="replace")
            for path in (log.with_name("dovecot.log.2"),)
        ):
            assert time.monotonic() < deadline, "the log was not rotated"
            refused_logins(10, f"gen{generation}")
            generation += 1
            time.sleep(0.5)
        refused_logins(1, "after")  # Dovecot writes into the new file
        deadline = time.monotonic() + 10
        while not (log.exists() and "after-0@nowhere.example" in log.read_text()):
            assert time.monotonic() < deadline, "Dovecot did not reopen its log"
            time.sleep(0.1)
        names = sorted(p.name for p in log.parent.glob("dovecot.log*"))
        assert names == ["dovecot.log", "dovecot.log.1", "dovecot.log.2"], names
        assert not any("gen0-" in log.with_name(n).read_text(errors="replace") for n in names)
    finally:
        stop_server(server)
    assert f"pemx.dovecot: rotated {log}" in (base / "data.log").read_text()


def test_json_log_lines(base: Path) -> None:
    env = {"PEMX_LOG_FORMAT": "json", "PEMX_LOG_LEVEL": "INFO"}
    server = start_server(base / "data", "--no-mail", env=env)
    try:
        ok(server.proxy().pem.getAccountInfo({"account_id": 1}))
    finally:
        stop_server(server)
    entries = [
        json.loads(line)
        for line in (base / "data.log").read_text().splitlines()
        if line.startswith("{")
    ]
    calls = [e for e in entries if e["message"].startswith("call client=127.0.0.1")]
    assert calls and calls[0]["logger"] == "pemx.api" and calls[0]["level"] == "INFO"


# --- defect 6: refused logins logged and throttled


def test_a_flood_of_wrong_passwords_is_throttled_but_not_a_working_client(base: Path) -> None:
    import base64
    import http.client
    import threading
    import xmlrpc.client

    env = {"PEMX_LOGIN_FAILURES": "5", "PEMX_LOGIN_BLOCK_SECONDS": "60", "PEMX_THREADS": "4"}
    server = start_server(base / "data", "--no-mail", env=env)
    body = xmlrpc.client.dumps(({"account_id": 1},), "pem.getAccountInfo").encode()

    def status(password: str) -> int:
        token = base64.b64encode(f"admin:{password}".encode()).decode()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request("POST", "/RPC2", body, {"Authorization": f"Basic {token}"})
            return conn.getresponse().status
        finally:
            conn.close()

    try:
        assert status("Provider-Secret-1") == 200  # a working client, verified once
        assert [status("wrong") for _ in range(5)] == [401] * 5
        # blocked now: refused at once, with no password check, from many threads
        statuses: list[int] = []
        t0 = time.monotonic()

        def flood() -> None:
            statuses.extend(status("wrong") for _ in range(25))

        threads = [threading.Thread(target=flood) for _ in range(8)]
        for thread in threads:
            thread.start()
        working = [status("Provider-Secret-1") for _ in range(20)]
        for thread in threads:
            thread.join()
        assert set(statuses) == {429}
        assert working == [200] * 20  # the verified credential is never slowed
        assert time.monotonic() - t0 < 10
        metrics = _get(server, "/metrics")[1]
        assert _sample(metrics, "pemx_failed_logins_total") == 5 + 200
    finally:
        stop_server(server)
    log = (base / "data.log").read_text()
    assert log.count("login failed client=127.0.0.1 login='admin'") == 205


# --- the systemd unit


def test_the_systemd_unit_runs_serve_as_a_dedicated_user_and_restarts_it(tmp_path: Path) -> None:
    rendered = _pemx("systemd-unit", "--data-dir", "/var/lib/pemx-test")
    assert rendered.returncode == 0, rendered.stderr
    unit = rendered.stdout
    assert "User=pemx\n" in unit and "Restart=on-failure\n" in unit
    assert f"ExecStart={sys.executable} -m pemx serve --data-dir /var/lib/pemx-test\n" in unit
    assert "StateDirectory=pemx-test\n" in unit
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    path = tmp_path / "pemx.service"
    path.write_text(unit)
    verified = subprocess.run(
        [analyze, "verify", str(path)], capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0, verified.stderr
    assert "pemx.service" not in verified.stderr, verified.stderr  # no warning about it


# --- backup and restore


def test_a_backup_under_load_restores_every_mailbox_and_message(
    base: Path, new_database: Callable[[], ServerDatabase]
) -> None:
    """On both databases: SQLite's online backup, or pg_dump of one exported snapshot
    (and pg_restore into an empty database), with the mail of the same snapshot."""
    import threading

    from tests.support.builders import make_tenant, new_user_mailbox
    from tests.support.mailclient import imap_append, imap_login, inbox_subjects, make_message

    require_dovecot()
    database = new_database()
    server = start_server(database.configure(base / "data"))
    password = "Mailbox-Pass-1"
    expected: dict[str, list[str]] = {}
    try:
        api = server.proxy()
        tenant = make_tenant(api)
        host, port = server.mail("imap")
        for n in range(4):
            _, _, _, address = new_user_mailbox(api, tenant, password, f"bk{n}")
            imap = imap_login(host, port, address, password)
            expected[address] = [f"before {n}-{i}" for i in range(3)]
            for subject in expected[address]:
                imap_append(imap, "INBOX", make_message(subject))
            imap.logout()
        stop = threading.Event()
        (busy,) = list(expected)[:1]

        def load() -> None:  # mail keeps arriving while the backup runs
            imap = imap_login(host, port, busy, password)
            i = 0
            while not stop.is_set():
                imap_append(imap, "INBOX", make_message(f"during {i}"))
                i += 1
            imap.logout()

        writer = threading.Thread(target=load)
        writer.start()
        try:
            t0 = time.monotonic()
            made = _pemx("--data-dir", str(server.data_dir), "backup", str(base / "backup"))
            took = time.monotonic() - t0
        finally:
            stop.set()
            writer.join()
        assert made.returncode == 0, made.stderr
        assert "backed up the database and 4 mailboxes" in made.stderr
    finally:
        stop_server(server)
    copy = "pemx.pgdump" if database.postgres else "pemx.db"
    assert not stat.S_IMODE((base / "backup" / copy).stat().st_mode) & 0o077
    assert json.loads((base / "backup" / "manifest.json").read_text())["database"] == (
        database.kind
    )
    restored_dir = new_database().configure(base / "restored")
    t0 = time.monotonic()
    done = _pemx("--data-dir", str(restored_dir), "restore", str(base / "backup"))
    print(f"{database.kind}: backup {took:.1f} s, restore {time.monotonic() - t0:.1f} s")
    assert done.returncode == 0, done.stderr
    again = _pemx("--data-dir", str(restored_dir), "restore", str(base / "backup"))
    if database.postgres:
        assert again.returncode == 1 and "restore into an empty one" in again.stderr
        assert len(again.stderr.strip().splitlines()) == 1, again.stderr
    else:
        assert again.returncode == 1 and "fresh data directory" in again.stderr
    restored = start_server(restored_dir)
    try:
        host, port = restored.mail("imap")
        for address, subjects in expected.items():
            imap = imap_login(host, port, address, password)
            found = inbox_subjects(imap)
            assert found[: len(subjects)] == subjects, address
            if address == busy:  # a snapshot of each mailbox: what was there, in order
                during = found[len(subjects) :]
                assert during == [f"during {i}" for i in range(len(during))]
            else:
                assert found == subjects
            typ, data = imap.fetch("1:*", "(BODY.PEEK[])")  # every message reads whole
            assert typ == "OK" and sum(isinstance(p, tuple) for p in data) == len(found)
            imap.logout()
        assert ok(restored.proxy().pem.getAccountInfo({"account_id": tenant.customer_id}))
    finally:
        stop_server(restored)


# --- defect 9: pemx status answers at once


def test_status_imports_nothing_it_does_not_need(tmp_path: Path) -> None:
    probe = (
        "import sys; from pemx.cli import cli\n"
        f"try: cli(['status', '--data-dir', {str(tmp_path)!r}])\n"
        "except SystemExit: pass\n"
        "heavy = {'sqlalchemy', 'alembic', 'cheroot', 'pemx.bootstrap', 'pemx.api.wsgi'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.splitlines()[-1] == "[]", result.stdout + result.stderr
    t0 = time.monotonic()
    assert _pemx("--data-dir", str(tmp_path), "status").returncode == 3
    assert time.monotonic() - t0 < 1.5  # about 0.2 s; 2 s before
