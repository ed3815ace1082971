"""sogo-tool, SOGo's maintenance command, with an instance's configuration and user."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pemx.adapters.groupware.processes import RunAs
from pemx.service.ports import MailBackendRejected, MailBackendUnavailable

__all__ = ["SOGO_TOOL", "SogoTool"]

SOGO_TOOL = "/usr/sbin/sogo-tool"


@dataclass(frozen=True)
class SogoTool:
    """sogo-tool with an instance's configuration, as the user SOGo runs as."""

    gnustep_conf: Path
    run_as: RunAs = field(default_factory=RunAs)

    def run(self, *args: str, timeout_s: float = 120.0) -> None:
        env = {"GNUSTEP_CONFIG_FILE": str(self.gnustep_conf), "PATH": "/usr/bin:/bin"}
        try:
            done = subprocess.run(
                [SOGO_TOOL, *args], env=env, capture_output=True, text=True,
                timeout=timeout_s, check=False, **self.run_as.popen_args(),
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MailBackendUnavailable(f"sogo-tool {args[0]}: {exc}") from exc
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            last = lines[-1][:300] if lines else ""
            raise MailBackendRejected(f"sogo-tool {args[0]}: exit {done.returncode}: {last}")
