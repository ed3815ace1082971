"""Issue 17, done when: from a fresh clone, as root and as an ordinary user, the README's
first command (`scripts/install`) ends with a live service and a provider password on
the screen. Each test clones this repository, runs the command as the README says (on
private ports and a private data directory, so it clashes with nothing), reads the
password from the screen, makes a real XML-RPC call with it, and stops the service.

The Debian packages are already installed here (CI's `.ci/run` installs them first), so
the command only creates the clone's `.venv`, installs pemx into it and starts it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import threading
import time
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import IN_CI, require_dovecot, server_base

ROOT = Path(__file__).resolve().parent.parent
#: The ordinary user the second test installs as (created when missing; CI runs as root).
USER = "pemx-install-test"
PORTS = ("IMAP", "POP3", "LMTP", "IMAP_OWA", "IMAP_ACTIVESYNC", "DOVEADM", "SUBMISSION")
PRIVATE_PORTS = {f"PEMX_{name}_PORT": "0" for name in (*PORTS, "POLICY", "MILTER")}
PASSWORD = re.compile(r"login 'admin', password '([^']+)'")
SERVING = re.compile(r"serving (http://127\.0\.0\.1:\d+/RPC2)")


@pytest.fixture
def base() -> Iterator[Path]:
    path = server_base()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _clone(into: Path) -> Path:
    """A fresh clone of this repository's HEAD, as a new user would have."""
    clone = into / "pemx"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert not (clone / ".venv").exists()
    return clone


def _run_first_command(
    argv: list[str], env: dict[str, str], cwd: Path
) -> tuple[str, str, float, subprocess.Popen[str], list[str]]:
    """Runs the README's first command; returns (password, API URL, seconds until the
    service was live, the process, its output so far) once both are on the screen."""
    t0 = time.monotonic()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    screen: list[str] = []
    found: dict[str, str] = {}
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            screen.append(line)
            for key, pattern in (("password", PASSWORD), ("url", SERVING)):
                match = pattern.search(line)
                if match:
                    found[key] = match.group(1)
            if len(found) == 2:
                done.set()
        done.set()

    threading.Thread(target=read, daemon=True).start()
    if not done.wait(600) or len(found) != 2:
        _stop(process)
        pytest.fail("the install did not end with a live service:\n" + "".join(screen))
    return found["password"], found["url"], time.monotonic() - t0, process, screen


def _only_progress_lines(screen: list[str]) -> None:
    """Defect 9: short progress lines until the service starts, no packaging warnings."""
    install = screen[: next(i for i, line in enumerate(screen) if "starting pemx serve" in line)]
    assert install and all(line.startswith("pemx install: ") for line in install), install


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, as the install says
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _live(url: str, password: str) -> None:
    """A real call with the password from the screen."""
    api = xmlrpc.client.ServerProxy(url.replace("http://", f"http://admin:{password}@"))
    answer = api.pem.getAccountInfo({"account_id": 1})
    assert answer["status"] == 0, answer
    assert answer["result"]["account_id"] == 1


def _environment(home: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "CI", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    return {**env, **PRIVATE_PORTS, "HOME": str(home), "PEMX_BCRYPT_ROUNDS": "4"}


def _require_root(why: str) -> None:
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail(f"CI runs as root: {why}")
        pytest.skip(why)


def test_the_first_command_as_root_ends_with_a_live_service(base: Path) -> None:
    require_dovecot()
    _require_root("installing as root needs root")
    clone = _clone(base)
    env = {**_environment(base), "PEMX_BIN_DIR": str(base / "bin")}  # not /usr/local/bin
    argv = ["scripts/install", "--port", "0", "--data-dir", str(base / "data")]
    password, url, seconds, process, screen = _run_first_command(argv, env, clone)
    try:
        _live(url, password)
        assert (base / "bin" / "pemx").resolve() == (clone / ".venv/bin/pemx").resolve()
        assert not (clone / ".venv/bin/pytest").exists()  # the runtime only (--dev: tools)
        status = subprocess.run(
            [str(base / "bin" / "pemx"), "status", "--data-dir", str(base / "data")],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert status.returncode == 0, status.stdout + status.stderr
    finally:
        _stop(process)
    print(f"install as root: live after {seconds:.1f} s")
    assert "Traceback" not in "".join(screen)
    _only_progress_lines(screen)


def _ordinary_user(home: Path) -> str:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", USER],
            check=True,
            capture_output=True,
        )
    home.mkdir()
    shutil.chown(home, USER)
    return USER


def test_the_first_command_as_an_ordinary_user_ends_with_a_live_service(base: Path) -> None:
    require_dovecot()
    _require_root("switching to an ordinary user needs root")
    if not shutil.which("runuser"):
        pytest.fail("runuser (util-linux) is missing")
    home = base / "home"
    user = _ordinary_user(home)
    clone = _clone(home)
    subprocess.run(["chown", "-R", f"{user}:", str(clone)], check=True)
    # As an ordinary user: its default data directory (~/.local/share/pemx) and command
    # (~/.local/bin/pemx), in its own (temporary) home.
    runuser = shutil.which("runuser") or "runuser"
    variables = [f"{k}={v}" for k, v in _environment(home).items()]
    argv = [runuser, "-u", user, "--", "env", "-i", *variables, "scripts/install", "--port", "0"]
    password, url, seconds, process, screen = _run_first_command(argv, dict(os.environ), clone)
    try:
        _live(url, password)
        data_dir = home / ".local/share/pemx"
        assert (data_dir / "runtime.json").exists()
        pid = int(re.search(r'"pid": (\d+)', (data_dir / "runtime.json").read_text())[1])
        assert Path(f"/proc/{pid}").stat().st_uid == pwd.getpwnam(user).pw_uid
        assert (home / ".local/bin/pemx").resolve() == (clone / ".venv/bin/pemx").resolve()
    finally:
        _stop(process)
    print(f"install as {user}: live after {seconds:.1f} s")
    assert "Traceback" not in "".join(screen)
    _only_progress_lines(screen)
    # Issue 17, defect 2: a privileged port as an ordinary user, in Dovecot's own words
    env = {**_environment(home), "PEMX_IMAP_PORT": "143"}
    serve = [str(clone / ".venv/bin/pemx"), "serve", "--port", "0", "--data-dir", str(home / "d")]
    refused = subprocess.run(
        [runuser, "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *serve],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()  # the first start's log lines, then the error
    assert [line for line in lines if line.startswith("Error:")] == lines[-1:], refused.stderr
    assert lines[-1].startswith("Error: cannot start Dovecot: "), refused.stderr
    assert lines[-1].endswith(
        "(127.0.0.1, 143) failed: Permission denied; ports below 1024 need root: "
        "set imap_port (PEMX_IMAP_PORT) to 1024 or more"
    ), refused.stderr
