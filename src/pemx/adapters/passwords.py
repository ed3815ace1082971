"""Password hashes Dovecot verifies: ``{BLF-CRYPT}`` (bcrypt) by default."""

from __future__ import annotations

import bcrypt

SCHEME = "{BLF-CRYPT}"


class BcryptHasher:
    """bcrypt at a configurable cost; bcrypt releases the GIL, so threads hash in parallel."""

    def __init__(self, rounds: int = 10) -> None:
        if not 4 <= rounds <= 16:
            raise ValueError("bcrypt rounds must be between 4 and 16")
        self.rounds = rounds

    def hash(self, password: str) -> str:
        # The 72-byte limit is checked by the domain rules before this is called.
        digest = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(self.rounds))
        return SCHEME + digest.decode("ascii")

    def verify(self, password: str, password_hash: str) -> bool:
        if not password_hash.startswith(SCHEME):
            return False
        encoded = password.encode("utf-8")
        if len(encoded) > 72:
            return False
        return bcrypt.checkpw(encoded, password_hash[len(SCHEME) :].encode("ascii"))
