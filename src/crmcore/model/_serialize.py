"""Entities to and from plain JSON-able data with cattrs.

Decimals become strings (exact), datetimes ISO 8601 with offset, dates ISO,
UUIDs their canonical text, enums their value, sets sorted lists. The
converter is built on demand; nothing global is configured at import.
"""

from __future__ import annotations

import datetime as _dt
import functools
import typing
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import cattrs

from crmcore.errors import FieldError, ValidationError

__all__ = ["from_data", "make_converter", "to_data"]

T = TypeVar("T")


def _parse_datetime(value: Any, _: type) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value
    return _dt.datetime.fromisoformat(value)


def _parse_date(value: Any, _: type) -> _dt.date:
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value
    return _dt.date.fromisoformat(value)


def _parse_decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, float):
        value = str(value)
    return Decimal(value)


def _is_frozenset(tp: Any) -> bool:
    return tp is frozenset or typing.get_origin(tp) is frozenset


def _sorted_list(values: frozenset[Any]) -> list[Any]:
    return sorted(values)


def make_converter() -> cattrs.Converter:
    """A fresh converter that round-trips every crmcore entity exactly."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, _parse_decimal)
    conv.register_unstructure_hook(_dt.datetime, lambda d: d.isoformat())
    conv.register_structure_hook(_dt.datetime, _parse_datetime)
    conv.register_unstructure_hook(_dt.date, lambda d: d.isoformat())
    conv.register_structure_hook(_dt.date, _parse_date)
    conv.register_unstructure_hook(uuid.UUID, str)
    conv.register_structure_hook(
        uuid.UUID, lambda v, _: v if isinstance(v, uuid.UUID) else uuid.UUID(v)
    )
    conv.register_unstructure_hook_func(_is_frozenset, _sorted_list)
    conv.register_unstructure_hook(Mapping, lambda m: dict(m))
    conv.register_structure_hook(Mapping, lambda v, _: dict(v))
    return conv


@functools.lru_cache(maxsize=1)
def _default() -> cattrs.Converter:
    return make_converter()


def to_data(entity: object) -> dict[str, Any]:
    """An entity (or value object) as plain JSON-able data.

    Derived fields (an order's ``total``) are included for readers of the data;
    :func:`from_data` recomputes them rather than trusting them.
    """
    conv = _default()
    data: dict[str, Any] = conv.unstructure(entity)
    for name in getattr(type(entity), "__crm_derived__", ()):
        data[name] = conv.unstructure(getattr(entity, name))
    return data


def _flatten(exc: BaseException, path: str, out: list[FieldError]) -> None:
    if isinstance(exc, cattrs.BaseValidationError):
        for sub in exc.exceptions:
            sub_notes = getattr(sub, "__notes__", [])
            sub_path = path
            for note in sub_notes:
                note_path = getattr(note, "name", None)
                if isinstance(note_path, (str, int)):
                    sub_path = (
                        f"{path}[{note_path}]"
                        if isinstance(note_path, int)
                        else f"{path}.{note_path}"
                    )
            _flatten(sub, sub_path, out)
        return
    if isinstance(exc, ValidationError):
        out.extend(e.at(path) if e.path.startswith("$") and path != "$" else e for e in exc.errors)
        return
    message = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError):
        message = f"missing required field {exc}"
    elif isinstance(exc, InvalidOperation):
        message = "expected a number"
    out.append(FieldError(path, "invalid", message))


def from_data(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build an entity (or value object) of type ``cls`` from plain data.

    Raises:
        ValidationError: every field that could not be converted, with its path.
    """
    derived = getattr(cls, "__crm_derived__", ())
    if derived and any(name in data for name in derived):
        data = {k: v for k, v in data.items() if k not in derived}
    try:
        return _default().structure(data, cls)
    except ValidationError as exc:
        raise ValidationError(exc.errors, entity=cls.__name__) from None
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        errors: list[FieldError] = []
        _flatten(exc, "$", errors)
        raise ValidationError(errors, entity=cls.__name__) from None
