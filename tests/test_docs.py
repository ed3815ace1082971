"""The docs stay true to the code where the code can say it."""

from __future__ import annotations

from pathlib import Path

from pemx.api.reference import rewrite

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_api_reference_lists_every_method_as_the_registry_defines_it() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    assert text == rewrite(text), "docs/api.md is stale: run scripts/api-reference"


def test_deployment_page_shows_the_configs_pemx_renders() -> None:
    import importlib.util

    script = DOCS.parent / "scripts" / "deployment_examples.py"
    spec = importlib.util.spec_from_file_location("deployment_examples", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (DOCS / "deployment.md").read_text(encoding="utf-8")
    assert text == module.rewrite(text), "docs/deployment.md is stale: run the script"
