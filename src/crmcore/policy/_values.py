"""Value semantics shared by condition evaluation and condition compilation.

Everything here mirrors :mod:`crmcore.query` exactly (null-safe ``eq``/``ne``,
ordering never matching a missing value, equality only between values of the
same kind, enums compared by value, ``custom.*`` fields compared loosely), so
that evaluating a condition on a record and running its compiled filter on the
same record always agree. The property tests in ``tests/unit/policy`` pin
that agreement.

The accessors are tuned for the hot path: a per-type cache decides whether a
record is a mapping, so attrs records pay neither an ABC ``isinstance`` check
nor a dict lookup on every field read.
"""

from __future__ import annotations

import datetime as _dt
import enum
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from crmcore.query.adapter import canonical, same_kind, value_kind

__all__ = [
    "COLLECTIONS",
    "UNSAFE",
    "cache_token",
    "canon",
    "eq_const",
    "eq_values",
    "filter_collection",
    "has_values",
    "in_values",
    "is_filter_value",
    "kind",
    "make_getter",
    "mapping_type",
    "ne_values",
    "order_const",
    "order_values",
    "same_kind",
    "show",
]

_SCALARS = (str, int, float, Decimal, bool, _dt.date, _dt.datetime, uuid.UUID)
COLLECTIONS = (list, tuple, set, frozenset)
"""The types a condition accepts on the right of ``in``."""

_ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}

PLAIN_TYPES: set[type] = set()
"""Record types known not to be mappings (read with ``getattr``); filled as types are seen."""
MAPPING_TYPES: set[type] = {dict}
"""Record types known to be mappings (read with ``.get``)."""


def mapping_type(cls: type) -> bool:
    """Whether records of ``cls`` are mappings (cached in the two sets above)."""
    if cls in MAPPING_TYPES:
        return True
    if cls in PLAIN_TYPES:
        return False
    flag = issubclass(cls, Mapping)
    if len(PLAIN_TYPES) + len(MAPPING_TYPES) < 4096:
        (MAPPING_TYPES if flag else PLAIN_TYPES).add(cls)
    return flag


def make_getter(path: tuple[str, ...]) -> Callable[[object], Any]:
    """An accessor for a dotted path, with :func:`crmcore.query.getter` semantics.

    Mappings are read with ``.get``, anything else with ``getattr(obj, name, None)``;
    a missing step gives ``None``.
    """
    plain = PLAIN_TYPES
    if len(path) == 1:
        name = path[0]

        def get1(obj: object) -> Any:
            cls = obj.__class__
            if cls in plain or not mapping_type(cls):
                return getattr(obj, name, None)
            return obj.get(name)  # type: ignore[attr-defined]

        return get1

    def get(obj: object) -> Any:
        cur: Any = obj
        for name in path:
            if cur is None:
                return None
            cls = cur.__class__
            if cls in plain or not mapping_type(cls):
                cur = getattr(cur, name, None)
            else:
                cur = cur.get(name)
        return cur

    return get


# one set of comparison rules for filters and checks, so they cannot drift apart
canon = canonical
kind = value_kind


def is_filter_value(v: object) -> bool:
    """Whether a (canonical) value may appear in a :mod:`crmcore.query` filter.

    ``None``, text, numbers, booleans, dates, aware datetimes and UUIDs are;
    NaN and naive datetimes are not (the query language refuses them), nor is
    a decimal NaN (it cannot be ordered).
    """
    if v is None:
        return True
    if not isinstance(v, _SCALARS):
        return False
    if isinstance(v, _dt.datetime):
        return v.tzinfo is not None
    if isinstance(v, float):
        return v == v
    if isinstance(v, Decimal):
        return not v.is_nan()
    return True


def eq_values(raw: object, target: object) -> bool:
    """``record value == target`` exactly as ``query.eq(field, target)`` matches it.

    ``target`` is the raw principal/context/literal value; one that cannot be a
    filter value makes the comparison false.
    """
    t = canon(target)
    if not is_filter_value(t):
        return False
    if t is None:
        return raw is None
    v = canon(raw)
    return v is not None and same_kind(v, t) and bool(v == t)


