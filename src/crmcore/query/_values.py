"""Filter values: the scalar types a filter compares, field-name checks, relative times."""

from __future__ import annotations

import datetime as _dt
import enum
import typing
import uuid
from decimal import Decimal
from typing import Literal

import attrs

from crmcore._text import bad_int_reason, bad_text_reason
from crmcore.errors import QueryError

CompareOp = Literal["eq", "ne", "lt", "le", "gt", "ge"]
_COMPARE_OPS: frozenset[str] = frozenset(typing.get_args(CompareOp))
_SCALARS = (str, int, float, Decimal, bool, _dt.date, _dt.datetime, uuid.UUID)


def _check_value(name: str, value: object) -> object:
    """Canonicalise a filter value (enums to their value) and refuse odd types."""
    if isinstance(value, Ago):
        return value
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, _SCALARS):
        if isinstance(value, _dt.datetime) and value.tzinfo is None:
            raise QueryError("naive datetime in filter; pass an aware (UTC) datetime", field=name)
        if isinstance(value, float) and value != value:
            raise QueryError("NaN cannot be compared", field=name)
        if isinstance(value, Decimal) and not value.is_finite():
            raise QueryError("only finite decimals can be compared", field=name)
        if isinstance(value, str) and (reason := bad_text_reason(value)):
            raise QueryError(f"filter value {reason}", field=name)
        if type(value) is int and (reason := bad_int_reason(value)):
            raise QueryError(f"filter value {reason}", field=name)
        return value
    raise QueryError(f"unsupported filter value of type {type(value).__name__}", field=name)


def _check_field(name: object) -> str:
    if not isinstance(name, str) or not name or name.startswith(".") or name.endswith("."):
        raise QueryError(f"invalid field name {name!r}")
    if reason := bad_text_reason(name):
        raise QueryError(f"invalid field name {name!r}: {reason}")
    return name


@attrs.frozen
class Ago:
    """A time relative to "now" (``ago(days=90)``), resolved by :func:`resolve_times`.

    Saved filters (segments) keep it as such, so "in the last 90 days" stays
    relative; adapters only ever see the resolved, absolute datetime.
    """

    seconds: int

    def at(self, now: _dt.datetime) -> _dt.datetime:
        """The absolute time ``seconds`` before ``now``."""
        return now - _dt.timedelta(seconds=self.seconds)


def ago(*, days: int = 0, hours: int = 0, minutes: int = 0, seconds: int = 0) -> Ago:
    """A filter value meaning "that long before now" (negative values: in the future)."""
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if type(total) is not int:
        raise QueryError("ago() needs whole numbers of days, hours, minutes or seconds")
    return Ago(total)
