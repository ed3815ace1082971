"""Where a mail client reaches its mailbox: the public host, ports and security of IMAP,
POP3 and submission, and the web and ActiveSync URL, as autoconfig and autodiscover tell
clients (one value, built from the settings)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ACTIVESYNC_PATH = "/Microsoft-Server-ActiveSync"  # where every ActiveSync client posts
WEBMAIL_PATH = "/SOGo/"


class MailSecurity(StrEnum):
    """How the public mail listeners are protected (the smarthost's words, reused)."""

    NONE = "none"  # plain text (a test or a closed network only)
    STARTTLS = "starttls"  # plain port, upgraded with STARTTLS
    TLS = "tls"  # implicit TLS (993, 995, 465)


@dataclass(frozen=True)
class ClientEndpoints:
    mail_host: str
    imap_port: int
    pop3_port: int
    submission_port: int
    security: MailSecurity
    web_url: str | None = None  # the groupware front end; None: no webmail, no ActiveSync

    @property
    def activesync_url(self) -> str | None:
        return None if self.web_url is None else self.web_url + ACTIVESYNC_PATH

    @property
    def webmail_url(self) -> str | None:
        return None if self.web_url is None else self.web_url + WEBMAIL_PATH
