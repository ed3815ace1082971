#!/usr/bin/env python3
"""Rewrite the generated section of docs/deployment.md: the exact files `pemx mail-config`
renders (adapters/mail/deploy.plan) for the example layout: a store behind proxies,
a proxy, Postfix and the groupware (SOGo).

Run after changing a template (or deploy.plan); tests/test_docs.py fails while the page is
stale.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from pemx.adapters.mail import deploy
from pemx.config import Settings
from pemx.domain.model import MailboxStore, ObjectStatus

PAGE = Path(__file__).resolve().parent.parent / "docs" / "deployment.md"
START, END = "<!-- generated: scripts/deployment_examples.py -->", "<!-- end of generated -->"
# The mail servers' read-only role (mail_db_user/mail_db_password in pemx.toml).
SETTINGS = Settings(
    database_url="postgresql+psycopg://pemx:OWNER_PASSWORD@db.example.net/pemx",
    mail_db_user="pemx_mail",
    mail_db_password="MAIL_DB_PASSWORD",
)
# A Postfix host that also relays through the provider's smarthost.
SENDING = replace(SETTINGS, smarthost_host="smtp.provider.example")
# As `pemx stores add store-a` registers it (docs/deployment.md, above).
STORE_A = MailboxStore(
    id=2,
    name="store-a",
    host="10.0.1.21",
    imap_port=143,
    pop3_port=110,
    lmtp_port=24,
    imap_owa_port=10144,
    imap_activesync_port=10145,
    doveadm_port=10146,
    mail_root="/var/vmail",
    max_mailboxes=0,
    mailbox_count=0,
    accepts_new=True,
    status=ObjectStatus.READY,
)


def examples() -> str:
    store = deploy.plan(
        "dovecot",
        SETTINGS,
        (STORE_A, "STORE_A_DOVEADM_KEY"),
        trusted_networks="10.0.1.10/32 10.0.1.11/32",
    )
    proxy = deploy.plan("proxy", SETTINGS)
    parts = [
        "### Store `store-a` (id 2, host 10.0.1.21)\n\n"
        "`pemx mail-config --kind dovecot --store store-a "
        "--trusted-networks '10.0.1.10/32 10.0.1.11/32'`:\n"
    ]
    for path, text in store.files.items():
        parts.append(f"\n`{path}`:\n\n```\n{text}```\n")
    parts.append("\n### Proxy\n\n`pemx mail-config --kind proxy`:\n")
    for path, text in proxy.files.items():
        parts.append(f"\n`{path}`:\n\n```\n{text}```\n")
    postfix = deploy.plan("postfix", SENDING, lmtp="10.0.1.21:24")
    parts.append(
        "\n### Postfix (receiving and submission)\n\n"
        "`pemx mail-config --kind postfix --lmtp 10.0.1.21:24`, with `smarthost_host = "
        '"smtp.provider.example"` in pemx.toml. `pemx serve` on the same host runs the '
        "policy service and the milter:\n"
    )
    for path, text in postfix.files.items():
        parts.append(f"\n`{path}`:\n\n```\n{text}```\n")
    sogo = deploy.plan("sogo", replace(SETTINGS, mail_host="10.0.1.5"))
    parts.append(
        "\n### Groupware (SOGo)\n\n"
        '`pemx mail-config --kind sogo`, with `mail_host = "10.0.1.5"` (the Dovecot proxy) in '
        "pemx.toml. Both SOGo instances read mail through the proxy's `imap_owa` and "
        "`imap_activesync` listeners, so each switch is enforced by Dovecot too:\n"
    )
    for path, text in sogo.files.items():
        parts.append(f"\n`{path}`:\n\n```\n{text}```\n")
    parts.append(
        "\nNext steps it prints:\n\n"
        + "".join(f"{n}. {step}\n" for n, step in enumerate(sogo.steps, 1))
    )
    return "".join(parts)


def rewrite(page: str) -> str:
    head, _, rest = page.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{examples()}{END}{tail}"


if __name__ == "__main__":
    PAGE.write_text(rewrite(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {PAGE}", file=sys.stderr)
