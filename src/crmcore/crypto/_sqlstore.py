"""A durable :class:`~crmcore.crypto.KeyStore`: wrapped field-encryption keys in one SQL table.

Keys must be durable before the data encrypted under them is committed
elsewhere, so every method runs in its own short transaction, committed when
it returns. Text columns compare by code point on every backend (SQLite's
BINARY default, ``COLLATE "C"`` on PostgreSQL, ``utf8mb4_nopad_bin`` on
MariaDB): key ids that differ only in case, accents or trailing spaces are
different keys.

The table has its own :class:`~sqlalchemy.MetaData`, apart from the crmcore
schema and its migrations: it may live in the same database as the data or in
another one (and should be backed up apart from the data).

It belongs to ``crmcore.crypto`` (the key hierarchy's port, implemented on
the SQL adapter's engines and column types): the storage adapters know nothing
of keys. ``import crmcore.crypto`` imports SQLAlchemy only when ``SqlKeyStore``
is first used.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Engine

from crmcore.crypto._keys import KeyPurpose, WrappedKey
from crmcore.errors import ConfigurationError, StorageError
from crmcore.storage.sql.toolkit import (
    MYSQL_TABLE_OPTIONS,
    RawInsert,
    SqliteBackend,
    Str,
    UtcDateTime,
    backend_for,
    chunks,
    create_engine,
    driver_code,
    is_conflict,
    is_unique_violation,
)

__all__ = ["SqlKeyStore"]

T = TypeVar("T")

#: column lengths (characters)
TENANT_LENGTH: Final = 64
KEY_ID_LENGTH: Final = 255
PURPOSE_LENGTH: Final = 16
ROOT_ID_LENGTH: Final = 255
SUBJECT_LENGTH: Final = 255
#: ids per IN list, rows per executemany call, rows per page of ``scan``
_IDS: Final = 500
_BATCH: Final = 1000
_PAGE: Final = 1000
#: attempts of a transaction that lost a deadlock or serialisation race
_ATTEMPTS: Final = 3
_RETRYABLE: Final = frozenset({"40001", "40P01", 1213})
#: the table name leaves room for ``pk_<name>`` / ``ix_<name>_owner`` in 63 characters
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,47}")
_MISSING_TABLE: Final = frozenset({"42P01", 1146})
_UNREACHABLE: Final = frozenset({1044, 1045, 1049, 1698, 2002, 2003, 2005, 2006, 2013})


class _Duplicate(Exception):
    """An insert hit an existing ``(tenant, key_id)`` (internal to this module)."""


def _table(name: str) -> sa.Table:
    """The key table, in a ``MetaData`` of its own (never the crmcore schema's)."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("tenant", Str(TENANT_LENGTH), nullable=False),
        sa.Column("key_id", Str(KEY_ID_LENGTH), nullable=False),
        sa.Column("purpose", Str(PURPOSE_LENGTH), nullable=False),
        sa.Column("root_id", Str(ROOT_ID_LENGTH), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("subject_id", Str(SUBJECT_LENGTH), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "key_id", name=f"pk_{name}"),
        sa.Index(f"ix_{name}_owner", "tenant", "purpose", "subject_id"),
        **MYSQL_TABLE_OPTIONS,
    )


def _check_text(field: str, value: object, limit: int, *, nullable: bool = False) -> None:
    if value is None and nullable:
        return
    if not isinstance(value, str):
        raise ConfigurationError(f"wrapped key field {field} must be a string")
    if len(value) > limit:
        raise ConfigurationError(
            f"wrapped key field {field} is longer than the key table allows ({limit} characters)"
        )


def _row(key: WrappedKey) -> dict[str, Any]:
    """The table row of a record (checked first: SQLite would not enforce the lengths)."""
    if not isinstance(key, WrappedKey):
        raise ConfigurationError(f"a key store holds WrappedKey records, not {type(key).__name__}")
    _check_text("tenant", key.tenant, TENANT_LENGTH)
    _check_text("key_id", key.key_id, KEY_ID_LENGTH)
    _check_text("root_id", key.root_id, ROOT_ID_LENGTH)
    _check_text("subject_id", key.subject_id, SUBJECT_LENGTH, nullable=True)
    if not isinstance(key.created_at, datetime) or key.created_at.utcoffset() is None:
        raise ConfigurationError("wrapped key field created_at must be an aware datetime")
    if not isinstance(key.wrapped, (bytes, bytearray, memoryview)):
        raise ConfigurationError("wrapped key field wrapped must be bytes")
    return {
        "tenant": key.tenant,
        "key_id": key.key_id,
        "purpose": KeyPurpose(key.purpose).value,
        "root_id": key.root_id,
        "wrapped": bytes(key.wrapped),
        "created_at": key.created_at,
        "generation": int(key.generation),
        "subject_id": key.subject_id,
    }


def _record(row: sa.Row[Any]) -> WrappedKey:
    return WrappedKey(
        tenant=row.tenant,
        key_id=row.key_id,
        purpose=KeyPurpose(row.purpose),
        root_id=row.root_id,
        wrapped=bytes(row.wrapped),
        created_at=row.created_at,
        generation=int(row.generation),
        subject_id=row.subject_id,
    )


def _unreachable(exc: sa_exc.SQLAlchemyError, code: object) -> bool:
    """Whether a driver error means the database cannot be reached or refused the login."""
    if code in _UNREACHABLE or getattr(exc, "connection_invalidated", False):
        return True
    if isinstance(code, str):
        return code[:2] in ("08", "28")  # SQLSTATE connection exception, bad authorisation
    orig = getattr(exc, "orig", None)
    if type(orig).__module__ == "sqlite3":
        return code == 14  # SQLITE_CANTOPEN
    # psycopg reports a failed connection attempt without a SQLSTATE
    return isinstance(exc, sa_exc.OperationalError) and code is None


def _cause(exc: sa_exc.SQLAlchemyError) -> BaseException | None:
    """What to chain to a crmcore error: the driver's error, never SQLAlchemy's wrapper.

    SQLAlchemy's statement errors print the bound parameters, and those hold
    wrapped keys.
    """
    if isinstance(exc, sa_exc.StatementError):
        return exc.orig if isinstance(exc.orig, BaseException) else None
    return exc


class SqlKeyStore:
    """A :class:`~crmcore.crypto.KeyStore` in one SQL table (SQLite, PostgreSQL, MariaDB).

    Every method is one short transaction, committed before it returns. Safe to
    share between threads (the engine pools connections) and processes (the
    database serialises writers; a racing insert of the same key id makes one
    ``add`` return ``False``).

    Table ``table`` has the columns ``tenant`` (≤ 64 characters), ``key_id``
    (≤ 255), ``purpose`` (≤ 16), ``root_id`` (≤ 255), ``wrapped`` (binary),
    ``created_at`` (UTC, microseconds), ``generation`` (64-bit) and
    ``subject_id`` (≤ 255, nullable); the primary key is ``(tenant, key_id)``
    and an index covers ``(tenant, purpose, subject_id)``.

    Args:
        url_or_engine: a database URL (``"sqlite:///keys.db"``,
            ``"postgresql+psycopg://..."``, ``"mysql+pymysql://..."``) or an
            existing :class:`sqlalchemy.engine.Engine` (its disposal is then
            left to you).
        table: the table name (letters, digits and ``_``; at most 48 characters).
        create: create the table (and its index) if it does not exist yet;
            when false nothing is read here, and a missing table makes every
            method raise :class:`~crmcore.errors.StorageError`.

    Raises:
        ConfigurationError: a bad URL or table name, a missing driver, or an
            unsupported database.
        StorageError: ``create`` is true and the table cannot be created (the
            database cannot be reached, or refuses ``CREATE TABLE``).

    Example:
        >>> store = SqlKeyStore("sqlite:///keys.db")  # doctest: +SKIP
        >>> keyring = Keyring(EnvKeyProvider("CRM_ROOT_KEY"), store)  # doctest: +SKIP
    """

    __slots__ = ("_engine", "_owns_engine", "_raw_insert", "_serial", "_sqlite", "_table", "url")

    def __init__(
        self,
        url_or_engine: str | sa.URL | Engine,
        *,
        table: str = "crm_keys",
        create: bool = True,
    ) -> None:
        if not isinstance(table, str) or not _TABLE_NAME.fullmatch(table):
            raise ConfigurationError(
                f"key table name {table!r} must be letters, digits and '_' "
                "(not starting with a digit), at most 48 characters"
            )
        if isinstance(url_or_engine, Engine):
            engine = url_or_engine
            self._owns_engine = False
        else:
            # hide_parameters: SQLAlchemy's errors and logs would show the wrapped keys
            engine = create_engine(url_or_engine, None, None, False, {"hide_parameters": True})
            self._owns_engine = True
        self._engine = engine
        #: the database URL, password hidden
        self.url: str = engine.url.render_as_string(hide_password=True)
        self._table = _table(table)
        try:
            backend = backend_for(engine)
            backend.install()
            self._sqlite = isinstance(backend, SqliteBackend)
            # bulk inserts of keys: SQLite's driver gets the rows' processed values directly
            self._raw_insert = RawInsert(self._table, backend)
            memory = isinstance(backend, SqliteBackend) and backend.in_memory
            # an in-memory SQLite database is one connection: use it from one thread at a time
            self._serial: contextlib.AbstractContextManager[Any] = (
                threading.RLock() if memory else contextlib.nullcontext()
            )
            if create:
                self._create()
        except BaseException:
            if self._owns_engine:
                engine.dispose()
            raise

    # ------------------------------------------------------------------ plumbing

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine."""
        return self._engine

    @property
    def table(self) -> sa.Table:
        """The key table (in a ``MetaData`` of its own)."""
        return self._table

    def _create(self) -> None:
        def create(conn: sa.Connection) -> None:
            self._table.create(conn, checkfirst=True)

        try:
            self._run("create the key table", create, write=True)
        except StorageError:
            # another process may have created it between the check and the CREATE
            try:
                exists = self._exists()
            except StorageError:
                exists = False
            if not exists:
                raise

    def _exists(self) -> bool:
        def exists(conn: sa.Connection) -> bool:
            return sa.inspect(conn).has_table(self._table.name)

        return self._run("look for the key table", exists, write=False)

    def _run(
        self,
        what: str,
        work: Callable[[sa.Connection], T],
        *,
        write: bool,
        duplicate: bool = False,
    ) -> T:
        """Run ``work`` in one transaction, retrying lost deadlock races.

        Raises:
            _Duplicate: ``duplicate`` is true and an insert hit an existing key.
            StorageError: the database failed.
        """
        failure: sa_exc.SQLAlchemyError | None = None
        for attempt in range(_ATTEMPTS):
            try:
                with self._serial, self._engine.begin() as conn:
                    if self._sqlite:
                        # reads: one snapshot; writes: take the write lock now (waiting up
                        # to the busy timeout), not half-way through
                        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
                    return work(conn)
            except sa_exc.SQLAlchemyError as exc:
                if duplicate and is_unique_violation(exc):
                    raise _Duplicate from None
                failure = exc
                if driver_code(exc) in _RETRYABLE and attempt + 1 < _ATTEMPTS:
                    time.sleep(0.01 * 4**attempt)
                    continue
                break
        assert failure is not None
        # raised outside the except block: no implicit chaining to SQLAlchemy's error
        raise self._error(what, failure) from _cause(failure)

    def _error(self, what: str, exc: sa_exc.SQLAlchemyError) -> StorageError:
        """A message naming the table, the failed step and the driver's error class and code."""
        orig = getattr(exc, "orig", None) or exc
        code = driver_code(exc)
        label = type(orig).__name__ + (f" {code}" if code is not None else "")
        where = f"key store {self._table.name!r} on {self.url}"
        text = str(orig) if type(orig).__module__ == "sqlite3" else ""
        if code in _MISSING_TABLE or "no such table" in text:
            reason = (
                f"the table does not exist ({label}); create it with SqlKeyStore(..., create=True)"
            )
        elif _unreachable(exc, code):
            reason = f"cannot connect to the database ({label})"
        elif is_conflict(exc):
            reason = f"a concurrent transaction held the keys too long ({label}); try again"
        else:
            reason = f"the database refused the operation ({label})"
        return StorageError(f"{where}: cannot {what}: {reason}")

    def _upsert(self, row: dict[str, Any]) -> sa.Executable:
        """INSERT of ``row`` that overwrites every column of an existing ``(tenant, key_id)``."""
        t = self._table
        changed = [c.name for c in t.columns if c.name not in ("tenant", "key_id")]
        name = self._engine.dialect.name
        if name == "postgresql":
            pg = postgresql.insert(t).values(row)
            return pg.on_conflict_do_update(
                index_elements=[t.c.tenant, t.c.key_id],
                set_={c: pg.excluded[c] for c in changed},
            )
        if name == "sqlite":
            lite = sqlite.insert(t).values(row)
            return lite.on_conflict_do_update(
                index_elements=[t.c.tenant, t.c.key_id],
                set_={c: lite.excluded[c] for c in changed},
            )
        my = mysql.insert(t).values(row)
        return my.on_duplicate_key_update({c: my.inserted[c] for c in changed})

    # ------------------------------------------------------------------ KeyStore

    def add(self, key: WrappedKey) -> bool:
        """Insert ``key`` unless ``(tenant, key_id)`` exists; committed when this returns.

        Returns:
            Whether it was inserted (``False``: the id is taken, also when another
            process inserted it at the same moment; the stored record stays).

        Raises:
            ConfigurationError: a field does not fit the table.
            StorageError: the database failed.
        """
        row = _row(key)
        stmt = sa.insert(self._table)

        def insert(conn: sa.Connection) -> None:
            conn.execute(stmt, row)

        try:
            self._run("add a key", insert, write=True, duplicate=True)
        except _Duplicate:
            return False
        return True

    def add_many(self, keys: Sequence[WrappedKey]) -> bool:
        """Insert every key in one transaction, or none of them.

        Returns:
            ``True`` once all are committed (also for no keys); ``False``, with
            nothing inserted, if a ``(tenant, key_id)`` exists already or repeats
            within ``keys``.

        Raises:
            ConfigurationError: a field does not fit the table.
            StorageError: the database failed.
        """
        rows = [_row(k) for k in keys]
        if not rows:
            return True
        if len({(r["tenant"], r["key_id"]) for r in rows}) != len(rows):
            return False
        stmt = sa.insert(self._table)

        raw = self._raw_insert

        def insert(conn: sa.Connection) -> None:
            for chunk in chunks(rows, _BATCH):
                raw.run(conn, stmt, chunk)

        try:
            self._run("add keys", insert, write=True, duplicate=True)
        except _Duplicate:
            return False
        return True

    def replace(self, key: WrappedKey) -> None:
        """Overwrite every column of the record with the same ``(tenant, key_id)`` (or insert it).

        Raises:
            ConfigurationError: a field does not fit the table.
            StorageError: the database failed.
        """
        stmt = self._upsert(_row(key))

        def upsert(conn: sa.Connection) -> None:
            conn.execute(stmt)

        self._run("replace a key", upsert, write=True)

    def get(self, tenant: str, key_id: str) -> WrappedKey | None:
        """The record for ``(tenant, key_id)``, or ``None``.

        Raises:
            StorageError: the database failed.
        """
        t = self._table
        stmt = sa.select(t).where(t.c.tenant == tenant, t.c.key_id == key_id)

        def read(conn: sa.Connection) -> WrappedKey | None:
            row = conn.execute(stmt).first()
            return None if row is None else _record(row)

        return self._run("read a key", read, write=False)

    def get_many(self, tenant: str, key_ids: Collection[str]) -> dict[str, WrappedKey]:
        """The records of ``tenant`` among ``key_ids``, by key id (missing ones left out).

        Raises:
            StorageError: the database failed.
        """
        ids = list(dict.fromkeys(key_ids))
        if not ids:
            return {}
        t = self._table

        def read(conn: sa.Connection) -> dict[str, WrappedKey]:
            found: dict[str, WrappedKey] = {}
            for chunk in chunks(ids, _IDS):
                stmt = sa.select(t).where(t.c.tenant == tenant, t.c.key_id.in_(chunk))
                for row in conn.execute(stmt):
                    found[row.key_id] = _record(row)
            return found

        return self._run("read keys", read, write=False)

    def find(
        self, tenant: str, purpose: KeyPurpose, subject_id: str | None = None
    ) -> list[WrappedKey]:
        """Every record of ``tenant`` with ``purpose`` (and ``subject_id`` unless ``None``).

        Returns:
            The records ordered by key id; with ``subject_id=None``, those of
            every subject.

        Raises:
            StorageError: the database failed.
        """
        t = self._table
        stmt = sa.select(t).where(t.c.tenant == tenant, t.c.purpose == KeyPurpose(purpose).value)
        if subject_id is not None:
            stmt = stmt.where(t.c.subject_id == subject_id)
        stmt = stmt.order_by(t.c.key_id)

        def read(conn: sa.Connection) -> list[WrappedKey]:
            return [_record(row) for row in conn.execute(stmt)]

        return self._run("find keys", read, write=False)

    def find_subjects(
        self, tenant: str, subject_ids: Collection[str]
    ) -> dict[str, list[WrappedKey]]:
        """The subject keys of ``tenant`` owned by ``subject_ids``, by subject.

        Returns:
            Each subject's keys ordered by key id; subjects without a key are
            left out.

        Raises:
            StorageError: the database failed.
        """
        subjects = list(dict.fromkeys(subject_ids))
        if not subjects:
            return {}
        t = self._table

        def read(conn: sa.Connection) -> dict[str, list[WrappedKey]]:
            found: dict[str, list[WrappedKey]] = {}
            for chunk in chunks(subjects, _IDS):
                stmt = (
                    sa.select(t)
                    .where(
                        t.c.tenant == tenant,
                        t.c.purpose == KeyPurpose.SUBJECT.value,
                        t.c.subject_id.in_(chunk),
                    )
                    .order_by(t.c.subject_id, t.c.key_id)
                )
                for row in conn.execute(stmt):
                    found.setdefault(row.subject_id, []).append(_record(row))
            return found

        return self._run("find subject keys", read, write=False)

    def delete(self, tenant: str, key_id: str) -> bool:
        """Remove the record for good (committed when this returns).

        Returns:
            Whether there was one.

        Raises:
            StorageError: the database failed.
        """
        t = self._table
        stmt = sa.delete(t).where(t.c.tenant == tenant, t.c.key_id == key_id)

        def remove(conn: sa.Connection) -> bool:
            return bool(conn.execute(stmt).rowcount)

        return self._run("delete a key", remove, write=True)

    def scan(self) -> Iterator[WrappedKey]:
        """Every record, ordered by tenant and key id (export, rewrap).

        Reads pages of 1000 rows, each in its own short transaction: no
        transaction stays open while the caller works through the records.

        Raises:
            StorageError: the database failed.
        """
        t = self._table
        first = sa.select(t).order_by(t.c.tenant, t.c.key_id).limit(_PAGE)
        after: tuple[str, str] | None = None
        while True:
            if after is None:
                stmt = first
            else:
                tenant, key_id = after
                stmt = first.where(
                    sa.or_(t.c.tenant > tenant, sa.and_(t.c.tenant == tenant, t.c.key_id > key_id))
                )

            def read(conn: sa.Connection, stmt: sa.Select[Any] = stmt) -> list[WrappedKey]:
                return [_record(row) for row in conn.execute(stmt)]

            page = self._run("scan the keys", read, write=False)
            yield from page
            if len(page) < _PAGE:
                return
            after = (page[-1].tenant, page[-1].key_id)

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Dispose of the engine if this store created it (an engine passed in is left alone)."""
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> SqlKeyStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqlKeyStore({self.url!r}, table={self._table.name!r})"

    __str__ = __repr__
