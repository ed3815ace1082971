"""A Dovecot proxy in front of two mailbox stores, all private Dovecot 2.3 instances.

One SQLite contract database; store 1 and store 2 each serve only their own
mailboxes (``store_id``) and trust the proxy's address (login_trusted_networks,
so the proxy's forwarded client port must not reach their per-listener checks);
the proxy holds no mail and sends each login and LMTP recipient to the store its
``store_*`` columns name. Which store served a session shows on disk: the home
``<mail_root>/<mailbox_id>`` appears under that store's mail root only.
"""

from __future__ import annotations

import os
import poplib
import shutil
import signal
import smtplib
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from pemx.adapters.mail.database import SqliteDatabase
from pemx.adapters.mail.dovecot import (
    DoveadmHttp,
    MailBackendError,
    MailPorts,
    PrivateDovecot,
    find_dovecot,
    render_dovecot_conf,
    render_sql_conf,
)
from pemx.adapters.mail.dovecot.system import (
    system_dovecot_config,
    system_dovecot_files,
    system_proxy_files,
)
from tests.support.mailclient import (
    imap_login,
    inbox_subjects,
    list_folders,
    make_message,
    pop3_login,
)

from .contract import Mailbox, StoreAddress, add_mailbox, create_contract_db
from .harness import AUTH_FAILED, DISABLED, MailEnv, make_config, missing, require_dovecot

# ----------------------------------------------------------------------- mailboxes

ALICE = Mailbox(
    1, "alice@a.example", "Al1ce-secret", login="alice", alt_addresses=["ali@a.example"]
)
# IMAP and OWA off, ActiveSync and POP3 on
CAROL = Mailbox(2, "carol@a.example", "C4rol-secret", enable_imap=False, enable_owa=False)
POPPY = Mailbox(3, "poppy@a.example", "P0ppy-secret", login="poppy")  # POP3 only
BOB = Mailbox(
    11,
    "bob@b.example",
    "B0b-secret",
    login="bob@corp.example",  # a login with '@' that is no address
    alt_addresses=["robert@b.example"],
    store_id=2,
)
# IMAP, POP3 and ActiveSync off, OWA on
DAVE = Mailbox(
    12,
    "dave@b.example",
    "D4ve-secret",
    enable_imap=False,
    enable_pop3=False,
    enable_activesync=False,
    store_id=2,
)
EVE = Mailbox(13, "eve@b.example", "Ev3-secret", active=False, store_id=2)
PIP = Mailbox(14, "pip@b.example", "P1p-secret", login="pip", store_id=2)  # POP3 only
HANK = Mailbox(15, "hank@b.example", "H4nk-secret", store_id=2)  # home deleted by doveadm
MAILBOXES = (ALICE, CAROL, POPPY, BOB, DAVE, EVE, PIP, HANK)
TRUSTED = "127.0.0.1/32"


@dataclass
class Cluster:
    proxy: MailEnv
    stores: dict[int, MailEnv]

    def store_of(self, mb: Mailbox) -> MailEnv:
        return self.stores[mb.store_id]

    def other_store(self, mb: Mailbox) -> MailEnv:
        return self.stores[3 - mb.store_id]

    def home(self, mb: Mailbox, store_id: int | None = None) -> Path:
        return self.stores[store_id or mb.store_id].cfg.home_of(mb.mailbox_id)


def store_address(dv: PrivateDovecot) -> StoreAddress:
    p = dv.config.ports
    return StoreAddress(dv.config.host, p.imap, p.pop3, p.lmtp, p.imap_owa, p.imap_activesync)


@pytest.fixture(scope="module")
def cluster(scratch: Path) -> Iterator[Cluster]:
    require_dovecot()
    db_path = scratch / "pemx.db"
    db = create_contract_db(db_path)
    instances: dict[str, PrivateDovecot] = {}
    for name, overrides in (
        ("store1", {"store_id": 1, "login_trusted_networks": TRUSTED}),
        ("store2", {"store_id": 2, "login_trusted_networks": TRUSTED}),
        ("proxy", {"role": "proxy"}),
    ):
        base = scratch / name
        base.mkdir(mode=0o711)
        cfg = make_config(base, sql_connect=str(db_path), **overrides)
        instances[name] = PrivateDovecot(cfg)
    for mb in MAILBOXES:
        add_mailbox(db, mb, store_address(instances[f"store{mb.store_id}"]))
    envs: dict[str, MailEnv] = {}
    try:
        for name, dv in instances.items():
            envs[name] = MailEnv(dv, db, dv.doveadm_http(), dv.start())
        yield Cluster(envs["proxy"], {1: envs["store1"], 2: envs["store2"]})
    finally:
        for env in reversed(envs.values()):
            env.dovecot.stop()
        db.close()


