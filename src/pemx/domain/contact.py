"""An account's contact card: the person, free-form address/phone/fax data, a branded domain.

OA defines address, phone and fax as free-form structs of simple values; pemx keeps them
as given and answers them back unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

# Free-form contact data (OA's address, phone, fax): flat members of simple types.
ContactData = Mapping[str, str | int | bool]


@dataclass(frozen=True)
class Person:
    """A person's name parts; None = not given (kept apart from a given empty string)."""

    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    title: str | None = None
    insertion: str | None = None

    def given(self) -> dict[str, str]:
        """The parts that were given, in the order of the fields."""
        return {
            f.name: value
            for f in dataclasses.fields(self)
            if (value := getattr(self, f.name)) is not None
        }


@dataclass(frozen=True)
class AccountContact:
    """What an account keeps besides its columns; None = not given."""

    person: Person | None = None
    address: ContactData | None = None
    phone: ContactData | None = None
    fax: ContactData | None = None
    branded_domain: str | None = None
