"""The outbox worker: a thread that runs queued tasks against the mail backend.

An entry point like the API: it drives service.outbox through the ports (the queue, the
units of work, the mail backend) that bootstrap hands it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from pemx.domain.model import Task
from pemx.service import outbox
from pemx.service.ports import GroupwareCache, MailBackend, TaskQueue, UnitOfWork

log = logging.getLogger("pemx.worker")

KEEP_DONE = timedelta(days=7)


class Worker:
    """Claims due tasks, runs them, records the outcome; sleeps until woken or polled."""

    def __init__(
        self,
        uow: UnitOfWork,
        queue: TaskQueue,
        mail: MailBackend,
        *,
        poll_s: float = 1.0,
        groupware: GroupwareCache | None = None,
    ) -> None:
        self.uow = uow  # reads only: the queue records the outcomes
        self.queue = queue
        self.mail = mail
        self.groupware = groupware  # None: no groupware caches to keep current
        self.poll_s = poll_s
        # Unique per process and node, so a lease names exactly one worker.
        self.name = f"{socket.gethostname()}:{os.getpid()}"[:64]
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pemx-worker", daemon=True)
        self._last_purge = 0.0

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """New tasks were committed: look now rather than at the next poll."""
        self._wake.set()

    def woken(self) -> bool:
        """A wake is pending: the next pass runs at once rather than at the next poll."""
        return self._wake.is_set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def run_once(self) -> int:
        """Run every task due now; returns how many ran."""
        claimed = self.queue.claim(self.name)
        for task in claimed:
            if self._stop.is_set():
                break
            self._run(task)
        return len(claimed)

    def _run(self, task: Task) -> None:
        started = time.perf_counter()
        try:
            outbox.run(self.uow, self.mail, task, self.groupware)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            gave_up = self.queue.failed(task, self.name, error, lambda tx: outbox.gave_up(tx, task))
            log.warning(
                "task %s %s (mailbox %s) attempt %s failed%s: %s",
                task.id,
                task.kind,
                task.mailbox_id,
                task.attempts,
                ", giving up" if gave_up else "",
                exc,
            )
            return
        self.queue.succeeded(task, self.name, lambda tx: outbox.completed(tx, task))
        log.info(
            "task %s %s (mailbox %s) done in %.1f ms",
            task.id,
            task.kind,
            task.mailbox_id,
            (time.perf_counter() - started) * 1000,
        )

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_once()
                self._purge()
            except Exception:
                # The database may be busy or away: try again at the next poll.
                log.exception("outbox worker pass failed")
                ran = 0
            if ran == 0:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def _purge(self) -> None:
        now = time.monotonic()
        if now - self._last_purge > 3600:
            self._last_purge = now
            self.queue.purge_done(KEEP_DONE)
