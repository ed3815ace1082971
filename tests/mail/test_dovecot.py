"""The Dovecot adapter against a real, private Dovecot 2.3 reading the contract schema.

One instance per module (free loopback ports, one temp dir), fed from an
SQLite file holding the three contract objects as plain tables. Each refused
login costs about 0.5 s (Dovecot flushes auth failures every 0.5 s), so there
are only a few of them.
"""

from __future__ import annotations

import imaplib
import os
import poplib
import pwd
import re
import socket
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pemx.adapters.mail.dovecot import (
    DoveadmHttp,
    DovecotConfig,
    MailBackendError,
    MailPorts,
    PrivateDovecot,
    _live_group_members,
    render_dovecot_conf,
    render_sql_conf,
)
from pemx.domain.folders import CATALOGUE

from .contract import Mailbox, add_mailbox, create_contract_db
from .harness import (
    AUTH_FAILED,
    DISABLED,
    MailEnv,
    make_config,
    require_dovecot,
    special_folders,
)
from .mailclient import (
    imap_append,
    inbox_subjects,
    list_folders,
    lmtp_deliver,
    make_message,
)

# --------------------------------------------------------------------- fixture data

JOHN = Mailbox(
    101,
    "john.smith@example.com",
    "J0hn-pässwörd",  # non-ASCII on purpose
    login="jsmith",
    alt_addresses=["j.smith@example.com", "john@example.net"],
    folder_language="de",
    initialized=True,
    enable_activesync=False,
)
MARY = Mailbox(
    102,
    "mary@example.com",
    "M4ry-secret",
    login="mary@corp.example",
    folder_language="ru",
    initialized=True,
    enable_imap=False,
)
PETE = Mailbox(103, "pete@example.com", "P3te-secret", enable_pop3=False)
INES = Mailbox(104, "ines@example.com", "1nes-secret", initialized=True, active=False)
YUKI = Mailbox(105, "yuki@example.com", "Yuk1-secret", folder_language="ja", initialized=True)
ZOE = Mailbox(106, "zoe@example.com", "Z0e-secret", folder_language=None, initialized=True)
QUINN = Mailbox(107, "quinn@example.com", "Qu1nn-secret", quota_kb=200)
KATE = Mailbox(108, "kate@example.com", "K4te-secret", folder_language="fr", initialized=True)
LENA = Mailbox(109, "lena@example.com", "L3na-secret", folder_language="it", initialized=False)
MAILBOXES = (JOHN, MARY, PETE, INES, YUKI, ZOE, QUINN, KATE, LENA)

# -------------------------------------------------------------------------- fixture


@pytest.fixture(scope="module")
def mail(scratch: Path) -> Iterator[MailEnv]:
    require_dovecot()
    db = create_contract_db(scratch / "pemx.db")
    for mb in MAILBOXES:
        add_mailbox(db, mb)
    dovecot = PrivateDovecot(make_config(scratch))
    started_in = dovecot.start()
    try:
        yield MailEnv(dovecot, db, dovecot.doveadm_http(), started_in)
    finally:
        stopped_in = dovecot.stop()
        db.close()
        print(f"\ndovecot: started in {started_in:.3f} s, stopped in {stopped_in:.2f} s")


# ------------------------------------------------------------- pure config tests


def resolved_config(tmp_path: Path, **overrides: Any) -> DovecotConfig:
    ports = MailPorts(10143, 10110, 10024, 10144, 10145, 18080)
    return make_config(tmp_path, ports=ports, **overrides)


def test_mail_ports_free_and_distinct() -> None:
    ports = MailPorts(imap=10143).with_free_ports()
    values = [p for _, p in ports.items()]
    assert ports.resolved and ports.imap == 10143
    assert len(set(values)) == 6
    with pytest.raises(ValueError, match="distinct"):
        MailPorts(imap=10143, pop3=10143)


def test_render_refuses_unresolved_ports(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="with_free_ports"):
        render_dovecot_conf(make_config(tmp_path))