def ne_values(raw: object, target: object) -> bool:
    """``record value != target`` exactly as ``query.ne(field, target)`` matches it."""
    t = canon(target)
    if not is_filter_value(t):
        return False
    if t is None:
        return raw is not None
    v = canon(raw)
    return not (v is not None and same_kind(v, t) and bool(v == t))


def order_values(raw: object, op: str, target: object, loose: bool) -> bool:
    """``record value <op> target`` as the query language's ordering filters match it."""
    t = canon(target)
    if t is None or not is_filter_value(t):
        return False
    v = canon(raw)
    if v is None or (loose and not same_kind(v, t)):
        return False
    try:
        return bool(_ORDER_OPS[op](v, t))
    except TypeError:
        return False


def filter_collection(coll: object) -> tuple[object, ...] | None:
    """The values an ``in`` filter holds for a collection, or ``None`` if it is not one.

    Elements that cannot be filter values are left out; duplicates are merged
    the way :func:`crmcore.query.in_` merges them.
    """
    if not isinstance(coll, COLLECTIONS):
        return None
    return tuple(dict.fromkeys(c for c in (canon(x) for x in coll) if is_filter_value(c)))


def in_values(raw: object, values: tuple[object, ...]) -> bool:
    """``record value in values`` as ``query.in_(field, values)`` matches it."""
    v = canon(raw)
    if v is None:
        return None in values
    return any(t is not None and same_kind(v, t) and v == t for t in values)


def has_values(raw: object, item: object) -> bool:
    """``item in record collection`` as ``query.has(field, item)`` matches it."""
    t = canon(item)
    if t is None or not is_filter_value(t):
        return False
    if raw is None or isinstance(raw, (str, bytes)):
        return False
    try:
        return any(canon(x) == t for x in raw)  # type: ignore[attr-defined]
    except TypeError:
        return False


def eq_const(a: object, b: object) -> bool:
    """Null-safe, kind-aware equality of two values that are not record fields."""
    a, b = canon(a), canon(b)
    if a is None or b is None:
        return a is None and b is None
    try:
        return same_kind(a, b) and bool(a == b)
    except (TypeError, ValueError):
        return False


def order_const(a: object, op: str, b: object) -> bool:
    """Ordering of two values that are not record fields; false on ``None`` or mixed types."""
    a, b = canon(a), canon(b)
    if a is None or b is None:
        return False
    try:
        return bool(_ORDER_OPS[op](a, b))
    except (TypeError, ArithmeticError):
        return False


_PLAIN_TOKEN_TYPES = (str, int, bool, float, Decimal, _dt.date, _dt.datetime, uuid.UUID)


def cache_token(v: object) -> object:
    """A hashable token that identifies ``v`` for filter caching, or ``_UNSAFE``.

    Values are keyed with their type so ``1``, ``1.0`` and ``True`` (equal and
    with the same hash, but different kinds) never share a cache entry.
    """
    if v is None:
        return None
    cls = v.__class__
    if cls in _PLAIN_TOKEN_TYPES or isinstance(v, enum.Enum):
        return (cls, v)
    if (cls is frozenset or cls is tuple) and all(
        x.__class__ is str
        for x in v  # type: ignore[attr-defined]
    ):
        return (cls, v)
    return UNSAFE


UNSAFE = object()
"""Marks a value that cannot key the filter cache."""


def show(v: object, limit: int = 60) -> str:
    """A short, readable rendering of a value for reasons and traces."""
    if isinstance(v, enum.Enum):
        v = v.value
    if isinstance(v, Decimal):
        text = str(v)
    elif isinstance(v, (set, frozenset)):
        try:
            items = sorted(v, key=lambda x: (type(x).__name__, x))
        except TypeError:
            items = list(v)
        text = "{" + ", ".join(show(x, limit) for x in items) + "}"
    else:
        text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."
