"""Collection fields (``Customer.emails``, ``phones``) inside an envelope.

The envelope's typed plaintext holds scalars. A protected field whose value is
a collection of value objects travels in it as canonical JSON text of its
plain data (the form ``to_data`` gives), and comes back as the field's type.
An empty collection is "no value": it is not sealed, like ``None``, and the
stored column keeps the field's empty default.
"""

from __future__ import annotations

import functools
import json
import typing
from collections.abc import Mapping
from typing import Any

import attrs

from crmcore.model import Entity, make_converter

__all__ = ["collection_fields", "held", "pack", "pack_data", "unpack", "unpack_data"]


_DEFAULTS: dict[type, Mapping[str, Any]] = {}
_HINTS: dict[type, Mapping[str, Any]] = {}


def _defaults(entity_type: type[Entity]) -> Mapping[str, Any]:
    """Per collection field of ``entity_type`` (default not ``None``), its empty default."""
    found = _DEFAULTS.get(entity_type)
    if found is not None:
        return found
    out: dict[str, Any] = {}
    for a in attrs.fields(entity_type):
        default = a.default
        factory = getattr(default, "factory", None)  # an attrs.Factory
        if callable(factory) and not getattr(default, "takes_self", False):
            default = factory()
        if isinstance(default, (tuple, frozenset, list)) and not default:
            out[a.name] = default
    _DEFAULTS[entity_type] = out
    return out


def collection_fields(entity_type: type[Entity]) -> Mapping[str, Any]:
    """The collection fields of ``entity_type`` and their empty defaults."""
    return _defaults(entity_type)


def held(value: Any) -> bool:
    """Whether a stored field holds a value (``None`` and empty collections do not)."""
    if value is None:
        return False
    if isinstance(value, (tuple, list, frozenset, set)):
        return bool(value)
    return True


@functools.lru_cache(maxsize=1)
def _converter() -> Any:
    return make_converter()


def _hints(entity_type: type[Entity]) -> Mapping[str, Any]:
    found = _HINTS.get(entity_type)
    if found is None:
        found = _HINTS[entity_type] = typing.get_type_hints(entity_type)
    return found


def pack_data(data: Any) -> str:
    """Plain data (lists, dicts, text) as canonical JSON text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def pack(value: Any) -> str:
    """A collection of value objects as canonical JSON text of its plain data."""
    return pack_data(_converter().unstructure(value))


def unpack_data(text: Any) -> Any:
    """The plain data :func:`pack_data` wrote (a list, as in a record's ``to_data``)."""
    if not isinstance(text, str):
        raise ValueError("a sealed collection is JSON text")
    return json.loads(text)


def unpack(entity_type: type[Entity], field: str, text: Any) -> Any:
    """The value of ``field`` of ``entity_type`` that :func:`pack` wrote."""
    return _converter().structure(unpack_data(text), _hints(entity_type)[field])
