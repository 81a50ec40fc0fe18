"""Sort keys: the values a record sorts by and the comparisons that order them
(missing values first, ties broken by ``id``)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from crmcore.query._evaluate import canonical, getter, value_kind
from crmcore.query._order import Sort

T = TypeVar("T")


def sort_key_values(record: object, order: Sequence[Sort]) -> tuple[object, ...]:
    """The values a record has for each sort term (used to build cursors)."""
    return tuple(canonical(getter(s.field)(record)) for s in order)


def _cmp_values(a: object, b: object) -> int:
    """Compare two sort values with missing values first."""
    if a is None:
        return 0 if b is None else -1
    if b is None:
        return 1
    try:
        return -1 if a < b else (1 if a > b else 0)  # type: ignore[operator]
    except TypeError:
        ka, kb = value_kind(a), value_kind(b)
        return -1 if ka < kb else (1 if ka > kb else 0)


def compare_keys(a: Sequence[object], b: Sequence[object], order: Sequence[Sort]) -> int:
    """Compare two sort-value tuples under ``order`` (negative: ``a`` comes first)."""
    for x, y, term in zip(a, b, order, strict=False):
        c = _cmp_values(x, y)
        if c:
            return -c if term.descending else c
    return 0


class _Desc:
    """Inverts the ordering of a sort-key component (for descending terms)."""

    __slots__ = ("k",)

    def __init__(self, k: Any) -> None:
        self.k = k

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.k < self.k)

    def __gt__(self, other: _Desc) -> bool:
        return bool(other.k > self.k)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and bool(self.k == other.k)

    __hash__ = None  # type: ignore[assignment]


def native_key(values: Sequence[object], order: Sequence[Sort]) -> tuple[Any, ...]:
    """A tuple that Python's own comparison orders exactly as ``compare_keys`` does.

    Missing values sort first (ascending); UUIDs compare by their integer. Values
    of different kinds in one term raise TypeError when compared: callers then
    fall back to ``compare_keys``.
    """
    out: list[Any] = []
    for v, term in zip(values, order, strict=True):
        if isinstance(v, uuid.UUID):
            v = v.int
        k = (False, 0) if v is None else (True, v)
        out.append(_Desc(k) if term.descending else k)
    return tuple(out)


def sort_records(records: Iterable[T], order: Sequence[Sort]) -> list[T]:
    """Sort records by ``order`` with the module's null and tie rules."""
    getters = [getter(s.field) for s in order]
    rows = list(records)
    # stable multi-pass sort, last key first; missing values first when ascending
    for term, get in zip(reversed(order), reversed(getters), strict=True):

        def key(r: T, get: Callable[[object], Any] = get) -> tuple[bool, Any]:
            v = canonical(get(r))
            return (v is not None, _Orderable(v))

        rows.sort(key=key, reverse=term.descending)
    return rows


@functools.total_ordering
class _Orderable:
    """Wraps a value so that ``None`` and mixed kinds still sort deterministically."""

    __slots__ = ("v",)

    def __init__(self, v: object) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Orderable) and _cmp_values(self.v, other.v) == 0

    def __lt__(self, other: _Orderable) -> bool:
        return _cmp_values(self.v, other.v) < 0

    __hash__ = None  # type: ignore[assignment]
