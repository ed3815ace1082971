"""Issue 17, defect 1: root's default data directory is a system one that Dovecot's
unprivileged processes can traverse; others keep the XDG one."""

from __future__ import annotations

from pathlib import Path

import pytest

from pemx import config


def test_root_keeps_its_data_in_var_lib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config.os, "geteuid", lambda: 0)
    monkeypatch.setenv("XDG_DATA_HOME", "/root/.local/share")  # 0700 home: not there
    assert config.default_data_dir() == Path("/var/lib/pemx")


def test_an_ordinary_user_keeps_the_xdg_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_DATA_HOME", "/home/u/.local/share")
    assert config.default_data_dir() == Path("/home/u/.local/share/pemx")
    monkeypatch.delenv("XDG_DATA_HOME")
    assert config.default_data_dir() == Path.home() / ".local" / "share" / "pemx"
