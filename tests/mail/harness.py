"""Shared pieces of the mail adapter tests: config factory, live-instance handle."""

from __future__ import annotations

import imaplib
import os
import poplib
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from pemx.adapters.mail.dovecot import DoveadmHttp, DovecotConfig, PrivateDovecot, find_dovecot
from pemx.domain.folders import FolderNames
from tests.support.leftovers import watched_tmpdir
from tests.support.mailclient import (
    LmtpReply,
    imap_login,
    lmtp_deliver,
    lmtp_transaction,
    pop3_login,
)

AUTH_FAILED = "[AUTHENTICATIONFAILED] Authentication failed."
DISABLED = "This protocol is disabled for this mailbox"
ROLE_FLAGS = {
    "drafts": "\\Drafts",
    "sent": "\\Sent",
    "trash": "\\Trash",
    "junk": "\\Junk",
    "archive": "\\Archive",
}


def special_folders(names: FolderNames) -> dict[str, str]:
    """{localized name: SPECIAL-USE flag} for one language."""
    return {getattr(names, role): flag for role, flag in ROLE_FLAGS.items()}


def missing(msg: str) -> None:
    """A missing component skips the test, and fails it in CI (CI=true)."""
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    pytest.skip(msg)


def require_dovecot() -> str:
    """The dovecot binary; skip the test without it (fail in CI)."""
    binary = find_dovecot()
    if binary is None:
        missing(
            "dovecot is not installed: apt-get install dovecot-core dovecot-imapd "
            "dovecot-pop3d dovecot-lmtpd dovecot-sqlite"
        )
    assert binary is not None
    return binary


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temp dir that Dovecot's unprivileged processes may traverse (mkdtemp makes 0700).

    Not pytest's tmp_path: as root its parent /tmp/pytest-of-root is 0700.
    """
    path = watched_tmpdir("pemx-dovecot-")
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def make_config(base: Path, **overrides: Any) -> DovecotConfig:
    """A test instance under ``base``, reading the SQLite file ``base/pemx.db``."""
    cfg = DovecotConfig(
        work_dir=base / "dovecot",
        mail_root=base / "mail",
        sql_connect=str(base / "pemx.db"),
        doveadm_api_key=secrets.token_hex(16),
        instance_name=f"pemx-test-{base.name}",
        auth_penalty=False,
    )
    return replace(cfg, **overrides)


@dataclass
class MailEnv:
    """A running instance, the database it reads (sqlite3 or psycopg) and clients."""

    dovecot: PrivateDovecot
    db: Any
    api: DoveadmHttp
    started_in: float

    @property
    def cfg(self) -> DovecotConfig:
        return self.dovecot.config

    def imap(self, user: str, password: str, port: str = "imap") -> imaplib.IMAP4:
        return imap_login(self.cfg.host, getattr(self.cfg.ports, port), user, password)

    def pop3(self, user: str, password: str) -> poplib.POP3:
        return pop3_login(self.cfg.host, self.cfg.ports.pop3, user, password)

    def lmtp(self, rcpt: str, subject: str, size_bytes: int = 0) -> tuple[int, int | None]:
        return lmtp_deliver(self.cfg.host, self.cfg.ports.lmtp, rcpt, subject, size_bytes)

    def lmtp_reply(self, rcpt: str, subject: str, size_bytes: int = 0) -> LmtpReply:
        return lmtp_transaction(self.cfg.host, self.cfg.ports.lmtp, rcpt, subject, size_bytes)

    def subjects(self, user: str, mailbox: str) -> list[str]:
        """The Subject of every message in a folder, in UID order (doveadm fetch)."""
        rows = self.api.call(
            "fetch",
            {"user": user, "field": ["uid", "hdr.subject"], "query": ["mailbox", mailbox, "all"]},
        )
        ordered = sorted(rows, key=lambda row: int(row["uid"]))
        return [str(row["hdr.subject"]).strip() for row in ordered]

    def wait_for_log(self, pattern: str, count: int, timeout: float = 10.0) -> None:
        """Wait until Dovecot's log has ``count`` lines matching the regex ``pattern``."""
        deadline = time.monotonic() + timeout
        found = 0
        while time.monotonic() < deadline:
            text = self.cfg.log_path.read_text(encoding="utf-8", errors="replace")
            found = len(re.findall(pattern, text, re.MULTILINE))
            if found >= count:
                return
            time.sleep(0.02)
        raise AssertionError(f"{found} < {count} log lines match {pattern!r}")

    def imap_refusal(self, user: str, password: str, port: str = "imap") -> str:
        """The server's message for a login that must be refused."""
        with pytest.raises(imaplib.IMAP4.error) as excinfo:
            self.imap(user, password, port).logout()
        return str(excinfo.value)


