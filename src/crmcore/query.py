"""The one filter, sort and page language of crmcore.

Repositories, policies and segments all speak it. A filter is a small tree of
immutable nodes; build it with :func:`field` and Python operators::

    from crmcore.query import field as f
    where = (f("last_name") == "张") & (f("created_at") >= since) & f("tags").has("vip")

or with the functions (:func:`eq`, :func:`in_`, :func:`all_of`...), or from
keyword arguments with :func:`where`. Filters are plain data (hashable,
comparable, convertible with :func:`to_dict` / :func:`from_dict`), so a segment
or a policy can store one.

Semantics (every adapter gives the same answer):

- ``eq``/``ne`` are null-safe: ``eq(f, None)`` matches missing values and
  ``ne(f, "x")`` matches rows where the field is missing;
- ordering comparisons, ``in_``, ``contains``, ``startswith`` and ``has`` never
  match a missing value (``in_`` does when ``None`` is among its values);
- ``not_`` is the exact complement (two-valued logic, unlike raw SQL);
- strings compare by code point; ``ignore_case`` compares ``str.lower()``;
- a ``custom.<name>`` field matches only values of the same JSON kind as the
  filter value (a number filter never matches a stored string);
- ordering puts missing values first when ascending and last when descending;
  every ordering ends with ``id`` so ties are broken the same way everywhere;
- keyset cursors (:class:`Page.next_cursor`) never skip or repeat a row, even
  when rows are inserted between pages.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import enum
import functools
import json
import types
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar, Union, overload

import attrs

from crmcore._text import bad_int_reason, bad_text_reason
from crmcore.errors import QueryError

__all__ = [
    "FALSE",
    "MAX_FILTER_DEPTH",
    "MAX_LIMIT",
    "TRUE",
    "Ago",
    "And",
    "Compare",
    "Const",
    "Contains",
    "Filter",
    "Has",
    "In",
    "IsNull",
    "Not",
    "Or",
    "Page",
    "Related",
    "RelatedCounts",
    "Sort",
    "StartsWith",
    "ago",
    "all_of",
    "any_of",
    "asc",
    "bind",
    "canonical",
    "check_limit",
    "check_order",
    "compare_keys",
    "compile_predicate",
    "decode_cursor",
    "desc",
    "encode_cursor",
    "eq",
    "field",
    "field_names",
    "from_dict",
    "ge",
    "getter",
    "gt",
    "has",
    "in_",
    "is_null",
    "le",
    "lt",
    "native_key",
    "ne",
    "normalize_order",
    "not_",
    "related",
    "related_nodes",
    "resolve_times",
    "same_kind",
    "sort_key_values",
    "sort_records",
    "to_dict",
    "value_kind",
    "where",
]

T = TypeVar("T")
CompareOp = Literal["eq", "ne", "lt", "le", "gt", "ge"]
_COMPARE_OPS: frozenset[str] = frozenset(typing.get_args(CompareOp))
_SCALARS = (str, int, float, Decimal, bool, _dt.date, _dt.datetime, uuid.UUID)
#: The largest ``limit=`` a find accepts (adapters fetch a row or two more, within 64 bits).
MAX_LIMIT = 2**62
#: How deeply ``and``/``or``/``not`` may nest in :func:`from_dict` data.
MAX_FILTER_DEPTH = 64
_PAREN_HINT = (
    "; `&`, `|` bind tighter than `==`, `<`..., so parenthesise each comparison:"
    " (field('a') == 1) & (field('b') == 2)"
)


def _check_value(name: str, value: object) -> object:
    """Canonicalise a filter value (enums to their value) and refuse odd types."""
    if isinstance(value, Ago):
        return value
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, _SCALARS):
        if isinstance(value, _dt.datetime) and value.tzinfo is None:
            raise QueryError("naive datetime in filter; pass an aware (UTC) datetime", field=name)
        if isinstance(value, float) and value != value:
            raise QueryError("NaN cannot be compared", field=name)
        if isinstance(value, Decimal) and not value.is_finite():
            raise QueryError("only finite decimals can be compared", field=name)
        if isinstance(value, str) and (reason := bad_text_reason(value)):
            raise QueryError(f"filter value {reason}", field=name)
        if type(value) is int and (reason := bad_int_reason(value)):
            raise QueryError(f"filter value {reason}", field=name)
        return value
    raise QueryError(f"unsupported filter value of type {type(value).__name__}", field=name)


def _check_field(name: object) -> str:
    if not isinstance(name, str) or not name or name.startswith(".") or name.endswith("."):
        raise QueryError(f"invalid field name {name!r}")
    if reason := bad_text_reason(name):
        raise QueryError(f"invalid field name {name!r}: {reason}")
    return name


def _not_a_filter(f: object) -> QueryError:
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


@attrs.frozen
class Ago:
    """A time relative to "now" (``ago(days=90)``), resolved by :func:`resolve_times`.

    Saved filters (segments) keep it as such, so "in the last 90 days" stays
    relative; adapters only ever see the resolved, absolute datetime.
    """

    seconds: int

    def at(self, now: _dt.datetime) -> _dt.datetime:
        """The absolute time ``seconds`` before ``now``."""
        return now - _dt.timedelta(seconds=self.seconds)


def ago(*, days: int = 0, hours: int = 0, minutes: int = 0, seconds: int = 0) -> Ago:
    """A filter value meaning "that long before now" (negative values: in the future)."""
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if type(total) is not int:
        raise QueryError("ago() needs whole numbers of days, hours, minutes or seconds")
    return Ago(total)


# --------------------------------------------------------------------------- builders


class FieldRef:
    """A field name with operators that build filters: ``field("age") >= 18``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = _check_field(name)

    def __repr__(self) -> str:
        return f"field({self.name!r})"

    def __eq__(self, value: object) -> Filter:  # type: ignore[override]
        return eq(self.name, value)

    def __ne__(self, value: object) -> Filter:  # type: ignore[override]
        return ne(self.name, value)

    def __lt__(self, value: object) -> Filter:
        return lt(self.name, value)

    def __le__(self, value: object) -> Filter:
        return le(self.name, value)

    def __gt__(self, value: object) -> Filter:
        return gt(self.name, value)

    def __ge__(self, value: object) -> Filter:
        return ge(self.name, value)

    __hash__ = None  # type: ignore[assignment]

    def in_(self, values: Iterable[object]) -> Filter:
        """The field is one of ``values``."""
        return in_(self.name, values)

    def between(self, low: object, high: object) -> Filter:
        """``low <= field <= high`` (both ends included)."""
        return all_of(ge(self.name, low), le(self.name, high))

    def contains(self, text: str, *, ignore_case: bool = False) -> Filter:
        """The field contains ``text``."""
        return Contains(self.name, _text(self.name, text), ignore_case)

    def startswith(self, text: str, *, ignore_case: bool = False) -> Filter:
        """The field starts with ``text``."""
        return StartsWith(self.name, _text(self.name, text), ignore_case)

    def is_null(self) -> Filter:
        """The field is missing."""
        return IsNull(self.name)

    def not_null(self) -> Filter:
        """The field has a value."""
        return Not(IsNull(self.name))

    def has(self, value: object) -> Filter:
        """The collection field holds ``value``."""
        return has(self.name, value)

    def asc(self) -> Sort:
        """Ascending order on this field."""
        return Sort(self.name)

    def desc(self) -> Sort:
        """Descending order on this field."""
        return Sort(self.name, descending=True)


