"""Tables generated from the attrs model, and the precompiled row <-> entity mappers.

One set of rules maps every aggregate in :data:`crmcore.model.COLLECTIONS` to
SQLAlchemy Core tables, so a new entity field needs no hand-written SQL:

- a scalar field is a column (``str`` as indexed ``VARCHAR(n)`` when the field
  is in ``__crm_indexes__``, else unbounded text; enums as their value text;
  ``float`` as double; aware ``datetime`` as UTC; ``UUID`` native or hex);
- a value object (``Money``) is flattened into ``<field>_<sub>`` columns;
- a tuple of value objects (addresses, e-mails, phones, order lines) is a child
  table ``<collection>_<field>`` keyed by (``record_id``, ``position``);
- a frozenset (tags, skills) is a child table ``<collection>_<field>`` keyed by
  (``record_id``, value) and indexed on the value;
- a mapping (``custom``, ``data``...) or a tuple of scalars (``participants``)
  is a JSON column.

For each entity a mapper is compiled once (generated Python source, no cattrs
on the hot path): ``dump_many`` turns entities into parent and child row dicts,
``build`` turns a row plus its children back into an entity without running
attrs converters (the data was validated when written).
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Union

import attrs
import sqlalchemy as sa

from crmcore.errors import QueryError, ValidationError
from crmcore.model import COLLECTIONS, Entity
from crmcore.storage.sql._types import (
    DecimalType,
    JsonType,
    LongText,
    Str,
    UtcDateTime,
    UuidType,
    encode_sortable_decimal,
)

__all__ = [
    "CHILD_KEY",
    "ChildField",
    "ColumnTerm",
    "EntityMapper",
    "FlatField",
    "JsonField",
    "JsonPathTerm",
    "NullTerm",
    "ScalarField",
    "SetField",
    "Term",
    "ValueTerm",
    "WholeTerm",
    "mapper",
    "metadata",
]

#: the foreign-key column of every child table
CHILD_KEY = "record_id"
#: VARCHAR lengths of indexed text columns (MariaDB indexes at most 3072 bytes = 768
#: utf8mb4 characters per index; tenant_id + the field stay well below that)
DEFAULT_LENGTH = 255
LENGTHS = {"tenant_id": 128, "email": 320}
ENUM_LENGTH = 32
MYSQL_TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_nopad_bin",
}
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
_SCALARS = (str, int, float, bool, Decimal, _dt.date, _dt.datetime, uuid.UUID)


# --------------------------------------------------------------------------- type analysis


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(typing.get_args(tp))
    return tp, False


def _is_scalar(tp: Any) -> bool:
    return isinstance(tp, type) and (issubclass(tp, _SCALARS) or issubclass(tp, enum.Enum))


def _is_mapping(tp: Any) -> bool:
    origin = typing.get_origin(tp) or tp
    return isinstance(origin, type) and issubclass(origin, (Mapping, dict))


def _is_vo(tp: Any) -> bool:
    return isinstance(tp, type) and attrs.has(tp)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The resolved type of every attrs field of ``cls``, in field order."""
    found = _HINTS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _HINTS[cls] = {a.name: hints[a.name] for a in attrs.fields(cls)}
    return found


def _sql_type(tp: type, *, bounded: int | None) -> sa.types.TypeEngine[Any]:
    if issubclass(tp, enum.Enum):
        longest = max((len(str(m.value)) for m in tp), default=0)
        return Str(max(ENUM_LENGTH, longest))
    if tp is bool:
        return sa.Boolean()
    if issubclass(tp, str):
        return Str(bounded) if bounded else LongText()
    if tp is int:
        return sa.BigInteger()
    if tp is float:
        return sa.Double()
    if tp is Decimal:
        return DecimalType()
    if tp is _dt.datetime:
        return UtcDateTime()
    if tp is _dt.date:
        return sa.Date()
    if tp is uuid.UUID:
        return UuidType()
    raise TypeError(f"no SQL type for {tp!r}")


