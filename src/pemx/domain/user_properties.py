"""A service user's properties (display name, locale, ...), as callers set them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from pemx.domain.errors import invalid
from pemx.domain.folders import is_valid_locale


@dataclass(frozen=True)
class UserProperty:
    """One property as a caller lists it (OA: {name, value}); checked by ``from_list``."""

    name: str
    value: str


@dataclass(frozen=True)
class UserProperties:
    """The properties pemx knows; None = not given (a change leaves it as it is)."""

    display_name: str | None = None
    locale: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        if self.locale is not None and not is_valid_locale(self.locale):
            raise invalid(
                "properties.locale", f'"{self.locale}" is not a locale like "en_US" or "de"'
            )

    @classmethod
    def from_list(cls, items: Iterable[UserProperty]) -> UserProperties:
        """Refuses an unknown name, a name given twice, and a malformed locale."""
        given: dict[str, str] = {}
        for index, item in enumerate(items):
            if item.name not in KNOWN_PROPERTIES:
                raise invalid(
                    f"properties[{index}].name",
                    f'unknown property "{item.name}"; known: {", ".join(KNOWN_PROPERTIES)}',
                )
            if item.name in given:
                raise invalid(f"properties[{index}].name", f'property "{item.name}" is given twice')
            given[item.name] = item.value
        return cls(**given)

    def given(self) -> dict[str, str]:
        """The properties that were given, by name."""
        return {
            f.name: value
            for f in dataclasses.fields(self)
            if (value := getattr(self, f.name)) is not None
        }


KNOWN_PROPERTIES = tuple(f.name for f in dataclasses.fields(UserProperties))
