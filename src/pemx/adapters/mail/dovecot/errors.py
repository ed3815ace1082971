"""The mail backend's error type."""

from __future__ import annotations

__all__ = ["MailBackendError"]


class MailBackendError(Exception):
    """The mail backend failed: Dovecot missing, not starting, or doveadm refusing."""

    def __init__(
        self, message: str, *, exit_code: int | None = None, http_status: int | None = None
    ) -> None:
        super().__init__(message)
        #: doveadm's exit code when the doveadm HTTP API returned an error entry
        self.exit_code = exit_code
        #: the HTTP status when the doveadm HTTP API answered with an error status
        self.http_status = http_status
