"""The HTTP(S) server: cheroot, a production WSGI server with a pool of worker threads.

One process serves requests on threads: an open txn.Begin transaction is a connection
held in this process, so every call with its txn_id reaches it, whichever thread runs
the call (docs/architecture.md explains the choice). bcrypt releases the GIL, so
password hashing uses every core.

cheroot waits for a request's first bytes without a thread, but then a worker thread
reads the headers and body: a client that sends part of a request and stops holds that
thread until the read times out, and twenty of them held all of them for 30 s. So one
client address may have at most ``threads_per_client`` threads reading its requests;
its further requests wait, without a thread, until one of its own has been read. The
body is read whole (it is capped) before the application runs, so a call that waits in
the application (a lock, a transaction's next call) holds no reading slot: only slow
senders are held back, and only behind each other.
"""

from __future__ import annotations

import io
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from cheroot import wsgi
from cheroot.errors import MaxSizeExceeded
from cheroot.server import HTTPConnection
from cheroot.ssl.builtin import BuiltinSSLAdapter

# Requests one client address may have waiting for a thread; beyond, they are closed.
MAX_WAITING_PER_CLIENT = 1024


class ClientGate:
    """Hands connections to the worker threads to read a request, at most ``limit`` at
    once per client address; ``release`` when the request has been read (or given up)."""

    def __init__(self, limit: int, hand_over: Callable[[Any], None]) -> None:
        self.limit = limit
        self._hand_over = hand_over
        self._busy: dict[str, int] = defaultdict(int)
        self._waiting: dict[str, deque[Any]] = {}
        self._lock = threading.Lock()

    def admit(self, conn: Any) -> None:
        """A connection with a request to read: to a thread now, or after its client's."""
        client = conn.remote_addr or ""
        with self._lock:
            if self._busy[client] >= self.limit:
                waiting = self._waiting.setdefault(client, deque())
                if len(waiting) < MAX_WAITING_PER_CLIENT:
                    waiting.append(conn)
                    return
                refused = conn
            else:
                self._busy[client] += 1
                conn.holds_slot = True
                refused = None
        if refused is not None:
            refused.close()
            return
        self._hand_over(conn)

    def release(self, conn: Any) -> None:
        """A request has been read: the client's next waiting one may be (idempotent)."""
        if not getattr(conn, "holds_slot", False):
            return
        conn.holds_slot = False
        client = conn.remote_addr or ""
        with self._lock:
            waiting = self._waiting.get(client)
            if waiting:
                following = waiting.popleft()
                following.holds_slot = True
                if not waiting:
                    del self._waiting[client]
            else:
                following = None
                self._busy[client] -= 1
                if self._busy[client] <= 0:
                    del self._busy[client]
        if following is not None:
            self._hand_over(following)

    def close_waiting(self) -> None:
        with self._lock:
            waiting = [conn for queue in self._waiting.values() for conn in queue]
            self._waiting.clear()
        for conn in waiting:
            conn.close()


class _GatedConnection(HTTPConnection):
    holds_slot = False

    def communicate(self) -> bool:
        # A request given up while being read (a timeout, a malformed header) frees its
        # slot here; a request read whole has freed it in _ReadFirstGateway.
        try:
            return bool(super().communicate())  # type: ignore[no-untyped-call]
        finally:
            self.server.client_gate.release(self)


class _ReadFirstGateway(wsgi.Gateway_10):
    """Reads the whole body (capped by max_request_body_size) before the application
    runs, then frees the client's reading slot."""

    def respond(self) -> None:
        stream = self.env["wsgi.input"]
        try:
            self.env["wsgi.input"] = io.BytesIO(stream.read())
        except TimeoutError:
            raise  # cheroot answers a stalled body 408, as a stalled header
        except (MaxSizeExceeded, OSError, ValueError) as exc:
            # Too large, or broken chunked framing: the application answers it (413,
            # 400) when it reads the body, as it would have from cheroot's stream.
            self.env["wsgi.input"] = _Failing(exc)
        finally:
            self.req.server.client_gate.release(self.req.conn)
        super().respond()


class _Failing:
    """A wsgi.input that raises what reading the real one raised."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def read(self, size: int = -1) -> bytes:
        raise self.exc


class _Server(wsgi.Server):
    ConnectionClass = _GatedConnection

    def __init__(self, *args: Any, threads_per_client: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gateway = _ReadFirstGateway
        # cheroot's own hand-over puts the connection in an unbounded queue of the pool.
        self.client_gate = ClientGate(threads_per_client, super().process_conn)

    def process_conn(self, conn: Any) -> None:
        self.client_gate.admit(conn)

    def stop(self) -> None:
        super().stop()
        self.client_gate.close_waiting()


def make_server(
    app: Any,
    *,
    host: str,
    port: int,
    threads: int,
    max_body_bytes: int,
    threads_per_client: int = 0,
    tls_cert: str = "",
    tls_key: str = "",
) -> wsgi.Server:
    """``threads_per_client`` 0: half of the threads (at least one)."""
    server = _Server(
        (host, port),
        app,
        numthreads=threads,
        max=threads,
        request_queue_size=256,
        timeout=30,
        shutdown_timeout=5,
        server_name="pemx",
        threads_per_client=min(threads, threads_per_client or max(1, threads // 2)),
    )
    # cheroot refuses larger bodies with 413 before the application reads them.
    server.max_request_body_size = max_body_bytes
    server.max_request_header_size = 64 * 1024
    if tls_cert:
        server.ssl_adapter = BuiltinSSLAdapter(tls_cert, tls_key)
    return server
