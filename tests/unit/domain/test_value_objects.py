"""The value objects the typed service boundary carries: what each keeps and refuses."""

from __future__ import annotations

import pytest

from pemx.domain.contact import Person
from pemx.domain.errors import PemxError
from pemx.domain.model import ResourceType
from pemx.domain.resource_limits import ResourceLimit, limits_by_type
from pemx.domain.user_properties import KNOWN_PROPERTIES, UserProperties, UserProperty


def test_a_person_keeps_given_parts_apart_from_missing_ones() -> None:
    assert Person().given() == {}
    assert Person(last_name="", first_name="A").given() == {"first_name": "A", "last_name": ""}


def test_user_properties_refuse_a_malformed_locale() -> None:
    assert UserProperties(locale="de-AT").given() == {"locale": "de-AT"}
    with pytest.raises(PemxError) as refused:
        UserProperties(locale="German")
    assert refused.value.properties["field"] == "properties.locale"
    assert KNOWN_PROPERTIES == ("display_name", "locale", "first_name", "last_name", "email")


def test_limits_by_type() -> None:
    items = [ResourceLimit(4, -1), ResourceLimit(1, 0), ResourceLimit(2, 5)]
    limits = limits_by_type(items, "resource_types", "resource_type_id")
    assert limits == {
        ResourceType.DOMAINS: -1,
        ResourceType.MAILBOXES: 0,
        ResourceType.MAILBOX_STORAGE: 5,
    }


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([ResourceLimit(9, 1)], "resource_limits[0].resource_id"),
        ([ResourceLimit(1, 1), ResourceLimit(1, 2)], "resource_limits[1]"),
        ([ResourceLimit(1, -2)], "resource_limits[0].resource_limit"),
        # In list order: the first bad item is the one named.
        ([ResourceLimit(1, -2), ResourceLimit(9, 1)], "resource_limits[0].resource_limit"),
    ],
)
def test_a_bad_limit_is_refused_naming_its_place(items: list[ResourceLimit], field: str) -> None:
    with pytest.raises(PemxError) as refused:
        limits_by_type(items, "resource_limits", "resource_id")
    assert refused.value.properties["field"] == field


def test_user_properties_from_a_list() -> None:
    items = [UserProperty("locale", "de_DE"), UserProperty("display_name", "D")]
    assert UserProperties.from_list(items) == UserProperties(display_name="D", locale="de_DE")
    assert UserProperties.from_list([]).given() == {}


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([UserProperty("nick", "n")], "properties[0].name"),
        ([UserProperty("email", "a"), UserProperty("email", "b")], "properties[1].name"),
        ([UserProperty("locale", "not one")], "properties.locale"),
    ],
)
def test_bad_user_properties_are_refused(items: list[UserProperty], field: str) -> None:
    with pytest.raises(PemxError) as refused:
        UserProperties.from_list(items)
    assert refused.value.properties["field"] == field
