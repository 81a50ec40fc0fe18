"""The evaluator: :func:`compile_predicate` turns a filter into a Python predicate
with the language's exact semantics (and the value rules it shares with policy)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from crmcore.errors import QueryError
from crmcore.query._nodes import (
    _PY_OPS,
    And,
    Compare,
    Const,
    Contains,
    Filter,
    Has,
    In,
    IsNull,
    Not,
    Or,
    Related,
    RelatedCounts,
    StartsWith,
)


def getter(name: str) -> Callable[[object], Any]:
    """A fast accessor for a (dotted) field path on attrs objects and mappings."""
    parts = name.split(".")
    if len(parts) == 1:
        attr = parts[0]

        def get1(obj: object) -> Any:
            if type(obj) is dict:
                return obj.get(attr)
            try:
                return getattr(obj, attr)
            except AttributeError:
                return obj.get(attr) if isinstance(obj, Mapping) else None

        return get1

    def get(obj: object) -> Any:
        cur: Any = obj
        for p in parts:
            if cur is None:
                return None
            if type(cur) is dict:
                cur = cur.get(p)
            else:
                try:
                    cur = getattr(cur, p)
                except AttributeError:
                    cur = cur.get(p) if isinstance(cur, Mapping) else None
        return cur

    return get


def value_kind(v: object) -> str:
    """The comparison kind of a value: ``bool``, ``number``, ``str`` or the type name.

    Values of different kinds never compare equal (``True`` is not ``1``); policy
    conditions follow the same rule so a compiled filter and a check agree.
    """
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float, Decimal)):
        return "number"
    if isinstance(v, str):
        return "str"
    return type(v).__name__


def same_kind(a: object, b: object) -> bool:
    """Whether two values may be equal under this module's rules."""
    return value_kind(a) == value_kind(b)


def canonical(v: object) -> object:
    """The value a filter compares: an enum member's value, anything else as is."""
    return v.value if isinstance(v, enum.Enum) else v


def compile_predicate(f: Filter, related: RelatedCounts | None = None) -> Callable[[object], bool]:
    """Compile a filter into a Python predicate over records (attrs objects or mappings).

    The predicate follows the module's semantics exactly; the in-memory adapter
    and policy checks use it.

    Args:
        f: the filter.
        related: counts the related records of each :class:`Related` node (an
            adapter supplies it); without it a filter with one raises.

    Raises:
        QueryError: a :class:`Related` node and no ``related`` counter.
    """
    if isinstance(f, Related):
        if related is None:
            raise QueryError(
                "a related filter needs a store to count in", field=f"{f.collection}.{f.key}"
            )
        counts = related(f)
        get_local = getter(f.field)
        get_tenant = getter("tenant_id")
        node = f
        zero_ok = node.matches(0)

        def quantified(r: object) -> bool:
            v = canonical(get_local(r))
            if v is None:
                return zero_ok
            return node.matches(counts.get((get_tenant(r), v), 0))

        return quantified
    if related is not None and not isinstance(f, (And, Or, Not)):
        return compile_predicate(f)
    if isinstance(f, Const):
        value = f.value
        return lambda _r: value
    if isinstance(f, And):
        preds = tuple(compile_predicate(i, related) for i in f.items)
        if len(preds) == 2:
            p1, p2 = preds
            return lambda r: p1(r) and p2(r)
        if len(preds) == 3:
            p1, p2, p3 = preds
            return lambda r: p1(r) and p2(r) and p3(r)

        def all_match(r: object) -> bool:
            for p in preds:
                if not p(r):
                    return False
            return True

        return all_match
    if isinstance(f, Or):
        preds = tuple(compile_predicate(i, related) for i in f.items)

        def any_match(r: object) -> bool:
            for p in preds:
                if p(r):
                    return True
            return False

        return any_match
    if isinstance(f, Not):
        inner = compile_predicate(f.item, related)
        return lambda r: not inner(r)
    get = getter(f.field)  # type: ignore[attr-defined]
    loose = f.field.startswith("custom.")  # type: ignore[attr-defined]
    if isinstance(f, IsNull):
        return lambda r: get(r) is None
    if isinstance(f, Compare):
        target = f.value
        op = f.op
        if op in ("eq", "ne"):
            want = op == "eq"
            if type(target) is str:
                # a str-valued enum member equals its value; nothing else equals a str
                if want:
                    return lambda r: get(r) == target
                return lambda r: get(r) != target

            def equal(r: object) -> bool:
                v = canonical(get(r))
                same = v is not None and same_kind(v, target) and v == target
                return same is want

            return equal
        cmp = _PY_OPS[op]

        def ordered(r: object) -> bool:
            v = canonical(get(r))
            if v is None or (loose and not same_kind(v, target)):
                return False
            try:
                return cmp(v, target)
            except TypeError:
                return False

        return ordered
    if isinstance(f, In):
        values = f.values
        with_null = None in values
        non_null = tuple(v for v in values if v is not None)

        def member(r: object) -> bool:
            v = canonical(get(r))
            if v is None:
                return with_null
            return any(same_kind(v, t) and v == t for t in non_null)

        return member
    if isinstance(f, (Contains, StartsWith)):
        needle = f.value.lower() if f.ignore_case else f.value
        ic = f.ignore_case
        starts = isinstance(f, StartsWith)

        def text(r: object) -> bool:
            v = get(r)
            if not isinstance(v, str):
                return False
            if ic:
                v = v.lower()
            return v.startswith(needle) if starts else needle in v

        return text
    if isinstance(f, Has):
        item = f.value

        def holds(r: object) -> bool:
            v = get(r)
            if v is None or isinstance(v, (str, bytes)):
                return False
            try:
                return any(same_kind(x, item) and x == item for x in map(canonical, v))
            except TypeError:
                return False

        return holds
    raise QueryError(f"not a filter: {f!r}")


# --------------------------------------------------------------------------- sorting
