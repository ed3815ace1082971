"""Every error code is documented in docs/errors.md, and its (module_id, extype_id) is unique."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pemx.domain.errors import ErrorCode

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def _table_rows(text: str) -> dict[str, tuple[str, int]]:
    """Rows of the markdown table with columns ``code | module_id | extype_id | meaning``."""
    rows: dict[str, tuple[str, int]] = {}
    header: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("|"):
            header = None if not stripped else header
            continue
        cells = [c.strip().strip("`").strip() for c in stripped.strip("|").split("|")]
        lowered = [c.lower() for c in cells]
        if lowered[:4] == ["code", "module_id", "extype_id", "meaning"]:
            header = lowered
            continue
        if header is None or set(stripped) <= set("|-: "):
            continue
        code, module_id, extype_id = cells[0], cells[1], cells[2]
        assert code not in rows, f"{code} is listed twice in {DOC}"
        rows[code] = (module_id, int(extype_id))
    return rows


def test_codes_are_unique() -> None:
    pairs = Counter((code.module_id, code.extype_id) for code in ErrorCode)
    assert [pair for pair, n in pairs.items() if n > 1] == []
    assert all(code.value.summary for code in ErrorCode)


def test_every_code_is_documented() -> None:
    assert DOC.exists(), f"{DOC} is missing"
    rows = _table_rows(DOC.read_text(encoding="utf-8"))
    assert rows, f"no table with columns code | module_id | extype_id | meaning in {DOC}"
    for code in ErrorCode:
        assert code.name in rows, f"{code.name} is not documented in {DOC}"
        assert rows[code.name] == (code.module_id, code.extype_id), code.name
    unknown = set(rows) - {code.name for code in ErrorCode}
    assert not unknown, f"{DOC} documents codes that do not exist: {sorted(unknown)}"


def test_table_parser() -> None:
    sample = (
        "Intro\n\n| code | module_id | extype_id | meaning |\n|---|---|---:|---|\n"
        "| `INTERNAL` | OpenAPI | 1 | boom |\n| TXN_NOT_FOUND | `OpenAPI` | 3002 | gone |\n\n"
        "| other | table |\n|---|---|\n| a | b |\n"
    )
    assert _table_rows(sample) == {"INTERNAL": ("OpenAPI", 1), "TXN_NOT_FOUND": ("OpenAPI", 3002)}
