"""Filters as plain data: :func:`to_dict` and :func:`from_dict` (and the tagged value codec)."""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from crmcore.errors import QueryError
from crmcore.query._builders import _compare, field, has, in_, is_null, related
from crmcore.query._nodes import (
    And,
    Compare,
    Const,
    Contains,
    Filter,
    Has,
    In,
    IsNull,
    Not,
    Or,
    Related,
    StartsWith,
    all_of,
    any_of,
    not_,
)
from crmcore.query._values import _COMPARE_OPS, Ago

#: How deeply ``and``/``or``/``not`` may nest in :func:`from_dict` data.
MAX_FILTER_DEPTH = 64


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
