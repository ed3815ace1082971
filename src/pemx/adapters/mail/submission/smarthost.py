"""The smarthost: where the embedded relay hands mail for addresses pemx does not host."""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from typing import Literal

__all__ = ["DeliveryFailed", "Smarthost", "TlsMode"]

TlsMode = Literal["none", "starttls", "tls"]


class DeliveryFailed(Exception):
    """A next hop refused or could not be reached: the SMTP reply the client gets."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text

    @property
    def reply(self) -> str:
        return f"{self.code} {self.text}"


_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3} ")


def _text(raw: bytes | str) -> str:
    value = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return " ".join(value.split())


def _failed(code: int, raw: bytes | str, what: str) -> DeliveryFailed:
    """The next hop's reply, with an enhanced status code (the relay announces them)."""
    text = _text(raw)
    status = text.split(" ", 1)[0] + " " if _ENHANCED.match(text + " ") else ""
    if status:
        text = text[len(status) :]
    else:
        status = f"{code // 100}.0.0 "
    return DeliveryFailed(code, f"{status}{what}: {text}")


@dataclass(frozen=True)
class Smarthost:
    """An SMTP server that accepts pemx's outgoing mail: ``tls`` is "none" (loopback or a
    trusted network), "starttls" (port 587) or "tls" (implicit, port 465); ``username``
    empty: no login."""

    host: str
    port: int = 587
    tls: TlsMode = "starttls"
    username: str = ""
    password: str = ""
    timeout_s: float = 30.0

    def send(self, sender: str, recipients: list[str], data: bytes) -> dict[str, str]:
        """Hand the message over; returns the recipients it refused ({address: reply})
        while it took it for the others. ``DeliveryFailed`` when it took it for nobody:
        a temporary 4xx when it cannot be reached, timed out or said 4xx."""
        context = ssl.create_default_context()
        try:
            client: smtplib.SMTP
            if self.tls == "tls":
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout_s, context=context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            with client:
                client.ehlo_or_helo_if_needed()
                if self.tls == "starttls":
                    client.starttls(context=context)
                    client.ehlo()
                if self.username:
                    client.login(self.username, self.password)
                refused = client.sendmail(sender, recipients, data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _failed(code, text, "Smarthost refused the recipients") from exc
        except smtplib.SMTPResponseException as exc:
            raise _failed(exc.smtp_code, exc.smtp_error, "Smarthost") from exc
        except (OSError, smtplib.SMTPException) as exc:
            # Unreachable, timed out, TLS failed, dropped: nothing was taken, try later.
            raise DeliveryFailed(
                451, f"4.4.1 Smarthost {self.host}:{self.port} failed, try again later ({exc})"
            ) from exc
        return {address: f"{code} {_text(text)}" for address, (code, text) in refused.items()}
