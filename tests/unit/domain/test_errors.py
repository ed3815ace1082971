"""The error codes (pemx.domain.errors): the pairs the tests pin are ErrorCode's, and the
helpers build the envelopes' properties that clients read."""

from __future__ import annotations

from pemx.domain.errors import ErrorCode, PemxError, invalid, limit_exceeded, not_found
from tests.support import errors as wire


def pinned() -> dict[str, wire.WireError]:
    return {
        name: value
        for name, value in vars(wire).items()
        if name.isupper() and isinstance(value, tuple)
    }


def test_every_code_is_pinned_once_under_its_own_name() -> None:
    assert pinned() == {code.name: (code.module_id, code.extype_id) for code in ErrorCode}


def test_an_invalid_argument_names_the_field_and_the_reason() -> None:
    error = invalid("size_limit", "must be positive")
    assert error.code is ErrorCode.INVALID_ARGUMENTS
    assert error.message == "Invalid set of arguments. size_limit: must be positive"
    assert error.properties == {"field": "size_limit", "reason": "must be positive"}


def test_not_found_reads_the_same_for_a_foreign_and_a_missing_object() -> None:
    error = not_found("Mailbox", 42)
    assert error.code is ErrorCode.OBJECT_NOT_FOUND
    assert error.message == 'Mailbox with ID "42" does not exist.'
    assert error.properties == {"object": "Mailbox", "id": "42"}


def test_a_limit_error_uses_oas_wording() -> None:
    error = limit_exceeded("Mailboxes", 7, 5)
    assert error.code is ErrorCode.RESOURCE_LIMIT_EXCEEDED
    assert error.message == (
        'The usage of the resource "Mailboxes" for subscription with ID "7" exceeds the '
        'value of "5"'
    )
    assert error.properties == {"resource": "Mailboxes", "subscription_id": "7", "limit": "5"}


def test_a_refusal_is_an_exception_carrying_its_message() -> None:
    error = PemxError(ErrorCode.INTERNAL, "boom")
    assert str(error) == "boom"
    assert error.properties == {}
