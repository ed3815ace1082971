"""More than one machine, on loopback: PostgreSQL, three API nodes, two mailbox stores
and a Dovecot proxy in front of them.

The layout of docs/deployment.md: every node is `pemx serve --no-mail` on one
PostgreSQL database, each running an outbox worker; the stores are registered with
`pemx stores add`; the proxy and the stores read the database as the read-only role.
Mailboxes are placed on the least used store within its limit, and every login and
delivery through the proxy reaches the store that holds the mailbox.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pemx.adapters.mail.dovecot import DovecotConfig, MailPorts, PrivateDovecot
from tests.support.builders import mailbox_params, make_tenant, new_user_mailbox
from tests.support.calls import err, eventually, ok
from tests.support.errors import NO_MAILBOX_STORE
from tests.support.mailclient import imap_login, inbox_subjects, lmtp_deliver, pop3_login
from tests.support.postgres import PostgresCluster
from tests.support.server import (
    Server,
    ServerDatabase,
    require_dovecot,
    server_base,
    start_server,
    stop_server,
)

PASSWORD = "Cluster-Pass-1"
NODES = 3


@dataclass
class Cluster:
    base: Path
    database: ServerDatabase
    stores: dict[str, PrivateDovecot]
    store_ids: dict[str, int]
    proxy: PrivateDovecot
    nodes: list[Server]

    def proxied(self, name: str) -> tuple[str, int]:
        return self.proxy.config.host, int(getattr(self.proxy.config.ports, name))

    def home(self, store: str, mailbox_id: int) -> Path:
        return self.stores[store].config.mail_root / str(mailbox_id)


def _pemx(data_dir: Path, *args: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "pemx", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture(scope="module")
def cluster(postgres_cluster: PostgresCluster) -> Iterator[Cluster]:
    require_dovecot()
    base = server_base()
    database = ServerDatabase("postgresql", postgres_cluster.new_database())
    admin_dir = database.configure(base / "admin")
    assert database.postgres is not None
    _pemx(admin_dir, "migrate")
    started: list[PrivateDovecot] = []
    nodes: list[Server] = []
    try:
        stores: dict[str, PrivateDovecot] = {}
        store_ids: dict[str, int] = {}
        for name in ("store-a", "store-b"):
            key = secrets.token_hex(16)
            ports = MailPorts().with_free_ports()
            mail_root = base / name / "mail"
            _pemx(
                admin_dir, "stores", "add", name, "--host", "127.0.0.1",
                "--imap-port", str(ports.imap), "--pop3-port", str(ports.pop3),
                "--lmtp-port", str(ports.lmtp), "--imap-owa-port", str(ports.imap_owa),
                "--imap-activesync-port", str(ports.imap_activesync),
                "--doveadm-port", str(ports.doveadm_http), "--doveadm-api-key", key,
                "--mail-root", str(mail_root),
                "--no-check",  # its Dovecot starts below: its config needs the store's id
            )  # fmt: skip
            listed = {s["name"]: s for s in json.loads(_pemx(admin_dir, "stores", "--json"))}
            store_ids[name] = int(listed[name]["id"])
            config = DovecotConfig(
                work_dir=base / name / "dovecot",
                mail_root=mail_root,
                sql_driver="pgsql",
                sql_connect=database.postgres.mail_connect,
                doveadm_api_key=key,
                ports=ports,
                instance_name=f"pemx-{name}-{base.name}",
                auth_penalty=False,
                store_id=store_ids[name],
                login_trusted_networks="127.0.0.0/8",
            )
            stores[name] = PrivateDovecot(config)
            stores[name].start()
            started.append(stores[name])
        # The embedded store takes no new mailboxes in this layout.
        _pemx(admin_dir, "stores", "set", "local", "--closed")
        proxy = PrivateDovecot(
            DovecotConfig(
                work_dir=base / "proxy" / "dovecot",
                mail_root=base / "proxy" / "unused",
                sql_driver="pgsql",
                sql_connect=database.postgres.mail_connect,
                doveadm_api_key=secrets.token_hex(16),
                instance_name=f"pemx-proxy-{base.name}",
                auth_penalty=False,
                role="proxy",
            ).with_free_ports()
        )
        proxy.start()
        started.append(proxy)
        for index in range(NODES):
            # Node 0 runs no outbox worker: what it queues, the other nodes run.
            env = {"PEMX_WORKER": "false"} if index == 0 else {}
            nodes.append(
                start_server(database.configure(base / f"node{index}"), "--no-mail", env=env)
            )
        yield Cluster(base, database, stores, store_ids, proxy, nodes)
    finally:
        for node in nodes:
            stop_server(node)
        for dovecot in started:
            dovecot.stop()
        shutil.rmtree(base, ignore_errors=True)


def store_of(cluster: Cluster, mailbox_id: int) -> str:
    ((store_id,),) = cluster.nodes[0].rows(
        "SELECT store_id FROM mailboxes WHERE id = :id", id=mailbox_id
    )
    return next(name for name, sid in cluster.store_ids.items() if sid == store_id)


def test_mailboxes_are_spread_over_the_stores_and_reached_through_the_proxy(
    cluster: Cluster,
) -> None:
    apis = [node.proxy() for node in cluster.nodes]
    tenant = make_tenant(apis[0])
    created = []
    for index in range(8):  # round robin over the API nodes
        api = apis[index % NODES]
        mailbox_id, _, login, address = new_user_mailbox(api, tenant, PASSWORD, "cl")
        alternative = f"alt-{login}@{tenant.domain}"
        ok(api.pem.exchange.addEmailAddresses({"mailbox_id": mailbox_id, "emails": [alternative]}))
        created.append((mailbox_id, login, address, alternative))

    # Least used first: the two stores take turns.
    placed = {
        name: [m for m, *_ in created if store_of(cluster, m) == name] for name in cluster.stores
    }
    assert {len(ids) for ids in placed.values()} == {4}, placed
    listed = {s["name"]: s for s in ok(apis[1].pem.exchange.getMailboxStores({}))}
    assert listed["store-a"]["mailboxes"] == listed["store-b"]["mailboxes"] == 4
    assert listed["local"]["accepts_new_mailboxes"] is False

    for mailbox_id, login, address, alternative in created:
        store = store_of(cluster, mailbox_id)
        other = next(name for name in cluster.stores if name != store)
        for rcpt in (address, alternative.upper()):
            assert lmtp_deliver(*cluster.proxied("lmtp"), rcpt, f"to {rcpt}") == (250, 250)
        imap = imap_login(*cluster.proxied("imap"), login, PASSWORD)
        assert sorted(inbox_subjects(imap)) == sorted(
            [f"to {address}", f"to {alternative.upper()}"]
        )
        imap.logout()
        pop3_login(*cluster.proxied("pop3"), address, PASSWORD).quit()
        # The files are on the mailbox's store, and only there.
        assert (cluster.home(store, mailbox_id) / "Maildir").is_dir()
        assert not cluster.home(other, mailbox_id).exists()
        # Each store's Dovecot wrote the usage to PostgreSQL (as the mail role) before
        # the 250; every node reads it from there.
        info = ok(apis[2].pem.exchange.getMailboxInfo({"mailbox_id": mailbox_id}))
        assert info["size"] > 0, info
        assert used_bytes(cluster, address) > 0

    # A store's Dovecot serves its own mailboxes only, even when reached directly.
    mailbox_id, login, _, _ = created[0]
    other = next(n for n in cluster.stores if n != store_of(cluster, mailbox_id))
    with pytest.raises(Exception):  # noqa: B017 - imaplib's error type
        imap_login(cluster.stores[other].config.host, cluster.stores[other].config.ports.imap,
                   login, PASSWORD)  # fmt: skip


def test_store_limits_and_closed_stores_steer_placement(cluster: Cluster) -> None:
    api = cluster.nodes[1].proxy()
    tenant = make_tenant(api)
    listed = {s["name"]: s for s in ok(api.pem.exchange.getMailboxStores({}))}
    full = listed["store-a"]["mailboxes"]
    _pemx(cluster.nodes[0].data_dir, "stores", "set", "store-a", "--max-mailboxes", str(full))
    try:
        ids = [new_user_mailbox(api, tenant, PASSWORD, "lim")[0] for _ in range(3)]
        assert {store_of(cluster, m) for m in ids} == {"store-b"}
        _pemx(cluster.nodes[0].data_dir, "stores", "set", "store-b", "--closed")
        login = f"nowhere-{secrets.token_hex(4)}"
        new_user = {"subscription_id": tenant.subscription_id, "login": login}
        refused = api.pem.exchange.addMailbox(
            {"new_user": {**new_user, "password": PASSWORD},
             **mailbox_params(f"{login}@{tenant.domain}")}
        )  # fmt: skip
        err(refused, NO_MAILBOX_STORE)
        # Nothing was left behind by the refused call.
        assert cluster.nodes[0].rows("SELECT id FROM service_users WHERE login = :l", l=login) == []
    finally:
        _pemx(cluster.nodes[0].data_dir, "stores", "set", "store-a", "--max-mailboxes", "0")
        _pemx(cluster.nodes[0].data_dir, "stores", "set", "store-b", "--accepts-new")


def test_any_node_removes_a_mailbox_from_its_store(cluster: Cluster) -> None:
    apis = [node.proxy() for node in cluster.nodes]
    tenant = make_tenant(apis[0])
    made = [new_user_mailbox(apis[i % NODES], tenant, PASSWORD, "rm") for i in range(6)]
    for _, _, _, address in made:
        assert lmtp_deliver(*cluster.proxied("lmtp"), address, "bye") == (250, 250)
    homes = {m: cluster.home(store_of(cluster, m), m) for m, *_ in made}
    assert all(home.is_dir() for home in homes.values())
    for index, (mailbox_id, *_) in enumerate(made):
        ok(apis[(index + 1) % NODES].pem.exchange.removeMailbox({"mailbox_id": mailbox_id}))
    eventually(lambda: not any(h.exists() for h in homes.values()), what="homes deleted")
    ids = ",".join(str(m) for m in homes)
    eventually(
        lambda: not cluster.nodes[0].rows(f"SELECT id FROM mailboxes WHERE id IN ({ids})"),
        what="mailbox rows gone",
    )
    # Each removal ran once, on some node, and the stores' counts went down again.
    rows = cluster.nodes[0].rows(
        f"SELECT state, attempts, worker FROM tasks WHERE mailbox_id IN ({ids})"
        " AND kind = 'remove_mailbox'"
    )
    assert len(rows) == 6 and all(r.state == "done" and r.attempts == 1 for r in rows), rows
    counted = {s["name"]: s["mailboxes"] for s in ok(apis[0].pem.exchange.getMailboxStores({}))}
    live = cluster.nodes[0].rows(
        "SELECT st.name, count(m.id) FROM mailbox_stores st"
        " LEFT JOIN mailboxes m ON m.store_id = st.id GROUP BY st.name"
    )
    assert counted == {name: n for name, n in live}


def test_what_one_node_queues_another_node_runs(cluster: Cluster) -> None:
    api = cluster.nodes[0].proxy()  # the node without a worker
    tenant = make_tenant(api)
    mailbox_id, _, login, address = new_user_mailbox(api, tenant, PASSWORD, "wk")
    imap = imap_login(*cluster.proxied("imap"), login, PASSWORD)
    ok(api.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "imap4": False}))
    eventually(lambda: _closed(imap), what="the IMAP session closed by another node's worker")
    ((worker,),) = cluster.nodes[0].rows(
        "SELECT worker FROM tasks WHERE mailbox_id = :id AND kind = 'close_sessions'",
        id=mailbox_id,
    )
    pids = {int(worker.rsplit(":", 1)[1])}
    assert pids <= {node.process.pid for node in cluster.nodes[1:]}, (worker, pids)
    with pytest.raises(Exception):  # noqa: B017 - imaplib's error type: IMAP is off now
        imap_login(*cluster.proxied("imap"), address, PASSWORD)


def _closed(imap: Any) -> bool:
    try:
        typ, _ = imap.noop()
    except Exception:
        return True
    return bool(typ != "OK")


def test_mail_config_renders_each_store_and_the_proxy(cluster: Cluster) -> None:
    out = cluster.base / "rendered"
    data_dir = str(cluster.nodes[0].data_dir)
    store = cluster.stores["store-a"].config
    _pemx(
        Path(data_dir), "mail-config", "--kind", "dovecot", "--store", "store-a",
        "--trusted-networks", "10.0.0.5/32", "--output", str(out / "a"),
    )  # fmt: skip
    conf = (out / "a" / "conf.d" / "99-pemx.conf").read_text()
    sql = (out / "a" / "dovecot-pemx-sql.conf.ext").read_text()
    assert f"doveadm_api_key = {store.doveadm_api_key}" in conf
    assert f"port = {store.ports.imap}" in conf and f"port = {store.ports.doveadm_http}" in conf
    assert "login_trusted_networks = 10.0.0.5/32" in conf
    assert f"AND +store_id = {cluster.store_ids['store-a']}" in sql
    assert f"'{store.mail_root}/'" in sql
    assert "user=pemx_mail" in sql  # the read-only role
    _pemx(Path(data_dir), "mail-config", "--kind", "proxy", "--output", str(out / "p"))
    proxy_conf = (out / "p" / "conf.d" / "99-pemx.conf").read_text()
    proxy_sql = (out / "p" / "dovecot-pemx-sql.conf.ext").read_text()
    assert "lmtp_proxy = yes" in proxy_conf
    assert "store_host" in proxy_sql and "AS proxy" in proxy_sql
    refused = subprocess.run(
        [sys.executable, "-m", "pemx", "--data-dir", data_dir, "mail-config", "--kind",
         "dovecot", "--store", "nope", "--output", str(out / "x")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 1 and "no mailbox store named 'nope'" in refused.stderr


def used_bytes(cluster: Cluster, username: str) -> int:
    import psycopg

    assert cluster.database.postgres is not None
    with psycopg.connect(cluster.database.postgres.mail_connect) as conn:
        row = conn.execute(
            "SELECT storage_bytes FROM mailbox_usage WHERE username = %s", (username,)
        ).fetchone()
    assert row is not None, username
    return int(row[0])


def test_the_mail_role_reads_the_contract_views_and_writes_only_the_usage(cluster: Cluster) -> None:
    import psycopg

    assert cluster.database.postgres is not None
    with psycopg.connect(cluster.database.postgres.mail_connect) as conn:
        for view in ("dovecot_mailboxes", "dovecot_addresses", "dovecot_folder_names",
                     "mail_domains"):  # fmt: skip
            conn.execute(f"SELECT count(*) FROM {view}").fetchone()  # type: ignore[arg-type]
        for table in ("mailboxes", "service_users", "mailbox_stores", "members"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(f"SELECT count(*) FROM {table}")  # type: ignore[arg-type]
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("DELETE FROM dovecot_folder_names")
        # ... and writes one table: the usage (quota_clone), which it cannot delete from
        with conn.transaction():
            conn.execute("UPDATE mailbox_usage SET messages = messages WHERE false")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute("DELETE FROM mailbox_usage")
