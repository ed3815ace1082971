"""Pure rules for names, addresses and passwords: no I/O, easy to unit-test."""

from __future__ import annotations

import re
import secrets
import string

from pemx.domain.errors import ErrorCode, PemxError, invalid

# bcrypt reads at most 72 bytes; a longer password would be silently truncated.
MAX_PASSWORD_BYTES = 72
MIN_PASSWORD_LENGTH = 8
GENERATED_PASSWORD_LENGTH = 20

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)+[a-z][a-z0-9-]{{0,62}}(?<!-)$")
# No '*' or '?': Dovecot's user masks (doveadm kick) treat them as wildcards, so closing
# one mailbox's sessions could close others'. No '+': the recipient delimiter.
_LOCAL_PART_RE = re.compile(r"^[a-z0-9!#$%&'/=^_`{|}~-]+(?:\.[a-z0-9!#$%&'/=^_`{|}~-]+)*$")
_LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,254}$")
# An Exchange alias: an RFC 5322 dot-atom (the local part it stands for), at most 64.
_ALIAS_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
MAX_ALIAS_LENGTH = 64


def normalize_domain(name: str, field: str = "domain_name") -> str:
    value = name.strip().lower().rstrip(".")
    if len(value) > 253 or not _DOMAIN_RE.match(value):
        raise invalid(field, f'"{name}" is not a valid domain name')
    return value


def normalize_address(address: str, field: str) -> str:
    """Lower-case an e-mail address and check its shape; returns the canonical form."""
    value = address.strip().lower()
    local, sep, domain = value.rpartition("@")
    if not sep or not local or len(value) > 254 or len(local) > 64:
        raise invalid(field, f'"{address}" is not a valid e-mail address')
    # '+' is Dovecot's recipient delimiter: an address with it could never receive mail.
    if "+" in local or not _LOCAL_PART_RE.match(local):
        raise invalid(field, f'"{address}" is not a valid e-mail address')
    return f"{local}@{normalize_domain(domain, field)}"


def check_alias(alias: str, field: str = "alias") -> str:
    """A mailbox's alias, as given (case kept); refused unless it is a dot-atom of at most 64."""
    if len(alias) > MAX_ALIAS_LENGTH or not _ALIAS_RE.match(alias):
        raise invalid(field, f'"{alias}" is not a valid alias (letters, digits, . and - _)')
    return alias


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]


def normalize_login(login: str, field: str = "login") -> str:
    """Logins are case-insensitive; they may be plain names or addresses."""
    value = login.strip().lower()
    if not _LOGIN_RE.match(value) or value.count("@") > 1:
        raise invalid(
            field,
            f'"{login}" is not a valid login (letters, digits and . _ @ + -, at most 255)',
        )
    if "@" in value:
        normalize_domain(domain_of(value), field)
    return value


def check_password(password: str, field: str = "password") -> None:
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise PemxError(
            ErrorCode.PASSWORD_REJECTED,
            f"{field}: the password is {len(encoded)} bytes long; at most "
            f"{MAX_PASSWORD_BYTES} bytes (UTF-8) are accepted",
            {"field": field, "reason": "too long"},
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PemxError(
            ErrorCode.PASSWORD_REJECTED,
            f"{field}: the password must have at least {MIN_PASSWORD_LENGTH} characters",
            {"field": field, "reason": "too short"},
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password):
        raise PemxError(
            ErrorCode.PASSWORD_REJECTED,
            f"{field}: the password contains control characters",
            {"field": field, "reason": "control characters"},
        )


def generate_password() -> str:
    """A strong password that every client can type: letters and digits of each kind."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(GENERATED_PASSWORD_LENGTH))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
        ):
            return candidate