def test_config_rejects_unsafe_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mail_root"):
        make_config(tmp_path, mail_root=tmp_path / "it's%here")
    with pytest.raises(ValueError, match="sql_driver"):
        make_config(tmp_path, sql_driver="mysql")
    with pytest.raises(ValueError, match="doveadm_api_key"):
        make_config(tmp_path, doveadm_api_key="a b")


def test_render_sql_conf_uses_only_the_contract(tmp_path: Path) -> None:
    cfg = resolved_config(tmp_path, sql_driver="pgsql", sql_connect="host=db dbname=pemx")
    text = render_sql_conf(cfg)
    assert "driver = pgsql\nconnect = host=db dbname=pemx\n" in text
    assert "WHEN '10144' THEN enable_owa" in text
    assert "WHEN '10145' THEN enable_activesync" in text
    assert f"'{tmp_path}/mail/' || m.mailbox_id AS home" in text
    tables = set(re.findall(r"\bdovecot_\w+", text))
    assert tables == {"dovecot_mailboxes", "dovecot_addresses", "dovecot_folder_names"}
    # every query line but the last of each query ends in a continuation
    for key in ("password_query", "user_query"):
        query = text.split(f"{key} = ", 1)[1].split("\n\n", 1)[0]
        lines = query.splitlines()
        assert all(line.endswith(" \\") for line in lines[:-1]), key
        assert not lines[-1].endswith("\\")


def test_render_dovecot_conf_root_and_nonroot(tmp_path: Path) -> None:
    root = render_dovecot_conf(resolved_config(tmp_path, as_root=True, auth_penalty=True))
    assert "default_login_user = dovenull\n" in root
    assert "mail_uid = nobody\nmail_gid = nogroup\n" in root
    assert "chroot =" not in root and "anvil" not in root
    assert "auth_failure_delay" not in root
    me = resolved_config(
        tmp_path, as_root=False, mail_user="alice", mail_group="staff", auth_penalty=False
    )
    nonroot = render_dovecot_conf(me)
    assert "default_internal_user = alice\ndefault_internal_group = staff\n" in nonroot
    assert "default_login_user = alice\n" in nonroot
    for svc in ("imap-login", "pop3-login", "anvil", "ipc", "old-stats"):
        block = nonroot.split(f"service {svc} {{\n", 1)[1]
        assert block.startswith("  chroot =\n"), svc
    assert "anvil-auth-penalty {\n    mode = 0\n" in nonroot
    assert "auth_failure_delay = 0\n" in nonroot
    for text in (root, nonroot):
        assert "port = 10143\n" in text and "port = 18080\n" in text
        assert "mail_location = maildir:~/Maildir\n" in text
        assert "quota_grace = 0%%\n" in text


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    dv = PrivateDovecot(make_config(tmp_path), binary=str(tmp_path / "no-dovecot"))
    with pytest.raises(MailBackendError, match=r"dovecot binary not found.*apt-get install"):
        dv.start()
    assert not dv.is_running()


def test_only_dovecot_23_is_accepted(tmp_path: Path) -> None:
    fake = tmp_path / "dovecot"
    fake.write_text('#!/bin/sh\necho "2.4.1-4 (7d8c0e5759)"\n')
    fake.chmod(0o755)
    dv = PrivateDovecot(make_config(tmp_path), binary=str(fake))
    with pytest.raises(MailBackendError, match=r"2\.4\.1.*not supported"):
        dv.check_version()


# ------------------------------------------------------------ the live instance


def test_instance_is_private_and_fast(mail: MailEnv) -> None:
    cfg = mail.cfg
    assert mail.dovecot.check_version().startswith("2.3.")
    assert mail.dovecot.is_running()
    assert mail.started_in < 5
    for path, render in (
        (cfg.conf_path, render_dovecot_conf),
        (cfg.sql_conf_path, render_sql_conf),
    ):
        assert path.read_text() == render(cfg)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cfg.as_root == (os.geteuid() == 0)