def maildir_subjects(home: Path) -> list[str]:
    """The Subject lines of the messages in a home's Maildir INBOX (new/ and cur/)."""
    found = []
    for sub in ("new", "cur"):
        for path in sorted((home / "Maildir" / sub).glob("*")):
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith("Subject: "):
                    found.append(line.removeprefix("Subject: "))
                    break
    return found


# -------------------------------------------------------------------- the configs


def test_rendered_configs(cluster: Cluster) -> None:
    proxy = cluster.proxy.cfg
    conf, sql = render_dovecot_conf(proxy), render_sql_conf(proxy)
    assert proxy.conf_path.read_text() == conf and proxy.sql_conf_path.read_text() == sql
    assert "lmtp_proxy = yes\n" in conf
    for absent in ("mail_location", "namespace", "quota", "mail_uid", "login_trusted_networks"):
        assert absent not in conf, absent
    assert "CASE allowed WHEN 1 THEN 'Y' END AS proxy" in sql
    assert f"WHEN '{proxy.ports.imap_owa}' THEN store_imap_owa_port" in sql
    assert "user_query = SELECT NULL AS user WHERE 1 = 0\n" in sql
    assert "%{lport}" not in sql.replace("%{real_lport}", "")
    assert not proxy.mail_root.exists()  # a proxy has no mail
    for store_id, env in cluster.stores.items():
        cfg = env.cfg
        text = cfg.sql_conf_path.read_text()
        assert text == render_sql_conf(cfg)
        assert f"WHEN '{cfg.ports.imap_owa}' THEN enable_owa" in text
        assert "'%{real_lport}'" in text and "'%{lport}'" not in text
        assert f"AND active = 1 AND +store_id = {store_id}) AS m" in text
        delivering = f"WHERE a.address = '%Lu' AND m.deliverable = 1 AND +m.store_id = {store_id}\n"
        assert delivering in text
        assert f"WHERE deliverable = 1 AND +store_id = {store_id}\n" in text
        assert f"login_trusted_networks = {TRUSTED}\n" in cfg.conf_path.read_text()
    # without a store_id: every mailbox, as before stores existed
    single = replace(cluster.stores[1].cfg, store_id=None, login_trusted_networks="")
    assert "store_id" not in render_sql_conf(single)
    assert "login_trusted_networks" not in render_dovecot_conf(single)


def test_config_rejects_bad_store_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="role"):
        make_config(tmp_path, role="director")
    for bad in (-1, True, "1"):
        with pytest.raises(ValueError, match="store_id"):
            make_config(tmp_path, store_id=bad)
    with pytest.raises(ValueError, match="login_trusted_networks"):
        make_config(tmp_path, login_trusted_networks="10.0.0.0/8 evil%{x}")


# ---------------------------------------------------------- IMAP and POP3 logins


@pytest.mark.parametrize(
    ("user", "mb"),
    [
        ("alice@a.example", ALICE),
        ("ALICE", ALICE),
        ("Bob@B.Example", BOB),
        ("bob@corp.example", BOB),
    ],
)
def test_imap_login_reaches_the_mailbox_store(cluster: Cluster, user: str, mb: Mailbox) -> None:
    with cluster.proxy.imap(user, mb.password) as imap:
        assert "INBOX" in list_folders(imap)
    assert cluster.home(mb).is_dir()
    assert not cluster.other_store(mb).cfg.home_of(mb.mailbox_id).exists()


@pytest.mark.parametrize(("user", "mb"), [("poppy", POPPY), ("PIP@b.example", PIP)])
def test_pop3_login_reaches_the_mailbox_store(cluster: Cluster, user: str, mb: Mailbox) -> None:
    assert not cluster.home(mb).exists()  # nobody used it yet
    pop = cluster.proxy.pop3(user, mb.password)
    assert pop.stat() == (0, 0)
    pop.quit()
    assert cluster.home(mb).is_dir()
    assert not cluster.other_store(mb).cfg.home_of(mb.mailbox_id).exists()