# --------------------------------------------------------------------------- layout


@attrs.frozen
class Leaf:
    """One column of a flattened value: where it lives on the object and how to store it."""

    column: str
    path: tuple[str, ...]
    py: type
    nullable: bool
    length: int | None


@attrs.frozen
class ScalarField:
    """A field stored in one column of the parent table."""

    name: str
    leaf: Leaf


@attrs.frozen
class FlatField:
    """A value object flattened into ``<field>_<sub>`` columns of the parent table."""

    name: str
    cls: type
    optional: bool
    leaves: tuple[Leaf, ...]
    marker: str  # a column that is NULL exactly when the value is None


@attrs.frozen
class ChildField:
    """A tuple of value objects in a child table keyed by (record_id, position)."""

    name: str
    cls: type
    table: str
    leaves: tuple[Leaf, ...]


@attrs.frozen
class SetField:
    """A frozenset of scalars in a child table keyed by (record_id, value)."""

    name: str
    table: str
    column: str
    py: type
    length: int | None


@attrs.frozen
class JsonField:
    """A mapping (``"map"``) or a tuple of scalars (``"list"``) in a JSON column."""

    name: str
    kind: str
    py: type | None  # element type of a list


Field = ScalarField | FlatField | ChildField | SetField | JsonField


def _flatten(
    cls: type, prefix: str, path: tuple[str, ...], optional: bool, indexed: bool
) -> list[Leaf]:
    leaves: list[Leaf] = []
    for name, hint in _hints(cls).items():
        tp, opt = _unwrap_optional(hint)
        column = f"{prefix}_{name}" if prefix else name
        if _is_vo(tp):
            leaves += _flatten(tp, column, (*path, name), optional or opt, indexed=False)
        elif _is_scalar(tp):
            length = None
            if issubclass(tp, str) and not issubclass(tp, enum.Enum) and name == "currency":
                length = 3
            elif indexed and issubclass(tp, str):
                length = LENGTHS.get(name, DEFAULT_LENGTH)
            leaves.append(Leaf(column, (*path, name), tp, optional or opt, length))
        else:
            raise TypeError(f"cannot store {cls.__name__}.{name}: {hint!r}")
    return leaves


def _layout(cls: type[Entity], collection: str) -> tuple[Field, ...]:
    indexed = {"tenant_id", "id", *cls.__crm_indexes__}
    fields: list[Field] = []
    for name, hint in _hints(cls).items():
        tp, optional = _unwrap_optional(hint)
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if _is_scalar(tp):
            length = None
            if issubclass(tp, str) and not issubclass(tp, enum.Enum) and name in indexed:
                length = LENGTHS.get(name, DEFAULT_LENGTH)
            fields.append(ScalarField(name, Leaf(name, (name,), tp, optional, length)))
        elif _is_vo(tp):
            leaves = _flatten(tp, name, (), optional, indexed=False)
            # the first part the value object itself requires is NULL only when it is None
            required = [
                lf for lf in _flatten(tp, name, (), False, indexed=False) if not lf.nullable
            ]
            if optional and not required:
                raise TypeError(f"{cls.__name__}.{name}: an optional value needs a required part")
            marker = (required or leaves)[0].column
            fields.append(FlatField(name, tp, optional, tuple(leaves), marker))
        elif origin is tuple and args and _is_vo(args[0]):
            leaves = _flatten(args[0], "", (), False, indexed=False)
            fields.append(ChildField(name, args[0], f"{collection}_{name}", tuple(leaves)))
        elif origin is frozenset and args and _is_scalar(args[0]):
            column = name[:-1] if name.endswith("s") and len(name) > 1 else "value"
            elem = args[0]
            length = LENGTHS.get(name, DEFAULT_LENGTH) if issubclass(elem, str) else None
            fields.append(SetField(name, f"{collection}_{name}", column, elem, length))
        elif origin is tuple and args and _is_scalar(args[0]):
            fields.append(JsonField(name, "list", args[0]))
        elif _is_mapping(tp):
            fields.append(JsonField(name, "map", None))
        else:
            raise TypeError(f"cannot store {cls.__name__}.{name}: {hint!r}")
    return tuple(fields)


