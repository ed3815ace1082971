"""Benchmark one message to a distribution list of 10, 100 and 1,000 mailboxes, through
the embedded inbound listener to LMTP, against a real `pemx serve`.

    .venv/bin/python bench/list_delivery.py [--database sqlite|postgresql] [--sizes 10,100,1000]
                                            [--messages 5]

For each size: the time from connect to the listener's 250 (which comes only once every
member's store took the message over LMTP), median and max of N messages, each member's
INBOX counted at the end; and the SQL statements one message costs, counted on a second
inbound listener run in this process (the same class `pemx serve` runs, on the same
database) with an SQLAlchemy event.
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from common import customer_subscription, database, mailbox_fields, ok, server

from pemx.adapters.db.database import Database
from pemx.adapters.db.senders import SqlSendingReads
from pemx.adapters.mail.submission.inbound import InboundSmtp

MEMBERS_PER_CALL = 500
TYPES = (1, 2, 3, 4, 6)  # ... and 6: distribution lists


def new_mailboxes(api: Any, subscription_id: int, domain: str, logins: list[str]) -> list[int]:
    ids: list[int] = []
    for login in logins:
        result = ok(
            api.pem.exchange.addMailbox(
                {
                    "new_user": {
                        "subscription_id": subscription_id,
                        "login": login,
                        "password": "Bench-User-Pass-1",
                    },
                    **mailbox_fields(f"{login}@{domain}"),
                }
            )
        )
        ids.append(int(result["mailbox_id"]))
    return ids


def new_list(api: Any, subscription_id: int, domain: str, members: list[int]) -> str:
    alias = f"l{uuid.uuid4().hex[:10]}"
    list_id = ok(
        api.pem.exchange.addDistributionList(
            {
                "subscription_id": subscription_id,
                "alias": alias,
                "display_name": "Bench",
                "primary_email_address": f"{alias}@{domain}",
                "accept_mail_from": 1,
            }
        )
    )["distribution_list_id"]
    for start in range(0, len(members), MEMBERS_PER_CALL):
        chunk = members[start : start + MEMBERS_PER_CALL]
        ok(
            api.pem.exchange.addDistributionListMembers(
                {"distribution_list_id": list_id, "members": [{"mailbox_id": m} for m in chunk]}
            )
        )
    return f"{alias}@{domain}"


def lmtp_floor(lmtp: tuple[str, int], recipients: list[str]) -> float:
    """The same message straight to the members over one LMTP session (what the listener
    does after the expansion): the floor of a list delivery."""
    started = time.perf_counter()
    client = smtplib.LMTP(*lmtp, timeout=300)
    client.ehlo_or_helo_if_needed()
    client.mail("someone@outside.example")
    for address in recipients:
        client.rcpt(address)
    client.data(body(recipients[0], -2))
    for _ in recipients[1:]:  # LMTP answers DATA once per recipient
        client.getreply()
    client.quit()
    return time.perf_counter() - started


def body(to: str, n: int) -> bytes:
    return (
        f"From: someone@outside.example\r\nTo: {to}\r\nSubject: list {n}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@bench>\r\n\r\n" + ("x" * 76 + "\r\n") * 26
    ).encode()


def send(where: tuple[str, int], to: str, n: int) -> float:
    data = body(to, n)
    started = time.perf_counter()
    with smtplib.SMTP(*where, timeout=300) as smtp:
        smtp.sendmail("someone@outside.example", [to], data)
    return time.perf_counter() - started


def inbox_count(mail_root: Path, mailbox_id: int) -> int:
    new = mail_root / str(mailbox_id) / "Maildir" / "new"
    return len(list(new.iterdir())) if new.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--messages", type=int, default=5, help="timed messages per size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="pemx-bench-") as tmp, database(args.database) as env:
        Path(tmp).chmod(0o755)
        data_dir = Path(tmp) / "data"
        with server(data_dir, env, rounds=4) as running:
            api = running.proxy()
            domain = f"bench{uuid.uuid4().hex[:6]}.example"
            _, subscription = customer_subscription(api, domain, TYPES)
            started = time.perf_counter()
            logins = [f"m{uuid.uuid4().hex[:10]}" for _ in range(max(sizes))]
            pool = new_mailboxes(api, subscription, domain, logins)
            addresses = [f"{login}@{domain}" for login in logins]
            print(f"{len(pool)} mailboxes created in {time.perf_counter() - started:.0f} s")
            url = env.get("PEMX_DATABASE_URL") or f"sqlite:///{data_dir / 'pemx.db'}"
            db = Database(url, pool_size=4)
            statements = 0

            def count(*_: Any) -> None:
                nonlocal statements
                statements += 1

            sa.event.listen(db.engine, "before_cursor_execute", count)
            counted = InboundSmtp(SqlSendingReads(db), None)
            counted.start()
            mail_root = Path(running.runtime["mail_root"])
            try:
                for size in sizes:
                    address = new_list(api, subscription, domain, pool[:size])
                    counts = [inbox_count(mail_root, m) for m in pool[:size]]
                    before = statements
                    send((counted.host, counted.port), address, -1)
                    queries = statements - before
                    times = sorted(
                        send(running.mail("inbound"), address, n) for n in range(args.messages)
                    )
                    got = [
                        inbox_count(mail_root, m) - n for m, n in zip(pool, counts, strict=False)
                    ]
                    floor = lmtp_floor(running.mail("lmtp"), addresses[:size])
                    print(
                        f"list of {size:>5} members ({args.database}): one message "
                        f"{statistics.median(times) * 1000:.0f} ms median, "
                        f"{times[-1] * 1000:.0f} ms max (n={args.messages}), "
                        f"{(statistics.median(times) / size) * 1000:.2f} ms per member; "
                        f"{queries} SQL statements per message; every member's INBOX has "
                        f"{min(got)}-{max(got)} of {args.messages + 1}; straight over LMTP "
                        f"(the floor) {floor * 1000:.0f} ms"
                    )
            finally:
                counted.stop()
                db.dispose()


if __name__ == "__main__":
    main()
