"""HTTP Basic auth for provider and reseller staff, with a cache of verified credentials.

A bcrypt check costs tens of milliseconds; a client making hundreds of calls must not pay
it each time. A verified credential is cached as an HMAC of the password under a key
that lives only in this process, for a short time; a wrong password never hits the cache
and is always checked against the stored hash.

A cached credential is checked against the database again at most ``recheck_s`` (1 s)
after its last check, with one primary-key query: the member must be enabled, not
removed, of an enabled account (whose reseller, if any, is enabled too), and have the
password hash it had when it was verified.
So a member disabled, removed or given a new password on any node is refused on every
node within a second. Checking on every call would cost a query per call (0.3-0.4 ms,
about a sixth of an addMailbox's server time); once a second per member costs nothing
measurable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pemx.domain.model import Account, AccountType, Caller, Member
from pemx.service.ports import PasswordHasher

MemberLookup = Callable[[str], tuple[Member, Account] | None]
# The stored password hash of a member that may still log in (enabled, not removed, of an
# enabled account), by member id; None otherwise.
LivePasswordHash = Callable[[int], str | None]


# Seconds a cached credential is trusted before the database confirms it again: the bound
# on how long a revoked member keeps working on a node (docs/security.md).
RECHECK_S = 1.0


@dataclass
class _Entry:
    digest: bytes
    caller: Caller
    expires: float
    # The stored hash the password was verified against: a new password changes it.
    password_hash: str
    checked: float  # when the database last confirmed the member may log in


class Authenticator:
    def __init__(
        self,
        lookup: MemberLookup,
        hasher: PasswordHasher,
        *,
        live_password_hash: LivePasswordHash,
        ttl_s: float = 60.0,
        recheck_s: float = RECHECK_S,
        max_entries: int = 10_000,
    ) -> None:
        self._lookup = lookup
        self._hasher = hasher
        self._live_password_hash = live_password_hash
        self._ttl = ttl_s
        self._recheck = recheck_s
        self._max = max_entries
        self._key = secrets.token_bytes(32)
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def authenticate(
        self, authorization: str | None, *, cached_only: bool = False
    ) -> Caller | None:
        """The caller these credentials name, or None. ``cached_only``: only a credential
        verified before (no bcrypt check: a throttled address or login)."""
        credentials = _parse_basic(authorization)
        if credentials is None:
            return None
        login, password = credentials
        login = login.strip().lower()
        digest = hmac.new(self._key, password.encode("utf-8"), hashlib.sha256).digest()
        now = time.monotonic()
        with self._lock:
            entry = self._cache.get(login)
        if entry is not None and entry.expires > now and hmac.compare_digest(entry.digest, digest):
            if now - entry.checked < self._recheck:
                return entry.caller
            if self._still_valid(entry):
                entry.checked = now
                return entry.caller
            with self._lock:
                if self._cache.get(login) is entry:
                    del self._cache[login]
        if cached_only:
            return None
        found = self._lookup(login)
        if found is None:
            # Same cost as a real check, so logins cannot be probed by timing.
            self._hasher.verify(password, _DUMMY_HASH)
            return None
        member, account = found
        if not self._hasher.verify(password, member.password_hash):
            return None
        if member.removed or not (member.enabled and account.enabled):
            return None
        if account.type not in (AccountType.PROVIDER, AccountType.RESELLER):
            return None
        caller = Caller(
            member_id=member.id,
            account_id=account.id,
            account_type=account.type,
            login=member.login,
        )
        with self._lock:
            if len(self._cache) >= self._max:
                self._cache.clear()
            self._cache[login] = _Entry(digest, caller, now + self._ttl, member.password_hash, now)
        return caller

    def _still_valid(self, entry: _Entry) -> bool:
        """Whether the cached member may still log in with the password it was verified
        with (disabled, removed or re-passworded on any node since: not)."""
        current = self._live_password_hash(entry.caller.member_id)
        return current is not None and hmac.compare_digest(
            current.encode("utf-8"), entry.password_hash.encode("utf-8")
        )


# A bcrypt hash of a random password, made once, to spend the same time on unknown logins.
_DUMMY_HASH = "{BLF-CRYPT}$2b$10$8fOtsZcqMwi0v1ZP2FbbQe9jKzkUgEBcJPBn.D2oMyZ2hIqd.Iqcq"


def basic_login(header: str | None) -> str | None:
    """The login an Authorization header names (for the log of a refused one), or None."""
    parsed = _parse_basic(header)
    return parsed[0] if parsed else None


def _parse_basic(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:
        # binascii.Error, UnicodeDecodeError, and the ValueError b64decode raises for a
        # str with characters beyond ASCII (a header's bytes reach us as latin-1).
        return None
    login, sep, password = decoded.partition(":")
    if not sep or not login:
        return None
    return login, password
