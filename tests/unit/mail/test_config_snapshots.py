"""Every config file pemx generates, compared byte for byte with a stored snapshot.

The matrix covers the private instance (``PrivateDovecot.write_config``'s files), a
system store and a proxy (``pemx mail-config --kind dovecot|proxy``) and Postfix
(``--kind postfix``), across store/proxy, root/non-root, SQLite/PostgreSQL and
with/without a store id where each axis applies. Everything is rendered in process
with fixed paths, ports and keys; root and non-root are the config's ``as_root`` and
user/group parameters, so no test needs to be root or to run Dovecot.

Regenerate after an intended change: ``PEMX_UPDATE_SNAPSHOTS=1 pytest tests/unit/mail``,
then review the diff of ``tests/unit/mail/snapshots``.
"""

from __future__ import annotations

import itertools
import os
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from pemx.adapters.groupware import GroupwareConfig, SogoDatabase
from pemx.adapters.groupware.render import stack_files
from pemx.adapters.mail.dovecot import DovecotConfig, MailPorts
from pemx.adapters.mail.dovecot.config import SubmissionLink
from pemx.adapters.mail.dovecot.render import instance_files
from pemx.cli import cli
from pemx.cli import mail_config as mail_config_command
from pemx.domain.model import MailboxStore, ObjectStatus

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("PEMX_UPDATE_SNAPSHOTS") == "1"

SQLITE_URL = "sqlite:////var/lib/pemx/pemx.db"
PGSQL_URL = "postgresql+psycopg://pemx:ownerpw@db.example:5433/pemx"
PRIVATE_CONNECT = {
    "sqlite": "/var/lib/pemx/pemx.db",
    "pgsql": "host=db.example port=5433 dbname=pemx user=pemx_mail password=mailpw",
}
PRIVATE_PORTS = MailPorts(20143, 20110, 20024, 20144, 20145, 20146)
STORE_B = MailboxStore(
    id=7,
    name="store-b",
    host="10.0.0.7",
    imap_port=30143,
    pop3_port=30110,
    lmtp_port=30024,
    imap_owa_port=30144,
    imap_activesync_port=30145,
    doveadm_port=30146,
    mail_root="/srv/mail/b",
    max_mailboxes=0,
    mailbox_count=0,
    accepts_new=True,
    status=ObjectStatus.READY,
)
STORE_B_KEY = "storebkey0123456789"

Files = dict[str, str]
# a test-only flag of mail_config_cases: leave doveadm_api_key out of the settings
NO_SETTINGS_KEY = "<no settings key>"


# ------------------------------------------------------------ private instance


def private_files(
    *, role: str, as_root: bool, driver: str, store_id: int | None, tuned: bool
) -> Files:
    """The files ``PrivateDovecot.write_config`` writes, by name (work_dir is fixed)."""
    cfg = DovecotConfig(
        work_dir=Path("/var/lib/pemx/dovecot"),
        mail_root=Path("/var/lib/pemx/mail"),
        sql_connect=PRIVATE_CONNECT[driver],
        sql_driver=driver,  # type: ignore[arg-type]
        doveadm_api_key="privatekey0123456789",
        ports=PRIVATE_PORTS,
        as_root=as_root,
        mail_user="vmail" if as_root else "alice",
        mail_group="vmail" if as_root else "staff",
        role=role,  # type: ignore[arg-type]
        store_id=store_id,
        auth_penalty=not tuned,
        login_trusted_networks="10.1.0.0/16  192.0.2.9" if tuned else "",
        # a tuned store also sends (pemx serve's submission and relay)
        submission=SubmissionLink(20587, 20588, "relaysecret0123456789")
        if tuned and role == "store"
        else None,
    )
    return {
        path.relative_to(cfg.work_dir).as_posix(): text
        for path, text in instance_files(cfg).items()
    }


def private_cases() -> dict[str, Callable[[], Files]]:
    cases: dict[str, Callable[[], Files]] = {}
    for role, as_root, driver, store_id, tuned in itertools.product(
        ("store", "proxy"), (True, False), ("sqlite", "pgsql"), (None, 3), (False, True)
    ):
        if role == "proxy" and store_id is not None:
            continue  # a proxy serves every store
        name = "-".join(
            [
                "private",
                role,
                "root" if as_root else "nonroot",
                driver,
                *([] if role == "proxy" else ["id" if store_id is not None else "noid"]),
                "tuned" if tuned else "default",
            ]
        )
        cases[name] = lambda r=role, a=as_root, d=driver, s=store_id, t=tuned: private_files(
            role=r, as_root=a, driver=d, store_id=s, tuned=t
        )
    cases["private-groupware"] = private_groupware_files
    return cases


