"""``GROUP BY`` statements for :meth:`Repository.aggregate`, the same answers on every backend.

Each group key is a column (or a period bucket of one) and each measure an
aggregate function. The rows are read by column: the driver's values come
back untyped, each column goes through its own type's result processor in
one pass, and the columns are normalised to what
:func:`crmcore.storage.aggregate.aggregate_records` returns (enum values as
text, buckets as ``date``, exact Decimal sums), sorted by the group keys
(skipped when the engine already returned them in order).

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
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from itertools import pairwise
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from crmcore.errors import QueryError
from crmcore.query import Filter
from crmcore.storage.aggregate import AggregatePlan, Bucket, finish_avg
from crmcore.storage.sql._schema import ColumnTerm, EntityMapper
from crmcore.storage.sql._translate import Translator
from crmcore.storage.sql._types import DECIMAL_PLACES

__all__ = ["aggregate_statement", "read_aggregate", "read_columns", "rows_of"]

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
    """The ``SELECT ... GROUP BY`` of a checked plan over a bound filter.

    Its columns are ``g0, g1...`` (the group keys), ``m0, m1...`` (the
    measures) and the ``m{i}_lo``/``m{i}_n`` parts of sums and averages.
    """
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


# --------------------------------------------------------------------------- reading, by column

Column = list[Any]
_NO_TYPE = sa.types.NullType()


def _untyped(stmt: sa.Select[Any]) -> tuple[sa.Select[Any], list[Any]]:
    """The statement with its columns' result processing left out, and their types.

    The rows then come back as the driver's values (SQLAlchemy builds each
    row in C), and each column is converted in one pass with its own
    type's processor instead of one Python call chain per value per row.
    """
    plain = [sa.type_coerce(c, _NO_TYPE).label(c.name) for c in stmt.selected_columns]
    bare = cast("sa.Select[Any]", stmt.with_only_columns(*plain, maintain_column_froms=True))
    return bare, [c.type for c in stmt.selected_columns]


def _converted(values: tuple[Any, ...], tp: Any, dialect: Any, coltype: Any) -> Column:
    proc = tp.dialect_impl(dialect).result_processor(dialect, coltype)
    return list(values) if proc is None else list(map(proc, values))


def _bucket_column(values: Column) -> Column:
    out: Column = []
    for value in values:
        if isinstance(value, str):
            value = _dt.date.fromisoformat(value[:10])
        elif isinstance(value, _dt.datetime):
            value = value.date()
        out.append(value)
    return out


def _sum_column(total: Column, low: Column | None, kind: str | None, backend: str) -> Column:
    if kind == "decimal":
        if backend == "sqlite" and low is not None:
            places = -DECIMAL_PLACES
            return [
                None if t is None else Decimal(int(t) * _HALF + int(lo)).scaleb(places)
                for t, lo in zip(total, low, strict=True)
            ]
        return [
            None if t is None else t if isinstance(t, Decimal) else Decimal(str(t)) for t in total
        ]
    if kind == "int":
        return [None if t is None else int(t) for t in total]
    return [None if t is None else float(t) for t in total]


def _sort_key(values: Column, kind: str) -> Column:
    """A key column ordering like the reference's values, cheaper to compare."""
    if kind == "uuid":
        return [None if v is None else v.int for v in values]
    return values


def _order(keys: list[Column]) -> list[int] | None:
    """The permutation that sorts rows by ``keys`` (missing first); None when already sorted."""
    n = len(keys[0])
    if len(keys) == 1:
        only = keys[0]
        if None not in only:
            if all(a <= b for a, b in pairwise(only)):
                return None
            return sorted(range(n), key=only.__getitem__)
    wrapped = [[(False,) if v is None else (True, v) for v in column] for column in keys]
    rows = list(zip(*wrapped, strict=True))
    if all(a <= b for a, b in pairwise(rows)):
        return None
    return sorted(range(n), key=rows.__getitem__)


def read_columns(
    conn: sa.Connection, stmt: sa.Select[Any], plan: AggregatePlan, backend: str
) -> dict[str, Column]:
    """Run an :func:`aggregate_statement`; one list per output name, rows in group-key order.

    The values are those of :func:`crmcore.storage.aggregate.aggregate_records`.
    """
    plain, types = _untyped(stmt)
    names = [c.name for c in stmt.selected_columns]
    result = conn.execute(plain)
    coltypes = [d[1] for d in result.cursor.description]  # as SQLAlchemy's own processing asks
    rows = result.all()
    raw: dict[str, Column] = {}
    if rows:
        columns = zip(names, types, coltypes, zip(*rows, strict=True), strict=True)
        for name, tp, coltype, values in columns:
            raw[name] = _converted(values, tp, conn.dialect, coltype)
    else:
        raw = {name: [] for name in names}
    out: dict[str, Column] = {}
    keys: list[Column] = []
    for i, (label, key, kind) in enumerate(plan.groups):
        column = raw[f"g{i}"]
        if isinstance(key, Bucket):
            column = _bucket_column(column)
        out[label] = column
        keys.append(_sort_key(column, kind))
    for i, (label, meas, mkind) in enumerate(plan.measures):
        fn = meas.fn
        column = raw[f"m{i}"]
        if fn in ("count", "count_distinct"):
            out[label] = [int(v) for v in column]
        elif fn in ("min", "max"):
            if mkind == "enum":
                column = [v.value if hasattr(v, "value") else v for v in column]
            out[label] = column
        else:
            total = _sum_column(column, raw.get(f"m{i}_lo"), mkind, backend)
            if fn == "sum":
                out[label] = total
            else:
                counts = raw[f"m{i}_n"]
                out[label] = [
                    finish_avg(t, int(c), mkind) for t, c in zip(total, counts, strict=True)
                ]
    if keys and rows:
        order = _order(keys)
        if order is not None:
            out = {label: [column[j] for j in order] for label, column in out.items()}
    return out


def rows_of(columns: dict[str, Column]) -> list[dict[str, Any]]:
    """Columns of equal length as one dict per row."""
    labels = list(columns)
    if not labels:
        return []
    rows = zip(*columns.values(), strict=True)
    return [dict(zip(labels, values, strict=True)) for values in rows]


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Build many small containers without the collector re-walking them all as they grow.

    A million group rows are millions of new tuples and dicts, none of them
    in a cycle; each collection of the oldest generation would walk them all.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read_aggregate(
    conn: sa.Connection, stmt: sa.Select[Any], plan: AggregatePlan, backend: str
) -> list[dict[str, Any]]:
    """Run an :func:`aggregate_statement`; the rows as the reference returns them."""
    with _no_gc_pauses():
        return rows_of(read_columns(conn, stmt, plan, backend))
