"""A client of Dovecot's doveadm HTTP API: the side effects SQL cannot perform."""

from __future__ import annotations

import base64
import http.client
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypedDict

from pemx.adapters.mail.dovecot.config import SAFE_PATH_RE, DovecotConfig, require_resolved
from pemx.adapters.mail.dovecot.errors import MailBackendError
from pemx.adapters.mail.dovecot.folders import localize_folders

__all__ = ["DoveadmHttp", "QuotaUsage"]

_DOVEADM_PATH: Final = "/doveadm/v1"
# Commands per doveadm HTTP request in DoveadmHttp.call_many.
_DOVEADM_BATCH: Final = 500
# sysexits-style codes that doveadm returns in an HTTP "error" entry.
_DOVEADM_EXIT_CODES: Final[Mapping[int, str]] = {
    64: "usage error",
    65: "data error",
    67: "user unknown",
    68: "not found",
    75: "temporary failure",
    77: "permission denied",
    78: "configuration error",
}


class QuotaUsage(TypedDict):
    """A mailbox's usage and limits as ``quotaGet`` reports them (None = no limit)."""

    storage_kb: int
    storage_limit_kb: int | None
    messages: int
    messages_limit: int | None


class DoveadmHttp:
    """A small client for Dovecot's doveadm HTTP API (``POST /doveadm/v1``)."""

    def __init__(self, host: str, port: int, api_key: str, *, timeout: float = 10.0) -> None:
        self.host, self.port = host, port
        self.url = f"http://{host}:{port}{_DOVEADM_PATH}"
        self.timeout = timeout
        self._auth = "X-Dovecot-API " + base64.b64encode(api_key.encode()).decode()
        self._tags: Iterator[int] = itertools.count(1)

    @classmethod
    def for_config(cls, cfg: DovecotConfig, *, timeout: float = 10.0) -> DoveadmHttp:
        require_resolved(cfg)
        return cls(cfg.host, cfg.ports.doveadm_http, cfg.doveadm_api_key, timeout=timeout)

    def call(self, command: str, parameters: Mapping[str, object]) -> Any:
        """Run one doveadm command; return the payload of its ``doveadmResponse``."""
        result = self.call_many([(command, parameters)])[0]
        if isinstance(result, MailBackendError):
            raise result
        return result

    def call_many(
        self, commands: Sequence[tuple[str, Mapping[str, object]]]
    ) -> list[Any | MailBackendError]:
        """Run many doveadm commands, up to 500 per HTTP request (one JSON array).

        Returns one result per command, in order: the payload of its
        ``doveadmResponse``, or the ``MailBackendError`` (returned, not raised) of
        a command that failed, e.g. exit_code 67 for an unknown user. A failure
        of a whole request (unreachable, HTTP error, garbled answer) raises.
        """
        results: list[Any | MailBackendError] = []
        for start in range(0, len(commands), _DOVEADM_BATCH):
            results.extend(self._post(commands[start : start + _DOVEADM_BATCH]))
        return results

    def _post(
        self, commands: Sequence[tuple[str, Mapping[str, object]]]
    ) -> list[Any | MailBackendError]:
        tags = [f"pemx{next(self._tags)}" for _ in commands]
        body = json.dumps(
            [
                [command, dict(parameters), tag]
                for (command, parameters), tag in zip(commands, tags, strict=True)
            ]
        ).encode()
        what = commands[0][0] if len(commands) == 1 else f"batch of {len(commands)} commands"
        # http.client rather than urllib: urllib always sends "Connection: close",
        # and then Dovecot 2.3.19 never sends its 401 for a wrong API key.
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(
                "POST",
                _DOVEADM_PATH,
                body=body,
                headers={"Content-Type": "application/json", "Authorization": self._auth},
            )
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise MailBackendError(f"doveadm {what}: cannot reach {self.url}: {e!r}") from e
        finally:
            conn.close()
        if resp.status != 200:
            detail = raw.decode(errors="replace").strip()
            raise MailBackendError(
                f"doveadm {what}: HTTP {resp.status} {resp.reason}"
                + (f": {detail}" if detail else ""),
                http_status=resp.status,
            )
        try:
            by_tag = {str(tag): (kind, payload) for kind, payload, tag in _doveadm_entries(raw)}
        except (ValueError, TypeError) as e:
            raise MailBackendError(f"doveadm {what}: unexpected response {raw[:200]!r}") from e
        results: list[Any | MailBackendError] = []
        for (command, parameters), tag in zip(commands, tags, strict=True):
            if tag not in by_tag:
                raise MailBackendError(f"doveadm {what}: no response tagged {tag!r}")
            kind, payload = by_tag[tag]
            if kind == "doveadmResponse":
                results.append(payload)
            elif kind == "error":
                results.append(_command_error(command, parameters, payload))
            else:
                raise MailBackendError(f"doveadm {what}: unexpected response {raw[:200]!r}")
        return results

    def fs_stat(self, path: str | Path) -> bool:
        """True if ``path`` (absolute, a file or a directory) exists on the Dovecot host."""
        try:
            self.call("fsStat", _posix_fs(path))
        except MailBackendError as e:
            if e.exit_code == 68:  # not found
                return False
            raise
        return True

    def fs_delete(self, path: str | Path) -> None:
        """Delete ``path`` (absolute) and everything below it on the Dovecot host.

        doveadm ``fsDelete`` (posix driver, recursive, "dirs": directories go too),
        run by Dovecot's doveadm service (as root on a root instance). A path that
        does not exist fails with exit code 75, like other failures: use
        ``delete_home`` to tell "already gone" apart.
        """
        self.call("fsDelete", {**_posix_fs(path), "recursive": True})

    def delete_home(self, mail_root: str | Path, mailbox_id: int) -> bool:
        """Delete the home ``<mail_root>/<mailbox_id>`` of a mailbox, mail and all.

        True if it existed and is gone now, False if it was gone already (a
        mailbox that never logged in or received mail has no home). Raises
        ``MailBackendError`` if ``mail_root`` does not exist on the Dovecot host
        (the wrong store, or the wrong path: nothing was looked at), or if the
        home still exists afterwards. One request: stat the root and the home,
        delete, stat the home again (doveadm runs them in order).
        """
        if isinstance(mailbox_id, bool) or not isinstance(mailbox_id, int) or mailbox_id < 0:
            raise ValueError(f"mailbox_id must be an int >= 0, not {mailbox_id!r}")
        root = _fs_path(mail_root)
        home = f"{root}/{int(mailbox_id)}"
        root_stat, before, deleted, after = self.call_many(
            [
                ("fsStat", _posix_fs(root)),
                ("fsStat", _posix_fs(home)),
                ("fsDelete", {**_posix_fs(home), "recursive": True}),
                ("fsStat", _posix_fs(home)),
            ]
        )
        if isinstance(root_stat, MailBackendError):
            if root_stat.exit_code == 68:
                raise MailBackendError(
                    f"cannot delete home {home}: mail root {root} does not exist on the "
                    f"Dovecot at {self.host}:{self.port}",
                    exit_code=68,
                )
            raise root_stat
        if not isinstance(after, MailBackendError):
            reason = deleted if isinstance(deleted, MailBackendError) else "no error reported"
            raise MailBackendError(f"home {home} still exists after fsDelete ({reason})")
        if after.exit_code != 68:
            raise after
        return not isinstance(before, MailBackendError)

    def kick(self, user: str) -> bool:
        """Close every open session of ``user``. False if the user had none."""
        try:
            self.call("kick", {"mask": [user]})
        except MailBackendError as e:
            if e.exit_code == 68:  # nobody matching is connected
                return False
            raise
        return True

    def quota_get(self, user: str) -> QuotaUsage:
        """Storage used (KB) and limit, message count and limit."""
        return _quota_usage(self.call("quotaGet", {"user": user}))

    def quota_get_many(self, users: Sequence[str]) -> dict[str, QuotaUsage | None]:
        """``quota_get`` for many users, 500 per HTTP request.

        A user whose command fails (unknown or inactive: exit code 67, or any
        other doveadm error) maps to None; a failed request raises.
        """
        unique = list(dict.fromkeys(users))
        results = self.call_many([("quotaGet", {"user": user}) for user in unique])
        return {
            user: None if isinstance(result, MailBackendError) else _quota_usage(result)
            for user, result in zip(unique, results, strict=True)
        }

    def mailbox_list(self, user: str) -> list[str]:
        """The user's folder names (UTF-8, '/' as hierarchy separator).

        Like IMAP LIST, this includes parents that only hold children and the
        special folders (auto = subscribe) that are not created yet.
        """
        rows = self.call("mailboxList", {"user": user})
        return [str(row["mailbox"]) for row in rows]

    def existing_mailboxes(self, user: str) -> dict[str, int]:
        """The folders that exist in storage, with their message counts.

        Unlike ``mailbox_list``: no special folder that is only announced (auto)
        and not created yet, no parent that only holds children.
        """
        try:
            rows = self.call(
                "mailboxStatus", {"user": user, "field": ["messages"], "mailboxMask": ["*"]}
            )
        except MailBackendError as e:
            if e.exit_code == 68:  # nothing in storage yet
                return {}
            raise
        return {str(row["mailbox"]): int(row.get("messages") or 0) for row in rows}

    def mailbox_exists(self, user: str, mailbox: str) -> bool:
        """True if the folder exists in storage (see ``existing_mailboxes``)."""
        return mailbox in self.existing_mailboxes(user)

    def mailbox_create(
        self, user: str, mailboxes: str | Sequence[str], *, subscribe: bool = True
    ) -> None:
        """Create folders (and their parents), subscribed by default."""
        names = [mailboxes] if isinstance(mailboxes, str) else list(mailboxes)
        self.call("mailboxCreate", {"user": user, "mailbox": names, "subscriptions": subscribe})

    def mailbox_rename(self, user: str, old: str, new: str, *, subscribe: bool = True) -> None:
        """Rename a folder (its children move along), updating subscriptions by default."""
        self.call(
            "mailboxRename",
            {"user": user, "mailbox": old, "newName": new, "subscriptions": subscribe},
        )

    def mailbox_delete(
        self, user: str, mailboxes: str | Sequence[str], *, unsubscribe: bool = True
    ) -> None:
        """Delete folders with the messages in them (not their children), unsubscribing them."""
        names = [mailboxes] if isinstance(mailboxes, str) else list(mailboxes)
        self.call("mailboxDelete", {"user": user, "mailbox": names, "subscriptions": unsubscribe})

    def move_messages(self, user: str, source: str, destination: str) -> None:
        """Move every message of one folder into another (doveadm ``move``).

        The destination must exist or be an auto folder; the moved messages get
        a new save date (Trash retention restarts for them).
        """
        self.call(
            "move",
            {"user": user, "destinationMailbox": destination, "query": ["mailbox", source, "all"]},
        )

    def localize_folders(self, user: str, renames: Sequence[tuple[str, str]]) -> None:
        """Carry special folders over to their new names (``folders.localize_folders``)."""
        localize_folders(self, user, renames)