def test_login_by_primary_address_any_case(mail: MailEnv) -> None:
    with mail.imap("John.Smith@EXAMPLE.com", JOHN.password) as imap:
        assert imap.state == "AUTH"
    pop = mail.pop3("JOHN.SMITH@example.com", JOHN.password)
    pop.quit()


def test_login_by_login_name_any_case(mail: MailEnv) -> None:
    with mail.imap("JSmith", JOHN.password) as imap:
        assert imap.state == "AUTH"
    pop = mail.pop3("Mary@Corp.Example", MARY.password)  # login with '@', not her address
    pop.quit()


def test_wrong_password_refused_alike_with_or_without_protocol_access(mail: MailEnv) -> None:
    # john may use IMAP; mary may not. With a wrong password both get the same answer,
    # so the nologin/reason message never tells an attacker anything.
    assert mail.imap_refusal("jsmith", "wrong-password") == AUTH_FAILED
    assert mail.imap_refusal("mary@corp.example", "wrong-password") == AUTH_FAILED


def test_imap_switch_refuses_after_the_password_matched(mail: MailEnv) -> None:
    reason = mail.imap_refusal("mary@example.com", MARY.password)
    assert reason == f"[CONTACTADMIN] {DISABLED}"


def test_pop3_switch(mail: MailEnv) -> None:
    with pytest.raises(poplib.error_proto, match="disabled for this mailbox"):
        mail.pop3("pete@example.com", PETE.password).quit()
    with mail.imap("pete@example.com", PETE.password) as imap:
        assert imap.state == "AUTH"


def test_owa_port_uses_enable_owa(mail: MailEnv) -> None:
    # mary: IMAP off, OWA on -> the webmail gateway's port lets her in
    with mail.imap("mary@example.com", MARY.password, port="imap_owa") as imap:
        assert list_folders(imap)  # and she has a working session
    with mail.imap("jsmith", JOHN.password, port="imap_owa") as imap:
        assert imap.state == "AUTH"


def test_activesync_port_uses_enable_activesync(mail: MailEnv) -> None:
    assert "disabled for this mailbox" in mail.imap_refusal(
        "jsmith", JOHN.password, port="imap_activesync"
    )
    with mail.imap("mary@corp.example", MARY.password, port="imap_activesync") as imap:
        assert imap.state == "AUTH"


def test_inactive_mailbox_refused(mail: MailEnv) -> None:
    assert mail.imap_refusal("ines@example.com", INES.password) == AUTH_FAILED
    assert mail.lmtp("ines@example.com", "to an inactive mailbox") == (550, None)


def test_lmtp_unknown_recipient(mail: MailEnv) -> None:
    assert mail.lmtp("nobody@example.com", "to nobody") == (550, None)


def test_lmtp_to_alternative_addresses_lands_in_primary_inbox(mail: MailEnv) -> None:
    rcpts = ["J.Smith@Example.COM", "john@example.net", "john.smith+news@example.com"]
    for rcpt in rcpts:
        assert mail.lmtp(rcpt, f"to {rcpt}") == (250, 250), rcpt
    with mail.imap("jsmith", JOHN.password) as imap:
        subjects = inbox_subjects(imap)
    assert {f"to {r}" for r in rcpts} <= set(subjects)


def test_home_is_keyed_on_mailbox_id(mail: MailEnv) -> None:
    assert mail.lmtp("zoe@example.com", "hello zoe") == (250, 250)
    home = mail.cfg.mail_root / str(ZOE.mailbox_id)
    assert home == mail.cfg.home_of(ZOE.mailbox_id)
    assert (home / "Maildir").is_dir()
    assert not [p for p in mail.cfg.mail_root.iterdir() if "@" in p.name]
    mail_uid = pwd.getpwnam(mail.cfg.mail_user).pw_uid
    assert home.stat().st_uid == mail_uid
    # the userdb resolves an alternative address to the canonical user and its home
    info = mail.api.call("user", {"userMask": ["J.Smith@example.com"]})
    fields = info["J.Smith@example.com"]
    assert fields["user"] == "john.smith@example.com"
    assert fields["home"] == str(mail.cfg.mail_root / "101")


