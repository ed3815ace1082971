"""The HTTP(S) server: cheroot, a production WSGI server with a pool of worker threads.

One process serves requests on threads: an open txn.Begin transaction is a connection
held in this process, so every call with its txn_id reaches it, whichever thread runs
the call (docs/architecture.md explains the choice). bcrypt releases the GIL, so
password hashing uses every core.
"""

from __future__ import annotations

from typing import Any

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter


def make_server(
    app: Any,
    *,
    host: str,
    port: int,
    threads: int,
    max_body_bytes: int,
    tls_cert: str = "",
    tls_key: str = "",
) -> wsgi.Server:
    server = wsgi.Server(
        (host, port),
        app,
        numthreads=threads,
        max=threads,
        request_queue_size=256,
        timeout=30,
        shutdown_timeout=5,
        server_name="pemx",
    )
    # cheroot refuses larger bodies with 413 before the application reads them.
    server.max_request_body_size = max_body_bytes
    server.max_request_header_size = 64 * 1024
    if tls_cert:
        server.ssl_adapter = BuiltinSSLAdapter(tls_cert, tls_key)
    return server