def private_groupware_files() -> Files:
    """The files PrivateGroupware writes under <data_dir>/groupware (pemx serve --groupware)."""
    contract = SogoDatabase("db.example", 5433, "pemx", "pemx_mail", "mail pw/1")
    cfg = GroupwareConfig(
        work_dir=Path("/var/lib/pemx/groupware"),
        contract=contract,
        storage=SogoDatabase("db.example", 5433, "pemx_sogo", "pemx_mail", "mail pw/1"),
        imap_host="127.0.0.1",
        imap_owa_port=20144,
        imap_activesync_port=20145,
        smtp_port=20587,
        front_port=20080,
        web_port=20081,
        sync_port=20082,
    )
    return {path.relative_to(cfg.work_dir).as_posix(): text
            for path, text in stack_files(cfg).items()}  # fmt: skip


# ---------------------------------------------------------------- mail-config


def mail_config_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, driver: str, args: list[str]
) -> Files:
    """Run ``pemx mail-config`` in process; its files and its output (``_stdout``)."""
    url = SQLITE_URL if driver == "sqlite" else PGSQL_URL
    lines = [f'database_url = "{url}"']
    if NO_SETTINGS_KEY in args:
        args = [a for a in args if a != NO_SETTINGS_KEY]
    else:
        lines.append('doveadm_api_key = "settingskey0123456789"')
    lines += [
        "imap_owa_port = 11144",
        "imap_activesync_port = 11145",
        "doveadm_port = 11146",
        'mail_host = "192.0.2.25"',
        "lmtp_port = 11024",
    ]
    if driver == "pgsql":
        lines += ['mail_db_user = "pemx_mail"', 'mail_db_password = "mailpw"']
    config = tmp_path / "pemx.toml"
    config.write_text("\n".join(lines) + "\n")
    # the key pemx draws when none is configured
    monkeypatch.setattr("secrets.token_hex", lambda n: "ab" * n)
    monkeypatch.setattr(
        mail_config_command,
        "_store_named",
        lambda obj, name: (STORE_B, STORE_B_KEY) if name == "store-b" else pytest.fail(name),
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        ["--config", str(config), "mail-config", "--output", str(out), *args],
        env={k: "" for k in os.environ if k.startswith("PEMX_")},
    )
    assert res.exit_code == 0, res.output
    files = {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()}
    files["_stdout"] = res.output.replace(str(out), "<output>")
    return files


def mail_config_cases() -> dict[str, list[str]]:
    cases: dict[str, list[str]] = {}
    for driver in ("sqlite", "pgsql"):
        for store, trusted in itertools.product((False, True), (False, True)):
            args = ["--kind", "dovecot"]
            if store:
                args += ["--store", "store-b"]
            if trusted:
                args += ["--trusted-networks", "198.51.100.1 198.51.100.2"]
            name = f"system-store-{driver}-{'id' if store else 'local'}-" + (
                "trusted" if trusted else "plain"
            )
            cases[name] = [driver, *args]
        cases[f"system-store-{driver}-custom"] = [
            driver,
            *("--kind", "dovecot", "--conf-dir", "/opt/dovecot", "--mail-root", "/data/vmail"),
            *("--mail-user", "mailer"),
        ]
        cases[f"system-store-{driver}-local-nokey"] = [driver, "--kind", "dovecot", NO_SETTINGS_KEY]
        cases[f"system-proxy-{driver}"] = [driver, "--kind", "proxy"]
        cases[f"postfix-{driver}"] = [driver, "--kind", "postfix"]
        if driver == "pgsql":  # SOGo reads no SQLite
            cases["system-sogo-pgsql"] = [driver, "--kind", "sogo"]
        cases[f"postfix-{driver}-lmtp"] = [
            driver,
            *("--kind", "postfix", "--lmtp", "mx-store.example:2424", "--conf-dir", "/opt/pf"),
        ]
    return cases


# ------------------------------------------------------------------ comparing


def check(case: str, files: Files) -> None:
    folder = SNAPSHOTS / case
    if UPDATE:
        if folder.exists():
            for old in sorted(folder.rglob("*"), reverse=True):
                old.unlink() if old.is_file() else old.rmdir()
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(text.encode())
        return
    stored = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert stored == set(files), f"{case}: the generated file names changed"
    for name, text in files.items():
        expected = (folder / name).read_bytes().decode()
        assert text == expected, f"{case}/{name} differs from its snapshot"


PRIVATE = private_cases()
MAIL_CONFIG = mail_config_cases()


@pytest.mark.parametrize("case", sorted(PRIVATE))
def test_private_instance_files(case: str) -> None:
    check(case, PRIVATE[case]())


@pytest.mark.parametrize("case", sorted(MAIL_CONFIG))
def test_mail_config_files(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    driver, *args = MAIL_CONFIG[case]
    check(case, mail_config_files(tmp_path, monkeypatch, driver, args))


def test_every_snapshot_is_a_case() -> None:
    assert {p.name for p in SNAPSHOTS.iterdir()} == set(PRIVATE) | set(MAIL_CONFIG)


def test_templates_are_package_data() -> None:
    """A non-editable install carries every template (pyproject's package-data globs)."""
    root = Path(__file__).resolve().parents[3]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["pemx"]
    package = root / "src" / "pemx"
    templates = [p.relative_to(package) for p in package.rglob("*.j2")]
    assert templates
    for template in templates:
        assert any(template.match(glob) for glob in globs), f"{template} is not package data"
