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
    render_dovecot_conf,
    render_sql_conf,
)
from pemx.adapters.mail.dovecot.procfs import live_group_members
from pemx.domain.folders import CATALOGUE, ROLES
from tests.support.mailclient import (
    imap_append,
    imap_create,
    imap_utf7_encode,
    inbox_subjects,
    list_folders,
    lmtp_deliver,
    make_message,
)

from .contract import Mailbox, add_mailbox, create_contract_db
from .harness import (
    AUTH_FAILED,
    DISABLED,
    MailEnv,
    build_clock_shift,
    imap_session_shifted,
    make_config,
    require_dovecot,
    special_folders,
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
NORA = Mailbox(110, "nora@example.com", "N0ra-secret", max_mail_kb=100)
RITA = Mailbox(
    111,
    "rita@example.com",
    "R1ta-secret",
    folder_language="de",
    initialized=True,
    retention_days=30,
)
OSKAR = Mailbox(112, "oskar@example.com", "0skar-secret", folder_language="de", initialized=True)
LEO = Mailbox(113, "leo@example.com", "L3o-secret", folder_language="de", initialized=True)
MAILBOXES = (JOHN, MARY, PETE, INES, YUKI, ZOE, QUINN, KATE, LENA, NORA, RITA, OSKAR, LEO)
DAY = 86400

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
    assert (
        "CASE WHEN m.max_mail_kb > 0 THEN m.max_mail_kb || 'K' END AS quota_max_mail_size" in text
    )
    assert "CASE WHEN m.retention_days > 0 THEN m.retention_days || 'd' END" in text
    assert 'AS "namespace/inbox/mailbox/Trash/autoexpunge"' in text
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
        assert "mail_always_cache_fields = date.save\n" in text


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
    assert live_group_members(pid) == []
    for _, port in dv.config.ports.items():
        with socket.socket() as s:
            assert s.connect_ex((dv.config.host, port)) != 0, port  # nobody listens
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Dovecot does
            s.bind((dv.config.host, port))  # free again
    assert dv.stop() == pytest.approx(0, abs=0.1)  # stopping twice is harmless


# ------------------------------------------------- message size and Trash retention


def set_column(mail: MailEnv, mb: Mailbox, column: str, value: int | str | None) -> None:
    with mail.db:
        mail.db.execute(
            f"UPDATE dovecot_mailboxes SET {column} = ? WHERE mailbox_id = ?",
            (value, mb.mailbox_id),
        )


def userdb_fields(mail: MailEnv, user: str) -> dict[str, str]:
    return dict(mail.api.call("user", {"userMask": [user]})[user])


def test_max_mail_size_applies_to_lmtp_and_append(mail: MailEnv) -> None:
    user = NORA.username
    set_column(mail, NORA, "max_mail_kb", 100)
    assert userdb_fields(mail, user)["quota_max_mail_size"] == "100K"
    # Dovecot 2.3.19 takes the message (RCPT 250: LMTP announces no SIZE, so the size is
    # unknown there) and refuses it at DATA with a TEMPORARY failure:
    #   451 4.2.0 <nora@example.com> Mail size is larger than the maximum size allowed
    #   by server configuration
    # (the quota plugin reports MAIL_ERROR_LIMIT, which LMTP turns into 451; only "over
    # quota" becomes 552). So an MTA keeps such a message queued and bounces it when its
    # queue lifetime ends (Postfix: maximal_queue_lifetime, 5 days by default).
    reply = mail.lmtp_reply(user, "150 KB", size_bytes=150_000)
    assert reply.rcpt_code == 250
    assert reply.data_code is not None and reply.data_code // 100 == 4
    assert reply.data_code == 451
    assert reply.data_text == (
        f"4.2.0 <{user}> Mail size is larger than the maximum size allowed by server configuration"
    )
    assert mail.lmtp(user, "50 KB", size_bytes=50_000) == (250, 250)
    with mail.imap(user, NORA.password) as imap:
        typ, resp = imap_append(imap, "INBOX", make_message("append 150 KB", 150_000))
        assert typ == "NO" and resp[0].startswith(b"[LIMIT] Mail size is larger")
        assert imap_append(imap, "INBOX", make_message("append 50 KB", 50_000))[0] == "OK"


@pytest.mark.parametrize(
    ("max_kb", "size_bytes", "data_code"),
    [(200, 150_000, 250), (None, 300_000, 250), (0, 300_000, 250), (40, 50_000, 451)],
    ids=["raised", "null", "zero", "lowered"],
)
def test_max_mail_size_counts_at_the_next_delivery(
    mail: MailEnv, max_kb: int | None, size_bytes: int, data_code: int
) -> None:
    set_column(mail, NORA, "max_mail_kb", max_kb)
    fields = userdb_fields(mail, NORA.username)
    assert fields.get("quota_max_mail_size") == (f"{max_kb}K" if max_kb else None)
    subject = f"{size_bytes} bytes, max {max_kb}"
    assert mail.lmtp(NORA.username, subject, size_bytes=size_bytes) == (250, data_code)
    assert (subject in mail.subjects(NORA.username, "INBOX")) == (data_code == 250)


def quote_folder(name: str) -> str:
    """A folder name as an IMAP command argument (modified UTF-7, quoted)."""
    return '"' + imap_utf7_encode(name) + '"'


def test_trash_retention_counts_from_deletion_not_from_the_message_date(mail: MailEnv) -> None:
    """Autoexpunge keys on the save date (the day a message entered the Trash)."""
    user, trash = RITA.username, CATALOGUE["de"].trash
    fields = userdb_fields(mail, user)
    assert fields["namespace/inbox/mailbox/Trash/autoexpunge"] == "30d"
    assert fields["namespace/inbox/mailbox/Trash/name"] == trash
    long_ago = time.time() - 100 * DAY
    with mail.imap(user, RITA.password) as imap:
        for folder, subject, date in (
            ("INBOX", "inbox, dated 100 days ago", long_ago),
            (trash, "dated 100 days ago", long_ago),
            (trash, "dated today", None),
        ):
            assert imap_append(imap, folder, make_message(subject), internal_date=date)[0] == "OK"
    # Autoexpunge runs when the session ends, after the client was let go; the
    # "Disconnected" line is logged once it is done.
    mail.wait_for_log(rf"imap\({re.escape(user)}\).*: Disconnected: Logged out", 1)
    # Both were deleted just now: the 100-day-old INTERNALDATE does not count.
    assert mail.subjects(user, trash) == ["dated 100 days ago", "dated today"]
    assert mail.subjects(user, "INBOX") == ["inbox, dated 100 days ago"]


def test_trash_retention_expunges_once_the_days_have_passed(mail: MailEnv, scratch: Path) -> None:
    """Sessions whose clock runs 30 days ahead (LD_PRELOAD) see the Trash expire."""
    lib = build_clock_shift(scratch)
    user, trash = OSKAR.username, CATALOGUE["de"].trash
    long_ago = time.time() - 100 * DAY
    with mail.imap(user, OSKAR.password) as imap:
        imap_append(imap, "INBOX", make_message("inbox"), internal_date=long_ago)
        imap_append(imap, trash, make_message("deleted first"), internal_date=long_ago)
        first = int(time.time())  # the first deletion's save date is at most this
        while time.time() < first + 3:  # the next ones are saved 3 s later or more
            time.sleep(0.05)
        imap_append(imap, trash, make_message("deleted later"), internal_date=long_ago)
        imap_append(imap, trash, make_message("deleted later, dated today"))
        # reading the Trash renames the Maildir files (new/ -> cur/, flags): the save
        # dates must not follow (mail_always_cache_fields = date.save)
        assert imap.select(quote_folder(trash))[0] == "OK"
        assert imap.store("1:*", "+FLAGS", "\\Seen")[0] == "OK"
    everything = ["deleted first", "deleted later", "deleted later, dated today"]

    def session_30_days_after_the_first_deletion() -> None:
        # its clock reads first + 1 s + 30 days: only "deleted first" is 30 days old
        imap_session_shifted(mail.cfg, user, first + 1 + 30 * DAY - int(time.time()), lib)

    for retention in (None, 0):  # kept forever
        set_column(mail, OSKAR, "retention_days", retention)
        session_30_days_after_the_first_deletion()
        assert mail.subjects(user, trash) == everything
    set_column(mail, OSKAR, "retention_days", 30)  # counts at the next session end
    session_30_days_after_the_first_deletion()
    assert mail.subjects(user, trash) == everything[1:]
    assert mail.subjects(user, "INBOX") == ["inbox"]  # INBOX is never expunged


# ----------------------------------------------------------- doveadm: many users


def test_call_many_returns_errors_per_command(mail: MailEnv) -> None:
    results = mail.api.call_many(
        [
            ("quotaGet", {"user": "nobody@example.com"}),
            ("mailboxList", {"user": KATE.username}),
            ("mailboxDelete", {"user": KATE.username, "mailbox": ["No such folder"]}),
        ]
    )
    assert isinstance(results[0], MailBackendError) and results[0].exit_code == 67
    listed = results[1]
    assert not isinstance(listed, MailBackendError) and {"mailbox": "INBOX"} in listed
    assert isinstance(results[2], MailBackendError) and results[2].exit_code == 68
    assert mail.api.call_many([]) == []


def test_quota_get_many(mail: MailEnv) -> None:
    users = [QUINN.username, "nobody@example.com", INES.username, KATE.username]
    got = mail.api.quota_get_many([*users, QUINN.username])
    assert list(got) == users  # each user once, in order
    assert got["nobody@example.com"] is None  # unknown
    assert got[INES.username] is None  # inactive: unknown to the userdb
    assert got[QUINN.username] == mail.api.quota_get(QUINN.username)
    assert got[KATE.username] == mail.api.quota_get(KATE.username)


def test_quota_get_many_splits_into_requests_of_500(mail: MailEnv) -> None:
    fresh = [Mailbox(1000 + i, f"many{i}@example.com", "x", quota_kb=i) for i in range(1, 601)]
    for mb in fresh:
        add_mailbox(mail.db, mb)
    users = [mb.username for mb in fresh] + [f"ghost{i}@example.com" for i in range(50)]
    t0 = time.monotonic()
    got = mail.api.quota_get_many(users)  # 650 commands: two HTTP requests
    elapsed = time.monotonic() - t0
    print(f"\nquota_get_many: {len(users)} users in {elapsed:.2f} s")
    assert len(got) == 650
    assert [u["storage_limit_kb"] for u in got.values() if u][:3] == [1, 2, 3]
    assert sum(u is None for u in got.values()) == 50
    assert elapsed < 30


# ------------------------------------------------------- doveadm: localize folders


def renames(old: str, new: str) -> list[tuple[str, str]]:
    """(old name, new name) of every special folder when the language changes."""
    return [(getattr(CATALOGUE[old], r), getattr(CATALOGUE[new], r)) for r in ROLES]


def folder_contents(mail: MailEnv, user: str) -> dict[str, list[str]]:
    """{folder in storage: sorted subjects}."""
    return {name: sorted(mail.subjects(user, name)) for name in mail.api.existing_mailboxes(user)}


def test_existing_mailboxes_leaves_out_announced_special_folders(mail: MailEnv) -> None:
    user, names = YUKI.username, CATALOGUE["en"]  # initialized: five folders announced
    assert set(mail.api.mailbox_list(user)) == {"INBOX", *names.as_tuple()}
    assert set(mail.api.existing_mailboxes(user)) <= {"INBOX"}  # none created yet
    assert not mail.api.mailbox_exists(user, names.trash)


def test_localize_folders_renames_then_merges(mail: MailEnv) -> None:
    user = LEO.username
    de, fr, it = CATALOGUE["de"], CATALOGUE["fr"], CATALOGUE["it"]
    with mail.imap(user, LEO.password) as imap:
        for folder, subject in ((de.trash, "deleted"), (de.sent, "sent")):
            assert imap_append(imap, folder, make_message(subject))[0] == "OK"
        assert imap_create(imap, f"{de.trash}/Alt") == "OK"
        assert imap_append(imap, f"{de.trash}/Alt", make_message("old child"))[0] == "OK"

    # de -> fr: the new names do not exist yet, so the folders are renamed
    set_column(mail, LEO, "folder_language", "fr")
    for _ in range(2):  # the second run changes nothing
        mail.api.localize_folders(user, renames("de", "fr"))
        assert folder_contents(mail, user) == {
            "INBOX": [],
            fr.trash: ["deleted"],
            f"{fr.trash}/Alt": ["old child"],
            fr.sent: ["sent"],
        }
    with mail.imap(user, LEO.password) as imap:
        folders = list_folders(imap)
        typ, lsub = imap.lsub()
    assert set(folders) == {"INBOX", f"{fr.trash}/Alt", *special_folders(fr)}
    assert "\\Trash" in folders[fr.trash]
    assert typ == "OK" and not [line for line in lsub if b"Gel" in (line or b"")]

    # fr -> it after a login that already used the new Trash and Sent: merged
    set_column(mail, LEO, "folder_language", "it")
    with mail.imap(user, LEO.password) as imap:
        for folder, subject in ((it.trash, "deleted after"), (it.sent, "sent after")):
            assert imap_append(imap, folder, make_message(subject))[0] == "OK"
        assert imap_create(imap, f"{it.trash}/Alt") == "OK"
        assert imap_append(imap, f"{it.trash}/Alt", make_message("new child"))[0] == "OK"
    for _ in range(2):
        mail.api.localize_folders(user, renames("fr", "it"))
        assert folder_contents(mail, user) == {
            "INBOX": [],
            it.trash: ["deleted", "deleted after"],
            f"{it.trash}/Alt": ["new child", "old child"],
            it.sent: ["sent", "sent after"],
        }
    names = mail.api.mailbox_list(user)
    assert not [n for n in names if n.startswith((fr.trash, fr.sent))]
    subscribed = mail.api.call("mailboxList", {"user": user, "subscriptions": True})
    assert {row["mailbox"] for row in subscribed} >= {it.trash, it.sent}
    assert not {row["mailbox"] for row in subscribed} & {fr.trash, fr.sent, de.trash, de.sent}
