"""Column types that store and compare the same way on SQLite, PostgreSQL and MariaDB.

Text compares by code point everywhere (``COLLATE "C"`` on PostgreSQL; the
tables' ``utf8mb4_nopad_bin`` collation on MariaDB; SQLite's BINARY default),
timestamps are aware UTC on the way out, UUIDs are native on PostgreSQL and
``CHAR(32)`` hex elsewhere (hex order is UUID order), and money amounts are
exact: ``NUMERIC(20, 6)`` on the servers and an order-preserving fixed-width
text on SQLite, which has no exact decimal type.

These classes are referenced by the shipped Alembic migrations: keep their
names and constructor arguments stable.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "DECIMAL_PLACES",
    "DECIMAL_PRECISION",
    "DecimalType",
    "JsonType",
    "LongText",
    "Str",
    "UtcDateTime",
    "UuidType",
    "decode_sortable_decimal",
    "dumps_exact",
    "encode_sortable_decimal",
]

_UTC = _dt.timezone.utc
DECIMAL_PRECISION = 20
DECIMAL_PLACES = 6
_SCALE = 10**DECIMAL_PLACES
_LIMIT = 10**DECIMAL_PRECISION
_WIDTH = DECIMAL_PRECISION


def _is_mysql(dialect: Dialect) -> bool:
    return dialect.name in ("mysql", "mariadb")


class Str(TypeDecorator[str]):
    """Bounded text (``VARCHAR(n)``) that compares by code point; for indexed columns."""

    impl = sa.String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.String(self.length, collation="C"))
        return dialect.type_descriptor(sa.String(self.length))

    def __repr__(self) -> str:
        return f"Str({self.length})"


class LongText(TypeDecorator[str]):
    """Unbounded free text (``TEXT``; ``MEDIUMTEXT`` on MariaDB) compared by code point."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.Text(collation="C"))
        if _is_mysql(dialect):
            return dialect.type_descriptor(mysql.MEDIUMTEXT())
        return dialect.type_descriptor(sa.Text())

    def __repr__(self) -> str:
        return "LongText()"


class UuidType(TypeDecorator[uuid.UUID]):
    """A UUID: native ``uuid`` on PostgreSQL, ``CHAR(32)`` lowercase hex elsewhere."""

    impl = sa.Uuid
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.Uuid())
        return dialect.type_descriptor(sa.Uuid(native_uuid=False))

    def __repr__(self) -> str:
        return "UuidType()"


class UtcDateTime(TypeDecorator[_dt.datetime]):
    """An aware timestamp stored as UTC; always read back as an aware UTC datetime.

    ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL, ``DATETIME(6)`` holding UTC on
    MariaDB, and fixed-width ISO text (``YYYY-MM-DD HH:MM:SS.ffffff``, which
    sorts like the instant) on SQLite.
    """

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        if _is_mysql(dialect):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.String(26))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, _dt.datetime) or value.tzinfo is None:
            raise TypeError("crmcore timestamps must be aware datetimes")
        if dialect.name == "postgresql":
            return value
        utc = value.astimezone(_UTC).replace(tzinfo=None)
        if dialect.name == "sqlite":
            return utc.isoformat(" ", "microseconds")
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> _dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = _dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=_UTC)  # type: ignore[no-any-return]
        return value.astimezone(_UTC)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return "UtcDateTime()"


def encode_sortable_decimal(value: Decimal) -> str:
    """A fixed-width text whose byte order is the numeric order (SQLite's exact decimals).

    Raises:
        ValueError: more than 6 decimal places or more than 14 integer digits.
    """
    scaled = value.scaleb(DECIMAL_PLACES)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"more than {DECIMAL_PLACES} decimal places")
    n = int(scaled)
    if not -_LIMIT < n < _LIMIT:
        raise ValueError(f"more than {DECIMAL_PRECISION - DECIMAL_PLACES} integer digits")
    if n >= 0:
        return f"p{n:0{_WIDTH}d}"
    return f"n{_LIMIT + n:0{_WIDTH}d}"


def decode_sortable_decimal(text: str) -> Decimal:
    """The inverse of :func:`encode_sortable_decimal`."""
    n = int(text[1:])
    if text[0] == "n":
        n -= _LIMIT
    return Decimal(n).scaleb(-DECIMAL_PLACES)


class DecimalType(TypeDecorator[Decimal]):
    """An exact decimal: ``NUMERIC(20, 6)``; order-preserving fixed-width text on SQLite."""

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(DECIMAL_PRECISION + 1))
        return dialect.type_descriptor(
            sa.Numeric(DECIMAL_PRECISION, DECIMAL_PLACES, asdecimal=True)
        )

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        return encode_sortable_decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, str):
            return decode_sortable_decimal(value)
        if isinstance(value, Decimal):
            return value
        return Decimal(str(value))

    def __repr__(self) -> str:
        return "DecimalType()"


class JsonType(TypeDecorator[Any]):
    """JSON data: ``JSONB`` on PostgreSQL, ``JSON`` (checked text) on MariaDB and SQLite."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.JSON())

    def __repr__(self) -> str:
        return "JsonType()"


def _float_text(value: float) -> str:
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    if "." not in text:
        text += ".0"
    return text


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif value is None or isinstance(value, (bool, int)):
        out.append(json.dumps(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("JSON cannot hold NaN or infinity")
        out.append(_float_text(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for k, v in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(str(k), ensure_ascii=False))
            out.append(":")
            _encode(v, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _encode(v, out)
        out.append("]")
    else:
        raise TypeError(f"not JSON data: {type(value).__name__}")


def dumps_exact(value: Any) -> str:
    """JSON text in which every float keeps a decimal point (``1e16``: ``10000000000000000.0``).

    PostgreSQL's ``jsonb`` stores numbers as ``numeric`` and prints ``1e16`` as
    an integer, so a float would come back as an int; with a decimal point and
    no exponent it comes back as the same float.
    """
    if not value and isinstance(value, dict):
        return "{}"
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    if "e+" not in text:  # no float written with a positive exponent (maybe a string has it)
        return text
    out: list[str] = []
    _encode(value, out)
    return "".join(out)
