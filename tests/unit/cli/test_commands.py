"""The command line in process: one place maps every refusal to its exit status and a
one-line message, and the operator's commands print and exit as documented."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pemx.bootstrap import Application
from pemx.cli import EXIT_STATUS, PemxGroup, cli
from pemx.config import Settings
from pemx.domain.errors import ErrorCode, PemxError
from pemx.domain.mail_ports import MailPorts
from pemx.runtime import MailListeners, write_runtime

USAGE_ERROR, NOT_RUNNING = 2, 3  # click's, and `pemx status`'s


def test_every_error_code_has_an_exit_status_of_its_own_kind() -> None:
    assert set(EXIT_STATUS) == set(ErrorCode)
    assert all(1 <= s <= 125 and s not in (USAGE_ERROR, NOT_RUNNING) for s in EXIT_STATUS.values())


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: c.name)
def test_a_refused_command_prints_one_line_and_exits_with_its_codes_status(
    code: ErrorCode,
) -> None:
    group = PemxGroup()

    @group.command()
    def refuse() -> None:
        raise PemxError(code, f"refused: {code.name}")

    result = CliRunner().invoke(group, ["refuse"])
    assert result.exit_code == EXIT_STATUS[code]
    assert (result.stdout, result.stderr) == ("", f"Error: refused: {code.name}\n")


@pytest.fixture
def data_dir(make_app: Callable[..., Application]) -> Path:
    """A migrated database with the provider, as `pemx serve` leaves it."""
    return make_app().settings.data_dir


def pemx(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])


PORTS = ["--imap-port", "1143", "--pop3-port", "1110", "--lmtp-port", "1024"]
PORTS += ["--imap-owa-port", "1144", "--imap-activesync-port", "1145", "--doveadm-port", "1146"]
STORE = ["--host", "192.0.2.7", *PORTS, "--doveadm-api-key", "k3y", "--mail-root", "/srv/m"]
STORE += ["--no-check"]  # nothing listens there


def test_a_store_that_does_not_answer_is_not_added(data_dir: Path) -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = str(unused.getsockname()[1])
    ports = [p if not p.isdigit() else port for p in PORTS]
    args = ["--host", "127.0.0.1", *ports, "--doveadm-api-key", "k", "--mail-root", "/srv/m"]
    refused = pemx(data_dir, "stores", "add", "dead", *args)
    assert refused.exit_code == 1
    assert refused.stderr.startswith(
        f"Error: store 'dead' does not answer (IMAP at 127.0.0.1:{port}: "
    )
    assert refused.stderr.endswith("; not added\n") and refused.stderr.count("\n") == 1
    assert [s["name"] for s in json.loads(pemx(data_dir, "stores", "--json").stdout)] == ["local"]


def test_an_empty_store_is_removed_and_audited(data_dir: Path) -> None:
    assert pemx(data_dir, "stores", "add", "b", *STORE).exit_code == 0
    removed = pemx(data_dir, "stores", "remove", "b")
    assert (removed.exit_code, removed.stderr) == (0, "mailbox store 'b' removed\n")
    assert len(json.loads(pemx(data_dir, "stores", "--json").stdout)) == 1
    (entry,) = json.loads(pemx(data_dir, "audit", "--object", "store:2", "--json").stdout)[:1]
    assert (entry["method"], entry["params"]) == ("pemx stores remove", {"name": "b"})
    own = pemx(data_dir, "stores", "remove", "local")
    assert own.exit_code == 1 and "store 1" in own.stderr


def test_a_store_is_added_listed_changed_and_audited_without_its_key(data_dir: Path) -> None:
    added = pemx(data_dir, "stores", "add", "b", *STORE)
    assert (added.exit_code, added.stderr) == (0, "mailbox store 'b' added with id 2\n")
    (_, store) = json.loads(pemx(data_dir, "stores", "--json").stdout)
    assert {k: store[k] for k in ("id", "name", "imap_port", "doveadm_port", "mail_root")} == {
        "id": 2,
        "name": "b",
        "imap_port": 1143,
        "doveadm_port": 1146,
        "mail_root": "/srv/m",
    }
    changed = pemx(data_dir, "stores", "set", "b", "--closed", "--max-mailboxes", "10")
    assert (changed.exit_code, changed.stderr) == (0, "mailbox store 'b' changed\n")
    (entry, first) = json.loads(pemx(data_dir, "audit", "--object", "store:2", "--json").stdout)
    assert (entry["method"], entry["params"]) == (
        "pemx stores set",
        {"name": "b", "max_mailboxes": 10, "accepts_new": False},
    )
    assert first["params"]["doveadm_api_key"] == "***"


def test_a_second_store_of_one_name_is_refused_in_one_line(data_dir: Path) -> None:
    assert pemx(data_dir, "stores", "add", "b", *STORE).exit_code == 0
    again = pemx(data_dir, "stores", "add", "b", *STORE)
    assert again.exit_code == EXIT_STATUS[ErrorCode.OBJECT_EXISTS]
    assert again.stderr == 'Error: A mailbox store named "b" exists.\n'


def test_changing_a_store_that_does_not_exist_is_refused(data_dir: Path) -> None:
    result = pemx(data_dir, "stores", "set", "nope", "--closed")
    assert result.exit_code == EXIT_STATUS[ErrorCode.OBJECT_NOT_FOUND]
    assert result.stderr.count("\n") == 1 and "nope" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stores", "add", "b", "--host", "h"], "missing --imap-port, --pop3-port"),
        (["stores", "set", "b"], "nothing to change"),
        (["tasks", "retry"], "give task ids or --all-failed (not both)"),
        (["audit", "--object", "mailbox"], "expected KIND:ID"),
    ],
)
def test_usage_errors_exit_2(data_dir: Path, args: list[str], message: str) -> None:
    result = pemx(data_dir, *args)
    assert result.exit_code == USAGE_ERROR and message in result.stderr


def test_status_of_a_node_that_is_not_running_exits_3(tmp_path: Path) -> None:
    result = pemx(tmp_path, "status", "--json")
    assert result.exit_code == NOT_RUNNING
    assert json.loads(result.stdout) == {"running": False, "data_dir": str(tmp_path)}


def test_status_labels_every_client_listener(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = MailPorts(1143, 1110, 1024, 1144, 1145, 1146)
    settings = Settings(data_dir=tmp_path, port=8440)
    write_runtime(settings, 8440, MailListeners("127.0.0.1", ports, tmp_path / "mail"))
    monkeypatch.setenv("COLUMNS", "200")
    shown = pemx(tmp_path, "status").stdout
    for label, port in [("IMAP", 1143), ("POP3", 1110), ("LMTP (delivery)", 1024),
                        ("IMAP for webmail (OWA switch)", 1144),
                        ("IMAP for ActiveSync gateway", 1145)]:  # fmt: skip
        assert label in shown and f"127.0.0.1:{port}" in shown
    assert "1146" not in shown  # doveadm: the operator's port, not a client's


def test_a_lost_admin_password_is_recoverable_on_the_data_directory(
    make_app: Callable[..., Application],
) -> None:
    app = make_app()
    data_dir = app.settings.data_dir
    reset = pemx(data_dir, "members", "password", "admin")
    assert reset.exit_code == 0, reset.stderr
    generated = reset.stdout.strip()
    assert len(generated) >= 12 and reset.stderr == "new password for 'admin'\n"
    added = CliRunner().invoke(
        cli,
        ["members", "add", "ops", "--data-dir", str(data_dir), "--password-stdin"],
        input="Ops-Secret-123\n",
    )
    assert (added.exit_code, added.stdout) == (0, "")
    auth = app.api.deps.authenticator
    import base64

    def basic(login: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()

    assert auth.authenticate(basic("admin", generated)) is not None
    assert auth.authenticate(basic("ops", "Ops-Secret-123")) is not None
    entries = json.loads(pemx(data_dir, "audit", "--json").stdout)
    methods = [(e["method"], e["params"]) for e in entries]
    assert ("pemx members password", {"login": "admin"}) in methods
    assert ("pemx members add", {"login": "ops"}) in methods
    again = pemx(data_dir, "members", "add", "OPS")
    assert again.exit_code == 1 and again.stderr.count("\n") == 1 and "in use" in again.stderr
    missing = pemx(data_dir, "members", "password", "nobody-here")
    assert missing.exit_code == 1 and "nobody-here" in missing.stderr
