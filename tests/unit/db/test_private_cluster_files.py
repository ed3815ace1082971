"""The private PostgreSQL's settings and generated files, in process (no server)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from pemx.adapters.db.private_cluster import ClusterCredentials, PrivateCluster
from pemx.cli.status import database_line
from pemx.config import Settings, SettingsError, load_settings, write_settings
from pemx.runtime import DatabaseInfo, read_runtime, write_runtime


def _load(**environ: str) -> Settings:
    return load_settings(environ={"PEMX_DATA_DIR": "/nonexistent/pemx", **environ})


def test_private_postgresql_is_a_setting_with_its_port() -> None:
    settings = _load(PEMX_PRIVATE_POSTGRESQL="yes", PEMX_POSTGRESQL_PORT="5999")
    assert settings.private_postgresql and settings.postgresql_port == 5999
    assert _load().postgresql_port == 10432 and not _load().private_postgresql
    with pytest.raises(RuntimeError, match="known once it runs"):
        settings.database  # noqa: B018 - the cluster's URL comes from bootstrap


@pytest.mark.parametrize("name", ["database_url", "mail_db_user", "mail_db_password"])
def test_private_postgresql_excludes_another_database(name: str) -> None:
    with pytest.raises(SettingsError, match=f"setting {name}: not with private_postgresql"):
        _load(PEMX_PRIVATE_POSTGRESQL="1", **{f"PEMX_{name.upper()}": "postgresql://x/y"})


def test_write_settings_replaces_its_lines_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "pemx.toml"
    path.write_text('port = 9000\ndatabase_url = "old"\n# a comment\n', encoding="utf-8")
    write_settings(path, {"database_url": 'postgresql+psycopg://u:p"w@h/d', "mail": False})
    assert tomllib.loads(path.read_text()) == {
        "port": 9000,
        "database_url": 'postgresql+psycopg://u:p"w@h/d',
        "mail": False,
    }
    assert "# a comment" in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(SettingsError, match="unknown setting"):
        write_settings(path, {"no_such_setting": True})


def test_credentials_are_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    made = ClusterCredentials.load_or_create(path)
    assert made == ClusterCredentials.load_or_create(path)
    assert made.owner_password != made.mail_password and len(made.mail_password) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert set(json.loads(path.read_text())) == {"owner_password", "mail_password"}


def test_the_generated_configs_admit_the_socket_by_peer_and_tcp_by_password(
    tmp_path: Path,
) -> None:
    cluster = PrivateCluster(tmp_path / "postgresql", port=5999)
    cluster.data.mkdir(parents=True)
    cluster._write_configs()
    hba = (cluster.data / "pg_hba.conf").read_text()
    rules = [line.split() for line in hba.splitlines() if line and not line.startswith("#")]
    assert rules == [
        ["local", "all", "all", "peer", "map=pemx"],
        ["host", "all", "all", "127.0.0.1/32", "scram-sha-256"],
    ]  # never trust, never another network
    conf = (cluster.data / "postgresql.conf").read_text()
    assert f"unix_socket_directories = '{cluster.socket_dir}'" in conf
    assert "listen_addresses = '127.0.0.1'" in conf and "port = 5999" in conf
    ident = (cluster.data / "pg_ident.conf").read_text().split("\n")
    mapped = [line.split() for line in ident if line.startswith("pemx ")]
    assert {role for _map, _user, role in mapped} == {"postgres", "pemx"}  # not the mail role
    for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
        assert (cluster.data / name).stat().st_mode & 0o777 == 0o600


def test_status_names_the_private_cluster_and_its_socket(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://pemx:pw@h:1/pemx")
    socket = str(tmp_path / "postgresql/run/.s.PGSQL.5999")
    info = DatabaseInfo("private PostgreSQL", socket, "127.0.0.1", 5999)
    write_runtime(settings, 8440, database=info)
    runtime = read_runtime(tmp_path)
    assert runtime is not None and "pw" not in json.dumps(runtime)
    assert database_line(runtime) == (
        f"private PostgreSQL, socket {socket}, 127.0.0.1:5999, running"
    )
    assert database_line({"database": "sqlite:///x/pemx.db"}) == "sqlite:///x/pemx.db"


def test_pemx_restore_refuses_a_private_postgresql_and_names_pg_restore(tmp_path: Path) -> None:
    from pemx.backup import BackupError, backup, restore

    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "manifest.json").write_text('{"database": "postgresql"}')
    settings = Settings(data_dir=tmp_path / "fresh", private_postgresql=True)
    with pytest.raises(BackupError, match="pg_restore"):
        restore(settings, tmp_path / "backup", lambda _done, _total: None)
    # the backup itself needs the cluster reached first (the CLI does it)
    with pytest.raises(BackupError, match="not reached"):
        backup(settings, tmp_path / "copy", lambda _done, _total: None)
    assert not (tmp_path / "fresh").exists() and not (tmp_path / "copy").exists()
