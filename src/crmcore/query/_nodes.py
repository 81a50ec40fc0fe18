"""Filter nodes: the immutable tree every filter is, and the ``&``/``|``/``~`` algebra."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import attrs

from crmcore.errors import QueryError
from crmcore.query._values import CompareOp

_PAREN_HINT = (
    "; `&`, `|` bind tighter than `==`, `<`..., so parenthesise each comparison:"
    " (field('a') == 1) & (field('b') == 2)"
)


def _not_a_filter(f: object) -> QueryError:
    from crmcore.query._builders import FieldRef  # the builders sit above the nodes

    hint = _PAREN_HINT if isinstance(f, FieldRef) else ""
    return QueryError(f"not a filter: {f!r}{hint}")


class Filter:
    """Base of every filter node; combine with ``&``, ``|`` and ``~``."""

    __slots__ = ()

    def __and__(self, other: Filter) -> Filter:
        return all_of(self, other)

    def __or__(self, other: Filter) -> Filter:
        return any_of(self, other)

    def __invert__(self) -> Filter:
        return not_(self)


@attrs.frozen(repr=False)
class Const(Filter):
    """A filter that matches every row (``TRUE``) or none (``FALSE``)."""

    value: bool

    def __repr__(self) -> str:
        return "TRUE" if self.value else "FALSE"


TRUE = Const(True)
FALSE = Const(False)


def _typed(value: Any) -> Any:
    """Equality key of a filter value: ``True`` and ``1`` match different rows."""
    return (type(value) is bool, value)


def _typed_all(values: tuple[Any, ...]) -> Any:
    return tuple((type(v) is bool, v) for v in values)


@attrs.frozen
class Compare(Filter):
    """``field <op> value`` with op one of eq, ne, lt, le, gt, ge."""

    field: str
    op: CompareOp
    value: Any = attrs.field(eq=_typed)


@attrs.frozen
class In(Filter):
    """The field's value is one of ``values``."""

    field: str
    values: tuple[Any, ...] = attrs.field(eq=_typed_all)


@attrs.frozen
class Contains(Filter):
    """The (text) field contains ``value`` as a substring."""

    field: str
    value: str
    ignore_case: bool = False


@attrs.frozen
class StartsWith(Filter):
    """The (text) field starts with ``value``."""

    field: str
    value: str
    ignore_case: bool = False


@attrs.frozen
class IsNull(Filter):
    """The field is missing (``None``)."""

    field: str


@attrs.frozen
class Has(Filter):
    """The collection field (such as ``tags``) holds ``value``."""

    field: str
    value: Any = attrs.field(eq=_typed)


@attrs.frozen
class And(Filter):
    """Every one of ``items`` matches."""

    items: tuple[Filter, ...]


@attrs.frozen
class Or(Filter):
    """At least one of ``items`` matches."""

    items: tuple[Filter, ...]


@attrs.frozen
class Not(Filter):
    """``item`` does not match (the exact complement)."""

    item: Filter


@attrs.frozen
class Related(Filter):
    """How many records of another collection point at this record, compared with ``n``.

    A record matches when the number of records of ``collection`` (same
    tenant) whose ``key`` equals this record's ``field`` and that match
    ``where`` satisfies ``<op> n``: ``("ge", 1)`` is *has any* (SQL
    ``EXISTS``), ``("eq", 0)`` *has none* (``NOT EXISTS``), anything else a
    counted subquery. Build one with :func:`related`.
    """

    collection: str
    key: str
    where: Filter
    op: CompareOp = "ge"
    n: int = 1
    field: str = "id"

    @property
    def quantifier(self) -> Literal["any", "none", "count", "all", "never"]:
        """``any`` (EXISTS), ``none`` (NOT EXISTS), ``all``/``never`` (constant), ``count``."""
        op, n = self.op, self.n
        if (op == "ge" and n == 1) or (op == "gt" and n == 0) or (op == "ne" and n == 0):
            return "any"
        if (op == "eq" and n == 0) or (op == "lt" and n == 1) or (op == "le" and n == 0):
            return "none"
        if (op == "ge" and n <= 0) or (op == "gt" and n < 0) or (op == "ne" and n < 0):
            return "all"
        if (op in ("lt", "le", "eq") and n < 0) or (op == "lt" and n == 0):
            return "never"
        return "count"

    def matches(self, count: int) -> bool:
        """Whether ``count`` related records satisfy the quantifier."""
        if self.op == "eq":
            return count == self.n
        if self.op == "ne":
            return count != self.n
        return _PY_OPS[self.op](count, self.n)


#: per related filter, ``{(tenant_id, key value): number of matching related records}``
RelatedCounts = Callable[[Related], Mapping[tuple[str, Any], int]]


_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def related_nodes(f: Filter) -> Iterator[Related]:
    """Every :class:`Related` node of a filter (outermost first, not inside one another)."""
    if isinstance(f, (And, Or)):
        for i in f.items:
            yield from related_nodes(i)
    elif isinstance(f, Not):
        yield from related_nodes(f.item)
    elif isinstance(f, Related):
        yield f


def all_of(*filters: Filter) -> Filter:
    """Every filter matches; flattens nested ``And`` and drops ``TRUE``."""
    items: list[Filter] = []
    for f in filters:
        if not isinstance(f, Filter):
            raise _not_a_filter(f)
        if f == TRUE:
            continue
        if f == FALSE:
            return FALSE
        items.extend(f.items if isinstance(f, And) else (f,))
    if not items:
        return TRUE
    return items[0] if len(items) == 1 else And(tuple(items))


def any_of(*filters: Filter) -> Filter:
    """At least one filter matches; flattens nested ``Or`` and drops ``FALSE``."""
    items: list[Filter] = []
    for f in filters:
        if not isinstance(f, Filter):
            raise _not_a_filter(f)
        if f == FALSE:
            continue
        if f == TRUE:
            return TRUE
        items.extend(f.items if isinstance(f, Or) else (f,))
    if not items:
        return FALSE
    return items[0] if len(items) == 1 else Or(tuple(items))


def not_(f: Filter) -> Filter:
    """The complement of ``f``."""
    if isinstance(f, Const):
        return Const(not f.value)
    if isinstance(f, Not):
        return f.item
    if not isinstance(f, Filter):
        raise _not_a_filter(f)
    return Not(f)


def field_names(f: Filter) -> frozenset[str]:
    """Every field a filter refers to."""
    if isinstance(f, (And, Or)):
        return frozenset().union(*(field_names(i) for i in f.items))
    if isinstance(f, Not):
        return field_names(f.item)
    if isinstance(f, Const):
        return frozenset()
    return frozenset((f.field,))  # type: ignore[attr-defined]  # Related: this record's field
