"""The :mod:`crmcore.query` language as SQL expressions, with the same answers as memory.

Every value travels as a bound parameter (LIKE patterns are escaped), so no
SQL is ever built from user text and SQLAlchemy's statement cache hits.

Two-valued logic: SQL's NULL would make ``NOT (x = 1)`` miss rows where ``x``
is NULL, but ``not_`` must be the exact complement. A filter is therefore
translated with a ``strict`` flag: under a NOT every leaf yields only TRUE or
FALSE (``x IS NOT NULL AND x = 1``), elsewhere the shorter, index-friendly
form is used (in a WHERE clause, NULL filters a row out just like FALSE).

Ordering: each sort term becomes one or more *atoms* (an expression, whether
it can be NULL, and how to turn a cursor value into the atom's value). A
``custom.<name>`` term sorts by (kind rank, number, text) so mixed kinds order
like the reference; keyset pages compare atoms with an expanded
OR-of-ANDs that handles NULLs and mixed directions.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.sql import visitors

from crmcore.errors import QueryError
from crmcore.model import COLLECTIONS
from crmcore.query import Filter, Sort, bind
from crmcore.query.adapter import (
    And,
    Compare,
    Const,
    Contains,
    Has,
    In,
    IsNull,
    Not,
    Or,
    Related,
    StartsWith,
)
from crmcore.storage.sql._dialect import Backend
from crmcore.storage.sql._schema import (
    CHILD_KEY,
    ColumnTerm,
    EntityMapper,
    JsonPathTerm,
    Term,
    ValueTerm,
    WholeTerm,
    mapper,
)

__all__ = ["Atom", "Translator"]

_TRUE: sa.ColumnElement[bool] = sa.true()
_FALSE: sa.ColumnElement[bool] = sa.false()
_ORDER_OPS: dict[str, Callable[[Any, Any], sa.ColumnElement[bool]]] = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "eq": lambda a, b: a == b,
}


def _kind(value: object) -> str | None:
    """The JSON kind a filter value can match (as ``query._kind``), or None for none."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "str"
    return None


def _fits(py: type, value: object) -> bool:
    """Whether the reference would ever find ``value`` equal to a stored ``py`` value."""
    if py is _dt.date:
        return not isinstance(value, _dt.datetime)
    return True


@attrs.frozen
class Atom:
    """One ORDER BY expression of a sort term."""

    expr: sa.ColumnElement[Any]
    nullable: bool
    descending: bool
    value: Callable[[object], object]
    param: Callable[[object], sa.ColumnElement[Any]] | None = None

    def bind(self, value: object) -> Any:
        return value if self.param is None else self.param(value)


