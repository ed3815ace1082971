"""The six TCP listeners of a Dovecot instance (a mailbox store or a proxy), one value.

The settings (``Settings.mail_ports``), a mailbox store's row (``MailboxStore.ports``),
the config renderers and ``pemx mail-config`` all carry them as ``MailPorts``; the
columns and settings that hold them are named by ``MailPorts.COLUMNS``.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import ClassVar

__all__ = ["MailPorts"]


@dataclass(frozen=True)
class MailPorts:
    """The TCP ports of one Dovecot instance. 0 means "pick a free one" (``with_free_ports``).

    ``imap_owa`` and ``imap_activesync`` are extra IMAP listeners for a webmail
    (OWA-like) and an ActiveSync gateway: a login there is checked against
    ``enable_owa`` / ``enable_activesync`` instead of ``enable_imap``.
    """

    imap: int = 0
    pop3: int = 0
    lmtp: int = 0
    imap_owa: int = 0
    imap_activesync: int = 0
    doveadm_http: int = 0

    #: field -> the name of the setting and of the mailbox_stores column that holds it
    COLUMNS: ClassVar[Mapping[str, str]] = {
        "imap": "imap_port",
        "pop3": "pop3_port",
        "lmtp": "lmtp_port",
        "imap_owa": "imap_owa_port",
        "imap_activesync": "imap_activesync_port",
        "doveadm_http": "doveadm_port",
    }

    #: field -> what the listener is for, as `pemx status` shows it
    LABELS: ClassVar[Mapping[str, str]] = {
        "imap": "IMAP",
        "pop3": "POP3",
        "lmtp": "LMTP (delivery)",
        "imap_owa": "IMAP for webmail (OWA switch)",
        "imap_activesync": "IMAP for ActiveSync gateway",
        "doveadm_http": "doveadm HTTP API",
    }

    def __post_init__(self) -> None:
        used = [p for _, p in self.items() if p]
        for name, port in self.items():
            if not 0 <= port <= 65535:
                raise ValueError(f"port {name}={port} is out of range")
        if len(set(used)) != len(used):
            raise ValueError(f"the ports must be distinct: {self}")

    def items(self) -> list[tuple[str, int]]:
        """(name, port) pairs in field order."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    @classmethod
    def from_columns(cls, source: object) -> MailPorts:
        """The ports of an object with the ``COLUMNS`` attributes (settings, a store)."""
        return cls(**{name: getattr(source, column) for name, column in cls.COLUMNS.items()})

    def columns(self) -> dict[str, int]:
        """{column: port}, for a mailbox_stores row."""
        return {column: getattr(self, name) for name, column in self.COLUMNS.items()}

    @property
    def resolved(self) -> bool:
        """True when no port is 0."""
        return all(p for _, p in self.items())

    def with_free_ports(self, host: str = "127.0.0.1") -> MailPorts:
        """A copy in which every 0 is replaced by a port that is free on ``host`` now.

        All sockets stay bound until every port is chosen, so the picks are distinct.
        (Another process may still take a port before Dovecot binds it; ``start``
        then fails with Dovecot's "Address already in use" in the error.)
        """
        missing = [name for name, port in self.items() if port == 0]
        if not missing:
            return self
        taken = {p for _, p in self.items() if p}
        chosen: dict[str, int] = {}
        socks: list[socket.socket] = []
        try:
            while len(chosen) < len(missing):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind((host, 0))
                port = int(s.getsockname()[1])
                if port not in taken:
                    taken.add(port)
                    chosen[missing[len(chosen)]] = port
        finally:
            for s in socks:
                s.close()
        return replace(self, **chosen)
