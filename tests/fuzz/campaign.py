"""A fuzz campaign against a running `pemx serve`: hostile calls from a few client threads
on loopback, every answer classified, then the checks of issue 14's "Done when":

- no HTTP 5xx (but those RFC 9110 prescribes: 501 for a transfer coding the server
  does not implement, 505 for an HTTP version it does not speak), no answer missing, no
  envelope with OpenAPI/1 (INTERNAL), no XML-RPC fault but parse errors, bad requests
  and unknown methods;
- no hostile call accepted;
- every table but the audit log's as it was before the run;
- no secret of the run anywhere in the server's log or the audit log.
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
import time
import xmlrpc.client
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pemx.adapters.db.tables import metadata
from pemx.api.method import Method
from pemx.api.xmlrpc import INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR
from tests.fuzz.hostile import SECRET_PREFIX, Hostile, HostileCalls
from tests.support.builders import add_reseller_account, unique
from tests.support.calls import ok
from tests.support.server import ADMIN_LOGIN, ADMIN_PASSWORD, Server

AUDIT_TABLES = {"audit_log", "audit_objects"}
FAULTS = {PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND}
TIMEOUT_S = 20.0


@dataclass
class Report:
    calls: int = 0
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    defects: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    def render(self) -> str:
        lines = [
            f"{self.calls} hostile calls in {self.seconds:.1f} s ({self.rate:.0f} calls/s)",
            "defects sent:",
            *(f"  {n:>8}  {k}" for k, n in sorted(self.defects.items())),
            "outcomes:",
            *(f"  {n:>8}  {k}" for k, n in self.outcomes.most_common()),
            f"violations: {len(self.violations)}",
            *(f"  {v}" for v in self.violations[:50]),
        ]
        return "\n".join(lines)


def run_campaign(
    server: Server,
    methods: Mapping[str, Method],
    *,
    calls: int,
    clients: int = 4,
    seed: int = 14,
    log_file: Path | None = None,
) -> Report:
    """Send ``calls`` hostile calls, then check the server's state, log and audit.
    Half the clients call as provider staff, half as a reseller's staff member."""
    reseller = _reseller_login(server)
    before = dump_state(server.database_url)
    audit_before = _audit_count(server.database_url)
    report = Report()
    lock = threading.Lock()
    counter = iter(range(calls))

    def client(index: int) -> None:
        login, password = (ADMIN_LOGIN, ADMIN_PASSWORD) if index % 2 == 0 else reseller
        calls_of = HostileCalls(methods, login, password, random.Random(seed + index))
        conn: http.client.HTTPConnection | None = None
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            hostile = calls_of.make()
            try:
                if hostile.raw is not None:
                    outcome = _send_raw(server.port, hostile.raw)
                else:
                    conn = conn or http.client.HTTPConnection("127.0.0.1", server.port, TIMEOUT_S)
                    outcome, keep = _send(conn, hostile)
                    if not keep:
                        conn.close()
                        conn = None
            except (OSError, http.client.HTTPException) as exc:
                if conn is not None:
                    conn.close()
                    conn = None
                outcome = f"no answer: {type(exc).__name__}"
            violation = _violation(hostile, outcome, methods)
            with lock:
                report.defects[hostile.kind] += 1
                report.outcomes[outcome] += 1
                if violation:
                    report.violations.append(f"{hostile.kind} {hostile.method}: {violation}")

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.seconds = time.monotonic() - started
    report.calls = sum(report.defects.values())

    after = dump_state(server.database_url)
    for table in sorted(set(before) | set(after)):
        if before.get(table) != after.get(table):
            report.violations.append(f"table {table} changed during the run")
    report.outcomes["(audit entries written)"] = _audit_count(server.database_url) - audit_before
    for where in _secrets_in_audit(server.database_url):
        report.violations.append(f"a secret in the audit log: {where}")
    if log_file is not None:
        text = log_file.read_text(encoding="utf-8", errors="replace")
        if SECRET_PREFIX in text:
            at = text.index(SECRET_PREFIX)
            report.violations.append(f"a secret in the server log: {text[at - 200 : at + 60]!r}")
        for word in ("Traceback", "Internal Server Error"):
            if word in text:
                at = text.index(word)
                report.violations.append(f"{word} in the server log: {text[at : at + 800]!r}")
    return report