def _quota_usage(rows: Any) -> QuotaUsage:
    usage: QuotaUsage = {
        "storage_kb": 0,
        "storage_limit_kb": None,
        "messages": 0,
        "messages_limit": None,
    }
    for row in rows:
        value = int(row.get("value") or 0)
        limit = _int_or_none(row.get("limit"))
        if row.get("type") == "STORAGE":
            usage["storage_kb"], usage["storage_limit_kb"] = value, limit
        elif row.get("type") == "MESSAGE":
            usage["messages"], usage["messages_limit"] = value, limit
    return usage


def _fs_path(path: str | Path) -> str:
    """An absolute, normalized path other than / for doveadm's fs commands."""
    text = str(path)
    parts = text.split("/")
    if (
        not text.startswith("/")
        or text == "/"
        or not SAFE_PATH_RE.fullmatch(text)
        or any(part in (".", "..") for part in parts)
        or "" in parts[1:]
    ):
        raise ValueError(f"{text!r}: an absolute, normalized path other than / is required")
    return text


def _posix_fs(path: str | Path) -> dict[str, object]:
    # "dirs": the posix driver treats directories as objects too (fsDelete removes
    # them, not only the files in them)
    return {"fsDriver": "posix", "fsArgs": "dirs", "path": _fs_path(path)}


