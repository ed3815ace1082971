"""Sent copies saved by the server (setting ``submission_save_sent``, off by default).

Mail clients keep their own copy: they APPEND it to the Sent folder over IMAP, so with
this on they would get two. It is for clients that do not (scripts, devices, some
phones). The relay saves the message after every hop took it, through the private
Dovecot's doveadm HTTP API (``save``) into the sender's Sent folder under its localized
name, created when missing. A failure is logged: the message was sent all the same.
"""

from __future__ import annotations

import logging

from pemx.adapters.mail.dovecot.doveadm import DoveadmHttp
from pemx.adapters.mail.dovecot.errors import MailBackendError
from pemx.service.ports import SendingReads

__all__ = ["SentCopies"]

log = logging.getLogger(__name__)


class SentCopies:
    def __init__(self, reads: SendingReads, doveadm: DoveadmHttp) -> None:
        self.reads = reads
        self.doveadm = doveadm

    def save(self, username: str, data: bytes) -> None:
        try:
            folder = self.reads.sent_folder(username)
            if not self.doveadm.mailbox_exists(username, folder):
                self.doveadm.mailbox_create(username, folder)
            # doveadm's JSON carries text: 8-bit bytes that are not UTF-8 are replaced.
            text = data.decode("utf-8", errors="replace")
            self.doveadm.call("save", {"user": username, "mailbox": folder, "file": text})
        except (MailBackendError, OSError) as exc:
            log.error("the Sent copy of %s's message was not saved: %s", username, exc)
        except Exception:
            log.exception("the Sent copy of %s's message was not saved", username)
