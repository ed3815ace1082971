"""bootstrap wires everything at construction: the mail backend a test hands in is the
one the API's reads and the worker use, and one callback wakes the worker after commits."""

from __future__ import annotations

from collections.abc import Callable

from pemx.bootstrap import Application
from tests.support.fake_mail import FakeMailBackend


def test_the_reads_and_the_worker_use_the_one_mail_backend(
    app: Application, mail: FakeMailBackend
) -> None:
    assert app.mail is mail
    assert app.api.deps.mail is mail
    assert app.worker is not None and app.worker.mail is mail
    # txn.Commit and pem.batchRequest wake the worker through the same callback as the
    # units of work do.
    assert app.api.deps.changed == app.worker.wake


def test_without_a_worker_commits_wake_nobody(make_app: Callable[..., Application]) -> None:
    app = make_app(worker=False)
    assert app.worker is None
    app.api.deps.changed()  # harmless