class Translator:
    """Filters, orderings and keyset conditions of one entity type on one backend."""

    def __init__(self, mapper: EntityMapper, backend: Backend) -> None:
        self.m = mapper
        self.b = backend
        self.table = mapper.table

    # -- filters

    def bind(self, where: Filter | None) -> Filter | None:
        """The filter checked and coerced against the entity type (QueryError if wrong)."""
        return None if where is None else bind(where, self.m.cls)

    def where(self, bound: Filter) -> sa.ColumnElement[bool]:
        """The SQL condition of a bound filter."""
        return self._tr(bound, strict=False)

    def _tr(self, f: Filter, strict: bool) -> sa.ColumnElement[bool]:
        if isinstance(f, Const):
            return _TRUE if f.value else _FALSE
        if isinstance(f, And):
            return sa.and_(*(self._tr(i, strict) for i in f.items))
        if isinstance(f, Or):
            return sa.or_(*(self._tr(i, strict) for i in f.items))
        if isinstance(f, Not):
            return sa.not_(self._tr(f.item, True))
        if isinstance(f, Related):
            return self._related(f)
        term = self.m.term(f.field)  # type: ignore[attr-defined]
        if isinstance(term, ColumnTerm):
            return self._column_leaf(term, f, strict)
        if isinstance(term, JsonPathTerm):
            return self._json_leaf(term, f)
        if isinstance(term, ValueTerm):
            return self._value_leaf(term, f)
        if isinstance(term, WholeTerm):
            return self._whole_leaf(term, f)
        return self._null_leaf(f)

    def _related(self, f: Related) -> sa.ColumnElement[bool]:
        """EXISTS / NOT EXISTS / a counted subquery over an alias of the related table."""
        other = Translator(mapper(COLLECTIONS[f.collection]), self.b)
        local, key = self.m.term(f.field), other.m.term(f.key)
        if not isinstance(local, ColumnTerm) or not isinstance(key, ColumnTerm):
            raise QueryError(
                "related needs a plain column on both sides", field=f.key, entity=self.m.name
            )
        base = other.table
        alias = base.alias()

        def to_alias(el: Any, **kw: Any) -> Any:
            # only columns of the base table itself: a nested alias of it stays as it is
            if isinstance(el, sa.Column) and el.table is base:
                return alias.c[el.name]
            return None

        opts: dict[str, Any] = {}
        inner: sa.ColumnElement[bool] = visitors.replacement_traverse(  # type: ignore[call-overload]
            other.where(f.where), opts, to_alias
        )
        link = sa.and_(
            alias.c[key.column.name] == local.column,
            alias.c.tenant_id == self.table.c.tenant_id,
        )
        if f.op == "ge" and f.n == 1:
            return sa.exists().where(link, inner)
        if f.op == "eq" and f.n == 0:
            return ~sa.exists().where(link, inner)
        counted = sa.select(sa.func.count()).select_from(alias).where(link, inner).scalar_subquery()
        if f.op == "ne":
            return counted != f.n
        return _ORDER_OPS[f.op](counted, f.n)

    def _column_leaf(self, t: ColumnTerm, f: Filter, strict: bool) -> sa.ColumnElement[bool]:
        c = t.column

        def guard(expr: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
            return sa.and_(c.is_not(None), expr) if strict and t.nullable else expr

        if isinstance(f, IsNull):
            return c.is_(None) if t.nullable else _FALSE
        if isinstance(f, Compare):
            if not _fits(t.py, f.value):
                return _TRUE if f.op == "ne" else _FALSE
            if f.op == "ne":
                return sa.or_(c.is_(None), c != f.value) if t.nullable else c != f.value
            return guard(_ORDER_OPS[f.op](c, f.value))
        if isinstance(f, In):
            values = [v for v in f.values if v is not None and _fits(t.py, v)]
            cond = guard(self.b.in_(c, values)) if values else _FALSE
            if None in f.values and t.nullable:
                return sa.or_(c.is_(None), self.b.in_(c, values)) if values else c.is_(None)
            return cond
        if isinstance(f, (Contains, StartsWith)):
            if not issubclass(t.py, str):
                return _FALSE
            return guard(self._match(c, f))
        if isinstance(f, Has):
            return _FALSE
        raise QueryError(f"not a filter: {f!r}")

    def _match(
        self, expr: sa.ColumnElement[Any], f: Contains | StartsWith
    ) -> sa.ColumnElement[bool]:
        needle = f.value
        if f.ignore_case:
            expr = self.b.lower(expr)
            needle = needle.lower()
        if isinstance(f, StartsWith):
            return self.b.startswith(expr, needle)
        return self.b.contains(expr, needle)

    def _json_eq(self, t: JsonPathTerm, value: object, op: str = "eq") -> sa.ColumnElement[bool]:
        kind = _kind(value)
        if kind is None:
            return _FALSE
        b, col, keys = self.b, t.column, t.keys
        cmp = _ORDER_OPS[op]
        if kind == "str":
            test = cmp(b.json_text(col, keys), sa.literal(value, sa.String()))
            return sa.case((b.json_kind_is(col, keys, frozenset({"str"})), test), else_=_FALSE)
        if kind == "bool":
            test = cmp(b.json_bool_int(col, keys), sa.literal(int(value), sa.Integer()))  # type: ignore[call-overload]
            return sa.case((b.json_kind_is(col, keys, frozenset({"bool"})), test), else_=_FALSE)
        test = cmp(b.json_number(col, keys), b.number_param(value))
        return sa.case((b.json_kind_is(col, keys, frozenset({"number"})), test), else_=_FALSE)

    def _json_leaf(self, t: JsonPathTerm, f: Filter) -> sa.ColumnElement[bool]:
        b, col, keys = self.b, t.column, t.keys
        if isinstance(f, IsNull):
            return b.json_is_null(col, keys)
        if isinstance(f, Compare):
            if f.op == "eq":
                return self._json_eq(t, f.value)
            if f.op == "ne":
                return sa.not_(self._json_eq(t, f.value))
            kind = _kind(f.value)
            if t.loose or kind == "str" or kind is None:
                return self._json_eq(t, f.value, f.op)
            # outside custom.*, Python orders bools and numbers together (True == 1)
            cmp = _ORDER_OPS[f.op]
            target = b.number_param(int(f.value) if isinstance(f.value, bool) else f.value)
            return sa.case(
                (
                    b.json_kind_is(col, keys, frozenset({"number"})),
                    cmp(b.json_number(col, keys), target),
                ),
                (
                    b.json_kind_is(col, keys, frozenset({"bool"})),
                    cmp(b.json_bool_int(col, keys), target),
                ),
                else_=_FALSE,
            )
        if isinstance(f, In):
            # text and booleans: one IN per kind (any number of values); numbers one by one,
            # each compared at its own exactness
            texts = [v for v in f.values if _kind(v) == "str"]
            flags = sorted({int(v) for v in f.values if _kind(v) == "bool"})
            parts = [self._json_eq(t, v) for v in f.values if _kind(v) == "number"]
            if texts:
                test = b.in_(b.json_text(col, keys), texts)
                kind_ok = b.json_kind_is(col, keys, frozenset({"str"}))
                parts.append(sa.case((kind_ok, test), else_=_FALSE))
            if flags:
                test = b.in_(b.json_bool_int(col, keys), flags)
                kind_ok = b.json_kind_is(col, keys, frozenset({"bool"}))
                parts.append(sa.case((kind_ok, test), else_=_FALSE))
            if None in f.values:
                parts.append(b.json_is_null(col, keys))
            return sa.or_(*parts) if parts else _FALSE
        if isinstance(f, (Contains, StartsWith)):
            return sa.case(
                (
                    b.json_kind_is(col, keys, frozenset({"str"})),
                    self._match(b.json_text(col, keys), f),
                ),
                else_=_FALSE,
            )
        if isinstance(f, Has):
            return b.json_has(col, keys, f.value)
        raise QueryError(f"not a filter: {f!r}")

    def _value_leaf(self, t: ValueTerm, f: Filter) -> sa.ColumnElement[bool]:
        if isinstance(f, Compare):
            return _TRUE if f.op == "ne" else _FALSE
        if not isinstance(f, Has):
            return _FALSE  # never missing, never equal, never text
        value = f.value
        if t.kind == "set" and t.child is not None and t.child_column is not None:
            # uncorrelated, so every planner can start from the value's index (a blind-index
            # token or a rare tag finds its few records without scanning the tenant)
            child = t.child
            members = sa.select(child.c[CHILD_KEY]).where(child.c[t.child_column] == value)
            return self.table.c.id.in_(members)
        if t.kind in ("list", "map") and t.column is not None:
            if isinstance(value, uuid.UUID):
                value = str(value)
            if t.kind == "map" and not isinstance(value, str):
                return _FALSE
            return self.b.json_has(t.column, (), value)
        return _FALSE

    def _whole_leaf(self, t: WholeTerm, f: Filter) -> sa.ColumnElement[bool]:
        if isinstance(f, IsNull):
            return t.marker.is_(None) if t.nullable else _FALSE
        if isinstance(f, In) and all(v is None for v in f.values):
            return t.marker.is_(None) if t.nullable else _FALSE
        raise QueryError(
            "a value object can only be tested for null; filter on one of its parts",
            field=getattr(f, "field", None),
            entity=self.m.name,
        )

    def _null_leaf(self, f: Filter) -> sa.ColumnElement[bool]:
        if isinstance(f, IsNull):
            return _TRUE
        if isinstance(f, Compare):
            return _TRUE if f.op == "ne" else _FALSE
        if isinstance(f, In):
            return _TRUE if None in f.values else _FALSE
        return _FALSE

    # -- ordering

    def atoms(self, order: Sequence[Sort]) -> list[Atom]:
        """The ORDER BY atoms of a normalised ordering."""
        out: list[Atom] = []
        for term in order:
            out += self._term_atoms(self.m.term(term.field), term)
        return out

    def _term_atoms(self, t: Term, s: Sort) -> list[Atom]:
        desc = s.descending
        if isinstance(t, ColumnTerm):
            return [Atom(t.column, t.nullable, desc, _identity)]
        if isinstance(t, WholeTerm):
            return [Atom(t.first, t.nullable, desc, _no_cursor(s.field))]
        if isinstance(t, JsonPathTerm):
            b, col, keys = self.b, t.column, t.keys
            kind = b.json_kind_is
            rank = sa.case(
                (kind(col, keys, frozenset({"object"})), 0),
                (kind(col, keys, frozenset({"array"})), 1),
                (kind(col, keys, frozenset({"number", "bool"})), 2),
                (kind(col, keys, frozenset({"str"})), 3),
                else_=sa.null(),
            )
            number = sa.case(
                (kind(col, keys, frozenset({"number"})), b.json_number(col, keys)),
                (kind(col, keys, frozenset({"bool"})), b.json_bool_int(col, keys)),
                else_=sa.null(),
            )
            text = sa.case(
                (kind(col, keys, frozenset({"str"})), b.json_text(col, keys)), else_=sa.null()
            )
            return [
                Atom(rank, True, desc, _json_rank, lambda v: sa.literal(v, sa.Integer())),
                Atom(number, True, desc, _json_number, b.number_param),
                Atom(text, True, desc, _json_text, lambda v: sa.literal(v, sa.String())),
            ]
        return []  # a collection or a path that is always missing: every row ties

    def order_by(self, atoms: Sequence[Atom]) -> list[sa.ColumnElement[Any]]:
        """ORDER BY clauses with NULLs first ascending, last descending."""
        return [self.b.order(a.expr, a.descending, a.nullable) for a in atoms]

    def cursor_values(self, order: Sequence[Sort], values: Sequence[object]) -> list[object]:
        """Cursor values checked and coerced to the sort fields' types."""
        out: list[object] = []
        for term, value in zip(order, values, strict=True):
            if value is not None and not term.field.startswith("custom."):
                bound = bind(Compare(term.field, "eq", value), self.m.cls)
                value = bound.value if isinstance(bound, Compare) else value
            out.append(value)
        return out

    def after(self, order: Sequence[Sort], values: Sequence[object]) -> sa.ColumnElement[bool]:
        """Rows strictly after the (coerced) cursor ``values`` in the ordering."""
        flat: list[tuple[Atom, object]] = []
        for term, value in zip(order, values, strict=True):
            for atom in self._term_atoms(self.m.term(term.field), term):
                flat.append((atom, None if value is None else atom.value(value)))
        ors: list[sa.ColumnElement[bool]] = []
        prefix: list[sa.ColumnElement[bool]] = []
        for atom, value in flat:
            step = _strictly_after(atom, value)
            if step is not _FALSE:
                ors.append(sa.and_(*prefix, step) if prefix else step)
            prefix.append(atom.expr.is_(None) if value is None else atom.expr == atom.bind(value))
        return sa.or_(*ors) if ors else _FALSE


def _strictly_after(atom: Atom, value: object) -> sa.ColumnElement[bool]:
    expr = atom.expr
    if atom.descending:
        if value is None:
            return _FALSE
        before = expr < atom.bind(value)
        return sa.or_(before, expr.is_(None)) if atom.nullable else before
    if value is None:
        return expr.is_not(None) if atom.nullable else _TRUE
    after: sa.ColumnElement[bool] = expr > atom.bind(value)
    return after


def _identity(value: object) -> object:
    return value


def _no_cursor(field: str) -> Callable[[object], object]:
    def convert(value: object) -> object:
        raise QueryError(
            "cannot page by a whole value object; order by one of its parts", field=field
        )

    return convert


def _json_rank(value: object) -> object:
    if isinstance(value, (bool, int, float, Decimal)):
        return 2
    if isinstance(value, str):
        return 3
    raise QueryError(f"cursor value of type {type(value).__name__} cannot be paged")


def _json_number(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, Decimal)):
        return value
    return None


def _json_text(value: object) -> object:
    return value if isinstance(value, str) else None