def field(name: str) -> FieldRef:
    """A reference to ``name`` (``"email"``, ``"custom.tier"``, ``"amount.currency"``)."""
    return FieldRef(name)


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise QueryError("contains/startswith need a text value", field=name)
    if reason := bad_text_reason(value):
        raise QueryError(f"filter value {reason}", field=name)
    return value


def _compare(name: str, op: CompareOp, value: object) -> Filter:
    name = _check_field(name)
    value = _check_value(name, value)
    if value is None:
        if op == "eq":
            return IsNull(name)
        if op == "ne":
            return Not(IsNull(name))
        raise QueryError(f"cannot order-compare ({op}) with None", field=name)
    return Compare(name, op, value)


def eq(name: str, value: object) -> Filter:
    """``name == value`` (null-safe)."""
    return _compare(name, "eq", value)


def ne(name: str, value: object) -> Filter:
    """``name != value`` (null-safe: a missing value is unequal)."""
    return _compare(name, "ne", value)


def lt(name: str, value: object) -> Filter:
    """``name < value``."""
    return _compare(name, "lt", value)


def le(name: str, value: object) -> Filter:
    """``name <= value``."""
    return _compare(name, "le", value)


def gt(name: str, value: object) -> Filter:
    """``name > value``."""
    return _compare(name, "gt", value)


