"""The typed service boundary of accounts, subscriptions and users: the edge turns OA's
structs and sentinels into value objects on the way in, and back on the way out."""

from __future__ import annotations

import typing
from typing import Any

import pytest

from pemx.api.method import Method
from pemx.api.methods import REGISTRY, accounts, subscriptions, users
from pemx.api.schema import validate_struct
from pemx.domain.contact import AccountContact, Person
from pemx.domain.errors import PemxError
from pemx.domain.model import (
    Account,
    AccountType,
    ExchangeMode,
    ObjectStatus,
    ResourceType,
    ResourceUsage,
    ServiceTemplate,
    ServiceUser,
    Subscription,
)
from pemx.domain.resource_limits import ResourceLimit
from pemx.domain.user_properties import UserProperty
from pemx.service.accounts import AccountInfo, Credentials
from pemx.service.subscriptions import SubscriptionInfo
from pemx.service.users import UserInfo

TYPED = [*accounts.METHODS, *subscriptions.METHODS, *users.METHODS]


def _mentions_any(hint: object) -> bool:
    if hint is Any:
        return True
    return any(_mentions_any(arg) for arg in typing.get_args(hint))


@pytest.mark.parametrize("method", TYPED, ids=lambda m: m.name)
def test_no_use_case_takes_or_returns_an_untyped_value(method: Method) -> None:
    hints = typing.get_type_hints(method.handler)
    assert "return" in hints
    for name, hint in hints.items():
        assert not _mentions_any(hint), (name, hint)
        assert typing.get_origin(hint) is not dict or name == "return", (name, hint)


@pytest.mark.parametrize("method", TYPED, ids=lambda m: m.name)
def test_every_struct_reaches_the_use_case_as_a_value_object(method: Method) -> None:
    for name, field in method.params.items():
        spec = field.item if field.kind == "array" else field
        assert spec is not None
        if spec.kind == "struct" and not spec.open_struct:  # open: free-form ContactData
            assert spec.into is not None, name


def _arguments(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments the method's use case gets for these OA params."""
    method = REGISTRY[name]
    validated = validate_struct(params, method.params)
    return validated if method.arguments is None else method.arguments(validated)


def test_an_account_request_arrives_as_an_account_type_and_a_person() -> None:
    given = {"account_type": "R", "person": {"last_name": "L", "first_name": "F"}}
    arguments = _arguments("pem.addAccount", given)
    assert arguments["account_type"] is AccountType.RESELLER
    assert arguments["person"] == Person(first_name="F", last_name="L")
    assert arguments["person"].given() == {"first_name": "F", "last_name": "L"}


@pytest.mark.parametrize("letter", ["A", "", "c", "X"])
def test_only_the_customer_and_reseller_letters_are_account_types(letter: str) -> None:
    with pytest.raises(PemxError) as refused:
        _arguments("pem.addAccount", {"account_type": letter, "person": {}})
    assert refused.value.properties["field"] == "account_type"


def test_staff_credentials_arrive_as_a_value_object() -> None:
    auth = {"login": "Staff", "password": "Staff-Pass-1"}
    arguments = _arguments("pem.addAccountMember", {"account_id": 2, "auth": auth})
    assert arguments["auth"] == Credentials("Staff", "Staff-Pass-1")


def test_resource_limits_arrive_as_value_objects() -> None:
    items = [{"resource_type_id": 4, "resource_limit": -1}]
    arguments = _arguments("pem.addServiceTemplate", {"name": "T", "resource_types": items})
    assert arguments["resource_types"] == [ResourceLimit(4, -1)]
    overrides = [{"resource_id": 2, "resource_limit": 0}]
    arguments = _arguments(
        "pem.activateSubscription",
        {"account_id": 2, "service_template_id": 3, "resource_limits": overrides},
    )
    assert arguments["resource_limits"] == [ResourceLimit(2, 0)]


def test_user_properties_arrive_as_value_objects() -> None:
    items = [{"name": "locale", "value": "de_DE"}, {"name": "nick", "value": "D"}]
    arguments = _arguments("pem.modifyUser", {"user_id": 5, "properties": items})
    # An unknown name is the use case's to refuse (after its other checks, as always).
    assert arguments["properties"] == [UserProperty("locale", "de_DE"), UserProperty("nick", "D")]


def test_a_wire_fault_is_reported_before_a_bad_account_type() -> None:
    with pytest.raises(PemxError) as refused:
        _arguments("pem.addAccount", {"account_type": "X", "person": 5})
    assert refused.value.properties["field"] == "person"


def _wire(name: str, result: object) -> Any:
    wire = REGISTRY[name].wire
    assert wire is not None
    return wire(result)


def test_missing_values_are_oa_sentinels_on_the_wire() -> None:
    provider = Account(1, AccountType.PROVIDER, None, None, None, None, None, None, True)
    info = _wire("pem.getAccountInfo", AccountInfo(provider, AccountContact()))
    assert info == {
        "account_id": 1,
        "account_type": "A",
        "parent_account_id": 0,
        "company_name": "",
        "email": "",
        "locale": "",
        "enabled": True,
    }
    template = ServiceTemplate(3, 1, "T", True, {ResourceType.DOMAINS: -1}, None)
    assert _wire("pem.getServiceTemplate", template)["source_subscription_id"] == 0
    user = ServiceUser(7, 2, None, "u", "U", None, True, ObjectStatus.READY, {})
    answer = _wire("pem.getUserInfo", UserInfo(user, None))
    assert (answer["subscription_id"], answer["status"], answer["services"]) == (0, 0, [])


def test_the_contact_card_is_answered_as_given() -> None:
    account = Account(2, AccountType.CUSTOMER, 1, "AE", "Ada", None, "a@x", "en", True)
    contact = AccountContact(
        Person(first_name="Ada", company_name="AE"), address={"city": "L", "n": 3}, fax={}
    )
    info = _wire("pem.getAccountInfo", AccountInfo(account, contact))
    assert info["person"] == {"first_name": "Ada", "company_name": "AE"}
    assert (info["address"], info["fax"]) == ({"city": "L", "n": 3}, {})
    assert "phone" not in info


def test_resources_are_answered_only_when_asked() -> None:
    usage = ResourceUsage(ResourceType.DOMAINS, 2, 1)
    subscription = Subscription(
        4, 2, 3, "S", True, ExchangeMode.SUBSCRIPTION_LOCAL, None, {ResourceType.DOMAINS: usage}
    )
    assert "resource_types" not in _wire(
        "pem.getSubscription", SubscriptionInfo(subscription, None)
    )
    asked = _wire("pem.getSubscription", SubscriptionInfo(subscription, (usage,)))
    assert asked["resource_types"] == [
        {
            "resource_type_id": 4,
            "name": "Domains",
            "unit": "item",
            "limit": 2,
            "usage": 1,
            "limit64": 2,
            "usage64": 1,
            "measurement_unit": "item",
            "parent_resource_type_id": -1,
            "resclass_name": "counter",
        }
    ]
    assert _wire("pem.getSubscription", SubscriptionInfo(subscription, ()))["resource_types"] == []


def test_new_ids_are_answered_under_oa_names() -> None:
    assert _wire("pem.addAccount", 5) == {"account_id": 5}
    assert _wire("pem.addAccountMember", 6) == {"user_id": 6, "member_id": 6}
    assert _wire("pem.addServiceTemplate", 7) == {"service_template_id": 7}
    assert _wire("pem.addSubscription", 8) == {"subscription_id": 8}
    assert _wire("pem.addDomain", 9) == {"domain_id": 9}
    assert _wire("pem.addUser", 10) == {"user_id": 10}
