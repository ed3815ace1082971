"""The data directory's database while no `pemx serve` runs: `pemx migrate` on a private
PostgreSQL (started for the command), and `pemx database move-to-postgresql`.

Both hold the data directory's lock (serve.lock) while they work: a `pemx serve`
started meanwhile refuses, and neither runs while one serves."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from pemx.bootstrap import (
    CopyRefused,
    Database,
    PrivateCluster,
    PrivateClusterError,
    TableProgress,
    copy_rows,
    on_private_cluster,
    open_database,
    prepare_database,
    private_cluster,
    resolve_database,
)
from pemx.config import Settings, write_settings
from pemx.runtime import DataDirInUse, DataDirLock

__all__ = ["MoveFailed", "MoveResult", "move_to_postgresql", "reachable_database"]


class MoveFailed(Exception):
    """The move did not happen; the message says why. The data directory is as it was."""


@dataclass(frozen=True)
class MoveResult:
    rows: Mapping[str, int]  # per table
    target: str  # "private PostgreSQL" or the URL without its password
    config_file: Path


@contextmanager
def reachable_database(settings: Settings) -> Iterator[Settings]:
    """``settings`` whose database can be reached: on the private PostgreSQL with no
    `pemx serve` running, the private cluster runs for the block (the data directory
    locked meanwhile); with one running, its cluster is used."""
    if not settings.runs_private_postgresql:
        yield settings
        return
    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire()
    except DataDirInUse:  # a running serve has started the cluster
        yield resolve_database(settings)
        return
    cluster: PrivateCluster | None = None
    try:
        cluster = private_cluster(settings)
        cluster.start()
        yield on_private_cluster(settings, cluster)
    finally:
        if cluster is not None:
            cluster.stop()
        lock.release()


def move_to_postgresql(
    settings: Settings,
    progress: TableProgress,
    *,
    database_url: str = "",
    mail_db_user: str = "",
    mail_db_password: str = "",
    config_file: Path | None = None,
) -> MoveResult:
    """Copy the data directory's SQLite database into PostgreSQL (``database_url``, else
    a private cluster in the data directory), every row with its id, then switch the
    config file (``config_file``, default <data_dir>/pemx.toml) to it. Refused while
    `pemx serve` runs, or when the settings already name PostgreSQL (groupware alone
    does not: it asks for this move)."""
    if settings.private_postgresql or settings.database_url:
        raise MoveFailed("this data directory does not use SQLite (database_url or "
                         "private_postgresql is set): nothing to move")  # fmt: skip
    if database_url and not database_url.startswith("postgresql"):
        raise MoveFailed(f"--database-url must be a PostgreSQL URL, not {database_url!r}")
    sqlite_file = settings.data_dir / "pemx.db"
    if not sqlite_file.exists():
        raise MoveFailed(f"no SQLite database at {sqlite_file}")
    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire()
    except DataDirInUse as exc:
        raise MoveFailed(f"{exc} (the move needs the server stopped)") from None
    cluster: PrivateCluster | None = None
    source: Database | None = None
    target: Database | None = None
    try:
        source = open_database(replace(settings, groupware=False))  # the SQLite file
        if database_url:
            target_settings = replace(
                settings,
                database_url=database_url,
                mail_db_user=mail_db_user,
                mail_db_password=mail_db_password,
            )
        else:
            cluster = private_cluster(replace(settings, private_postgresql=True))
            cluster.start()
            target_settings = on_private_cluster(settings, cluster)
        target = prepare_database(target_settings)
        rows = copy_rows(source, target, progress)
    except (CopyRefused, PrivateClusterError) as exc:
        raise MoveFailed(str(exc)) from None
    finally:
        for database in (source, target):
            if database is not None:
                database.dispose()
        if cluster is not None:
            cluster.stop()
        lock.release()
    path = config_file or settings.data_dir / "pemx.toml"
    if database_url:
        values: dict[str, str | bool] = {"database_url": database_url}
        if mail_db_user:
            values |= {"mail_db_user": mail_db_user, "mail_db_password": mail_db_password}
        write_settings(path, values)
        target_name = _redacted(database_url)
    else:
        write_settings(path, {"private_postgresql": True})
        target_name = "private PostgreSQL"
    return MoveResult(rows, target_name, path)


def _redacted(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}" if "@" in rest else url
