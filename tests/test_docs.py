"""The docs stay true to the code where the code can say it."""

from __future__ import annotations

from pathlib import Path

from pemx.api.reference import rewrite

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_api_reference_lists_every_method_as_the_registry_defines_it() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    assert text == rewrite(text), "docs/api.md is stale: run scripts/api-reference"
