"""Request and response models of the HTTP API, derived from the attrs entities.

For every entity type there are three pydantic models, generated from its
attrs fields (so a new field shows up in the API and its OpenAPI document
without code here):

- ``<Entity>Create``: the fields a caller may set (everything but the stamps a
  session owns: tenant, times, version, soft delete, and the storage-internal
  ``sealed``/``search_keys``); fields without a default are required;
- ``<Entity>Patch``: the same fields, all optional, plus the required
  ``version`` the change is based on (optimistic concurrency);
- ``<Entity>``: a stored record as the principal may read it; every field may
  be ``null`` (a field the policy hides reads as ``null``, a masked one as text).

Values travel in the plain-data form of :func:`crmcore.model.to_data`:
decimals as strings, datetimes ISO 8601 with an offset, UUIDs as text, enums
as their value, sets as lists. The pydantic models only check the shape;
the entity itself (:func:`crmcore.model.from_data`, then the session's
validation rules) decides what is valid.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import types
import typing
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Union

import attrs
import pydantic

from crmcore.model import Entity

__all__ = ["ApiModels", "api_models", "stamp_fields"]

#: fields a session stamps or the storage layers own: never set through the API
stamp_fields: frozenset[str] = frozenset(
    {"tenant_id", "created_at", "updated_at", "version", "deleted_at", "sealed", "search_keys"}
)
_INTERNAL = frozenset({"sealed", "search_keys"})

_Int = Annotated[int, pydantic.Field(ge=-(2**63), le=2**63 - 1, strict=True)]
_Float = Annotated[float, pydantic.Field(allow_inf_nan=False)]
#: the longest text a field takes through the API (a knowledge article's body, a note)
MAX_TEXT = 1_048_576
_Text = Annotated[str, pydantic.Field(max_length=MAX_TEXT)]
_CONFIG = pydantic.ConfigDict(extra="forbid")


def _type_of(tp: Any, *, output: bool, lax: bool) -> Any:
    """The pydantic annotation for an attrs field type (``lax``: masked values are text)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return Any
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = [_type_of(a, output=output, lax=lax) for a in args]
        joined: Any = inner[0] if len(inner) == 1 else Union[tuple(inner)]  # noqa: UP007
        return joined | None
    if origin is tuple or origin is frozenset or tp is frozenset:
        args = [a for a in typing.get_args(tp) if a is not Ellipsis] or [str]
        return list[_type_of(args[0], output=output, lax=lax)]  # type: ignore[misc]
    if origin in (Mapping, dict) or tp in (Mapping, dict):
        return dict[str, Any]
    if isinstance(tp, type) and attrs.has(tp):
        return _value_model(tp, output)
    base: Any
    if tp is _dt.datetime:
        base = pydantic.AwareDatetime
    elif tp is bool:
        base = pydantic.StrictBool
    elif tp is int:
        base = _Int
    elif tp is float:
        base = _Float
    elif tp is str:
        base = _Text
    elif tp in (_dt.date, uuid.UUID, Decimal) or (
        isinstance(tp, type) and issubclass(tp, enum.Enum)
    ):
        base = tp
    else:  # pragma: no cover - a new kind of field: accept any JSON value
        return Any
    if output and lax and base is not _Text:
        return Union[base, str]  # noqa: UP007  (a policy mask turns a value into text)
    return base


@functools.cache
def _value_model(cls: type, output: bool) -> type[pydantic.BaseModel]:
    """A model of an attrs value object (``Money``, ``Address``...), nested as it is stored."""
    attrs.resolve_types(cls)
    fields: dict[str, Any] = {}
    for a in attrs.fields(cls):
        tp = _type_of(a.type, output=output, lax=False)
        if output:
            fields[a.name] = (tp | None, None)
        else:
            fields[a.name] = _optional(tp, required=a.default is attrs.NOTHING)
    model = pydantic.create_model(
        f"{cls.__name__}{'' if output else 'Input'}",
        __config__=_CONFIG,
        __doc__=(cls.__doc__ or cls.__name__).strip().splitlines()[0],
        **fields,
    )
    return typing.cast(type[pydantic.BaseModel], model)


def _unset() -> None:
    return None


def _optional(tp: Any, *, required: bool) -> tuple[Any, Any]:
    """A field definition: required, or optional with nothing sent when left out.

    An optional field that is not nullable keeps its type, so an explicit
    ``null`` is refused; left out, it is not sent and the entity's own
    default applies (a default factory keeps ``default: null`` out of the schema).
    """
    if required:
        return (tp, ...)
    return (tp, pydantic.Field(default_factory=_unset))


@attrs.frozen
class ApiModels:
    """The generated models of one entity type.

    Attributes:
        entity_type: the entity.
        create: the body of a create (fields without a default are required).
        patch: the body of an update: any settable fields plus ``version``.
        record: a stored record as the principal reads it.
        page: ``{"items": [record...], "next_cursor": text or null}``.
        settable: the field names a create or patch may carry.
    """

    entity_type: type[Entity]
    create: type[pydantic.BaseModel]
    patch: type[pydantic.BaseModel]
    record: type[pydantic.BaseModel]
    page: type[pydantic.BaseModel]
    settable: frozenset[str]


_MODELS: dict[tuple[str, bool], ApiModels] = {}


def api_models(entity_type: type[Entity], lax: bool = False) -> ApiModels:
    """The request and response models of ``entity_type``.

    Args:
        entity_type: an aggregate of :data:`crmcore.model.COLLECTIONS`.
        lax: describe every non-text field of a record as possibly text too
            (a policy that masks fields is in force).
    """
    key = (f"{entity_type.__module__}.{entity_type.__qualname__}", lax)
    found = _MODELS.get(key)
    if found is None or found.entity_type is not entity_type:
        found = _MODELS[key] = _build(entity_type, lax)
    return found


def _build(entity_type: type[Entity], lax: bool) -> ApiModels:
    attrs.resolve_types(entity_type)
    name = entity_type.__name__
    doc = (entity_type.__doc__ or name).strip().splitlines()[0]
    create: dict[str, Any] = {}
    patch: dict[str, Any] = {}
    record: dict[str, Any] = {}
    for a in attrs.fields(entity_type):
        if a.name in _INTERNAL:
            continue
        out = _type_of(a.type, output=True, lax=lax)
        record[a.name] = (out | None, None)
        if a.name in stamp_fields or not a.init:  # stamped or derived (an order's total)
            continue
        tp = _type_of(a.type, output=False, lax=False)
        required = a.default is attrs.NOTHING and a.name != "id"
        create[a.name] = _optional(tp, required=required)
        if a.name != "id":
            patch[a.name] = _optional(tp, required=False)
    patch["version"] = (
        Annotated[int, pydantic.Field(ge=0, le=2**62, strict=True)],
        pydantic.Field(..., description="the version the change is based on"),
    )
    create_model = pydantic.create_model(
        f"{name}Create", __config__=_CONFIG, __doc__=f"A new {name}: {doc}", **create
    )
    patch_model = pydantic.create_model(
        f"{name}Patch",
        __config__=_CONFIG,
        __doc__=f"Changes to a {name}, based on its ``version``.",
        **patch,
    )
    record_model = pydantic.create_model(name, __doc__=doc, **record)
    page_model = pydantic.create_model(
        f"{name}Page",
        __doc__=f"One page of {name} records; pass next_cursor as after for the next.",
        items=(list[record_model], ...),  # type: ignore[valid-type]
        next_cursor=(str | None, None),
    )
    settable = frozenset(create)
    return ApiModels(entity_type, create_model, patch_model, record_model, page_model, settable)
