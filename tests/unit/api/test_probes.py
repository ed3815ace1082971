"""The probes' cache: one check per probe_cache seconds, shared by concurrent scrapers."""

from __future__ import annotations

import threading
import time

import pytest

from pemx.api.probes import Cached


def test_a_result_is_kept_for_its_time_then_probed_again() -> None:
    now = [100.0]
    calls: list[float] = []

    def probe() -> str | None:
        calls.append(now[0])
        return None  # "no problem" is a result too, and kept

    cached = Cached(probe, 5.0, clock=lambda: now[0])
    assert cached() is None and cached() is None
    now[0] += 4.9
    assert cached() is None
    assert calls == [100.0]
    now[0] += 0.1
    cached()
    assert calls == [100.0, 105.0]


def test_zero_seconds_probes_every_time() -> None:
    count = [0]

    def probe() -> int:
        count[0] += 1
        return count[0]

    cached = Cached(probe, 0.0)
    assert [cached(), cached(), cached()] == [1, 2, 3]


def test_a_failed_probe_is_not_kept() -> None:
    answers = iter([RuntimeError("down"), "up"])

    def probe() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    cached = Cached(probe, 60.0)
    with pytest.raises(RuntimeError):
        cached()
    assert cached() == "up"


def test_concurrent_callers_share_one_probe() -> None:
    count = [0]

    def slow() -> int:
        count[0] += 1
        time.sleep(0.05)
        return count[0]

    cached = Cached(slow, 60.0)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(cached())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 8
