"""The SQL adapter: SQLAlchemy Core tables, the SQL store and its Alembic migrations.

``crmcore.connect("sqlite:///crm.db")`` (or a PostgreSQL / MariaDB URL) builds
a :class:`SqlStore`; :func:`upgrade`, :func:`downgrade` and
:func:`current_revision` manage the schema (also as ``crmcore db ...``).
:class:`SqlKeyStore` keeps wrapped field-encryption keys in a table of its own
(imported on first use: it needs ``cryptography``, this package does not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmcore.storage.sql._migrate import (
    current_revision,
    downgrade,
    drop_schema,
    head_revision,
    upgrade,
)
from crmcore.storage.sql._schema import metadata
from crmcore.storage.sql._store import SqlRepository, SqlStore, SqlUnitOfWork

if TYPE_CHECKING:
    from crmcore.storage.sql._keystore import SqlKeyStore

__all__ = [
    "SqlKeyStore",
    "SqlRepository",
    "SqlStore",
    "SqlUnitOfWork",
    "current_revision",
    "downgrade",
    "drop_schema",
    "head_revision",
    "metadata",
    "upgrade",
]


def __getattr__(name: str) -> Any:
    """Import :class:`SqlKeyStore` on first use (it imports ``cryptography``)."""
    if name == "SqlKeyStore":
        from crmcore.storage.sql._keystore import SqlKeyStore

        return SqlKeyStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
