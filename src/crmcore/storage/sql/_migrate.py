"""Schema lifecycle: create at head, check the revision, upgrade and downgrade with Alembic.

The migrations ship inside the package (``crmcore/storage/sql/migrations``)
and Alembic is configured in code, so no ``alembic.ini`` is needed. crmcore
keeps its revision in its own table, ``crmcore_alembic_version``, so an
application that uses Alembic for its own tables in the same database is not
disturbed.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from crmcore.errors import ConfigurationError, SchemaError
from crmcore.storage.sql._dialect import Backend
from crmcore.storage.sql._errors import guard
from crmcore.storage.sql._schema import CHILD_KEY, metadata

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

__all__ = [
    "VERSION_TABLE",
    "compare_type",
    "current_revision",
    "downgrade",
    "drop_schema",
    "ensure_schema",
    "head_revision",
    "seed_sqlite_stats",
    "upgrade",
]

VERSION_TABLE = "crmcore_alembic_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_NAME = "crmcore_schema"


def alembic_config() -> Config:
    """An Alembic configuration pointing at crmcore's shipped migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_table", VERSION_TABLE)
    return cfg


@functools.cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The revision the code expects (the newest shipped migration)."""
    head = _script().get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise SchemaError("crmcore ships no migrations")
    return head


def _context(conn: sa.Connection) -> MigrationContext:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})


@contextlib.contextmanager
def _engine(url_or_engine: str | sa.URL | Engine) -> Iterator[Engine]:
    if isinstance(url_or_engine, Engine):
        yield url_or_engine
        return
    try:
        engine = sa.create_engine(url_or_engine)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigurationError(f"cannot open {url_or_engine!s}: {exc}") from None
    try:
        yield engine
    finally:
        engine.dispose()


def _hidden(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def current_revision(url_or_engine: str | sa.URL | Engine) -> str | None:
    """The revision a database's crmcore schema is at (None: no crmcore schema)."""
    with _engine(url_or_engine) as engine, guard("schema"), engine.connect() as conn:
        return _context(conn).get_current_revision()


def _run(url_or_engine: str | sa.URL | Engine, command: str, revision: str) -> None:
    from alembic import command as commands

    with _engine(url_or_engine) as engine, guard("schema"), engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # one transaction for all the DDL
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        getattr(commands, command)(cfg, revision)
        if conn.dialect.name == "sqlite" and _context(conn).get_current_revision() is not None:
            seed_sqlite_stats(conn, only_missing=True)


#: the table size and rows per key that seeded SQLite statistics assume
_ASSUMED_ROWS = 1_000_000
_ROWS_PER_KEY = {"tenant_id": 10_000, CHILD_KEY: 4, "id": 1}


def seed_sqlite_stats(conn: sa.Connection, *, only_missing: bool = False) -> None:
    """Give SQLite's planner plausible statistics for crmcore's indexes.

    Without ``ANALYZE`` data SQLite assumes every index is equally selective
    and would rather walk ``(tenant_id, id)`` in order than look up
    ``(tenant_id, email)`` and sort. These hand-made ``sqlite_stat1`` rows
    (the documented way to steer it) say that a tenant holds many rows and
    any further indexed column narrows them to a few. A later ``ANALYZE``
    replaces them with measured ones.
    """
    conn.exec_driver_sql("ANALYZE sqlite_schema")  # creates sqlite_stat1 if missing
    seeded = {row[0] for row in conn.exec_driver_sql("SELECT DISTINCT tbl FROM sqlite_stat1").all()}
    for table in metadata().sorted_tables:
        if only_missing and table.name in seeded:
            continue
        conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = ?", (table.name,))
        indexes = conn.exec_driver_sql(f"PRAGMA index_list('{table.name}')").all()
        for _seq, index, unique, *_ in indexes:
            columns = [r[2] for r in conn.exec_driver_sql(f"PRAGMA index_info('{index}')").all()]
            stats = [_ASSUMED_ROWS]
            for i, column in enumerate(columns):
                rows = _ROWS_PER_KEY.get(column, 10 if i else 1000)
                if unique and i == len(columns) - 1:
                    rows = 1
                stats.append(min(rows, stats[-1]))
            conn.exec_driver_sql(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)",
                (table.name, index, " ".join(map(str, stats))),
            )
    conn.exec_driver_sql("ANALYZE sqlite_schema")  # reload the statistics


