"""Aggregates pushed into the engine: ``GROUP BY`` with counts, sums, averages, extremes.

A repository's :meth:`~crmcore.storage.ports.Repository.aggregate` answers
"how many, how much, per what" without loading records::

    from crmcore.storage.aggregate import bucket, count, sum_
    rows = s.opportunities.aggregate(
        group_by=("stage", bucket("created_at", "month")),
        measures={"n": count(), "revenue": sum_("amount.amount")},
    )
    # [{"stage": "won", "created_at_month": date(2026, 1, 1), "n": 3, "revenue": Decimal(...)}, ...]

Semantics (every adapter gives the same answer; :func:`aggregate_records` is
the reference and the fallback for adapters that do not push it down):

- group keys are scalar fields (text, enum values, numbers, booleans, dates,
  datetimes, UUIDs, parts of a value object such as ``amount.currency``) or
  :func:`bucket` of a date/datetime field: the first day (a ``date``, UTC) of
  its day, ISO week (Monday), month, quarter or year; a missing value is a
  group of its own (``None``);
- rows come back as dicts sorted by the group keys, ``None`` first;
- without ``group_by`` there is exactly one row, even over no records;
- ``count()`` counts records; ``count(f)`` non-missing values; ``count_distinct(f)``
  distinct non-missing values;
- ``sum_``/``avg`` take numbers (int, float, Decimal; ``amount.amount``),
  ``min_``/``max_`` any orderable scalar; over no values they give ``None``;
  sums of ints are ints, of Decimals exact Decimals; an average of ints or
  floats is a float, of Decimals a Decimal (sum / count, 28 digits).
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import types
import typing
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, Union

import attrs

from crmcore.errors import QueryError
from crmcore.query.adapter import canonical, getter

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "PERIODS",
    "AggregatePlan",
    "Bucket",
    "GroupKey",
    "Measure",
    "aggregate_records",
    "avg",
    "bucket",
    "bucket_start",
    "count",
    "count_distinct",
    "max_",
    "min_",
    "plan_aggregate",
    "sum_",
]

Period = Literal["day", "week", "month", "quarter", "year"]
#: the periods :func:`bucket` knows
PERIODS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
#: the measure functions
AGGREGATE_FUNCTIONS: tuple[str, ...] = ("count", "count_distinct", "sum", "avg", "min", "max")


@attrs.frozen
class Measure:
    """One aggregate over a group: ``fn`` of ``field`` (``count()`` has no field)."""

    fn: str
    field: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.fn not in AGGREGATE_FUNCTIONS:
            raise QueryError(f"unknown aggregate {self.fn!r}; one of {AGGREGATE_FUNCTIONS}")
        if self.field is None and self.fn != "count":
            raise QueryError(f"{self.fn} needs a field")


@attrs.frozen
class Bucket:
    """Group by the period (``day``...``year``) a date or datetime falls in (UTC)."""

    field: str
    period: str
    name: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.period not in PERIODS:
            raise QueryError(f"unknown period {self.period!r}; one of {PERIODS}", field=self.field)

    @property
    def label(self) -> str:
        """The key of this group in a result row (``<field>_<period>`` unless named)."""
        return self.name or f"{self.field}_{self.period}"


#: a group key: a field name or a bucketed date/datetime field
GroupKey = str | Bucket


def count(field: str | None = None) -> Measure:
    """The number of records in the group, or of non-missing ``field`` values."""
    return Measure("count", field)


def count_distinct(field: str) -> Measure:
    """The number of distinct non-missing ``field`` values."""
    return Measure("count_distinct", field)


def sum_(field: str) -> Measure:
    """The sum of a numeric field's values (None when the group has none)."""
    return Measure("sum", field)


def avg(field: str) -> Measure:
    """The mean of a numeric field's values (None when the group has none)."""
    return Measure("avg", field)


def min_(field: str) -> Measure:
    """The smallest value of an orderable field."""
    return Measure("min", field)


def max_(field: str) -> Measure:
    """The largest value of an orderable field."""
    return Measure("max", field)


