"""Binding: :func:`resolve_times` for relative times, and :func:`bind` /
:func:`check_order`, which check filters and orderings against an entity type."""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Union

import attrs

from crmcore.errors import QueryError
from crmcore.query._nodes import (
    And,
    Compare,
    Const,
    Contains,
    Filter,
    Has,
    In,
    Not,
    Or,
    Related,
    StartsWith,
    all_of,
    any_of,
    not_,
)
from crmcore.query._order import Sort
from crmcore.query._values import Ago, _check_value


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