def upgrade(url_or_engine: str | sa.URL | Engine, revision: str = "head") -> None:
    """Migrate a database's crmcore schema up to ``revision`` (from empty, too).

    Args:
        url_or_engine: the database URL or an Engine.
        revision: the target revision; ``"head"`` is the newest.

    Raises:
        StorageError: a migration failed.
    """
    _run(url_or_engine, "upgrade", revision)


def downgrade(url_or_engine: str | sa.URL | Engine, revision: str) -> None:
    """Migrate a database's crmcore schema down to ``revision`` (``"-1"``, ``"base"``...).

    Raises:
        StorageError: a migration failed.
    """
    _run(url_or_engine, "downgrade", revision)


def drop_schema(url_or_engine: str | sa.URL | Engine) -> None:
    """Drop every crmcore table and the revision table (tests and resets; data is lost).

    Tables an older revision made and the code no longer has (a child table
    holding a foreign key to one of crmcore's tables) are dropped too, so a
    database at any revision can be reset.
    """
    with _engine(url_or_engine) as engine, guard("schema"), engine.begin() as conn:
        ours = metadata()
        inspector = sa.inspect(conn)
        present = set(inspector.get_table_names())
        for name in sorted(present - set(ours.tables)):
            fks = inspector.get_foreign_keys(name)
            if fks and all(fk["referred_table"] in ours.tables for fk in fks):
                sa.Table(name, sa.MetaData(), autoload_with=conn, resolve_fks=False).drop(conn)
        ours.drop_all(conn, checkfirst=True)
        sa.Table(VERSION_TABLE, sa.MetaData()).drop(conn, checkfirst=True)


@contextlib.contextmanager
def _schema_lock(conn: sa.Connection, backend: Backend) -> Iterator[None]:
    """Serialise schema creation between processes."""
    if backend.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": _LOCK_NAME})
        yield
    elif backend.name == "mariadb":
        conn.execute(sa.text("SELECT GET_LOCK(:n, 60)"), {"n": _LOCK_NAME})
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT RELEASE_LOCK(:n)"), {"n": _LOCK_NAME})
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield


def ensure_schema(engine: Engine, backend: Backend, *, create: bool) -> None:
    """Check that the database schema is at the code's revision; create it if empty.

    Raises:
        SchemaError: the schema is at another revision, or tables exist without one.
    """
    head = head_revision()
    with guard("schema"), engine.connect() as conn:
        backend.detect(conn)
        current = _context(conn).get_current_revision()
        if current == head:
            conn.rollback()
            return
        if current is None and create:
            with _schema_lock(conn, backend):
                current = _context(conn).get_current_revision()
                if current is None:
                    _check_empty(conn, engine)
                    metadata().create_all(conn)
                    _context(conn).stamp(_script(), "head")
                    if backend.name == "sqlite":
                        seed_sqlite_stats(conn)
                conn.commit()
            if current is None or current == head:
                return
        if current is None:
            return
        conn.rollback()
    url = _hidden(engine)
    known = {rev.revision for rev in _script().walk_revisions()}
    if current in known:
        raise SchemaError(
            f"database schema is at revision {current}, code expects {head}; run "
            f"`crmcore db upgrade {url}` or crmcore.storage.sql.upgrade(url)"
        )
    raise SchemaError(
        f"database schema is at revision {current}, which this version of crmcore does not "
        f"know (it expects {head}); upgrade crmcore"
    )


def _check_empty(conn: sa.Connection, engine: Engine) -> None:
    existing = set(sa.inspect(conn).get_table_names()) & set(metadata().tables)
    if existing:
        raise SchemaError(
            f"database {_hidden(engine)} has crmcore tables ({', '.join(sorted(existing))}) "
            "but no schema revision; stamp it with `alembic stamp` or drop the tables"
        )


def compare_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: sa.types.TypeEngine[Any],
    metadata_type: sa.types.TypeEngine[Any],
) -> bool | None:
    """Alembic ``compare_type`` hook: ignore how backends spell the same stored type.

    MariaDB reports ``JSON`` as ``LONGTEXT`` and ``BOOLEAN`` as ``TINYINT(1)``;
    everything else falls back to Alembic's own comparison.
    """
    dialect = context.dialect
    impl = metadata_type
    if isinstance(impl, sa.types.TypeDecorator):
        impl = impl.load_dialect_impl(dialect)
    inspected = type(inspected_type).__name__.upper()
    if dialect.name in ("mysql", "mariadb"):
        if isinstance(impl, sa.JSON) and inspected in ("LONGTEXT", "JSON"):
            return False
        if isinstance(impl, sa.Boolean) and inspected in ("TINYINT", "BOOLEAN", "BOOL"):
            return False
    return None