def ge(name: str, value: object) -> Filter:
    """``name >= value``."""
    return _compare(name, "ge", value)


def in_(name: str, values: Iterable[object]) -> Filter:
    """``name`` is one of ``values`` (an empty list matches nothing)."""
    name = _check_field(name)
    if isinstance(values, (str, bytes)):
        raise QueryError("in_ needs a collection of values, not a string", field=name)
    if not isinstance(values, Iterable) or isinstance(values, Mapping):
        raise QueryError(
            f"in_ needs a collection of values, not {type(values).__name__}", field=name
        )
    # dedupe on (is-bool, value): True and 1 are equal in Python but match different rows
    checked = [_check_value(name, v) for v in values]
    vals = tuple({(type(v) is bool, v): v for v in checked}.values())
    if not vals:
        return FALSE
    return In(name, vals)


def is_null(name: str) -> Filter:
    """``name`` is missing."""
    return IsNull(_check_field(name))


def has(name: str, value: object) -> Filter:
    """The collection field ``name`` holds ``value``."""
    name = _check_field(name)
    value = _check_value(name, value)
    if value is None:
        raise QueryError("has() needs a value", field=name)
    return Has(name, value)


def related(
    collection: str,
    key: str,
    where: Filter | None = None,
    *,
    field: str = "id",
    op: CompareOp = "ge",
    n: int = 1,
    include_deleted: bool = False,
) -> Filter:
    """Records with (at least one, none, or some number of) related records of ``collection``.

    ``related("orders", "customer_id", f("status") == "paid")`` matches customers
    with a paid order; ``~related(...)`` (or ``op="eq", n=0``) those without;
    ``op="ge", n=3`` those with three or more. The related records are those of
    the same tenant whose ``key`` equals this record's ``field`` (``id`` by
    default); soft-deleted ones count only with ``include_deleted``. Filters
    nest: ``where`` may itself hold a ``related``.

    Args:
        collection: the related records' collection (``"orders"``, ``"campaign_events"``).
        key: the related records' field pointing at this record.
        where: a filter on the related records (all of them when None).
        field: this record's field the key points at.
        op: how the count compares with ``n`` (eq, ne, lt, le, gt, ge).
        n: the count to compare with.
        include_deleted: count soft-deleted related records too.

    Raises:
        QueryError: a malformed name, operator or count.
    """
    if not isinstance(collection, str) or not collection.isidentifier():
        raise QueryError(f"invalid collection name {collection!r}")
    key = _check_field(key)
    field = _check_field(field)
    if op not in _COMPARE_OPS:
        raise QueryError(f"unknown count comparison {op!r}", field=key)
    if type(n) is not int or bad_int_reason(n):
        raise QueryError("related count must be an int", field=key)
    inner = TRUE if where is None else where
    if not isinstance(inner, Filter):
        raise _not_a_filter(inner)
    if not include_deleted:
        inner = all_of(inner, IsNull("deleted_at"))
    node = Related(collection, key, inner, op, n, field)
    quant = node.quantifier
    if quant == "all":
        return TRUE
    if quant == "never":
        return FALSE
    if quant == "any":
        return Related(collection, key, inner, "ge", 1, field)
    if quant == "none":
        return Related(collection, key, inner, "eq", 0, field)
    return node


