"""What an OA call answered: its result, or the error it must be; and waiting for the
effects the outbox worker applies after the call returned."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .errors import OBJECT_NOT_FOUND, WireError, wire_error


def ok(response: dict[str, Any]) -> Any:
    """The result of a successful OA call; fails the test with the error otherwise."""
    assert response["status"] == 0, response
    return response.get("result")


def err(response: dict[str, Any], expected: WireError) -> dict[str, Any]:
    """The error envelope of a refused OA call; fails the test unless it is ``expected``."""
    assert response["status"] == -1, response
    assert wire_error(response) == expected, response
    assert response["error_message"]
    return response


def assert_not_found(response: dict[str, Any], like: dict[str, Any] | None = None) -> None:
    """OBJECT_NOT_FOUND; with ``like``, the same shape as that (truly missing) error."""
    err(response, OBJECT_NOT_FOUND)
    if like is not None:
        err(like, OBJECT_NOT_FOUND)
        assert response["properties"].keys() == like["properties"].keys()
        assert response["properties"]["object"] == like["properties"]["object"]
        # The message differs only by the id it names.
        assert response["error_message"].replace(response["properties"]["id"], "ID") == like[
            "error_message"
        ].replace(like["properties"]["id"], "ID")


def eventually(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Wait for an effect of the outbox worker (it runs after the call returned)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


def assert_same_refusal(
    response: dict[str, Any], like: dict[str, Any], *, names: tuple[str, str]
) -> None:
    """Both calls refused with the same envelope, except that each names what it was asked
    (``names``: what ``response`` and ``like`` were asked for): nothing else, such as
    another tenant's id, tells one refusal from the other."""
    assert response["status"] == -1, response
    assert like["status"] == -1, like
    assert _masked(response, names[0]) == _masked(like, names[1])


def _masked(response: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        **response,
        "error_message": response["error_message"].replace(f'"{name}"', '"<asked>"'),
        "properties": {
            key: "<asked>" if value == name else value
            for key, value in response["properties"].items()
        },
    }
