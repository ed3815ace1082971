"""One entry of the method registry: a name, its parameter spec, its handler, who may call it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any

from pemx.api.schema import Field
from pemx.service.ports import Context

# An OA method's handler is a use case, called as handler(ctx, **validated_params).
# A built-in's handler is called as handler(dispatcher, caller, params) with the call's
# raw XML-RPC parameters (see api/builtins.py).
Handler = Callable[..., Any]


@dataclass(frozen=True)
class Method:
    name: str
    params: Mapping[str, Field]
    handler: Handler
    _: KW_ONLY
    doc: str
    # "This method can also be called under Reseller permissions."
    reseller: bool
    # The call writes: it runs with an audited operation, and a refusal is audited too.
    changes_state: bool
    # A built-in of the endpoint (txn.*, pem.batchRequest, introspection): it reads its own
    # parameters and opens, uses and ends transactions itself. It takes no txn_id and
    # cannot be batched; docs/api.md describes it in prose (pem.getMethodSignature too).
    own_transaction: bool = False
    # The answer is OA's envelope {status, result | error}; system.listMethods answers the
    # bare list that XML-RPC introspection defines.
    enveloped: bool = True
    # Builds the handler's keyword arguments from the validated fields, where they are not
    # the fields themselves (a partial update gathers what was given into one changes
    # object).
    arguments: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # Turns the use case's result (a dataclass, an id, None) into OA's wire shape.
    wire: Callable[[Any], Any] | None = None

    def signature(self) -> dict[str, Any]:
        return {
            "method_name": self.name,
            "description": self.doc,
            "reseller_permissions": self.reseller,
            "params": [{"name": n, **f.describe()} for n, f in self.params.items()],
        }

    def call(self, ctx: Context, params: dict[str, Any]) -> Any:
        arguments = params if self.arguments is None else self.arguments(params)
        result = self.handler(ctx, **arguments)
        return result if self.wire is None else self.wire(result)