def bucket(field: str, period: str, *, name: str | None = None) -> Bucket:
    """Group by the ``period`` (day, week, month, quarter, year) ``field`` falls in.

    The group value is the period's first day as a ``date`` (weeks start on
    Monday, ISO 8601), computed in UTC.
    """
    return Bucket(field, period, name)


def bucket_start(value: _dt.date | _dt.datetime | None, period: str) -> _dt.date | None:
    """The first day of the period ``value`` falls in (UTC for datetimes)."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc)
        value = value.date()
    if period == "day":
        return value
    if period == "week":
        return value - _dt.timedelta(days=value.weekday())
    if period == "month":
        return value.replace(day=1)
    if period == "quarter":
        return value.replace(month=(value.month - 1) // 3 * 3 + 1, day=1)
    if period == "year":
        return value.replace(month=1, day=1)
    raise QueryError(f"unknown period {period!r}; one of {PERIODS}")


# --------------------------------------------------------------------------- planning

_NUMERIC = frozenset({"int", "float", "decimal"})
_ORDERED = frozenset({"int", "float", "decimal", "str", "enum", "date", "datetime", "uuid"})


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {a.name: hints.get(a.name, Any) for a in attrs.fields(cls)}


def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else Any
    return tp


def _kind_of(tp: Any) -> str | None:
    if not isinstance(tp, type):
        return None
    if issubclass(tp, enum.Enum):
        return "enum"
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if tp is float:
        return "float"
    if tp is Decimal:
        return "decimal"
    if issubclass(tp, str):
        return "str"
    if tp is _dt.datetime:
        return "datetime"
    if tp is _dt.date:
        return "date"
    if tp is uuid.UUID:
        return "uuid"
    return None


def field_kind(entity_type: type, name: str) -> str:
    """The scalar kind of a (dotted) field: ``int``, ``decimal``, ``str``, ``datetime``...

    Raises:
        QueryError: no such field, or it is not one scalar (a collection, a
            mapping, a whole value object, ``custom.*``).
    """
    cls: Any = entity_type
    parts = name.split(".")
    for i, part in enumerate(parts):
        hints = _hints(cls) if isinstance(cls, type) and attrs.has(cls) else {}
        if part not in hints:
            raise QueryError("no such field", field=name, entity=entity_type.__name__)
        tp = _strip_optional(hints[part])
        last = i == len(parts) - 1
        if isinstance(tp, type) and attrs.has(tp):
            if last:
                raise QueryError(
                    "cannot aggregate a whole value object; name one of its parts",
                    field=name,
                    entity=entity_type.__name__,
                )
            cls = tp
            continue
        kind = _kind_of(tp)
        if kind is None or not last:
            raise QueryError(
                "only a scalar field can be grouped or measured",
                field=name,
                entity=entity_type.__name__,
            )
        return kind
    raise QueryError("no such field", field=name, entity=entity_type.__name__)  # pragma: no cover


@attrs.frozen
class AggregatePlan:
    """A checked aggregate: group keys and measures with the kinds of their fields."""

    entity_type: type
    groups: tuple[tuple[str, GroupKey, str], ...]  # (label, key, kind of the field)
    measures: tuple[tuple[str, Measure, str | None], ...]  # (name, measure, kind of field)

    @property
    def fields(self) -> frozenset[str]:
        """Every field the aggregate reads (for permission and encryption checks)."""
        names = {k.field if isinstance(k, Bucket) else k for _, k, _ in self.groups}
        names |= {m.field for _, m, _ in self.measures if m.field is not None}
        return frozenset(names)


def plan_aggregate(
    entity_type: type, group_by: Sequence[GroupKey], measures: Mapping[str, Measure]
) -> AggregatePlan:
    """Check group keys and measures against ``entity_type``.

    Raises:
        QueryError: an unknown or non-scalar field, a sum of text, a bucket of
            a non-date field, a duplicate or clashing output name.
    """
    if isinstance(group_by, (str, Bucket)):
        group_by = (group_by,)
    name = entity_type.__name__
    groups: list[tuple[str, GroupKey, str]] = []
    for key in group_by:
        if isinstance(key, Bucket):
            kind = field_kind(entity_type, key.field)
            if kind not in ("date", "datetime"):
                raise QueryError("only a date or datetime can be bucketed", field=key.field)
            groups.append((key.label, key, kind))
        elif isinstance(key, str):
            groups.append((key, key, field_kind(entity_type, key)))
        else:
            raise QueryError(f"a group key is a field name or a bucket, not {key!r}")
    planned: list[tuple[str, Measure, str | None]] = []
    for label, m in measures.items():
        if not isinstance(m, Measure):
            raise QueryError(f"measure {label!r} is not a Measure (use count(), sum_()...)")
        mkind = None if m.field is None else field_kind(entity_type, m.field)
        if m.fn in ("sum", "avg") and mkind not in _NUMERIC:
            raise QueryError(f"{m.fn} needs a number field", field=m.field, entity=name)
        if m.fn in ("min", "max") and mkind not in _ORDERED:
            raise QueryError(f"{m.fn} needs an orderable field", field=m.field, entity=name)
        planned.append((str(label), m, mkind))
    labels = [g[0] for g in groups] + [p[0] for p in planned]
    if len(set(labels)) != len(labels):
        raise QueryError(f"aggregate output names must be unique, got {labels}")
    return AggregatePlan(entity_type, tuple(groups), tuple(planned))


# --------------------------------------------------------------------------- the reference


def _null_first(row: Mapping[str, Any], labels: Sequence[str]) -> tuple[Any, ...]:
    return tuple((row[k] is not None, row[k]) if row[k] is not None else (False,) for k in labels)


def sort_rows(rows: list[dict[str, Any]], plan: AggregatePlan) -> list[dict[str, Any]]:
    """Rows in group-key order, missing values first."""
    labels = [g[0] for g in plan.groups]
    if not labels:
        return rows
    return sorted(rows, key=lambda r: _null_first(r, labels))


def finish_avg(total: Any, n: int, kind: str | None) -> Any:
    """The mean of ``n`` values summing to ``total`` (None over no values)."""
    if not n or total is None:
        return None
    if kind == "decimal":
        return Decimal(total) / Decimal(n)
    return float(total) / n


def _key_of(key: GroupKey) -> Callable[[object], Any]:
    if isinstance(key, Bucket):
        get = getter(key.field)
        period = key.period
        return lambda r: bucket_start(get(r), period)
    plain = getter(key)
    return lambda r: canonical(plain(r))


def aggregate_records(records: Iterable[object], plan: AggregatePlan) -> list[dict[str, Any]]:
    """The aggregate of ``records`` computed in Python: the reference every adapter matches."""
    keys = [(label, _key_of(key)) for label, key, _kind in plan.groups]
    getters = {label: getter(m.field) if m.field else None for label, m, _ in plan.measures}
    buckets: dict[tuple[Any, ...], list[object]] = {}
    for r in records:
        buckets.setdefault(tuple(fn(r) for _, fn in keys), []).append(r)
    if not plan.groups and not buckets:
        buckets[()] = []
    out: list[dict[str, Any]] = []
    for gk, members in buckets.items():
        row: dict[str, Any] = {label: v for (label, _), v in zip(keys, gk, strict=True)}
        for label, m, kind in plan.measures:
            read = getters[label]
            if read is None:
                row[label] = len(members)
                continue
            values = [canonical(v) for v in (read(x) for x in members) if v is not None]
            row[label] = _measure(m.fn, values, kind)
        out.append(row)
    return sort_rows(out, plan)


def _measure(fn: str, values: list[Any], kind: str | None) -> Any:
    if fn == "count":
        return len(values)
    if fn == "count_distinct":
        return len(set(values))
    if not values:
        return None
    if fn == "sum":
        return sum(values, Decimal(0) if kind == "decimal" else 0)
    if fn == "avg":
        return finish_avg(sum(values, Decimal(0) if kind == "decimal" else 0), len(values), kind)
    if fn == "min":
        return min(values)
    return max(values)
