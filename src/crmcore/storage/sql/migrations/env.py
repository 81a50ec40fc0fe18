"""Alembic environment for crmcore's own tables (configured in code; no alembic.ini).

crmcore passes an open connection in ``config.attributes["connection"]``;
with plain ``alembic -x url=...`` (or ``sqlalchemy.url`` set) this module
opens one itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from crmcore.storage.sql._migrate import VERSION_TABLE, compare_type
from crmcore.storage.sql._schema import metadata

config = context.config


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Autogenerate looks at crmcore's tables only: a key store table or a user's
    own table in the same database is none of its business (never dropped)."""
    return not (type_ == "table" and reflected and compare_to is None)


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        version_table=VERSION_TABLE,
        compare_type=compare_type,
        user_module_prefix="_types.",
        render_as_batch=config.attributes.get("render_as_batch", True),
        include_object=_ours,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata(),
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("pass -x url=... or set sqlalchemy.url")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
