"""Every test docs/security.md names as the proof of a claim exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REF = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`")


def _named_tests() -> list[tuple[str, str | None]]:
    """(file, test or None) for every backticked reference, ``::name`` after a file."""
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    refs: list[tuple[str, str | None]] = []
    for line in text.splitlines():
        current: str | None = None
        for m in REF.finditer(line):
            path, name = m.group(1), m.group(2)
            if path is None and name is None:
                continue
            current = path or current
            if current is not None:
                refs.append((current, name))
    return refs


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_named_test_exists() -> None:
    refs = _named_tests()
    assert len(refs) > 30  # the page names its proofs
    missing = []
    for path, name in refs:
        file = ROOT / path
        if not file.is_file():
            missing.append(path)
        elif name is not None and name not in _functions(file):
            missing.append(f"{path}::{name}")
    assert missing == []
