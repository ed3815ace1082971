"""Benchmark authenticated submission on the embedded path (Dovecot's submission service
and pemx's relay) against a real `pemx serve`.

    .venv/bin/python bench/submission.py [--database sqlite|postgresql] [--latency 100]
                                         [--clients 4] [--messages 200] [--bcrypt-rounds 10]

(1) Latency of one submission end to end, one at a time: connect, EHLO, AUTH PLAIN,
    MAIL, RCPT, DATA, QUIT, until the message is a file in the recipient's INBOX
    (Maildir new/): p50, p90, p99, max.
(2) Sustained submissions per second: N client processes, each one authenticated
    session sending its messages back to back to a local mailbox; every message counted
    in the INBOX at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import smtplib
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from common import PASSWORD, customer_subscription, database, mailbox_fields, ok, pct, server


def new_mailbox(api: Any, subscription_id: int, domain: str) -> tuple[int, str]:
    login = f"b{uuid.uuid4().hex[:10]}"
    address = f"{login}@{domain}"
    result = ok(
        api.pem.exchange.addMailbox(
            {
                "new_user": {
                    "subscription_id": subscription_id,
                    "login": login,
                    "password": PASSWORD,
                },
                **mailbox_fields(address),
                "size_limit": 1024 * 1024,
            }
        )
    )
    return int(result["mailbox_id"]), address


def message(sender: str, rcpt: str, n: int) -> bytes:
    return (
        f"From: {sender}\r\nTo: {rcpt}\r\nSubject: bench {n}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@bench>\r\n\r\n" + ("x" * 76 + "\r\n") * 26
    ).encode()


def inbox_count(maildir: Path) -> int:
    new = maildir / "new"
    return len(list(new.iterdir())) if new.exists() else 0


def one_submission(
    submission: tuple[str, int], sender: str, rcpt: str, maildir: Path, n: int
) -> float:
    before = inbox_count(maildir)
    started = time.perf_counter()
    with smtplib.SMTP(*submission, timeout=30) as smtp:
        smtp.login(sender, PASSWORD)
        smtp.sendmail(sender, [rcpt], message(sender, rcpt, n))
    while inbox_count(maildir) <= before:
        time.sleep(0.0005)
    return time.perf_counter() - started


def _client(args: tuple[tuple[str, int], str, str, int]) -> float:
    submission, sender, rcpt, count = args
    started = time.perf_counter()
    with smtplib.SMTP(*submission, timeout=60) as smtp:
        smtp.login(sender, PASSWORD)
        for n in range(count):
            smtp.sendmail(sender, [rcpt], message(sender, rcpt, n))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--latency", type=int, default=100, help="sequential submissions")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--messages", type=int, default=200, help="per client")
    parser.add_argument("--bcrypt-rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pemx-bench-") as tmp, database(args.database) as env:
        Path(tmp).chmod(0o755)
        with server(Path(tmp) / "data", env, args.bcrypt_rounds) as running:
            api = running.proxy()
            domain = f"bench{uuid.uuid4().hex[:6]}.example"
            _, subscription = customer_subscription(api, domain)
            _, sender = new_mailbox(api, subscription, domain)
            rcpt_id, rcpt = new_mailbox(api, subscription, domain)
            submission = running.mail("submission")
            maildir = Path(running.runtime["mail_root"]) / str(rcpt_id) / "Maildir"
            one_submission(submission, sender, rcpt, maildir, -1)  # warm up
            latencies = sorted(
                one_submission(submission, sender, rcpt, maildir, n) for n in range(args.latency)
            )
            print(
                f"one submission, submit -> in the INBOX (n={args.latency}, bcrypt cost "
                f"{args.bcrypt_rounds}, {args.database}): p50 {pct(latencies, 0.5):.1f} ms, "
                f"p90 {pct(latencies, 0.9):.1f} ms, p99 {pct(latencies, 0.99):.1f} ms, "
                f"max {latencies[-1] * 1000:.1f} ms"
            )
            senders = [new_mailbox(api, subscription, domain)[1] for _ in range(args.clients)]
            before = inbox_count(maildir)
            started = time.perf_counter()
            with mp.Pool(args.clients) as pool:
                pool.map(_client, [(submission, s, rcpt, args.messages) for s in senders])
            elapsed = time.perf_counter() - started
            total = args.clients * args.messages
            delivered = inbox_count(maildir) - before
            print(
                f"sustained: {args.clients} sessions x {args.messages} messages = {total} in "
                f"{elapsed:.1f} s: {total / elapsed:.0f} submissions/s; in the INBOX: "
                f"{delivered}/{total}"
            )


if __name__ == "__main__":
    main()
