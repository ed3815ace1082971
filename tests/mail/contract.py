"""The Dovecot contract schema as plain SQLite tables, for tests of the mail adapter.

pemx's database provides ``dovecot_mailboxes`` and ``dovecot_addresses`` as
views over its own tables; here they are plain tables with exactly the
contract's columns, so the mail adapter is tested against the contract alone.

The ``store_*`` columns say which mailbox store holds a mailbox and where that
store listens (read by a proxy); a store instance with a ``store_id`` reads only
its own mailboxes. By default every mailbox is on store 1 with no address.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt

from pemx.domain.folders import catalogue_rows

CONTRACT_DDL = """
CREATE TABLE dovecot_mailboxes (
    mailbox_id        INTEGER NOT NULL PRIMARY KEY,
    username          TEXT NOT NULL UNIQUE,
    login             TEXT NOT NULL UNIQUE,
    password          TEXT NOT NULL,
    quota_kb          INTEGER NOT NULL,
    max_mail_kb       INTEGER NULL,
    retention_days    INTEGER NULL,
    folder_language   TEXT NULL,
    initialized       INTEGER NOT NULL,
    enable_imap       INTEGER NOT NULL,
    enable_pop3       INTEGER NOT NULL,
    enable_owa        INTEGER NOT NULL,
    enable_activesync INTEGER NOT NULL,
    active            INTEGER NOT NULL,
    deliverable       INTEGER NOT NULL,
    store_id                   INTEGER NOT NULL DEFAULT 1,
    store_host                 TEXT NULL,
    store_imap_port            INTEGER NULL,
    store_pop3_port            INTEGER NULL,
    store_lmtp_port            INTEGER NULL,
    store_imap_owa_port        INTEGER NULL,
    store_imap_activesync_port INTEGER NULL,
    send_limit_kb              INTEGER NULL,
    max_send_kb                INTEGER NULL,
    max_recipients             INTEGER NULL
);
CREATE TABLE dovecot_addresses (
    address  TEXT NOT NULL PRIMARY KEY,
    username TEXT NOT NULL
);
CREATE TABLE dovecot_folder_names (
    language TEXT PRIMARY KEY,
    drafts   TEXT,
    sent     TEXT,
    trash    TEXT,
    junk     TEXT,
    archive  TEXT
);
"""


def blf_crypt(password: str, rounds: int = 4) -> str:
    """A ``{BLF-CRYPT}`` hash as pemx stores it (cost 4: fast, for tests only)."""
    return "{BLF-CRYPT}" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


@dataclass
class Mailbox:
    """One row of dovecot_mailboxes plus its addresses (the primary one is added)."""

    mailbox_id: int
    username: str
    password: str
    login: str | None = None
    alt_addresses: list[str] = field(default_factory=list)
    quota_kb: int = 0
    max_mail_kb: int | None = None  # largest message accepted (KB); None/0 = any size
    retention_days: int | None = None  # days mail stays in the Trash; None/0 = forever
    folder_language: str | None = None
    initialized: bool = False
    enable_imap: bool = True
    enable_pop3: bool = True
    enable_owa: bool = True
    enable_activesync: bool = True
    active: bool = True
    # Receives mail (a suspended subscription's mailbox: active False, deliverable True);
    # None: as active (a disabled user neither logs in nor receives).
    deliverable: bool | None = None
    store_id: int = 1


def create_contract_db(path: Path) -> sqlite3.Connection:
    """Create the three contract objects and fill the folder names from the catalogue."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")  # as pemx's own database: readers never block
    db.executescript(CONTRACT_DDL)
    with db:
        db.executemany(
            "INSERT INTO dovecot_folder_names VALUES (?, ?, ?, ?, ?, ?)", catalogue_rows()
        )
    os.chmod(path, 0o600)
    return db


@dataclass(frozen=True)
class StoreAddress:
    """Where a mailbox store listens: the ``store_*`` columns of its mailboxes."""

    host: str
    imap: int
    pop3: int
    lmtp: int
    imap_owa: int
    imap_activesync: int


def add_mailbox(db: sqlite3.Connection, mb: Mailbox, store: StoreAddress | None = None) -> None:
    """Insert a mailbox and all its addresses in one transaction (lower-cased, as pemx does).

    ``store``: the coordinates of the mailbox's store (``mb.store_id``); None leaves
    them NULL (no proxy reads them).
    """
    username = mb.username.lower()
    where = (
        (None,) * 6
        if store is None
        else (
            store.host,
            store.imap,
            store.pop3,
            store.lmtp,
            store.imap_owa,
            store.imap_activesync,
        )
    )
    with db:
        db.execute(
            "INSERT INTO dovecot_mailboxes (mailbox_id, username, login, password, quota_kb,"
            " max_mail_kb, retention_days, folder_language, initialized, enable_imap,"
            " enable_pop3, enable_owa, enable_activesync, active, deliverable, store_id,"
            " store_host, store_imap_port, store_pop3_port, store_lmtp_port, store_imap_owa_port,"
            " store_imap_activesync_port)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                mb.mailbox_id,
                username,
                (mb.login or mb.username).lower(),
                blf_crypt(mb.password),
                mb.quota_kb,
                mb.max_mail_kb,
                mb.retention_days,
                mb.folder_language,
                int(mb.initialized),
                int(mb.enable_imap),
                int(mb.enable_pop3),
                int(mb.enable_owa),
                int(mb.enable_activesync),
                int(mb.active),
                int(mb.active if mb.deliverable is None else mb.deliverable),
                mb.store_id,
                *where,
            ),
        )
        db.executemany(
            "INSERT INTO dovecot_addresses (address, username) VALUES (?, ?)",
            [(a.lower(), username) for a in [username, *mb.alt_addresses]],
        )