def _doveadm_entries(raw: bytes) -> list[Any]:
    """The entries of a doveadm HTTP response (a JSON array of [kind, payload, tag]).

    Dovecot 2.3.19 leaves out the commas between the entries of a response that
    contains an "unknownMethod" error: ``[[...]["error",...]]``. Such a response
    is read entry by entry.
    """
    text = raw.decode()
    try:
        parsed = json.loads(text)
    except ValueError:
        pass
    else:
        if not isinstance(parsed, list):
            raise ValueError("not a JSON array")
        return parsed
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    if text[pos : pos + 1] != "[":
        raise ValueError("not a JSON array")
    entries: list[Any] = []
    pos = _skip_space(text, pos + 1)
    while text[pos : pos + 1] != "]":
        if entries and text[pos : pos + 1] == ",":
            pos = _skip_space(text, pos + 1)
        if pos >= len(text):
            raise ValueError("truncated JSON array")
        entry, pos = decoder.raw_decode(text, pos)
        entries.append(entry)
        pos = _skip_space(text, pos)
    if text[pos + 1 :].strip():
        raise ValueError("data after the JSON array")
    return entries


def _skip_space(text: str, pos: int) -> int:
    while text[pos : pos + 1] in (" ", "\t", "\r", "\n"):
        pos += 1
    return pos


def _command_error(
    command: str, parameters: Mapping[str, object], payload: Any
) -> MailBackendError:
    if isinstance(payload, dict) and payload.get("type") not in (None, "exitCode"):
        # e.g. "unknownMethod"; its exitCode is stale (the previous command's) in 2.3.19
        return MailBackendError(f"doveadm {command} {_describe(parameters)}: {payload['type']}")
    code = payload.get("exitCode") if isinstance(payload, dict) else None
    what = _DOVEADM_EXIT_CODES.get(code, "failed") if isinstance(code, int) else "failed"
    return MailBackendError(
        f"doveadm {command} {_describe(parameters)}: {what} ({payload})",
        exit_code=code if isinstance(code, int) else None,
    )


def _int_or_none(value: object) -> int | None:
    if value in (None, "", "-"):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _describe(parameters: Mapping[str, object]) -> str:
    user = parameters.get("user") or parameters.get("mask")
    if not user and parameters.get("path"):
        return f"on {parameters['path']}"
    return f"for {user}" if user else ""
