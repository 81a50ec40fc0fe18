"""The SQL adapter: SQLAlchemy Core tables, the SQL store and its Alembic migrations.

``crmcore.connect("sqlite:///crm.db")`` (or a PostgreSQL / MariaDB URL) builds
a :class:`SqlStore`; :func:`upgrade`, :func:`downgrade` and
:func:`current_revision` manage the schema (also as ``crmcore db ...``).
"""

from __future__ import annotations

from crmcore.storage.sql._campaigns import (
    sql_campaign_funnel,
    sql_campaign_timeline,
    sql_stored_ids,
)
from crmcore.storage.sql._fts import SqlSearchIndex, search_ddl, search_index_for
from crmcore.storage.sql._migrate import (
    current_revision,
    downgrade,
    drop_schema,
    head_revision,
    upgrade,
)
from crmcore.storage.sql._schema import metadata
from crmcore.storage.sql._store import SqlRepository, SqlStore, SqlUnitOfWork

__all__ = [
    "SqlRepository",
    "SqlSearchIndex",
    "SqlStore",
    "SqlUnitOfWork",
    "current_revision",
    "downgrade",
    "drop_schema",
    "head_revision",
    "metadata",
    "search_ddl",
    "search_index_for",
    "sql_campaign_funnel",
    "sql_campaign_timeline",
    "sql_stored_ids",
    "upgrade",
]
