"""The outbox queue under many workers at once (threads here, nodes in production).

Runs on SQLite and on PostgreSQL (FOR UPDATE SKIP LOCKED): every task is claimed by
exactly one worker, and the tasks of one mailbox never run side by side.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pemx.adapters.db.database import Database
from pemx.adapters.db.taskqueue import TaskQueue
from pemx.adapters.db.unit_of_work import SqlTx, SqlUnitOfWork
from pemx.service import outbox
from tests.support.server import ServerDatabase

WORKERS = 8
MAILBOXES = 40
TASKS_PER_MAILBOX = 5


def test_each_task_is_claimed_once_and_in_mailbox_order(
    tmp_path: Path, new_database: Callable[[], ServerDatabase]
) -> None:
    database = Database(new_database().url(tmp_path))
    database.migrate()
    with database.connect(write=True) as conn:
        tx = SqlTx(conn)
        for round_ in range(TASKS_PER_MAILBOX):
            for mailbox_id in range(1, MAILBOXES + 1):
                tx.outbox.enqueue("close_sessions", mailbox_id, {"round": round_})
        for _ in range(20):  # tasks of no mailbox may run anywhere, in any order
            tx.outbox.enqueue("close_sessions", None, {})
    queue = TaskQueue(database)
    claims: list[tuple[str, int]] = []
    running: dict[int, str] = {}  # mailbox -> worker running one of its tasks
    overlaps: list[int] = []
    guard = threading.Lock()
    start = threading.Barrier(WORKERS)

    def work(name: str) -> None:
        start.wait()
        idle = 0
        while idle < 20:
            batch = queue.claim(name, limit=4)
            if not batch:
                idle += 1
                threading.Event().wait(0.01)
                continue
            idle = 0
            with guard:
                for task in batch:
                    claims.append((name, task.id))
                    if task.mailbox_id is not None:
                        if task.mailbox_id in running:
                            overlaps.append(task.mailbox_id)
                        running[task.mailbox_id] = name
            for task in batch:
                with guard:
                    if task.mailbox_id is not None:
                        running.pop(task.mailbox_id, None)
                queue.succeeded(task, name, lambda tx: None)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    total = MAILBOXES * TASKS_PER_MAILBOX + 20
    claimed = Counter(task_id for _, task_id in claims)
    assert len(claimed) == total, f"{total - len(claimed)} tasks never claimed"
    assert max(claimed.values()) == 1, [t for t, n in claimed.items() if n > 1]
    assert overlaps == [], "two tasks of one mailbox ran at once"
    assert len({name for name, _ in claims}) > 1  # the work was shared
    done = outbox.list_tasks(SqlUnitOfWork(database), states=("done",))
    assert len(done) == total and all(t.attempts == 1 for t in done)
    # Per mailbox, the tasks finished in the order they were queued.
    order: dict[int, list[int]] = {}
    for task in sorted(done, key=lambda t: (t.finished_at, t.id)):
        if task.mailbox_id is not None:
            order.setdefault(task.mailbox_id, []).append(task.payload["round"])
    assert all(rounds == sorted(rounds) for rounds in order.values())
    database.dispose()