def test_quota_append_and_lmtp(mail: MailEnv) -> None:
    with mail.imap("quinn@example.com", QUINN.password) as imap:
        typ, data = imap.getquotaroot("INBOX")
        assert typ == "OK" and b'"User quota" (STORAGE 0 200)' in data[1]
        assert imap_append(imap, "INBOX", make_message("big 1", 150_000))[0] == "OK"
        typ, resp = imap_append(imap, "INBOX", make_message("big 2", 150_000))
        assert typ == "NO" and b"[OVERQUOTA]" in resp[0]
    # over quota at DATA: the message does not fit
    assert mail.lmtp("quinn@example.com", "100 KB", size_bytes=100_000) == (250, 552)
    usage = mail.api.quota_get("quinn@example.com")
    assert 140 <= usage["storage_kb"] <= 160 and usage["storage_limit_kb"] == 200
    assert usage["messages"] == 1 and usage["messages_limit"] is None
    # limit lowered below the usage in SQL: refused at RCPT already (lmtp_rcpt_check_quota)
    with mail.db:
        mail.db.execute("UPDATE dovecot_mailboxes SET quota_kb = 100 WHERE mailbox_id = 107")
    assert mail.lmtp("quinn@example.com", "small") == (552, None)
    assert mail.api.quota_get("quinn@example.com")["storage_limit_kb"] == 100


def test_initialized_mailbox_has_localized_special_folders_de(mail: MailEnv) -> None:
    with mail.imap("jsmith", JOHN.password) as imap:
        folders = list_folders(imap)
    expected = special_folders(CATALOGUE["de"])
    assert set(folders) == {"INBOX", *expected}
    assert "Gelöschte Elemente" in folders
    for name, flag in expected.items():
        assert flag in folders[name], (name, folders[name])


def test_initialized_mailbox_has_localized_special_folders_ru(mail: MailEnv) -> None:
    with mail.imap("mary@example.com", MARY.password, port="imap_owa") as imap:
        folders = list_folders(imap)
    expected = special_folders(CATALOGUE["ru"])
    assert set(folders) == {"INBOX", *expected}
    assert folders["Нежелательная почта"] >= {"\\Junk"}
    for name, flag in expected.items():
        assert flag in folders[name], (name, folders[name])


def test_not_initialized_shows_inbox_only_until_initialized(mail: MailEnv) -> None:
    with mail.imap("lena@example.com", LENA.password) as imap:
        assert set(list_folders(imap)) == {"INBOX"}
    with mail.db:
        mail.db.execute("UPDATE dovecot_mailboxes SET initialized = 1 WHERE mailbox_id = 109")
    with mail.imap("lena@example.com", LENA.password) as imap:
        folders = list_folders(imap)
    expected = special_folders(CATALOGUE["it"])
    assert set(folders) == {"INBOX", *expected}
    assert "\\Sent" in folders["Posta inviata"]


@pytest.mark.parametrize("user", [YUKI, ZOE], ids=["unknown-language", "no-language"])
def test_unknown_language_falls_back_to_english(mail: MailEnv, user: Mailbox) -> None:
    with mail.imap(user.username, user.password) as imap:
        folders = list_folders(imap)
    expected = special_folders(CATALOGUE["en"])
    assert set(folders) == {"INBOX", *expected}
    assert "\\Trash" in folders["Deleted Items"]


def test_doveadm_kick_closes_open_session(mail: MailEnv) -> None:
    imap = mail.imap("kate@example.com", KATE.password)
    try:
        imap.select("INBOX")
        assert mail.api.kick("kate@example.com") is True
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            for _ in range(50):  # the kicked process may need a moment
                imap.noop()
                time.sleep(0.02)
    finally:
        imap.shutdown()
    deadline = time.monotonic() + 5
    while mail.api.kick("kate@example.com") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mail.api.kick("kate@example.com") is False  # nobody left to kick


