"""Every docs page's ``python`` blocks run, in order, as one script per page.

A page is read top to bottom like a notebook: its blocks share one namespace
and run in a fresh temporary directory, so an example may create files. A
block that shows a signature or a fragment (an API listing, a protocol to
implement) is fenced ``py`` and not executed; everything fenced ``python``
must run as written. A block fenced with ``file=NAME`` is written to that
file first, so a page can show a policy document and then load it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
#: a block fenced with ``file=NAME`` (```toml file=acme-policy.toml) is written
#: to that file before the page's python blocks run
FILE = re.compile(r"^```\w+ file=(\S+)\n(.*?)^```", re.S | re.M)


def pages() -> list[Path]:
    return sorted(p for p in DOCS.glob("*.md") if BLOCK.search(p.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    text = page.read_text(encoding="utf-8")
    for match in FILE.finditer(text):
        (tmp_path / match.group(1)).write_text(match.group(2), encoding="utf-8")
    for n, match in enumerate(BLOCK.finditer(text), 1):
        line = text[: match.start()].count("\n") + 2
        code = compile(match.group(1), f"{page.name}:block{n}:line{line}", "exec")
        exec(code, namespace)


def test_every_page_is_linked_from_the_index() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    # pages starting with "_" are drafts for a maintainer to fold into another page
    missing = [
        p.name
        for p in DOCS.glob("*.md")
        if p.name != "index.md" and not p.name.startswith("_") and p.name not in index
    ]
    assert not missing, f"docs/index.md does not link {missing}"


def test_entity_reference_is_current() -> None:
    from crmcore.model._reference import entity_reference

    page = (DOCS / "entities.md").read_text(encoding="utf-8")
    assert page == entity_reference(), (
        "docs/entities.md is out of date: python -m crmcore.model._reference > docs/entities.md"
    )
