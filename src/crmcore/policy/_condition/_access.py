"""Value access: reading principal and context paths, and constant comparisons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crmcore import query as q
from crmcore.model import Principal
from crmcore.policy._condition._tree import _PRINCIPAL_FIELDS, ListLit, Lit, Operand
from crmcore.policy._values import (
    COLLECTIONS,
    eq_const,
    make_getter,
    order_const,
)

EvalFn = Callable[[Any, Any, Any], bool]
"""``(principal, resource, context) -> bool``."""
ValueFn = Callable[[Any, Any], Any]
"""``(principal, context) -> value``."""
FilterFn = Callable[[Any, Any], q.Filter]
"""``(principal, context) -> Filter``."""


def principal_value(path: tuple[str, ...]) -> ValueFn:
    """An accessor for ``principal.<path>``: :meth:`Principal.attr`, then dotted steps."""
    head = path[0]
    if head in _PRINCIPAL_FIELDS:

        def base(p: Any, c: Any) -> Any:
            return getattr(p, head) if p.__class__ is Principal else p.attr(head)

    else:

        def base(p: Any, c: Any) -> Any:
            if p.__class__ is Principal:
                return p.attributes.get(head)
            return p.attr(head)

    if len(path) == 1:
        return base
    tail = make_getter(path[1:])
    return lambda p, c: tail(base(p, c))


def context_value(path: tuple[str, ...]) -> ValueFn:
    """An accessor for ``context.<path>`` (a missing context reads as empty)."""
    get = make_getter(path)
    return lambda p, c: None if c is None else get(c)


def _value_fn(o: Operand) -> ValueFn:
    if isinstance(o, Lit):
        v = o.value
        return lambda p, c: v
    if isinstance(o, ListLit):
        items = o.items
        return lambda p, c: items
    if o.scope == "principal":
        return principal_value(o.path)
    if o.scope == "context":
        return context_value(o.path)
    raise AssertionError("resource operands are read from the record")  # pragma: no cover


def _const_cmp(op: str, a: object, b: object) -> bool:
    if op == "==":
        return eq_const(a, b)
    if op == "!=":
        return not eq_const(a, b)
    return order_const(a, op, b)


def _const_in(a: object, coll: object) -> bool:
    if not isinstance(coll, COLLECTIONS):
        return False
    return any(eq_const(a, x) for x in coll)


_all_str_cache: dict[frozenset[Any], bool] = {}


def _all_plain_str(coll: frozenset[Any]) -> bool:
    flag = _all_str_cache.get(coll)
    if flag is None:
        flag = all(x.__class__ is str for x in coll)
        if len(_all_str_cache) >= 4096:
            _all_str_cache.clear()
        _all_str_cache[coll] = flag
    return flag