# --------------------------------------------------------------------------- tables


def _column(leaf: Leaf, *, primary_key: bool = False) -> sa.Column[Any]:
    return sa.Column(
        leaf.column,
        _sql_type(leaf.py, bounded=leaf.length),
        primary_key=primary_key,
        nullable=leaf.nullable and not primary_key,
        autoincrement=False,
    )


def _tables(
    md: sa.MetaData, cls: type[Entity], collection: str, fields: tuple[Field, ...]
) -> tuple[sa.Table, dict[str, sa.Table]]:
    columns: list[sa.Column[Any]] = []
    children: dict[str, sa.Table] = {}
    for f in fields:
        if isinstance(f, ScalarField):
            columns.append(_column(f.leaf, primary_key=f.name == "id"))
        elif isinstance(f, FlatField):
            columns += [_column(lf) for lf in f.leaves]
        elif isinstance(f, JsonField):
            columns.append(sa.Column(f.name, JsonType(), nullable=False))
    table = sa.Table(collection, md, *columns, **MYSQL_TABLE_OPTIONS)
    sa.Index(None, table.c.tenant_id, table.c.id)
    for name in cls.__crm_indexes__:
        target = next((x for x in fields if x.name == name), None)
        if isinstance(target, ScalarField):
            sa.Index(None, table.c.tenant_id, table.c[target.leaf.column])
        elif isinstance(target, FlatField):
            sa.Index(None, table.c.tenant_id, table.c[target.leaves[0].column])
    for f in fields:
        if isinstance(f, ChildField):
            child = sa.Table(
                f.table,
                md,
                sa.Column(
                    CHILD_KEY,
                    UuidType(),
                    sa.ForeignKey(table.c.id, ondelete="CASCADE"),
                    primary_key=True,
                ),
                sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False),
                *[_column(lf) for lf in f.leaves],
                **MYSQL_TABLE_OPTIONS,
            )
            children[f.name] = child
        elif isinstance(f, SetField):
            child = sa.Table(
                f.table,
                md,
                sa.Column(
                    CHILD_KEY,
                    UuidType(),
                    sa.ForeignKey(table.c.id, ondelete="CASCADE"),
                    primary_key=True,
                ),
                sa.Column(
                    f.column,
                    _sql_type(f.py, bounded=f.length),
                    primary_key=True,
                    autoincrement=False,
                ),
                **MYSQL_TABLE_OPTIONS,
            )
            sa.Index(None, child.c[f.column])
            children[f.name] = child
    return table, children


# --------------------------------------------------------------------------- query terms


@attrs.frozen
class ColumnTerm:
    """A field stored in one column."""

    column: sa.ColumnElement[Any]
    py: type
    nullable: bool


@attrs.frozen
class WholeTerm:
    """A whole flattened value object (``amount``): only null tests and ordering apply."""

    marker: sa.ColumnElement[Any]
    first: sa.ColumnElement[Any]
    nullable: bool


@attrs.frozen
class ValueTerm:
    """A collection or mapping field: never missing, never equal to a scalar.

    ``kind`` says how ``has`` works: ``"set"`` (EXISTS on the child table),
    ``"list"`` (a JSON array element), ``"map"`` (a JSON object key) or
    ``"rows"`` (value objects: never holds a scalar).
    """

    kind: str
    column: sa.ColumnElement[Any] | None = None
    child: sa.Table | None = None
    child_column: str | None = None
    py: type | None = None


@attrs.frozen
class JsonPathTerm:
    """A path into a JSON mapping (``custom.tier``); ``loose`` for ``custom.*`` kind rules."""

    column: sa.ColumnElement[Any]
    keys: tuple[str, ...]
    loose: bool


