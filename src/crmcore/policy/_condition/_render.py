"""Rendering: a condition tree back to canonical condition text."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crmcore.policy._condition._tree import (
    AllOf,
    Bool,
    Cmp,
    ListLit,
    Lit,
    Member,
    Negate,
    Node,
    Operand,
    Ref,
)
from crmcore.policy._values import (
    show,
)


def _lit_text(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, float):
        return repr(v)
    return show(v)


def _operand_text(o: Operand) -> str:
    if isinstance(o, Ref):
        return str(o)
    if isinstance(o, ListLit):
        return "[" + ", ".join(_lit_text(v) for v in o.items) + "]"
    return _lit_text(o.value)


def render(node: Node, prec: int = 0) -> str:
    """The canonical text of a condition tree (parses back to an equal tree)."""
    if isinstance(node, Bool):
        return "true" if node.value else "false"
    if isinstance(node, Cmp):
        if (
            node.op == "=="
            and isinstance(node.left, Ref)
            and isinstance(node.right, Lit)
            and node.right.value is True
        ):
            return str(node.left)
        return f"{_operand_text(node.left)} {node.op} {_operand_text(node.right)}"
    if isinstance(node, Member):
        return f"{_operand_text(node.item)} in {_operand_text(node.coll)}"
    if isinstance(node, Negate):
        if isinstance(node.item, Member):
            m = node.item
            return f"{_operand_text(m.item)} not in {_operand_text(m.coll)}"
        text = f"not {render(node.item, 3)}"
        return f"({text})" if prec > 3 else text
    if isinstance(node, AllOf):
        text = " and ".join(render(i, 3) for i in node.items)
        return f"({text})" if prec > 2 else text
    text = " or ".join(render(i, 2) for i in node.items)
    return f"({text})" if prec > 1 else text
