"""The filter compiler: a condition tree into ``(principal, context) -> Filter``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crmcore import query as q
from crmcore.policy._condition._access import FilterFn, _value_fn
from crmcore.policy._condition._errors import ConditionError
from crmcore.policy._condition._evaluate import _normalized, compile_eval
from crmcore.policy._condition._render import render
from crmcore.policy._condition._tree import (
    AllOf,
    AnyOf,
    Cmp,
    Member,
    Negate,
    Node,
    Ref,
    _first_uncompilable,
    _is_res,
    _uses_resource,
)
from crmcore.policy._values import (
    canon,
    filter_collection,
    is_filter_value,
)

_ORDER_BUILDERS: dict[str, Callable[[str, object], q.Filter]] = {
    "<": q.lt,
    "<=": q.le,
    ">": q.gt,
    ">=": q.ge,
}


def _sorted_values(values: tuple[object, ...]) -> tuple[object, ...]:
    if all(v.__class__ is str for v in values):
        return tuple(sorted(values))  # type: ignore[type-var]
    return values


def compile_filter(node: Node) -> FilterFn:
    """Compile a condition tree into ``(principal, context) -> Filter``.

    Raises:
        ConditionError: the condition compares two resource fields.
    """
    if not _uses_resource(node):
        ev = compile_eval(node)
        return lambda p, c: q.TRUE if ev(p, None, c) else q.FALSE
    if isinstance(node, AllOf):
        fns = tuple(compile_filter(i) for i in node.items)
        return lambda p, c: q.all_of(*(f(p, c) for f in fns))
    if isinstance(node, AnyOf):
        fns = tuple(compile_filter(i) for i in node.items)
        return lambda p, c: q.any_of(*(f(p, c) for f in fns))
    if isinstance(node, Negate):
        inner = compile_filter(node.item)
        return lambda p, c: q.not_(inner(p, c))
    bad = _first_uncompilable(node)
    if bad is not None:
        raise ConditionError(
            f"{render(bad)} compares two resource fields, which has no filter form",
            source=render(node),
            position=bad.pos,
        )
    if isinstance(node, Cmp):
        op, left, right = _normalized(node)
        assert isinstance(left, Ref)
        name = left.dotted
        tget = _value_fn(right)

        def cmp_filter(p: Any, c: Any) -> q.Filter:
            t = canon(tget(p, c))
            if not is_filter_value(t):
                return q.FALSE
            if op == "==":
                return q.eq(name, t)
            if op == "!=":
                return q.ne(name, t)
            if t is None:
                return q.FALSE
            return _ORDER_BUILDERS[op](name, t)

        return cmp_filter
    assert isinstance(node, Member)
    if _is_res(node.item):
        assert isinstance(node.item, Ref)
        name = node.item.dotted
        cget = _value_fn(node.coll)

        def in_filter(p: Any, c: Any) -> q.Filter:
            values = filter_collection(cget(p, c))
            if values is None:
                return q.FALSE
            return q.in_(name, _sorted_values(values))

        return in_filter
    assert isinstance(node.coll, Ref)
    name = node.coll.dotted
    iget = _value_fn(node.item)

    def has_filter(p: Any, c: Any) -> q.Filter:
        t = canon(iget(p, c))
        if t is None or not is_filter_value(t):
            return q.FALSE
        return q.has(name, t)

    return has_filter
