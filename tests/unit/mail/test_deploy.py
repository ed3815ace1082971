"""`pemx mail-config`'s decisions, without click (the files are the snapshot matrix's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pemx.adapters.mail import deploy
from pemx.config import Settings
from pemx.domain.mail_ports import MailPorts
from pemx.domain.model import MailboxStore, ObjectStatus

SQLITE = Settings(data_dir=Path("/var/lib/pemx"), doveadm_api_key="k" * 16)
PGSQL = Settings(
    data_dir=Path("/var/lib/pemx"),
    database_url="postgresql://pemx:pw@db:5432/pemx",
    mail_db_user="pemx_mail",
    mail_db_password="mailpw",
)
STORE = MailboxStore(7, "b", "10.0.0.7", 1, 2, 3, 4, 5, 6, "/srv/b", 0, 0, True, ObjectStatus.READY)


def test_a_store_is_rendered_with_its_own_ports_root_and_key() -> None:
    plan = deploy.plan("dovecot", SQLITE, (STORE, "storekey0123"))
    assert STORE.ports == MailPorts(1, 2, 3, 4, 5, 6)
    conf = plan.files[Path("/etc/dovecot/conf.d/99-pemx.conf")]
    assert "doveadm_api_key = storekey0123" in conf
    assert "address = 10.0.0.7\n    port = 6" in conf
    assert "store_id = 7" in plan.files[Path("/etc/dovecot/dovecot-pemx-sql.conf.ext")]
    assert plan.steps[0].startswith("adduser --system --group --home /srv/b vmail")
    assert plan.mode == 0o644


def test_the_local_store_listens_on_the_standard_ports() -> None:
    plan = deploy.plan("dovecot", SQLITE)
    conf = plan.files[Path("/etc/dovecot/conf.d/99-pemx.conf")]
    for port in (143, 110, 24, SQLITE.imap_owa_port, SQLITE.doveadm_port):
        assert f"port = {port}\n" in conf
    assert "doveadm_api_key = kkkkkkkkkkkkkkkk" in conf
    assert not plan.steps[-1].endswith("in pemx.toml")  # the settings have the key


def test_files_with_a_database_password_are_not_world_readable(tmp_path: Path) -> None:
    plan = deploy.plan("postfix", PGSQL, conf_dir=Path("/opt/pf"), lmtp="mx:24")
    assert plan.mode == 0o640
    assert "user = pemx_mail\npassword = mailpw\n" in plan.files[Path("/opt/pf/pemx-domains.cf")]
    written = deploy.write(plan, tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in plan.files)
    assert all(p.stat().st_mode & 0o777 == 0o640 for p in written)


def test_refusals() -> None:
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        deploy.plan("postfix", SQLITE, lmtp="nope")
    with pytest.raises(ValueError, match="in-memory"):
        deploy.plan("proxy", Settings(database_url="sqlite:///:memory:"))
