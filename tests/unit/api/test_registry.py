"""The method registry agrees with the use cases it calls and with what the endpoint lists."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator, Mapping
from typing import Any, get_type_hints

import pytest

from pemx.api.builtins import BUILTIN_METHODS, BUILTINS
from pemx.api.method import Method
from pemx.api.methods import REGISTRY, by_name
from pemx.api.schema import INT32_MAX, INT64_MAX, Field

OA_METHODS = [m for m in REGISTRY.values() if not m.own_transaction]


@pytest.mark.parametrize("method", OA_METHODS, ids=lambda m: m.name)
def test_every_parameter_spec_matches_its_handlers_keyword_parameters(method: Method) -> None:
    ctx, *parameters = inspect.signature(method.handler).parameters.values()
    assert ctx.name == "ctx"
    named = {p.name: p for p in parameters}
    assert all(p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) for p in named.values())
    if "changes" in named:
        # A partial update: the optional fields are gathered into one changes object.
        assert method.arguments is not None
        changes = get_type_hints(method.handler)["changes"]
        fields = {f.name for f in dataclasses.fields(changes)}
        assert set(method.params) == (set(named) - {"changes"}) | fields
        assert all(not method.params[name].required for name in fields)
    else:
        assert set(named) == set(method.params)
    for name, field in method.params.items():
        if not field.required and name in named:
            # An omitted optional field is not passed: the handler must have a default.
            assert named[name].default is not inspect.Parameter.empty, name


def test_every_builtin_listed_by_list_methods_is_a_registry_entry(api: Any) -> None:
    listed = api.system.listMethods()
    builtins = {name for name in listed if REGISTRY[name].own_transaction}
    assert builtins == set(BUILTIN_METHODS)
    assert all(REGISTRY[method.name] is method for method in BUILTINS)


def test_only_builtins_manage_their_own_transaction_or_skip_the_envelope() -> None:
    for method in REGISTRY.values():
        builtin = method.name in BUILTIN_METHODS
        assert method.own_transaction is builtin, method.name
        assert method.enveloped or method.name == "system.listMethods", method.name


def test_reads_do_not_change_state() -> None:
    # changes_state is said per method; a method named like a read must not be audited.
    for method in OA_METHODS:
        if method.name.rsplit(".", 1)[-1].startswith("get"):
            assert not method.changes_state, method.name


def _int_fields(fields: Mapping[str, Field], path: str = "") -> Iterator[tuple[str, Field]]:
    for name, field in fields.items():
        where = f"{path}{name}"
        if field.kind == "int":
            yield where, field
        if field.fields is not None:
            yield from _int_fields(field.fields, f"{where}.")
        if field.item is not None:
            yield from _int_fields({"[]": field.item}, where)


@pytest.mark.parametrize("method", OA_METHODS, ids=lambda m: m.name)
def test_every_int_parameter_fits_xml_rpc_int(method: Method) -> None:
    for where, field in _int_fields(method.params):
        # OA's ...64 twins (limit64) are <i8> and answered back as <i8>.
        cap = INT64_MAX if where.endswith("64") else INT32_MAX
        assert field.maximum is not None and field.maximum <= cap, where


def test_the_subscription_alias_is_the_same_method_under_a_second_name() -> None:
    activate, add = REGISTRY["pem.activateSubscription"], REGISTRY["pem.addSubscription"]
    assert dataclasses.replace(add, name=activate.name) == activate


def test_a_name_registered_twice_is_refused() -> None:
    method = REGISTRY["pem.getAccountInfo"]
    with pytest.raises(ValueError, match=r"pem\.getAccountInfo is registered twice"):
        by_name([method, method])
