#!/usr/bin/env python3
"""Rewrite the generated section of docs/deployment.md: the exact files `pemx mail-config`
renders for the example layout (a store behind proxies, and a proxy).

Run after changing a renderer; tests/test_docs.py fails while the page is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pemx.adapters.mail.database import PgsqlDatabase
from pemx.adapters.mail.dovecot import MailPorts
from pemx.adapters.mail.dovecot.system import (
    system_dovecot_config,
    system_dovecot_files,
    system_proxy_files,
)

PAGE = Path(__file__).resolve().parent.parent / "docs" / "deployment.md"
START, END = "<!-- generated: scripts/deployment_examples.py -->", "<!-- end of generated -->"
DATABASE = PgsqlDatabase(
    host="db.example.net", dbname="pemx", user="pemx_mail", password="MAIL_DB_PASSWORD"
)


def examples() -> str:
    store = system_dovecot_config(
        DATABASE,
        ports=MailPorts(143, 110, 24, 10144, 10145, 10146),
        store_id=2,
        login_trusted_networks="10.0.1.10/32 10.0.1.11/32",
        doveadm_api_key="STORE_A_DOVEADM_KEY",
    )
    proxy = system_dovecot_config(DATABASE, ports=MailPorts(143, 110, 24, 10144, 10145, 10146))
    parts = [
        "### Store `store-a` (id 2, host 10.0.1.21)\n\n"
        "`pemx mail-config --kind dovecot --store store-a "
        "--trusted-networks '10.0.1.10/32 10.0.1.11/32'`:\n"
    ]
    for path, text in system_dovecot_files(
        store, lmtp_address="10.0.1.21", doveadm_address="10.0.1.21"
    ).items():
        parts.append(f"\n`{path}`:\n\n```\n{text}```\n")
    parts.append("\n### Proxy\n\n`pemx mail-config --kind proxy`:\n")
    for path, text in system_proxy_files(proxy).items():
        parts.append(f"\n`{path}`:\n\n```\n{text}```\n")
    return "".join(parts)


def rewrite(page: str) -> str:
    head, _, rest = page.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{examples()}{END}{tail}"


if __name__ == "__main__":
    PAGE.write_text(rewrite(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {PAGE}", file=sys.stderr)
