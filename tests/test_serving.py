"""Serving: TLS, the client allow-list, the CLI (status, errors), the credential cache."""

from __future__ import annotations

import http.client
import json
import shutil
import ssl
import subprocess
import sys
import threading
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from pemx.api.auth import Authenticator
from pemx.domain.model import Account, AccountType, Member
from tests.support.calls import ok
from tests.support.server import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    Server,
    server_base,
    start_server,
    stop_server,
)

CALL = xmlrpc.client.dumps(({"account_id": 1},), "pem.getAccountInfo").encode()


def _pemx(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pemx", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[Server, Path]]:
    base = server_base()
    cert, key = base / "cert.pem", base / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    running = start_server(
        base / "tls",
        "--no-mail",
        env={"PEMX_TLS_CERT": str(cert), "PEMX_TLS_KEY": str(key)},
    )
    yield running, cert
    stop_server(running)
    shutil.rmtree(base, ignore_errors=True)


def test_tls_when_a_certificate_is_configured(tls_server: tuple[Server, Path]) -> None:
    running, cert = tls_server
    assert running.runtime["api"]["url"].startswith("https://")
    context = ssl.create_default_context(cafile=str(cert))
    api = xmlrpc.client.ServerProxy(
        f"https://{ADMIN_LOGIN}:{ADMIN_PASSWORD}@127.0.0.1:{running.port}/RPC2", context=context
    )
    assert ok(api.pem.getAccountInfo({"account_id": 1}))["account_type"] == "A"
    plain = http.client.HTTPConnection("127.0.0.1", running.port, timeout=5)
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        plain.request("POST", "/RPC2", CALL)
        plain.getresponse().read()


def test_allow_list_refuses_other_networks() -> None:
    base = server_base()
    try:
        running = start_server(
            base / "deny", "--no-mail", env={"PEMX_ALLOWED_NETWORKS": "10.9.0.0/16"}
        )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=5)
            conn.request("POST", "/RPC2", CALL, {"Content-Type": "text/xml"})
            assert conn.getresponse().status == 403
        finally:
            stop_server(running)
        running = start_server(
            base / "allow", "--no-mail", env={"PEMX_ALLOWED_NETWORKS": "10.9.0.0/16,127.0.0.0/8"}
        )
        try:
            assert ok(running.proxy().pem.getAccountInfo({"account_id": 1}))["account_id"] == 1
        finally:
            stop_server(running)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_status_shows_every_endpoint(server: Server) -> None:
    result = _pemx("--data-dir", str(server.data_dir), "status", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["running"] is True
    assert info["api"]["url"] == f"http://127.0.0.1:{server.port}/RPC2"
    for key in ("imap", "pop3", "lmtp", "imap_owa", "imap_activesync"):
        assert set(info[key]) == {"host", "port"} and info[key]["port"] > 0
    human = _pemx("--data-dir", str(server.data_dir), "status")
    assert human.returncode == 0 and str(server.port) in human.stdout


def test_status_of_a_stopped_service(tmp_path: Path) -> None:
    result = _pemx("--data-dir", str(tmp_path), "status", "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout) == {"running": False, "data_dir": str(tmp_path)}


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "pemx.toml").write_text("threads = 0\n")
    result = _pemx("--data-dir", str(tmp_path), "serve")
    assert result.returncode != 0
    assert result.stderr.strip() == "Error: setting threads: must be between 1 and 512"
    (tmp_path / "pemx.toml").write_text("no_such_setting = 1\n")
    result = _pemx("--data-dir", str(tmp_path), "status")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "unknown setting 'no_such_setting'" in result.stderr


def test_generated_admin_password_is_printed_once() -> None:
    base = server_base()
    env = {"PEMX_ADMIN_PASSWORD": ""}
    try:
        running = start_server(base / "gen", "--no-mail", env=env)
        stop_server(running)
        log = (base / "gen.log").read_text()
        assert log.count("password") >= 1
        password = log.split("password '")[1].split("'")[0]
        again = start_server(base / "gen", "--no-mail", env=env)
        try:
            assert "password '" not in (base / "gen.log").read_text()  # not printed again
            api = again.proxy(ADMIN_LOGIN, password)
            assert ok(api.pem.getAccountInfo({"account_id": 1}))["account_type"] == "A"
        finally:
            stop_server(again)
    finally:
        shutil.rmtree(base, ignore_errors=True)


class CountingHasher:
    def __init__(self) -> None:
        self.verifications = 0
        self.lock = threading.Lock()

    def hash(self, password: str) -> str:
        return "plain:" + password

    def verify(self, password: str, password_hash: str) -> bool:
        with self.lock:
            self.verifications += 1
        return password_hash == "plain:" + password


def _authenticator(
    hasher: CountingHasher,
    enabled: bool = True,
    stored: dict[int, str] | None = None,
) -> Authenticator:
    """Rita's credentials; ``stored`` is what the database holds now (member id: hash),
    which the test changes behind the cache's back."""
    account = Account(2, AccountType.RESELLER, 1, None, None, None, None, None, True)
    live = stored if stored is not None else {7: "plain:Right-Pass-1"}

    def lookup(login: str) -> tuple[Member, Account] | None:
        if login != "rita":
            return None
        password_hash = live.get(7, "plain:Right-Pass-1")
        return Member(7, 2, "rita", password_hash, enabled and 7 in live), account

    return Authenticator(lookup, hasher, live_password_hash=live.get, recheck_s=0.0)


def _basic(login: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def test_verified_credentials_are_cached_wrong_ones_never() -> None:
    hasher = CountingHasher()
    auth = _authenticator(hasher)
    for _ in range(50):
        caller = auth.authenticate(_basic("Rita", "Right-Pass-1"))
        assert caller is not None and caller.account_id == 2
    assert hasher.verifications == 1
    for _ in range(3):
        assert auth.authenticate(_basic("rita", "Wrong-Pass-1")) is None
    assert hasher.verifications == 4  # every wrong password is checked for real
    assert auth.authenticate(_basic("nobody", "x")) is None
    assert auth.authenticate("Bearer abc") is None
    assert auth.authenticate("Basic !!!") is None


def test_a_cached_credential_is_refused_once_revoked_in_the_database() -> None:
    hasher = CountingHasher()
    stored = {7: "plain:Right-Pass-1"}
    auth = _authenticator(hasher, stored=stored)
    assert auth.authenticate(_basic("rita", "Right-Pass-1")) is not None
    assert auth.authenticate(_basic("rita", "Right-Pass-1")) is not None
    assert hasher.verifications == 1
    stored[7] = "plain:New-Pass-1"  # a new password, set on another node
    assert auth.authenticate(_basic("rita", "Right-Pass-1")) is None
    del stored[7]  # disabled or removed
    assert auth.authenticate(_basic("rita", "Right-Pass-1")) is None


def test_a_cached_credential_is_rechecked_at_most_once_per_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A query per call would cost a sixth of an addMailbox; once per second costs nothing,
    # and a revocation still holds on every node within that second.
    stored = {7: "plain:Right-Pass-1"}
    checks: list[int] = []

    def live_hash(member_id: int) -> str | None:
        checks.append(member_id)
        return stored.get(member_id)

    now = [1000.0]
    monkeypatch.setattr("pemx.api.auth.time.monotonic", lambda: now[0])
    account = Account(2, AccountType.RESELLER, 1, None, None, None, None, None, True)
    auth = Authenticator(
        lambda login: (Member(7, 2, login, "plain:Right-Pass-1", 7 in stored), account),
        CountingHasher(),
        live_password_hash=live_hash,
        recheck_s=1.0,
    )
    for _ in range(20):
        assert auth.authenticate(_basic("rita", "Right-Pass-1")) is not None
    assert checks == []  # verified by bcrypt just now: no re-check within the bound
    now[0] += 1.5
    del stored[7]  # revoked on another node
    assert auth.authenticate(_basic("rita", "Right-Pass-1")) is None
    assert checks == [7]


def test_disabled_member_is_refused() -> None:
    assert (
        _authenticator(CountingHasher(), enabled=False).authenticate(_basic("rita", "Right-Pass-1"))
        is None
    )
