"""`pemx mail-config --kind sogo`: the rendered files are what GNUstep and nginx accept
(plparse, nginx -t), and SQLite is refused."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.groupware import require_groupware

SETTINGS = """database_url = "postgresql+psycopg://pemx:ownerpw@db.example:5433/pemx"
mail_db_user = "pemx_mail"
mail_db_password = "mailpw"
mail_host = "192.0.2.25"
"""


def _mail_config(tmp_path: Path, settings: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pemx.toml").write_text(settings)
    return subprocess.run(
        [sys.executable, "-m", "pemx", "--config", str(tmp_path / "pemx.toml"), "mail-config",
         "--kind", "sogo", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_rendered_files_pass_plparse_and_nginx_t(tmp_path: Path) -> None:
    require_groupware()
    conf = tmp_path / "pemx-sogo"
    result = _mail_config(tmp_path, SETTINGS, "--output", str(conf), "--conf-dir", str(conf))
    assert result.returncode == 0, result.stderr
    for name in ("web", "sync"):
        plist = conf / f"sogo-{name}" / "Defaults" / "sogod.plist"
        assert (plist.stat().st_mode & 0o777) == 0o640  # it holds the database password
        parsed = subprocess.run(["plparse", str(plist)], capture_output=True, text=True,
                                check=False)  # fmt: skip
        output = parsed.stdout + parsed.stderr
        assert parsed.returncode == 0 and "a dictionary" in output, output
        gnustep = (conf / f"sogo-{name}" / "GNUstep.conf").read_text()
        assert gnustep == f"GNUSTEP_USER_DEFAULTS_DIR={conf}/sogo-{name}/Defaults\n"
        text = plist.read_text()
        assert 'SOGoIMAPServer = "imap://192.0.2.25:' in text  # through the Dovecot proxy
        assert "/run/pemx-sogo/memcached-" in text
    wrapper = tmp_path / "nginx.conf"
    wrapper.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  access_log off;\n"
        f"  include {conf}/nginx/pemx-sogo.conf;\n}}\n"
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(wrapper),
                              "-e", str(tmp_path / "error.log")],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    units = sorted(p.name for p in (conf / "systemd").iterdir())
    assert units == ["pemx-sogo-memcached@.service", "pemx-sogo@.service"]


def test_sqlite_is_refused(tmp_path: Path) -> None:
    result = _mail_config(tmp_path, 'database_url = "sqlite:////tmp/x.db"\n',
                          "--output", str(tmp_path / "o"))  # fmt: skip
    assert result.returncode != 0
    assert "needs a PostgreSQL database_url" in result.stderr