# ----------------------------------------------------------- a shifted clock

# An LD_PRELOAD library that moves the wall clock (time, gettimeofday,
# clock_gettime REALTIME) by CLOCKSHIFT_SECONDS, so that a Dovecot process can
# run "days later" without waiting. The kernel's file timestamps are not moved.
CLOCK_SHIFT_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long shift;

__attribute__((constructor)) static void clockshift_init(void)
{
    const char *s = getenv("CLOCKSHIFT_SECONDS");
    shift = s != NULL ? atol(s) : 0;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    static int (*real)(clockid_t, struct timespec *);
    if (real == NULL)
        real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int ret = real(id, ts);
    if (ret == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
        ts->tv_sec += shift;
    return ret;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    static int (*real)(struct timeval *restrict, void *restrict);
    if (real == NULL)
        real = (int (*)(struct timeval *restrict, void *restrict))dlsym(RTLD_NEXT, "gettimeofday");
    int ret = real(tv, tz);
    if (ret == 0)
        tv->tv_sec += shift;
    return ret;
}

time_t time(time_t *t)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (t != NULL)
        *t = tv.tv_sec;
    return tv.tv_sec;
}
"""


def build_clock_shift(directory: Path) -> Path:
    """Compile the clock-shift library into ``directory`` (skip without a C compiler)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        missing("a C compiler (cc) is needed to shift Dovecot's clock")
    assert cc is not None
    source, lib = directory / "clockshift.c", directory / "clockshift.so"
    source.write_text(CLOCK_SHIFT_C)
    subprocess.run(
        [cc, "-shared", "-fPIC", "-O2", "-o", str(lib), str(source), "-ldl"],
        check=True,
        capture_output=True,
    )
    lib.chmod(0o755)
    return lib


def imap_session_shifted(
    cfg: DovecotConfig, user: str, shift_seconds: int, lib: Path, commands: bytes = b""
) -> str:
    """A pre-authenticated IMAP session of ``user`` whose clock runs ``shift_seconds`` ahead.

    ``doveadm exec imap -u USER`` runs Dovecot's imap process on stdin/stdout for
    the instance's config (userdb lookup included); ``commands`` then LOGOUT are
    sent, and this returns the transcript once the process has ended, that is
    after its end-of-session work (autoexpunge) is done.
    """
    doveadm = shutil.which("doveadm", path=os.pathsep.join([os.defpath, "/usr/sbin", "/sbin"]))
    assert doveadm is not None, "doveadm not found"
    env = dict(
        os.environ,
        LD_PRELOAD=str(lib),
        CLOCKSHIFT_SECONDS=str(shift_seconds),
        # Dovecot re-executes itself with a cleaned environment: keep these two
        DOVECOT_PRESERVE_ENVS="LD_PRELOAD CLOCKSHIFT_SECONDS",
    )
    res = subprocess.run(
        [doveadm, "-c", str(cfg.conf_path), "exec", "imap", "-u", user],
        input=commands + b"zz LOGOUT\r\n",
        capture_output=True,
        env=env,
        timeout=30,
        check=False,
    )
    out = res.stdout.decode(errors="replace")
    if res.returncode != 0 or "zz OK" not in out:
        raise AssertionError(f"imap session failed ({res.returncode}): {out}\n{res.stderr!r}")
    return out
