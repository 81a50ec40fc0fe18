"""Public building blocks for SQL tables that live beside crmcore's schema.

The key store of :mod:`crmcore.crypto` (and an embedder's own tables) keep
their rows in the same databases as the SQL adapter and must behave the same
way on SQLite, PostgreSQL and MariaDB: the same engine settings, column types
(code-point text, aware UTC times), table options and classification of
driver errors. This module is that contract; the adapter's other modules are
private and may change.
"""

from __future__ import annotations

from crmcore.storage.sql._dialect import Backend, SqliteBackend, backend_for
from crmcore.storage.sql._errors import driver_code, is_conflict, is_unique_violation
from crmcore.storage.sql._schema import MYSQL_TABLE_OPTIONS
from crmcore.storage.sql._store import _chunks as chunks
from crmcore.storage.sql._store import _create_engine as create_engine
from crmcore.storage.sql._store import _RawInsert as RawInsert
from crmcore.storage.sql._types import Str, UtcDateTime

__all__ = [
    "MYSQL_TABLE_OPTIONS",
    "Backend",
    "RawInsert",
    "SqliteBackend",
    "Str",
    "UtcDateTime",
    "backend_for",
    "chunks",
    "create_engine",
    "driver_code",
    "is_conflict",
    "is_unique_violation",
]