def test_doveadm_folder_operations(mail: MailEnv) -> None:
    user = "kate@example.com"
    mail.api.mailbox_create(user, ["Projekte/2025", "Kunden/Fa. Müller"])
    mail.api.mailbox_rename(user, "Projekte", "Projekte (alt)")
    names = set(mail.api.mailbox_list(user))
    assert {"Projekte (alt)", "Projekte (alt)/2025", "Kunden/Fa. Müller"} <= names
    assert "Projekte" not in names
    with mail.imap(user, KATE.password) as imap:
        folders = list_folders(imap)
    assert {"Projekte (alt)/2025", "Kunden/Fa. Müller", "Éléments envoyés"} <= set(folders)
    assert "\\Sent" in folders["Éléments envoyés"]


def test_doveadm_errors(mail: MailEnv) -> None:
    with pytest.raises(MailBackendError, match="user unknown") as excinfo:
        mail.api.quota_get("nobody@example.com")
    assert excinfo.value.exit_code == 67
    wrong_key = DoveadmHttp(mail.cfg.host, mail.cfg.ports.doveadm_http, "not-the-key")
    with pytest.raises(MailBackendError) as excinfo:
        wrong_key.quota_get("kate@example.com")
    assert excinfo.value.http_status == 401
    with socket.socket() as s:
        s.bind((mail.cfg.host, 0))
        closed_port = s.getsockname()[1]
    unreachable = DoveadmHttp(mail.cfg.host, closed_port, "key", timeout=2)
    with pytest.raises(MailBackendError, match="cannot reach"):
        unreachable.kick("kate@example.com")


def test_start_fails_clearly_when_a_port_is_taken(mail: MailEnv, scratch: Path) -> None:
    base = scratch / "second"
    base.mkdir(mode=0o711)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        cfg = make_config(base, ports=MailPorts(imap=taken), sql_connect=str(scratch / "pemx.db"))
        dv = PrivateDovecot(cfg)
        with pytest.raises(MailBackendError, match="Address already in use"):
            dv.start(timeout=10)
    assert not dv.is_running()
    assert mail.dovecot.is_running()  # the first instance is unaffected


def test_parallel_first_deliveries(mail: MailEnv) -> None:
    """Concurrent first deliveries into new mailboxes (LAYOUT=fs/sdbox failed this)."""
    fresh = [
        Mailbox(200 + i, f"load{i}@example.com", "x", alt_addresses=[f"l{i}@example.net"])
        for i in range(8)
    ]
    for mb in fresh:
        add_mailbox(mail.db, mb)
    jobs = [
        (f"l{i}@example.net" if j % 2 else f"load{i}@example.com", j)
        for i in range(8)
        for j in range(6)
    ]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda job: mail.lmtp(job[0], f"parallel {job[1]}"), jobs))
    assert results == [(250, 250)] * len(jobs)
    usage = mail.api.quota_get("load3@example.com")
    assert usage["messages"] == 6


def test_stop_leaves_no_process_and_frees_the_ports(mail: MailEnv, scratch: Path) -> None:
    base = scratch / "third"
    base.mkdir(mode=0o711)
    dv = PrivateDovecot(make_config(base, sql_connect=str(scratch / "pemx.db")))
    dv.start()
    pid = dv.pid
    assert pid is not None and dv.is_running()
    rcpt = "kate@example.com"  # same database, separate mail root
    assert lmtp_deliver(dv.config.host, dv.config.ports.lmtp, rcpt, "third") == (250, 250)
    assert (dv.config.mail_root / str(KATE.mailbox_id) / "Maildir").is_dir()
    assert dv.stop() < 5
    assert not dv.is_running()
    assert _live_group_members(pid) == []
    for _, port in dv.config.ports.items():
        with socket.socket() as s:
            assert s.connect_ex((dv.config.host, port)) != 0, port  # nobody listens
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Dovecot does
            s.bind((dv.config.host, port))  # free again
    assert dv.stop() == pytest.approx(0, abs=0.1)  # stopping twice is harmless