def test_refused_logins(cluster: Cluster) -> None:
    proxy = cluster.proxy
    assert proxy.imap_refusal("alice", "wrong-password") == AUTH_FAILED
    assert proxy.imap_refusal("nobody@a.example", "x") == AUTH_FAILED
    assert proxy.imap_refusal("ali@a.example", ALICE.password) == AUTH_FAILED  # no login name
    assert proxy.imap_refusal("eve@b.example", EVE.password) == AUTH_FAILED  # inactive
    # a disabled protocol, once the password matched; a wrong one tells nothing
    assert proxy.imap_refusal("carol@a.example", CAROL.password) == f"[CONTACTADMIN] {DISABLED}"
    assert proxy.imap_refusal("carol@a.example", "wrong") == AUTH_FAILED
    with pytest.raises(poplib.error_proto, match="Authentication failed"):
        proxy.pop3("bob@b.example", "wrong-password").quit()
    with pytest.raises(poplib.error_proto, match=DISABLED):
        proxy.pop3("dave@b.example", DAVE.password).quit()


def test_owa_and_activesync_listeners(cluster: Cluster) -> None:
    """The proxy's gateway listeners check their own switch and reach the same on the store.

    carol (store 1) and dave (store 2) may not use plain IMAP, so a store accepts
    them only on its matching listener, and only if its check reads its own port
    (%{real_lport}) rather than the proxy's port the trusted proxy passes on.
    """
    proxy = cluster.proxy
    with proxy.imap("carol@a.example", CAROL.password, port="imap_activesync") as imap:
        assert "INBOX" in list_folders(imap)
    assert DISABLED in proxy.imap_refusal("carol@a.example", CAROL.password, port="imap_owa")
    with proxy.imap("dave@b.example", DAVE.password, port="imap_owa") as imap:
        assert "INBOX" in list_folders(imap)
    assert DISABLED in proxy.imap_refusal("dave@b.example", DAVE.password)
    assert DISABLED in proxy.imap_refusal("dave@b.example", DAVE.password, port="imap_activesync")
    assert cluster.home(CAROL).is_dir() and cluster.home(DAVE).is_dir()
    assert not cluster.home(CAROL, 2).exists() and not cluster.home(DAVE, 1).exists()


def test_store_refuses_the_other_stores_mailboxes(cluster: Cluster) -> None:
    store1, store2 = cluster.stores[1], cluster.stores[2]
    with store1.imap("alice", ALICE.password) as imap:  # its own: fine, directly too
        assert imap.state == "AUTH"
    assert store1.imap_refusal("bob@b.example", BOB.password) == AUTH_FAILED
    assert store2.imap_refusal("alice@a.example", ALICE.password) == AUTH_FAILED
    with pytest.raises(poplib.error_proto, match="Authentication failed"):
        pop3_login(store2.cfg.host, store2.cfg.ports.pop3, "poppy", POPPY.password).quit()
    assert store1.lmtp("bob@b.example", "to the wrong store") == (550, None)
    with pytest.raises(MailBackendError) as excinfo:
        store1.api.quota_get("bob@b.example")
    assert excinfo.value.exit_code == 67
    assert not cluster.home(BOB, 1).exists()


# ------------------------------------------------------------------------ LMTP


@pytest.mark.parametrize(
    ("rcpt", "mb"),
    [
        ("alice@a.example", ALICE),
        ("Ali@A.example", ALICE),
        ("alice+news@a.example", ALICE),
        ("bob@b.example", BOB),
        ("robert@b.example", BOB),
        ("ROBERT+x@b.example", BOB),
    ],
)
def test_lmtp_lands_in_the_mailbox_store(cluster: Cluster, rcpt: str, mb: Mailbox) -> None:
    subject = f"via proxy to {rcpt}"
    assert cluster.proxy.lmtp(rcpt, subject) == (250, 250)
    assert subject in maildir_subjects(cluster.home(mb))
    assert not cluster.home(mb, 3 - mb.store_id).exists()


def test_lmtp_refusals_and_both_stores_in_one_transaction(cluster: Cluster) -> None:
    proxy = cluster.proxy
    assert proxy.lmtp("nobody@a.example", "to nobody") == (550, None)
    assert proxy.lmtp("eve@b.example", "inactive") == (550, None)
    assert proxy.lmtp("bob@corp.example", "a login name") == (550, None)
    with smtplib.LMTP(proxy.cfg.host, proxy.cfg.ports.lmtp, timeout=10) as lmtp:
        lmtp.ehlo("pemx-test")
        lmtp.mail("sender@example.org")
        assert lmtp.rcpt("ali@a.example")[0] == 250
        assert lmtp.rcpt("robert@b.example")[0] == 250
        # one reply per recipient (smtplib reads the first)
        assert lmtp.data(make_message("to both stores"))[0] == 250
        assert lmtp.getreply()[0] == 250
    assert "to both stores" in maildir_subjects(cluster.home(ALICE))
    assert "to both stores" in maildir_subjects(cluster.home(BOB))
    with cluster.proxy.imap("bob@b.example", BOB.password) as imap:
        assert "to both stores" in inbox_subjects(imap)


