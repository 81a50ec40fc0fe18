"""Stamping: the bookkeeping fields a record gets when a unit of work first stores it."""

from __future__ import annotations

import datetime as _dt
from typing import TypeVar

from crmcore.model._base import Entity, replace_trusted

__all__ = ["stamp_new"]

E = TypeVar("E", bound=Entity)


def stamp_new(entity: E, *, tenant_id: str, now: _dt.datetime) -> E:
    """``entity`` as first stored: in ``tenant_id``, created and updated ``now``, version 1.

    ``now`` must be an aware UTC time from the unit of work's clock (it is
    trusted, not converted again).
    """
    return replace_trusted(entity, tenant_id=tenant_id, created_at=now, updated_at=now, version=1)