def related_nodes(f: Filter) -> Iterator[Related]:
    """Every :class:`Related` node of a filter (outermost first, not inside one another)."""
    if isinstance(f, (And, Or)):
        for i in f.items:
            yield from related_nodes(i)
    elif isinstance(f, Not):
        yield from related_nodes(f.item)
    elif isinstance(f, Related):
        yield f


def resolve_times(f: Filter, now: _dt.datetime | Callable[[], _dt.datetime]) -> Filter:
    """The filter with every :class:`Ago` value replaced by the absolute time before ``now``.

    ``now`` may be a clock (called once, only if the filter holds a relative
    time). Returns ``f`` itself when it holds none (sessions call this on every query).

    Raises:
        QueryError: ``now`` is naive.
    """
    cache: list[_dt.datetime] = []

    def clock() -> _dt.datetime:
        if not cache:
            t = now() if callable(now) else now
            if t.tzinfo is None:
                raise QueryError("resolve_times needs an aware (UTC) now")
            cache.append(t)
        return cache[0]

    if not callable(now) and now.tzinfo is None:
        raise QueryError("resolve_times needs an aware (UTC) now")
    return _resolve(f, clock)


def _resolve(f: Filter, now: Callable[[], _dt.datetime]) -> Filter:
    if isinstance(f, (And, Or)):
        items = tuple(_resolve(i, now) for i in f.items)
        if all(a is b for a, b in zip(items, f.items, strict=True)):
            return f
        return all_of(*items) if isinstance(f, And) else any_of(*items)
    if isinstance(f, Not):
        item = _resolve(f.item, now)
        return f if item is f.item else not_(item)
    if isinstance(f, Related):
        inner = _resolve(f.where, now)
        return f if inner is f.where else attrs.evolve(f, where=inner)
    if isinstance(f, (Compare, Has)):
        return attrs.evolve(f, value=f.value.at(now())) if isinstance(f.value, Ago) else f
    if isinstance(f, In) and any(isinstance(v, Ago) for v in f.values):
        t = now()
        return In(f.field, tuple(v.at(t) if isinstance(v, Ago) else v for v in f.values))
    return f


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


def where(filter: Filter | None = None, /, **equals: object) -> Filter:
    """Combine an optional filter with ``field=value`` equalities.

    Double underscores stand for dots, so ``custom__tier="gold"`` filters on
    ``custom.tier``.
    """
    parts = [eq(k.replace("__", "."), v) for k, v in equals.items()]
    return all_of(*([filter] if filter is not None else []), *parts)


def field_names(f: Filter) -> frozenset[str]:
    """Every field a filter refers to."""
    if isinstance(f, (And, Or)):
        return frozenset().union(*(field_names(i) for i in f.items))
    if isinstance(f, Not):
        return field_names(f.item)
    if isinstance(f, Const):
        return frozenset()
    return frozenset((f.field,))  # type: ignore[attr-defined]  # Related: this record's field


# --------------------------------------------------------------------------- ordering


@attrs.frozen
class Sort:
    """One ordering term."""

    field: str
    descending: bool = False

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


def asc(name: str) -> Sort:
    """Ascending order on ``name``."""
    return Sort(_check_field(name))


def desc(name: str) -> Sort:
    """Descending order on ``name``."""
    return Sort(_check_field(name), descending=True)


OrderSpec = str | Sort | Sequence[str | Sort] | None