# ----------------------------------------------------------- doveadm on a store


def test_delete_home(cluster: Cluster) -> None:
    store2, store1 = cluster.stores[2], cluster.stores[1]
    root, home = store2.cfg.mail_root, cluster.home(HANK)
    assert cluster.proxy.lmtp("hank@b.example", "soon gone") == (250, 250)
    assert maildir_subjects(home) == ["soon gone"]
    assert store2.api.fs_stat(home) is True
    assert store1.api.delete_home(store1.cfg.mail_root, HANK.mailbox_id) is False  # not there
    assert home.is_dir()
    assert store2.api.delete_home(root, HANK.mailbox_id) is True
    assert not home.exists() and root.is_dir()
    assert store2.api.fs_stat(home) is False
    assert store2.api.delete_home(root, HANK.mailbox_id) is False  # already gone: fine
    with pytest.raises(MailBackendError, match="does not exist") as excinfo:
        store2.api.delete_home(root.parent / "no-such-root", HANK.mailbox_id)
    assert excinfo.value.exit_code == 68
    for bad_id in ("15", -1, True, 1.5):
        with pytest.raises(ValueError, match="mailbox_id"):
            store2.api.delete_home(root, bad_id)  # type: ignore[arg-type]
    for bad_root in ("relative/mail", "/", f"{root}/../mail", f"{root}/", "/tmp/a b"):
        with pytest.raises(ValueError, match="absolute"):
            store2.api.delete_home(bad_root, HANK.mailbox_id)
    # a later delivery starts an empty home again
    assert cluster.proxy.lmtp("hank@b.example", "new life") == (250, 250)
    assert maildir_subjects(home) == ["new life"]


def test_unknown_method_in_a_batch(cluster: Cluster) -> None:
    """Dovecot 2.3.19 leaves out the commas of a batch answer with "unknownMethod" errors."""
    api = cluster.stores[1].api
    home = cluster.home(ALICE)
    results = api.call_many(
        [
            ("noSuchCommand", {}),
            ("fsStat", {"fsDriver": "posix", "fsArgs": "dirs", "path": str(home)}),
            ("fsStat", {"fsDriver": "posix", "fsArgs": "dirs", "path": f"{home}-missing"}),
            ("noSuchCommandEither", {}),
        ]
    )
    first, found, gone, last = results
    assert isinstance(first, MailBackendError) and first.exit_code is None
    assert "unknownMethod" in str(first)
    assert not isinstance(found, MailBackendError) and found[0]["path"] == str(home)
    assert isinstance(gone, MailBackendError) and gone.exit_code == 68
    # its exitCode is the previous command's (68): not taken for "not found"
    assert isinstance(last, MailBackendError) and last.exit_code is None


def test_proxy_doveadm_http_answers(cluster: Cluster) -> None:
    # pemx calls doveadm on the stores; the proxy's API is up but knows no users
    # (and no quota commands: it loads no quota plugin)
    assert cluster.proxy.api.kick("alice@a.example") is False
    with pytest.raises(MailBackendError) as excinfo:
        cluster.proxy.api.mailbox_list("alice@a.example")
    assert excinfo.value.exit_code == 67
    with pytest.raises(MailBackendError, match="unknownMethod") as excinfo:
        cluster.proxy.api.quota_get("alice@a.example")
    assert excinfo.value.exit_code is None
    bad = DoveadmHttp(cluster.proxy.cfg.host, cluster.proxy.cfg.ports.doveadm_http, "wrong")
    with pytest.raises(MailBackendError) as excinfo:
        bad.kick("alice@a.example")
    assert excinfo.value.http_status == 401


# ------------------------------------------------------------------ system files


