"""Imports point down the layer order that docs/architecture.md states, and nowhere else."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src" / "crmcore"


def layer_order() -> dict[str, int]:
    """Package -> layer, read from the ```layers block of docs/architecture.md."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block is not None, "docs/architecture.md has no ```layers block"
    order: dict[str, int] = {}
    for line in block.group(1).strip().splitlines():
        level, _, names = line.partition(":")
        for name in names.split():
            order[name] = int(level)
    return order


def owner(module: str, order: dict[str, int]) -> str | None:
    """The layer entry a module belongs to: the longest dotted prefix listed."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in order:
            return prefix
    return None


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, src: Path) -> list[tuple[int, str]]:
    """Every crmcore module ``path`` imports: module level, in functions, under TYPE_CHECKING.

    ``from crmcore import X`` counts as importing ``crmcore.X``, which is the
    facade unless ``X`` is a subpackage.
    """
    me = module_name(path, src)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            if target == "crmcore":
                found += [(node.lineno, f"crmcore.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
    return [(n, m) for n, m in found if m == "crmcore" or m.startswith("crmcore.")]


def violations(src: Path, order: dict[str, int]) -> list[str]:
    """Every import in ``src`` that points up the order or sideways to another package."""
    top = max(order.values())
    bad = []
    for path in sorted(src.rglob("*.py")):
        me = module_name(path, src)
        mine = owner(me, order)
        if mine is None:
            bad.append(f"{me} is in no layer")
            continue
        for line, target in imports_of(path, src):
            theirs = owner(target, order) or "crmcore"
            if theirs == mine or order[mine] == top:
                continue
            if order[theirs] >= order[mine]:
                bad.append(
                    f"{path.relative_to(src.parent)}:{line}: {mine} (layer {order[mine]}) "
                    f"imports {target} ({theirs}, layer {order[theirs]})"
                )
    return bad


def test_no_import_points_up_the_layer_order() -> None:
    assert violations(SRC, layer_order()) == []


def test_nothing_below_the_facade_imports_it() -> None:
    offenders = [
        f"{path}:{line}"
        for path in SRC.rglob("*.py")
        if module_name(path, SRC) not in ("crmcore", "crmcore.app", "crmcore.__main__")
        for line, target in imports_of(path, SRC)
        if target == "crmcore.app" or target.startswith("crmcore.app.")
    ]
    assert offenders == []


def test_the_checker_catches_upward_sideways_and_hidden_imports(tmp_path: Path) -> None:
    src = tmp_path / "crmcore"
    (src / "model").mkdir(parents=True)
    (src / "dedupe").mkdir()
    (src / "__init__.py").write_text("")
    (src / "model" / "__init__.py").write_text("from crmcore.errors import CrmError\n")
    (src / "model" / "_x.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from crmcore.app import Session\n"
        "def f():\n    from ..services import merge\n"
        "from crmcore import Customer\n"
    )
    (src / "dedupe" / "_y.py").write_text("import crmcore.validation\nfrom . import _z\n")
    order = {"crmcore.errors": 0, "crmcore.model": 1, "crmcore.validation": 2}
    order |= {"crmcore.dedupe": 2, "crmcore.services": 3, "crmcore.app": 4, "crmcore": 4}
    found = violations(src, order)
    assert sorted(v.split(": ", 1)[1] for v in found) == [
        "crmcore.dedupe (layer 2) imports crmcore.validation (crmcore.validation, layer 2)",
        "crmcore.model (layer 1) imports crmcore.Customer (crmcore, layer 4)",
        "crmcore.model (layer 1) imports crmcore.app (crmcore.app, layer 4)",
        "crmcore.model (layer 1) imports crmcore.services (crmcore.services, layer 3)",
    ]


def private_reaches(src: Path) -> list[str]:
    """Imports of another package's private modules: ``crmcore.x._y`` from outside ``x``."""
    bad = []
    for path in sorted(src.rglob("*.py")):
        me = module_name(path, src)
        for line, target in imports_of(path, src):
            parts = target.split(".")
            private = next((i for i, p in enumerate(parts) if p.startswith("_")), None)
            if private is None or private < 2:  # crmcore._lazy and friends are shared helpers
                continue
            package = ".".join(parts[:private])
            if me != package and not me.startswith(package + "."):
                bad.append(f"{path.relative_to(src.parent)}:{line}: {me} imports {target}")
    return bad


def test_no_package_reaches_into_another_packages_private_modules() -> None:
    assert private_reaches(SRC) == []


def test_the_private_check_catches_a_reach(tmp_path: Path) -> None:
    src = tmp_path / "crmcore"
    (src / "crypto").mkdir(parents=True)
    (src / "crypto" / "_store.py").write_text(
        "from crmcore.storage.sql._store import _chunks\nfrom crmcore.crypto._keys import K\n"
    )
    assert [v.split(": ", 1)[1] for v in private_reaches(src)] == [
        "crmcore.crypto._store imports crmcore.storage.sql._store"
    ]