def normalize_order(order_by: OrderSpec) -> tuple[Sort, ...]:
    """Turn ``"-created_at"``, a ``Sort`` or a list of them into sort terms ending in ``id``.

    ``id`` is appended (ascending) unless already present, so every ordering is
    total and pages are stable.
    """
    if order_by is None:
        items: Sequence[str | Sort] = ()
    elif isinstance(order_by, (str, Sort)):
        items = (order_by,)
    elif isinstance(order_by, Sequence):
        items = order_by
    else:
        raise QueryError(f"cannot order by {order_by!r}: pass a field name, a Sort or a list")
    terms: list[Sort] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, str):
            term = Sort(_check_field(item[1:]), True) if item.startswith("-") else Sort(item)
            _check_field(term.field)
        elif isinstance(item, Sort):
            _check_field(item.field)
            term = item
        else:
            raise QueryError(f"cannot order by {item!r}")
        if term.field in seen:
            raise QueryError("field ordered twice", field=term.field)
        seen.add(term.field)
        terms.append(term)
        if term.field == "id":
            break
    if "id" not in seen:
        terms.append(Sort("id"))
    return tuple(terms)


def check_limit(limit: object) -> int | None:
    """A page size every adapter accepts: ``None`` or an int from 0 to :data:`MAX_LIMIT`.

    Args:
        limit: the ``limit=`` a caller passed to ``find``.

    Returns:
        The limit unchanged.

    Raises:
        QueryError: the limit is not an int (``"5"``, ``2.0``, ``True``), is
            negative, or exceeds :data:`MAX_LIMIT`.
    """
    if limit is None:
        return None
    if type(limit) is not int:
        raise QueryError(f"limit must be an int or None, not {type(limit).__name__}")
    if limit < 0:
        raise QueryError("limit must not be negative")
    if limit > MAX_LIMIT:
        raise QueryError(f"limit exceeds the largest page size, {MAX_LIMIT}")
    return limit


# --------------------------------------------------------------------------- plain data


def to_dict(f: Filter) -> dict[str, Any]:
    """The filter as JSON-able plain data (a segment or policy can store it)."""
    if isinstance(f, Const):
        return {"const": f.value}
    if isinstance(f, Compare):
        return {f.op: [f.field, _encode_value(f.value)]}
    if isinstance(f, In):
        return {"in": [f.field, [_encode_value(v) for v in f.values]]}
    if isinstance(f, Contains):
        return {"contains": [f.field, f.value], "ignore_case": f.ignore_case}
    if isinstance(f, StartsWith):
        return {"startswith": [f.field, f.value], "ignore_case": f.ignore_case}
    if isinstance(f, IsNull):
        return {"is_null": f.field}
    if isinstance(f, Has):
        return {"has": [f.field, _encode_value(f.value)]}
    if isinstance(f, And):
        return {"and": [to_dict(i) for i in f.items]}
    if isinstance(f, Or):
        return {"or": [to_dict(i) for i in f.items]}
    if isinstance(f, Not):
        return {"not": to_dict(f.item)}
    if isinstance(f, Related):
        return {
            "related": {
                "collection": f.collection,
                "key": f.key,
                "field": f.field,
                "op": f.op,
                "n": f.n,
                "where": to_dict(f.where),
            }
        }
    raise QueryError(f"not a filter: {f!r}")


def from_dict(data: Mapping[str, Any]) -> Filter:
    """Rebuild a filter from :func:`to_dict` output.

    Raises:
        QueryError: the data does not describe a filter.
    """
    try:
        return _from_dict(data, 0)
    except QueryError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError) as exc:
        raise QueryError(f"malformed filter data: {exc}") from None


