"""``GROUP BY`` statements for :meth:`Repository.aggregate`, the same answers on every backend.

Each group key is a column (or a period bucket of one) and each measure an
aggregate function; the rows come back through the columns' types and are
normalised to what :func:`crmcore.storage.aggregate.aggregate_records`
returns (enum values as text, buckets as ``date``, exact Decimal sums).

Dialect details:

- buckets: ``date_trunc`` on PostgreSQL (in UTC), ``STR_TO_DATE``/``MAKEDATE``
  on MariaDB (its DATETIME holds UTC), and text slices of the fixed-width ISO
  text SQLite stores (``date(..., 'weekday 0', '-6 days')`` for ISO weeks);
- exact sums on SQLite, whose decimals are order-preserving text: the 20
  scaled digits are summed as two integer halves and joined in Python, so no
  64-bit overflow and no float rounding;
- averages are sum / count, computed in Python like the reference.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from crmcore.errors import QueryError
from crmcore.query import Filter
from crmcore.storage.aggregate import AggregatePlan, Bucket, finish_avg, sort_rows
from crmcore.storage.sql._schema import ColumnTerm, EntityMapper
from crmcore.storage.sql._translate import Translator
from crmcore.storage.sql._types import DECIMAL_PLACES

__all__ = ["aggregate_statement", "read_aggregate"]

_HALF = 10**10


def _column(m: EntityMapper, name: str) -> sa.ColumnElement[Any]:
    term = m.term(name)
    if not isinstance(term, ColumnTerm):
        raise QueryError(
            "only a scalar field can be grouped or measured", field=name, entity=m.name
        )
    return term.column


def _bucket(backend: str, col: sa.ColumnElement[Any], period: str, kind: str) -> Any:
    if backend == "postgresql":
        plain: sa.ColumnElement[Any]
        if kind == "datetime":
            plain = sa.func.timezone("UTC", col)
        else:
            plain = sa.cast(col, postgresql.TIMESTAMP())
        return sa.cast(sa.func.date_trunc(period, plain), sa.Date())
    if backend == "mariadb":
        day = sa.func.date(col)
        if period == "day":
            return day
        if period == "week":
            return sa.func.subdate(day, sa.func.weekday(col))
        if period == "year":
            return sa.func.makedate(sa.func.year(col), 1)
        month = sa.func.month(col) if period == "month" else (sa.func.quarter(col) - 1) * 3 + 1
        ymd = sa.func.concat(sa.func.year(col), "-", month, "-01")
        return sa.func.str_to_date(ymd, "%Y-%m-%d")
    # SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC) or 'YYYY-MM-DD'
    text = sa.type_coerce(col, sa.String())
    if period == "day":
        return sa.func.substr(text, 1, 10)
    if period == "week":
        return sa.func.date(sa.func.substr(text, 1, 10), "weekday 0", "-6 days")
    if period == "month":
        return sa.func.substr(text, 1, 7) + "-01"
    if period == "year":
        return sa.func.substr(text, 1, 4) + "-01-01"
    month = (sa.cast(sa.func.substr(text, 6, 2), sa.Integer()) - 1) // 3 * 3 + 1
    return sa.func.substr(text, 1, 4) + "-" + sa.func.printf("%02d", month) + "-01"


def aggregate_statement(
    m: EntityMapper, tr: Translator, where: Filter | None, plan: AggregatePlan
) -> sa.Select[Any]:
    """The ``SELECT ... GROUP BY`` of a checked plan over a bound filter."""
    backend = tr.b.name
    keys: list[sa.ColumnElement[Any]] = []
    for i, (_label, key, kind) in enumerate(plan.groups):
        if isinstance(key, Bucket):
            keys.append(_bucket(backend, _column(m, key.field), key.period, kind).label(f"g{i}"))
        else:
            keys.append(_column(m, key).label(f"g{i}"))
    cols: list[sa.ColumnElement[Any]] = []
    for i, (_label, meas, mkind) in enumerate(plan.measures):
        fn = meas.fn
        if meas.field is None:
            cols.append(sa.func.count().label(f"m{i}"))
            continue
        col = _column(m, meas.field)
        if fn == "count":
            cols.append(sa.func.count(col).label(f"m{i}"))
        elif fn == "count_distinct":
            cols.append(sa.func.count(sa.distinct(col)).label(f"m{i}"))
        elif fn in ("min", "max"):
            cols.append(getattr(sa.func, fn)(col).label(f"m{i}"))
        else:  # sum, avg: a sum (in parts for SQLite decimals), and a count for the mean
            if mkind == "decimal" and backend == "sqlite":
                text = sa.type_coerce(col, sa.String())
                hi = sa.cast(sa.func.substr(text, 2, 10), sa.BigInteger())
                lo = sa.cast(sa.func.substr(text, 12, 10), sa.BigInteger())
                signed = sa.case((sa.func.substr(text, 1, 1) == "n", hi - _HALF), else_=hi)
                cols.append(sa.func.sum(signed, type_=sa.BigInteger()).label(f"m{i}"))
                cols.append(sa.func.sum(lo, type_=sa.BigInteger()).label(f"m{i}_lo"))
            elif mkind == "decimal":
                cols.append(sa.func.sum(col).label(f"m{i}"))
            elif mkind == "int":
                cols.append(sa.func.sum(col, type_=sa.BigInteger()).label(f"m{i}"))
            else:
                cols.append(sa.func.sum(col, type_=sa.Double()).label(f"m{i}"))
            cols.append(sa.func.count(col).label(f"m{i}_n"))
    stmt = sa.select(*keys, *cols).select_from(m.table)
    if where is not None:
        stmt = stmt.where(tr.where(where))
    if keys:  # by position: a bucket's bound parameters need not match a second copy
        stmt = stmt.group_by(*(sa.literal_column(str(i + 1)) for i in range(len(keys))))
    return stmt


def _group_value(value: Any, key: object) -> Any:
    if isinstance(key, Bucket):
        if isinstance(value, str):
            return _dt.date.fromisoformat(value[:10])
        if isinstance(value, _dt.datetime):
            return value.date()
        return value
    return value


def _sum(row: Any, i: int, kind: str | None, backend: str) -> Any:
    total = row[f"m{i}"]
    if total is None:
        return None
    if kind == "decimal":
        if backend == "sqlite":
            scaled = int(total) * _HALF + int(row[f"m{i}_lo"])
            return Decimal(scaled).scaleb(-DECIMAL_PLACES)
        return total if isinstance(total, Decimal) else Decimal(str(total))
    if kind == "int":
        return int(total)
    return float(total)


def read_aggregate(
    result: sa.CursorResult[Any], plan: AggregatePlan, backend: str
) -> list[dict[str, Any]]:
    """The result rows as the reference returns them."""
    out: list[dict[str, Any]] = []
    for raw in result.mappings():
        row: dict[str, Any] = {}
        for i, (label, key, _kind) in enumerate(plan.groups):
            row[label] = _group_value(raw[f"g{i}"], key)
        for i, (label, meas, kind) in enumerate(plan.measures):
            fn = meas.fn
            if fn in ("count", "count_distinct"):
                row[label] = int(raw[f"m{i}"])
            elif fn in ("min", "max"):
                value = raw[f"m{i}"]
                row[label] = value.value if hasattr(value, "value") and kind == "enum" else value
            elif fn == "sum":
                row[label] = _sum(raw, i, kind, backend)
            else:
                row[label] = finish_avg(_sum(raw, i, kind, backend), int(raw[f"m{i}_n"]), kind)
        out.append(row)
    return sort_rows(out, plan)