@attrs.frozen
class NullTerm:
    """A path the model cannot reach (a field of a tuple element): always missing."""


Term = ColumnTerm | WholeTerm | ValueTerm | JsonPathTerm | NullTerm


# --------------------------------------------------------------------------- code generation


def _required(entity: str, field: str) -> None:
    raise ValidationError.single(f"$.{field}", "required", "a value is required", entity=entity)


def _bad_text(entity: str, field: str, value: object, length: int, nullable: bool) -> None:
    if value is None:
        if nullable:
            return
        _required(entity, field)
    if not isinstance(value, str):
        raise ValidationError.single(
            f"$.{field}",
            "invalid_type",
            f"expected text, got {type(value).__name__}",
            entity=entity,
        )
    if len(value) > length:
        raise ValidationError.single(
            f"$.{field}",
            "too_long",
            f"at most {length} characters can be stored",
            entity=entity,
        )


def _check_decimal(entity: str, field: str, value: object) -> None:
    if isinstance(value, Decimal):
        exp = value.as_tuple().exponent
        if isinstance(exp, int) and exp >= -6 and value.adjusted() < 14:
            return
        try:
            encode_sortable_decimal(value)
            return
        except (ValueError, ArithmeticError) as exc:
            reason = str(exc)
    else:
        reason = f"expected a decimal, got {type(value).__name__}"
    raise ValidationError.single(f"$.{field}", "out_of_range", reason, entity=entity)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _setattr(obj: object, value: object, *, name: str) -> None:
    object.__setattr__(obj, name, value)


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