def test_system_files_for_stores_and_proxy(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "pemx.db")
    cfg = system_dovecot_config(db, conf_dir=tmp_path, store_id=3, login_trusted_networks=TRUSTED)
    files = system_dovecot_files(cfg)
    conf = files[tmp_path / "conf.d/99-pemx.conf"]
    sql = files[tmp_path / "dovecot-pemx-sql.conf.ext"]
    assert f"login_trusted_networks = {TRUSTED}\n" in conf
    assert "only the mailboxes with store_id = 3" in conf
    assert "AND +store_id = 3) AS m" in sql and "'%{real_lport}'" in sql
    # quota_clone: the store's dict process writes the usage to pemx's database
    usage = files[tmp_path / "dovecot-dict-usage.conf.ext"]
    assert f"pemxusage = sqlite:{tmp_path}/dovecot-dict-usage.conf.ext\n" in conf
    assert "quota_clone_dict = proxy::pemxusage" in conf
    assert "quota listescape quota_clone\n" in conf and "  user = root\n" in conf
    assert f"connect = {tmp_path / 'pemx.db'}\n" in usage
    assert "pattern = priv/quota/storage\n  table = mailbox_usage\n" in usage
    plain = system_dovecot_files(system_dovecot_config(db, conf_dir=tmp_path))
    assert "store_id" not in "".join(plain.values())
    assert "login_trusted_networks =" not in "".join(plain.values())

    proxy = system_proxy_files(cfg)
    assert set(proxy) == set(files) - {tmp_path / "dovecot-dict-usage.conf.ext"}
    conf = proxy[tmp_path / "conf.d/99-pemx.conf"]
    sql = proxy[tmp_path / "dovecot-pemx-sql.conf.ext"]
    assert "lmtp_proxy = yes\n" in conf and "mail_location" not in conf
    assert f"args = {tmp_path}/dovecot-pemx-sql.conf.ext" in conf
    assert "port = 143\n" in conf and "address = 127.0.0.1\n    port = 24\n" in conf
    assert "AS proxy" in sql and "store_id" not in sql
    assert "user_query = SELECT NULL AS user WHERE 1 = 0\n" in sql
    with pytest.raises(ValueError, match="system_proxy_files"):
        system_dovecot_files(replace(cfg, role="proxy"))


def test_system_proxy_in_front_of_the_stores(cluster: Cluster, scratch: Path) -> None:
    """The system proxy files, run by a Dovecot with a minimal dovecot.conf of its own."""
    if os.geteuid() != 0:
        missing("a system Dovecot config needs root")
    binary = find_dovecot()
    assert binary is not None
    base = scratch / "sysproxy"
    (base / "run").mkdir(parents=True, mode=0o755)
    base.chmod(0o711)
    ports = MailPorts().with_free_ports()
    db = SqliteDatabase(Path(cluster.proxy.cfg.sql_connect))
    cfg = system_dovecot_config(db, ports=ports, conf_dir=base / "etc")
    for path, text in system_proxy_files(cfg, listen="127.0.0.1").items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    # What the system's own dovecot.conf provides (Debian's would include conf.d/*.conf).
    (base / "etc" / "dovecot.conf").write_text(
        f"base_dir = {base}/run\nstate_dir = {base}/state\ninstance_name = {base.name}\n"
        f"log_path = {base}/dovecot.log\nssl = no\nauth_failure_delay = 0\n"
        "service imap-login {\n  inet_listener imaps {\n    port = 0\n  }\n}\n"
        "service pop3-login {\n  inet_listener pop3s {\n    port = 0\n  }\n}\n"
        "!include conf.d/*.conf\n"
    )
    with open(base / "stderr.log", "wb") as err:
        proc = subprocess.Popen(
            [binary, "-F", "-c", str(base / "etc" / "dovecot.conf")],
            stdout=err,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_listening(ports, proc, base)
        with imap_login("127.0.0.1", ports.imap_owa, "dave@b.example", DAVE.password) as imap:
            assert "INBOX" in list_folders(imap)
        pop = pop3_login("127.0.0.1", ports.pop3, "poppy", POPPY.password)
        pop.quit()
        with smtplib.LMTP("127.0.0.1", ports.lmtp, timeout=10) as lmtp:
            refused = lmtp.sendmail("s@example.org", ["ali@a.example"], make_message("sys"))
        assert refused == {}
        assert "sys" in maildir_subjects(cluster.home(ALICE))
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def _wait_listening(ports: MailPorts, proc: subprocess.Popen[bytes], base: Path) -> None:
    deadline = time.monotonic() + 20
    pending = [ports.imap, ports.pop3, ports.lmtp, ports.imap_owa, ports.imap_activesync]
    while pending and time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (base / "stderr.log").read_text(errors="replace")
            raise AssertionError(f"dovecot exited with {proc.returncode}:\n{log}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", pending[0])) == 0:
                pending.pop(0)
                continue
        time.sleep(0.05)
    assert not pending, f"ports {pending} did not open"
