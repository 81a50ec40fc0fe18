"""Filter builders: :func:`field` with operators, :func:`eq`... :func:`in_`,
:func:`related` and :func:`where`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from crmcore._text import bad_int_reason, bad_text_reason
from crmcore.errors import QueryError
from crmcore.query._nodes import (
    FALSE,
    TRUE,
    Compare,
    Contains,
    Filter,
    Has,
    In,
    IsNull,
    Not,
    Related,
    StartsWith,
    _not_a_filter,
    all_of,
)
from crmcore.query._order import Sort
from crmcore.query._values import _COMPARE_OPS, CompareOp, _check_field, _check_value


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


def where(filter: Filter | None = None, /, **equals: object) -> Filter:
    """Combine an optional filter with ``field=value`` equalities.

    Double underscores stand for dots, so ``custom__tier="gold"`` filters on
    ``custom.tier``.
    """
    parts = [eq(k.replace("__", "."), v) for k, v in equals.items()]
    return all_of(*([filter] if filter is not None else []), *parts)