def _reseller_login(server: Server) -> tuple[str, str]:
    provider = server.proxy()
    account_id = add_reseller_account(provider)
    login, password = unique("fuzz"), "Fuzz-Reseller-1"
    auth = {"login": login, "password": password}
    ok(provider.pem.addAccountMember({"account_id": account_id, "auth": auth}))
    return login, password


def _send(conn: http.client.HTTPConnection, hostile: Hostile) -> tuple[str, bool]:
    conn.request("POST", "/RPC2", hostile.body, {"Content-Type": "text/xml", **hostile.headers})
    response = conn.getresponse()
    body = response.read()
    keep = not response.will_close
    if response.status != 200:
        return f"HTTP {response.status}", keep
    return _classify(body), keep


def _send_raw(port: int, raw: bytes) -> str:
    with socket.create_connection(("127.0.0.1", port), TIMEOUT_S) as sock:
        try:
            sock.sendall(raw)
            # Nothing more is coming: a server waiting for the rest of a body sees the end.
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # it answered and closed before reading everything
        # The first answer only: a server may answer leftover bytes as a further request.
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
        except http.client.RemoteDisconnected:
            return "HTTP closed without an answer"
        except http.client.BadStatusLine as exc:
            return f"HTTP garbled answer {str(exc)[:40]!r}"
        body = response.read()
    if response.status != 200:
        return f"HTTP {response.status}"
    return _classify(body)


def _classify(body: bytes) -> str:
    try:
        (value,), _ = xmlrpc.client.loads(body, use_builtin_types=True)
    except xmlrpc.client.Fault as fault:
        return f"fault {fault.faultCode}"
    except Exception as exc:
        return f"unreadable answer: {type(exc).__name__}"
    if isinstance(value, dict) and "status" in value:
        if value["status"] == 0:
            return "accepted"
        return f"refused {value.get('module_id')}/{value.get('extype_id')}"
    return "bare answer"


def _violation(hostile: Hostile, outcome: str, methods: Mapping[str, Method]) -> str | None:
    if outcome.startswith("HTTP 5"):
        # What RFC 9110/9112 prescribe for a transfer coding the server does not
        # implement and for a major HTTP version it does not speak.
        if outcome == "HTTP 501" and b"Transfer-Encoding" in (hostile.raw or b""):
            return None
        if outcome == "HTTP 505" and b"HTTP/9.9" in (hostile.raw or b""):
            return None
        return outcome
    if outcome.startswith(("no answer", "unreadable", "HTTP garbled")):
        return outcome
    if outcome == "refused OpenAPI/1":
        return "an internal error"
    if outcome.startswith("fault "):
        code = int(outcome.removeprefix("fault "))
        return None if code in FAULTS else outcome
    method = methods.get(hostile.method)
    if outcome in ("accepted", "bare answer"):
        if method is not None and not method.enveloped:
            return None  # system.listMethods ignores its parameters
        return "a hostile call was accepted"
    return None


def dump_state(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the audit log's, in key order."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            state: dict[str, list[tuple[Any, ...]]] = {}
            for name in names:
                if name in AUDIT_TABLES:
                    continue
                table = metadata.tables.get(name)
                if table is None:
                    rows = conn.exec_driver_sql(f'SELECT * FROM "{name}"').all()
                    state[name] = sorted(tuple(map(repr, r)) for r in rows)
                    continue
                query = sa.select(table).order_by(*table.primary_key.columns)
                state[name] = [tuple(map(repr, r)) for r in conn.execute(query)]
            return state
    finally:
        engine.dispose()


def _audit_count(url: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar_one())
    finally:
        engine.dispose()


def _secrets_in_audit(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    found = []
    try:
        with engine.connect() as conn:
            audit = metadata.tables["audit_log"]
            for row in conn.execute(sa.select(audit)):
                text = " ".join(map(str, row))
                if SECRET_PREFIX in text:
                    found.append(f"audit row {row.id} ({row.method}): {text[:300]}")
    finally:
        engine.dispose()
    return found
