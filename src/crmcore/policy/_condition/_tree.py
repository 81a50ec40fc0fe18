"""The condition tree: immutable operand and test nodes, and walks over them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

SCOPES = ("resource", "principal", "context")
_PRINCIPAL_FIELDS = frozenset(("user_id", "tenant_id", "roles", "teams", "system"))


@attrs.frozen
class Ref:
    """``resource.a.b``, ``principal.x`` or ``context.y``."""

    scope: str
    path: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def __str__(self) -> str:
        return f"{self.scope}.{self.dotted}"


def _typed(v: Any) -> tuple[type, Any]:
    return (type(v), v)


def _typed_items(items: tuple[Any, ...]) -> tuple[tuple[type, Any], ...]:
    return tuple((type(v), v) for v in items)


@attrs.frozen
class Lit:
    """A literal scalar (``'x'``, ``12``, ``12.5``, ``true``, ``null``).

    Literals compare by type and value, so ``1``, ``1.0`` and ``true`` differ.
    """

    value: Any = attrs.field(eq=_typed)


@attrs.frozen
class ListLit:
    """A list literal, only allowed on the right of ``in``."""

    items: tuple[Any, ...] = attrs.field(eq=_typed_items)


Operand = Ref | Lit | ListLit


@attrs.frozen
class Cmp:
    """``left <op> right``."""

    op: str
    left: Operand
    right: Operand
    pos: int = attrs.field(default=0, eq=False)


@attrs.frozen
class Member:
    """``item in collection``."""

    item: Operand
    coll: Operand
    pos: int = attrs.field(default=0, eq=False)


@attrs.frozen
class AllOf:
    items: tuple[Node, ...]


@attrs.frozen
class AnyOf:
    items: tuple[Node, ...]


@attrs.frozen
class Negate:
    item: Node


@attrs.frozen
class Bool:
    value: bool


Node = Cmp | Member | AllOf | AnyOf | Negate | Bool

_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_CMP_OPS = frozenset(_FLIP)


def _is_res(o: Operand) -> bool:
    return isinstance(o, Ref) and o.scope == "resource"


def _refs(node: Node) -> Iterable[Ref]:
    if isinstance(node, Cmp):
        ops: tuple[Operand, ...] = (node.left, node.right)
    elif isinstance(node, Member):
        ops = (node.item, node.coll)
    elif isinstance(node, (AllOf, AnyOf)):
        for i in node.items:
            yield from _refs(i)
        return
    elif isinstance(node, Negate):
        yield from _refs(node.item)
        return
    else:
        return
    for o in ops:
        if isinstance(o, Ref):
            yield o


def _uses_resource(node: Node) -> bool:
    return any(r.scope == "resource" for r in _refs(node))


def _first_uncompilable(node: Node) -> Cmp | Member | None:
    if isinstance(node, Cmp) and _is_res(node.left) and _is_res(node.right):
        return node
    if isinstance(node, Member) and _is_res(node.item) and _is_res(node.coll):
        return node
    if isinstance(node, (AllOf, AnyOf)):
        for i in node.items:
            bad = _first_uncompilable(i)
            if bad is not None:
                return bad
    if isinstance(node, Negate):
        return _first_uncompilable(node.item)
    return None
