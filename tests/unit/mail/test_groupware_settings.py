"""The groupware's settings: checked at load, and SOGo's databases derived from pemx's."""

from __future__ import annotations

from pathlib import Path

import pytest

from pemx.adapters.groupware import GroupwareError
from pemx.bootstrap import groupware_cache, sogo_databases
from pemx.config import SettingsError, load_settings

PG = "postgresql+psycopg://pemx:ownerpw@db.example:5433/pemx"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("sogo_workers", "0", "sogo_workers: must be between 1 and 64"),
        ("sogo_cache_seconds", "0", "sogo_cache_seconds: must be between 1 and 86400"),
        ("groupware_port", "70000", "groupware_port: 70000 is not a TCP port"),
        ("groupware", "maybe", "setting groupware: not a boolean"),
    ],
)
def test_bad_groupware_settings_are_refused(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"data_dir": tmp_path, name: value}, environ={})


def test_sogo_reads_pemx_as_the_mail_role_and_keeps_its_own_tables_beside() -> None:
    settings = load_settings(
        {"database_url": PG, "mail_db_user": "pemx_mail", "mail_db_password": "m pw"},
        environ={},
    )
    contract, storage = sogo_databases(settings)
    assert (contract.host, contract.port, contract.name) == ("db.example", 5433, "pemx")
    assert (contract.user, contract.password) == ("pemx_mail", "m pw")
    assert storage.name == "pemx_sogo" and storage.user == "pemx_mail"
    assert contract.url("sogo_users") == (
        "postgresql://pemx_mail:m%20pw@db.example:5433/pemx/sogo_users"
    )
    own = load_settings(
        {"database_url": PG, "sogo_database_url": "postgresql://sogo:s@db2.example/groupware"},
        environ={},
    )
    _, storage = sogo_databases(own)
    assert (storage.host, storage.port, storage.name, storage.user) == (
        "db2.example", 5433, "groupware", "sogo",
    )  # fmt: skip


def test_sqlite_is_refused_in_one_line(tmp_path: Path) -> None:
    sqlite = {"data_dir": tmp_path, "database_url": f"sqlite:///{tmp_path}/pemx.db"}
    with pytest.raises(GroupwareError, match=r"^groupware needs a PostgreSQL database_url"):
        sogo_databases(load_settings(sqlite, environ={}))


def test_groupware_without_a_url_runs_the_private_postgresql(tmp_path: Path) -> None:
    plain = load_settings({"data_dir": tmp_path}, environ={})
    assert not plain.runs_private_postgresql and plain.database.startswith("sqlite:")
    groupware = load_settings({"data_dir": tmp_path, "groupware": "1"}, environ={})
    assert groupware.runs_private_postgresql and not groupware.private_postgresql
    with pytest.raises(RuntimeError, match="private PostgreSQL"):
        groupware.database  # noqa: B018 - known once the cluster runs
    on_url = load_settings({"data_dir": tmp_path, "groupware": "1", "database_url": PG},
                           environ={})  # fmt: skip
    assert not on_url.runs_private_postgresql
    with pytest.raises(SettingsError, match="mail_db_user: not with groupware without"):
        load_settings({"data_dir": tmp_path, "groupware": "1", "mail_db_user": "x"}, environ={})
    # a data directory a `pemx serve --groupware` made: the commands find its cluster
    (tmp_path / "postgresql" / "data").mkdir(parents=True)
    (tmp_path / "postgresql" / "data" / "PG_VERSION").write_text("15\n")
    assert load_settings({"data_dir": tmp_path}, environ={}).runs_private_postgresql
    (tmp_path / "pemx.db").write_bytes(b"")  # moved away from SQLite: SQLite stays named
    assert not load_settings({"data_dir": tmp_path}, environ={}).runs_private_postgresql


def test_the_web_url_defaults_to_the_groupware_front_end(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path, "public_mail_host": "mx.example"},
                             environ={})  # fmt: skip
    assert settings.groupware_web_url(10080) == "http://mx.example:10080"


def test_the_cache_is_the_private_stacks_or_a_system_ones(tmp_path: Path) -> None:
    assert groupware_cache(load_settings({"data_dir": tmp_path}, environ={})) is None
    private = groupware_cache(load_settings({"data_dir": tmp_path, "groupware": "1"}, environ={}))
    assert private is not None
    assert [p.name for p in private.sockets] == ["memcached-web.sock", "memcached-sync.sock"]
    system = groupware_cache(
        load_settings(
            {"data_dir": tmp_path, "sogo_cache_sockets": "/run/a.sock,/run/b.sock"}, environ={}
        )
    )
    assert system is not None and [str(p) for p in system.sockets] == ["/run/a.sock", "/run/b.sock"]
