"""LoginThrottle: per address and per login, a window, a block that ends."""

from __future__ import annotations

from pemx.api.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_within_the_window_block_the_address_and_the_login() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_s=60, block_s=300, clock=clock)
    for _ in range(2):
        throttle.failed("10.0.0.1", "Admin")
    assert throttle.blocked("10.0.0.1", "admin") == 0
    throttle.failed("10.0.0.1", "admin")
    assert throttle.blocked("10.0.0.1", None) == 300  # the address
    assert throttle.blocked("10.0.0.2", "ADMIN") == 300  # the login, from anywhere
    assert throttle.blocked("10.0.0.2", "billing") == 0
    clock.now += 301
    assert throttle.blocked("10.0.0.1", "admin") == 0


def test_failures_spread_beyond_the_window_do_not_block() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_s=60, block_s=300, clock=clock)
    for _ in range(6):
        throttle.failed("10.0.0.1", "admin")
        clock.now += 31
    assert throttle.blocked("10.0.0.1", "admin") == 0


def test_zero_failures_turns_it_off() -> None:
    throttle = LoginThrottle(max_failures=0)
    for _ in range(100):
        throttle.failed("10.0.0.1", "admin")
    assert throttle.blocked("10.0.0.1", "admin") == 0