class _Gen:
    """A tiny source builder with a namespace of constants."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {
            "_new": object.__new__,
            "_set": object.__setattr__,
            "_required": _required,
            "_bad_text": _bad_text,
            "_check_decimal": _check_decimal,
            "_plain": _plain,
            "_Enum": enum.Enum,
            "_UUID": uuid.UUID,
            "_EMPTY": frozenset(),
        }
        self._n = 0

    def const(self, value: Any, hint: str = "c") -> str:
        for k, v in self.ns.items():
            if v is value:
                return k
        self._n += 1
        name = f"_{hint}{self._n}"
        self.ns[name] = value
        return name

    def setter(self, cls: type, name: str) -> str:
        """A constant holding the fastest way to set ``name`` on a frozen ``cls`` instance."""
        for klass in cls.__mro__:
            slot = klass.__dict__.get(name)
            if slot is not None and type(slot).__name__ == "member_descriptor":
                return self.const(slot.__set__, "S")
        return self.const(functools.partial(_setattr, name=name), "S")

    def var(self, hint: str = "v") -> str:
        self._n += 1
        return f"{hint}{self._n}"

    def emit(self, line: str, indent: int = 1) -> None:
        self.lines.append("    " * indent + line)

    def compile(self, name: str, header: str) -> Callable[..., Any]:
        src = "\n".join([header, *self.lines])
        code = compile(src, f"<crmcore.sql mapper {name}>", "exec")
        exec(code, self.ns)
        return typing.cast(Callable[..., Any], self.ns[name])


def _dump_leaf(g: _Gen, leaf: Leaf, expr: str, entity: str, label: str, indent: int) -> str:
    """Emit checks for one leaf value held in ``expr``; return the stored expression."""
    if issubclass(leaf.py, enum.Enum):
        return f"({expr} if {expr} is None or {expr}.__class__ is str else {expr}.value)"
    if leaf.length is not None:
        bad = f"{expr}.__class__ is not str or len({expr}) > {leaf.length}"
        test = f"{expr} is not None and ({bad})" if leaf.nullable else f"{expr} is None or {bad}"
        args = f"{entity!r}, {label!r}, {expr}, {leaf.length}, {leaf.nullable!r}"
        g.emit(f"if {test}: _bad_text({args})", indent)
    elif not leaf.nullable:
        g.emit(f"if {expr} is None: _required({entity!r}, {label!r})", indent)
    if leaf.py is Decimal:
        g.emit(
            f"if {expr} is not None: _check_decimal({entity!r}, {label!r}, {expr})",
            indent,
        )
    return expr


def _dump_flat(
    g: _Gen, leaves: tuple[Leaf, ...], obj: str, entity: str, label: str, indent: int
) -> list[tuple[str, str]]:
    """Emit code reading each leaf off ``obj`` (a value object); return (column, expr)."""
    out: list[tuple[str, str]] = []
    for leaf in leaves:
        cur = obj
        for part in leaf.path[:-1]:
            nxt = g.var("o")
            g.emit(f"{nxt} = None if {cur} is None else {cur}.{part}", indent)
            cur = nxt
        v = g.var()
        g.emit(f"{v} = None if {cur} is None else {cur}.{leaf.path[-1]}", indent)
        out.append(
            (leaf.column, _dump_leaf(g, leaf, v, entity, f"{label}.{'.'.join(leaf.path)}", indent))
        )
    return out


def _build_vo(g: _Gen, cls: type, leaves: tuple[Leaf, ...], getter: Callable[[Leaf], str]) -> str:
    """An expression building value object ``cls`` from leaf expressions (no converters)."""
    fn = g.var("mk")
    params = [g.var("a") for _ in leaves]
    body = _Gen()
    body.ns = g.ns
    by_path: dict[tuple[str, ...], str] = {lf.path: p for lf, p in zip(leaves, params, strict=True)}

    def make(c: type, prefix: tuple[str, ...], indent: int) -> str:
        obj = g.var("o")
        body.emit(f"{obj} = _new({g.const(c, 'T')})", indent)
        for name, hint in _hints(c).items():
            tp, _opt = _unwrap_optional(hint)
            path = (*prefix, name)
            put = g.setter(c, name)
            if _is_vo(tp):
                inner = make(tp, path, indent)
                body.emit(f"{put}({obj}, {inner})", indent)
            else:
                val = by_path[path]
                if issubclass(tp, enum.Enum):
                    enum_map = g.const(tp._value2member_map_, "E")
                    val = f"(None if {val} is None else {enum_map}[{val}])"
                body.emit(f"{put}({obj}, {val})", indent)
        return obj

    result = make(cls, (), 1)
    body.emit(f"return {result}", 1)
    src = "\n".join([f"def {fn}({', '.join(params)}):", *body.lines])
    exec(compile(src, f"<crmcore.sql value {cls.__name__}>", "exec"), g.ns)
    return f"{fn}({', '.join(getter(lf) for lf in leaves)})"


class EntityMapper:
    """Tables, row converters and query terms for one entity type (built once, reused)."""

    def __init__(self, cls: type[Entity], collection: str, md: sa.MetaData) -> None:
        self.cls = cls
        self.name = cls.__name__
        self.collection = collection
        self.fields = _layout(cls, collection)
        self.table, self.children = _tables(md, cls, collection, self.fields)
        self.columns: tuple[str, ...] = tuple(c.name for c in self.table.columns)
        self.child_fields: tuple[ChildField | SetField, ...] = tuple(
            f for f in self.fields if isinstance(f, (ChildField, SetField))
        )
        self.child_tables: tuple[sa.Table, ...] = tuple(
            self.children[f.name] for f in self.child_fields
        )
        self._by_name = {f.name: f for f in self.fields}
        self.dump_many: Callable[[Any], tuple[list[dict[str, Any]], tuple[list[Any], ...]]]
        self.build: Callable[[Any, tuple[dict[Any, Any], ...]], Entity]
        self.child_builders: tuple[Callable[[Any], Any], ...]
        self.copy_with_version: Callable[[Entity, int], Entity]
        self._compile()

    # -- code generation

    def _compile(self) -> None:
        self.dump_many = self._gen_dump()
        self.build = self._gen_build()
        self.child_builders = tuple(self._gen_child_build(f) for f in self.child_fields)
        self.copy_with_version = self._gen_copy()

    def _gen_dump(self) -> Any:
        g = _Gen()
        entity = self.name
        nchild = len(self.child_fields)
        g.emit("P = []")
        for i in range(nchild):
            g.emit(f"C{i} = []")
        g.emit("for e in entities:")
        g.emit("rid = e.id", 2)
        items: list[tuple[str, str]] = []
        for f in self.fields:
            if isinstance(f, ScalarField):
                v = g.var()
                g.emit(f"{v} = e.{f.name}", 2)
                items.append((f.leaf.column, _dump_leaf(g, f.leaf, v, entity, f.name, 2)))
            elif isinstance(f, FlatField):
                o = g.var("o")
                g.emit(f"{o} = e.{f.name}", 2)
                if not f.optional:
                    g.emit(f"if {o} is None: _required({entity!r}, {f.name!r})", 2)
                items += _dump_flat(g, f.leaves, o, entity, f.name, 2)
            elif isinstance(f, JsonField):
                v = g.var()
                g.emit(f"{v} = e.{f.name}", 2)
                if f.kind == "map":
                    items.append((f.name, f"({v} if {v}.__class__ is dict else _plain({v}))"))
                elif f.py is not None and issubclass(f.py, uuid.UUID):
                    items.append((f.name, f"[str(x) for x in {v}]"))
                else:
                    items.append((f.name, f"_plain({v})"))
        id_col = "rid"
        g.emit("P.append({" + ", ".join(f"{k!r}: {x}" for k, x in items) + "})", 2)
        for i, f in enumerate(self.child_fields):
            if isinstance(f, SetField):
                leaf = Leaf(f.column, (f.column,), f.py, False, f.length)
                g.emit(f"for t in e.{f.name}:", 2)
                val = _dump_leaf(g, leaf, "t", entity, f"{f.name}[]", 3)
                g.emit(f"C{i}.append({{{CHILD_KEY!r}: {id_col}, {f.column!r}: {val}}})", 3)
            else:
                g.emit(f"for i, x in enumerate(e.{f.name}):", 2)
                pairs = _dump_flat(g, f.leaves, "x", entity, f"{f.name}[]", 3)
                body = ", ".join(f"{k!r}: {x}" for k, x in pairs)
                g.emit(f"C{i}.append({{{CHILD_KEY!r}: {id_col}, 'position': i, {body}}})", 3)
        g.emit("return P, (" + "".join(f"C{i}, " for i in range(nchild)) + ")")
        return g.compile("dump_many", "def dump_many(entities):")

    def _gen_build(self) -> Any:
        g = _Gen()
        index = {c: i for i, c in enumerate(self.columns)}
        g.emit(f"o = _new({g.const(self.cls, 'T')})")
        g.emit(f"i = r[{index['id']}]")
        if self.child_fields:
            g.emit("k = i.int")
        child_pos = {f.name: k for k, f in enumerate(self.child_fields)}
        for f in self.fields:
            put = g.setter(self.cls, f.name)
            if isinstance(f, ScalarField):
                val = "i" if f.name == "id" else f"r[{index[f.leaf.column]}]"
                if issubclass(f.leaf.py, enum.Enum):
                    m = g.const(f.leaf.py._value2member_map_, "E")
                    val = f"(None if {val} is None else {m}[{val}])"
                g.emit(f"{put}(o, {val})")
            elif isinstance(f, FlatField):
                make = _build_vo(g, f.cls, f.leaves, lambda lf: f"r[{index[lf.column]}]")
                if f.optional:
                    make = f"(None if r[{index[f.marker]}] is None else {make})"
                g.emit(f"{put}(o, {make})")
            elif isinstance(f, JsonField):
                val = f"r[{index[f.name]}]"
                if f.kind == "list":
                    if f.py is not None and issubclass(f.py, uuid.UUID):
                        val = f"tuple([_UUID(x) for x in {val}])"
                    else:
                        val = f"tuple({val})"
                g.emit(f"{put}(o, {val})")
            elif isinstance(f, ChildField):
                g.emit(f"{put}(o, ch[{child_pos[f.name]}].get(k, ()))")
            elif isinstance(f, SetField):
                g.emit(f"{put}(o, ch[{child_pos[f.name]}].get(k, _EMPTY))")
        g.emit("return o")
        return g.compile("build", "def build(r, ch):")

    def _gen_child_build(self, f: ChildField | SetField) -> Any:
        g = _Gen()
        table = self.children[f.name]
        index = {c.name: i for i, c in enumerate(table.columns)}
        if isinstance(f, SetField):
            g.emit(f"return r[{index[f.column]}]")
        else:
            g.emit("return " + _build_vo(g, f.cls, f.leaves, lambda lf: f"r[{index[lf.column]}]"))
        return g.compile("build_child", "def build_child(r):")

    def _gen_copy(self) -> Any:
        g = _Gen()
        g.emit(f"o = _new({g.const(self.cls, 'T')})")
        for f in self.fields:
            put = g.setter(self.cls, f.name)
            if f.name == "version":
                g.emit(f"{put}(o, version)")
            else:
                g.emit(f"{put}(o, e.{f.name})")
        g.emit("return o")
        return g.compile("copy_with_version", "def copy_with_version(e, version):")

    # -- queries

    def term(self, name: str) -> Term:
        """The query term of a (dotted) field path."""
        head, _, rest = name.partition(".")
        f = self._by_name.get(head)
        if f is None:
            raise QueryError("no such field", field=name, entity=self.name)
        t = self.table
        if isinstance(f, ScalarField):
            if rest:
                return NullTerm()
            return ColumnTerm(t.c[f.leaf.column], f.leaf.py, f.leaf.nullable)
        if isinstance(f, FlatField):
            if not rest:
                return WholeTerm(t.c[f.marker], t.c[f.leaves[0].column], f.optional)
            path = tuple(rest.split("."))
            for leaf in f.leaves:
                if leaf.path == path:
                    return ColumnTerm(t.c[leaf.column], leaf.py, leaf.nullable)
            # a nested value object as a whole, or a path below a scalar
            sub = [lf for lf in f.leaves if lf.path[: len(path)] == path]
            if sub:
                return WholeTerm(t.c[sub[0].column], t.c[sub[0].column], True)
            return NullTerm()
        if isinstance(f, JsonField):
            if rest and f.kind == "map":
                return JsonPathTerm(t.c[f.name], tuple(rest.split(".")), head == "custom")
            if rest:
                return NullTerm()
            return ValueTerm(f.kind, column=t.c[f.name], py=f.py)
        if rest:
            return NullTerm()
        if isinstance(f, SetField):
            return ValueTerm("set", child=self.children[f.name], child_column=f.column, py=f.py)
        return ValueTerm("rows")


class _Schema:
    def __init__(self) -> None:
        self.metadata = sa.MetaData(naming_convention=NAMING)
        self.mappers: dict[type[Entity], EntityMapper] = {}
        for collection, cls in COLLECTIONS.items():
            self.mappers[cls] = EntityMapper(cls, collection, self.metadata)


@functools.cache
def _schema() -> _Schema:
    return _Schema()


def metadata() -> sa.MetaData:
    """The SQLAlchemy MetaData holding every crmcore table (built on first use)."""
    return _schema().metadata


def mapper(cls: type[Entity]) -> EntityMapper:
    """The mapper of a stored aggregate type.

    Raises:
        QueryError: ``cls`` is not a stored aggregate.
    """
    try:
        return _schema().mappers[cls]
    except KeyError:
        raise QueryError(f"{getattr(cls, '__name__', cls)} is not a stored aggregate") from None
