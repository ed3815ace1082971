"""pemx's database as the mail servers (Dovecot, Postfix) reach it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = [
    "PgsqlDatabase",
    "SqlDatabase",
    "SqliteDatabase",
    "database_from_url",
    "dovecot_connect",
]

_CONNECT_VALUE_RE: Final = re.compile(r"[A-Za-z0-9_.+=/@:,-]+")


@dataclass(frozen=True)
class SqliteDatabase:
    """pemx's SQLite file, read by Dovecot and Postfix directly."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).absolute())


@dataclass(frozen=True)
class PgsqlDatabase:
    """pemx's PostgreSQL database; use a read-only role (SELECT on the contract objects)."""

    host: str
    dbname: str
    user: str
    password: str = ""
    port: int = 5432

    def __post_init__(self) -> None:
        for name in ("host", "dbname", "user", "password"):
            value = getattr(self, name)
            if (value or name != "password") and not _CONNECT_VALUE_RE.fullmatch(value):
                raise ValueError(
                    f"PostgreSQL {name} {value!r} is empty or has characters "
                    "(spaces, quotes, '%') that the generated configs cannot carry"
                )


SqlDatabase = SqliteDatabase | PgsqlDatabase


def database_from_url(
    url: str, *, user: str | None = None, password: str | None = None
) -> SqlDatabase:
    """The database behind pemx's SQLAlchemy URL (sqlite:///… or postgresql[+driver]://…).

    ``user``/``password`` replace the URL's credentials (PostgreSQL only): the mail
    servers should log in as a read-only role, not as pemx's owner role.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise ValueError(f"not a database URL: {url!r}") from e
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("an in-memory SQLite database cannot be shared with a mail server")
        if user or password:
            raise ValueError("a database user or password applies to PostgreSQL only")
        return SqliteDatabase(Path(parsed.database))
    if backend == "postgresql":
        if not parsed.database:
            raise ValueError(f"the PostgreSQL URL names no database: {parsed!r}")
        return PgsqlDatabase(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            dbname=parsed.database,
            user=user or parsed.username or "",
            password=password if password is not None else (parsed.password or ""),
        )
    raise ValueError(
        f"unsupported database {backend!r}: Dovecot and Postfix read SQLite or PostgreSQL"
    )


def dovecot_connect(db: SqlDatabase) -> tuple[Literal["sqlite", "pgsql"], str]:
    """Dovecot's SQL ``driver`` and ``connect`` for a database."""
    if isinstance(db, SqliteDatabase):
        return "sqlite", str(db.path)
    connect = f"host={db.host} port={db.port} dbname={db.dbname} user={db.user}"
    if db.password:
        connect += f" password={db.password}"
    return "pgsql", connect
