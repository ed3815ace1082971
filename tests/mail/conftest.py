from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import scratch_dir


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """A per-module temp dir that Dovecot's unprivileged processes may traverse."""
    with scratch_dir() as path:
        yield path