def _from_dict(data: Mapping[str, Any], depth: int) -> Filter:
    if not isinstance(data, Mapping):
        raise QueryError("a filter must be a mapping")
    if depth > MAX_FILTER_DEPTH:
        raise QueryError(f"filter nests deeper than {MAX_FILTER_DEPTH} levels")
    keys = set(data) - {"ignore_case"}
    if len(keys) != 1:
        raise QueryError(f"a filter needs exactly one operator, got {sorted(keys)}")
    (op,) = keys
    arg = data[op]
    if op == "const":
        if not isinstance(arg, bool):
            raise QueryError(f"const needs true or false, not {arg!r}")
        return Const(arg)
    if op in _COMPARE_OPS:
        return _compare(arg[0], op, _decode_value(arg[1]))  # type: ignore[arg-type]
    if op == "in":
        return in_(arg[0], [_decode_value(v) for v in arg[1]])
    if op in ("contains", "startswith"):
        ref = field(arg[0])
        ic = data.get("ignore_case", False)
        if not isinstance(ic, bool):
            raise QueryError(f"ignore_case needs true or false, not {ic!r}")
        return (
            ref.contains(arg[1], ignore_case=ic)
            if op == "contains"
            else ref.startswith(arg[1], ignore_case=ic)
        )
    if op == "is_null":
        return is_null(arg)
    if op == "has":
        return has(arg[0], _decode_value(arg[1]))
    if op == "and":
        return all_of(*(_from_dict(i, depth + 1) for i in _items(arg)))
    if op == "or":
        return any_of(*(_from_dict(i, depth + 1) for i in _items(arg)))
    if op == "not":
        return not_(_from_dict(arg, depth + 1))
    if op == "related":
        if not isinstance(arg, Mapping):
            raise QueryError("related needs a mapping")
        extra = set(arg) - {"collection", "key", "field", "op", "n", "where"}
        if extra:
            raise QueryError(f"unknown related keys {sorted(extra)}")
        # the stored where already holds its deleted_at condition (or not)
        return related(
            arg["collection"],
            arg["key"],
            _from_dict(arg.get("where", {"const": True}), depth + 1),
            field=arg.get("field", "id"),
            op=arg.get("op", "ge"),
            n=arg.get("n", 1),
            include_deleted=True,
        )
    raise QueryError(f"unknown filter operator {op!r}")


def _items(arg: object) -> list[Any]:
    if not isinstance(arg, list):
        raise QueryError(f"and/or need a list of filters, not {type(arg).__name__}")
    return arg


def _encode_value(v: object) -> object:
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if isinstance(v, Decimal):
        return {"$decimal": str(v)}
    if isinstance(v, _dt.datetime):
        return {"$datetime": v.isoformat()}
    if isinstance(v, _dt.date):
        return {"$date": v.isoformat()}
    if isinstance(v, uuid.UUID):
        return {"$uuid": str(v)}
    if isinstance(v, Ago):
        return {"$ago": v.seconds}
    raise QueryError(f"cannot encode value of type {type(v).__name__}")


def _decode_value(v: object) -> object:
    if isinstance(v, Mapping):
        ((tag, text),) = v.items()
        if tag == "$ago":
            if type(text) is not int:
                raise QueryError("value tag '$ago' needs whole seconds")
            return Ago(text)
        if not isinstance(text, str):
            raise QueryError(f"value tag {tag!r} needs text, not {type(text).__name__}")
        if tag == "$decimal":
            return Decimal(text)
        if tag == "$datetime":
            return _dt.datetime.fromisoformat(text)
        if tag == "$date":
            return _dt.date.fromisoformat(text)
        if tag == "$uuid":
            return uuid.UUID(text)
        raise QueryError(f"unknown value tag {tag!r}")
    return v


# --------------------------------------------------------------------------- cursors


