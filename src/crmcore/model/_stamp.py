"""Stamping: the bookkeeping fields a record gets when a unit of work first stores it."""

from __future__ import annotations

import datetime as _dt
from typing import Any, TypeVar, cast

import attrs

from crmcore.model._base import Entity, copier_with, fields_of, replace_trusted

__all__ = ["stamp_new"]

E = TypeVar("E", bound=Entity)


def stamp_new(entity: E, *, tenant_id: str, now: _dt.datetime) -> E:
    """``entity`` as first stored: in ``tenant_id``, created and updated ``now``, version 1.

    ``now`` must be an aware UTC time from the unit of work's clock (it is
    trusted, not converted again).
    """
    cls = type(entity)
    stamp = _STAMPERS.get(cls)
    if stamp is None:
        if not attrs.has(cls) or not fields_of(cls) >= _STAMPED:
            return replace_trusted(
                entity, tenant_id=tenant_id, created_at=now, updated_at=now, version=1
            )
        stamp = _STAMPERS[cls] = copier_with(cls, _STAMP_PARAMS)
    return cast(E, stamp(entity, tenant_id, now, now, 1))


_STAMP_PARAMS = {"tenant_id": "t", "created_at": "c", "updated_at": "u", "version": "v"}
_STAMPED = frozenset(_STAMP_PARAMS)
#: per entity class, one generated copy that writes the stamps in place of the old values
_STAMPERS: dict[type, Any] = {}
