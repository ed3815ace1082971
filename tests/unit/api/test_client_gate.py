"""The server's cap on the worker threads one client address holds (api/server.py)."""

from __future__ import annotations

from dataclasses import dataclass

from pemx.api.server import ClientGate


@dataclass(eq=False)
class _Conn:
    remote_addr: str
    closed: bool = False

    def close(self) -> None:
        self.closed = True


def test_a_client_over_its_limit_waits_without_taking_a_thread() -> None:
    handed: list[_Conn] = []
    gate = ClientGate(2, handed.append)
    slow = [_Conn("10.0.0.1") for _ in range(5)]
    for conn in slow:
        gate.admit(conn)
    assert handed == slow[:2]
    other = _Conn("10.0.0.2")
    gate.admit(other)
    assert handed[-1] is other  # another client is not held up
    gate.release(slow[0])
    assert handed[-1] is slow[2]  # the freed thread goes to the same client's next request
    for conn in (slow[1], slow[2], slow[3], slow[4]):
        gate.release(conn)
    assert handed == [*slow[:2], other, *slow[2:]]
    gate.admit(slow[0])
    assert handed[-1] is slow[0]  # all released: a new request goes straight through


def test_waiting_requests_are_closed_on_stop() -> None:
    gate = ClientGate(1, lambda conn: None)
    first, second = _Conn("10.0.0.1"), _Conn("10.0.0.1")
    gate.admit(first)
    gate.admit(second)
    gate.close_waiting()
    assert second.closed and not first.closed