def encode_cursor(order: Sequence[Sort], values: Sequence[object]) -> str:
    """An opaque keyset cursor: the ordering and the last row's sort values."""
    payload = {"o": [str(s) for s in order], "k": [_encode_value(v) for v in values]}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: Sequence[Sort]) -> tuple[object, ...]:
    """The sort values stored in ``cursor``.

    Raises:
        QueryError: the cursor is malformed or was made for another ordering.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        names = payload["o"]
        values = tuple(_decode_value(v) for v in payload["k"])
        for v in values:
            _check_value("cursor", v)
    except (
        ValueError,
        KeyError,
        TypeError,
        IndexError,
        AttributeError,
        ArithmeticError,
        RecursionError,
        binascii.Error,
        QueryError,
    ):
        raise QueryError("malformed cursor") from None
    if names != [str(s) for s in order] or len(values) != len(order):
        raise QueryError("cursor was made for another ordering")
    return values


@attrs.frozen
class Page(Sequence[T], Generic[T]):
    """One page of results; a sequence of records plus the cursor for the next page.

    ``next_cursor`` is ``None`` when there are no more rows.
    """

    items: tuple[T, ...]
    next_cursor: str | None = None

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...

    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __repr__(self) -> str:
        more = "more after" if self.next_cursor is not None else "last page"
        return f"<Page of {len(self.items)} {_kind_name(self.items)}, {more}>"

    def _repr_html_(self) -> str:
        """A table of the page's records (one row each, one column per field) for notebooks."""
        import html

        rows = [_row_of(item) for item in self.items[:_HTML_ROWS]]
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in columns)
            + "</tr>"
            for row in rows
        )
        shown = f" (first {_HTML_ROWS} shown)" if len(self.items) > _HTML_ROWS else ""
        caption = html.escape(repr(self)) + shown
        return (
            f"<table><caption>{caption}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


_HTML_ROWS = 50
_HTML_CELL = 80


def _kind_name(items: Sequence[object]) -> str:
    names = {type(i).__name__ for i in items}
    if len(names) == 1:
        return f"{next(iter(names))} records" if len(items) != 1 else f"{next(iter(names))} record"
    return "records" if len(items) != 1 else "record"


def _row_of(item: object) -> dict[str, object]:
    if attrs.has(type(item)):
        return {a.name: getattr(item, a.name) for a in attrs.fields(type(item))}  # type: ignore[arg-type]
    if isinstance(item, Mapping):
        return {str(k): v for k, v in item.items()}
    return {"value": item}


def _cell(v: object) -> str:
    if v is None:
        return ""
    text = str(v.value) if isinstance(v, enum.Enum) else str(v)
    return text if len(text) <= _HTML_CELL else text[: _HTML_CELL - 1] + "\u2026"


# --------------------------------------------------------------------------- binding


@functools.lru_cache(maxsize=256)
def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {a.name: hints.get(a.name, Any) for a in attrs.fields(cls)}


def _scalar_type(tp: Any) -> Any:
    """Strip ``X | None`` down to X; collections become their element type."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        non_none = [a for a in args if a is not type(None)]
        return _scalar_type(non_none[0]) if len(non_none) == 1 else Any
    if origin in (frozenset, tuple, list, set) and args:
        return _scalar_type(args[0])
    return tp


def _coerce(name: str, tp: Any, value: object) -> object:
    if value is None or tp is Any or not isinstance(tp, type):
        return value
    if issubclass(tp, enum.Enum):
        try:
            return tp(value).value
        except ValueError:
            allowed = ", ".join(str(m.value) for m in tp)
            raise QueryError(f"{value!r} is not one of: {allowed}", field=name) from None
    if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    try:
        if tp is uuid.UUID and isinstance(value, str):
            return uuid.UUID(value)
        if tp is Decimal and isinstance(value, (int, float, str)) and not isinstance(value, bool):
            return Decimal(str(value))
        if tp is _dt.datetime and isinstance(value, str):
            return _check_value(name, _dt.datetime.fromisoformat(value))
        if tp is _dt.date and isinstance(value, str):
            return _dt.date.fromisoformat(value)
        if tp is float and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return float(value)
        if tp is int and isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
    except ValueError:
        pass
    raise QueryError(f"expected {tp.__name__}, got {type(value).__name__}", field=name)


def _field_type(entity_type: type, name: str) -> Any:
    head, _, rest = name.partition(".")
    types = _field_types(entity_type)
    if head not in types:
        raise QueryError("no such field", field=name, entity=entity_type.__name__)
    tp = types[head]
    if not rest:
        return _scalar_type(tp)
    if typing.get_origin(tp) in (tuple, list, frozenset, set):
        raise QueryError(
            "cannot reach inside a collection field; filter it with has()",
            field=name,
            entity=entity_type.__name__,
        )
    inner = _scalar_type(tp)
    if head == "custom" or not (isinstance(inner, type) and attrs.has(inner)):
        return Any
    return _field_type(inner, rest)


def bind(f: Filter, entity_type: type) -> Filter:
    """Check every field against an attrs entity type and coerce values to the field types.

    ``"1b4e..."`` becomes a UUID for a UUID field, ``"12.5"`` a Decimal for a
    Decimal field, an enum member its value; fields under ``custom.`` are free.

    Raises:
        QueryError: an unknown field, or a value that does not fit the field.
    """
    if isinstance(f, Const):
        return f
    if isinstance(f, And):
        return all_of(*(bind(i, entity_type) for i in f.items))
    if isinstance(f, Or):
        return any_of(*(bind(i, entity_type) for i in f.items))
    if isinstance(f, Not):
        return not_(bind(f.item, entity_type))
    name: str = f.field  # type: ignore[attr-defined]
    tp = _field_type(entity_type, name)
    if isinstance(f, Related):
        return _bind_related(f, entity_type, tp)
    value = getattr(f, "value", None)
    values = getattr(f, "values", ())
    if isinstance(value, Ago) or any(isinstance(v, Ago) for v in values):
        raise QueryError(
            "a relative time (ago) must be resolved first: resolve_times()", field=name
        )
    if isinstance(f, Compare):
        return Compare(name, f.op, _coerce(name, tp, f.value))
    if isinstance(f, In):
        return In(name, tuple(_coerce(name, tp, v) for v in f.values))
    if isinstance(f, Has):
        return Has(name, _coerce(name, tp, f.value))
    if isinstance(f, (Contains, StartsWith)) and tp not in (str, Any):
        raise QueryError("contains/startswith need a text field", field=name)
    return f


def _bind_related(f: Related, entity_type: type, local_type: Any) -> Filter:
    from crmcore.model import COLLECTIONS  # layer 1; kept local so query stays self-contained

    other = COLLECTIONS.get(f.collection)
    if other is None:
        raise QueryError(f"unknown collection {f.collection!r}", field=f.field)
    key_type = _field_type(other, f.key)
    if "." in f.key or "." in f.field:
        raise QueryError("related needs plain fields on both sides", field=f.key)
    if local_type is not Any and key_type is not Any and local_type is not key_type:
        raise QueryError(
            f"{other.__name__}.{f.key} ({getattr(key_type, '__name__', key_type)}) cannot point"
            f" at {entity_type.__name__}.{f.field}"
            f" ({getattr(local_type, '__name__', local_type)})",
            field=f.key,
        )
    return attrs.evolve(f, where=bind(f.where, other))


def check_order(order: Sequence[Sort], entity_type: type) -> None:
    """Raise QueryError if an ordering names an unknown or unorderable field."""
    for term in order:
        tp = _field_type(entity_type, term.field)
        head = _field_types(entity_type).get(term.field.split(".")[0])
        origin = typing.get_origin(head)
        if origin in (frozenset, tuple, list, set, dict) or tp in (dict, Mapping):
            raise QueryError("cannot order by a collection", field=term.field)
        if (origin is Mapping or head is Mapping) and "." not in term.field:
            raise QueryError("cannot order by a whole mapping", field=term.field)
        if isinstance(tp, type) and attrs.has(tp):
            raise QueryError(
                "cannot order by a whole value object; order by one of its parts",
                field=term.field,
            )


# --------------------------------------------------------------------------- evaluation


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


_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


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
