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


def _listed_modules(tree: str) -> set[str]:
    """Paths named in architecture.md's layout block: a line's first name sits at its
    indent; names after a directory's name are that directory's children."""
    listed: set[str] = set()
    parents: list[tuple[int, str]] = []
    for line in tree.splitlines():
        names = [w.rstrip(",") for w in line.split() if w.rstrip(",").endswith((".py", "/"))]
        if not names:
            continue
        indent = len(line) - len(line.lstrip())
        while parents and parents[-1][0] >= indent:
            parents.pop()
        base = "".join(p for _, p in parents)
        first, rest = names[0], names[1:]
        if first.endswith("/"):
            parents.append((indent, first))
            listed.update(base + first + name for name in rest)
        else:
            listed.update(base + name for name in names)
    return listed


def test_architecture_layout_lists_every_module() -> None:
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    tree = text.split("## Layout", 1)[1].split("```")[1]
    listed = _listed_modules(tree.split("tests/", 1)[0])
    root = DOCS.parent
    modules = set()
    for path in (root / "src").rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        if "/migrations/versions/" in relative:
            continue
        body = path.read_text(encoding="utf-8")
        # a package marker with nothing but a docstring is not a module to describe
        if path.name == "__init__.py" and len(body.strip().splitlines()) <= 1:
            continue
        modules.add(relative)
    missing = sorted(m for m in modules if m not in listed)
    assert not missing, f"docs/architecture.md's layout does not list: {missing}"
