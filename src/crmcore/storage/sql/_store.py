"""The SQL store: units of work over one pooled connection, repositories per aggregate.

A unit of work stages its writes, exactly as the memory adapter does: reads
see committed rows overlaid with the unit's own staged ones (read-committed
isolation), and ``commit`` applies everything in one short transaction with
optimistic version checks (``UPDATE ... WHERE id = :id AND version = :v``;
0 rows is a Conflict) and batched ``INSERT`` executemany. Holding no write
locks between calls means two sessions of one thread can never wait for each
other, and the first committer wins on every backend.

SQLite has one writer: its commit runs under ``BEGIN IMMEDIATE`` (waiting up
to the busy timeout, never failing with "database is locked" while another
commit is short), and each multi-statement read runs in one deferred
transaction, a WAL snapshot. On PostgreSQL and MariaDB each read operation
ends its transaction, so an idle session never sits "idle in transaction".
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import heapq
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cmp_to_key
from typing import Any, Generic, TypeVar, cast

import attrs
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from crmcore.errors import (
    AlreadyExists,
    ConfigurationError,
    Conflict,
    NotFound,
    QueryError,
    StorageError,
)
from crmcore.model import COLLECTIONS, Entity
from crmcore.query import Filter, Page, Sort, all_of, any_of, eq, in_, not_
from crmcore.query.adapter import (
    And,
    Not,
    Or,
    OrderSpec,
    Related,
    check_limit,
    check_order,
    compare_keys,
    compile_predicate,
    decode_cursor,
    encode_cursor,
    getter,
    normalize_order,
    sort_key_values,
)
from crmcore.storage.aggregate import GroupKey, Measure, aggregate_records, plan_aggregate
from crmcore.storage.ports import Repository, UnitOfWork
from crmcore.storage.sql._aggregate import aggregate_statement, read_aggregate
from crmcore.storage.sql._dialect import Backend, SqliteBackend, backend_for
from crmcore.storage.sql._errors import guard, is_unique_violation, translate
from crmcore.storage.sql._schema import CHILD_KEY, ChildField, ColumnTerm, EntityMapper, mapper
from crmcore.storage.sql._translate import Translator
from crmcore.storage.sql._types import UtcDateTime, UuidType

__all__ = ["SqlRepository", "SqlStore", "SqlUnitOfWork"]

E = TypeVar("E", bound=Entity)
T = TypeVar("T")


class _Gone:
    """A staged deletion (staged rows are keyed by ``id.int``; this keeps the UUID)."""

    __slots__ = ("id",)

    def __init__(self, id: uuid.UUID) -> None:
        self.id = id


#: rows per executemany call, and ids per IN list
_BATCH = 5000
_IDS = 900
#: records a unit of work remembers to skip rewriting unchanged child rows
_KNOWN_MAX = 10_000
_REMEMBER_MAX = 1000
#: commits write types in this order (and ids sorted), so concurrent commits lock alike
_TYPE_ORDER = {cls: i for i, cls in enumerate(COLLECTIONS.values())}


def _by_id(row: Mapping[str, Any]) -> int:
    return cast(int, row["id"].int)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size`` (batches for executemany and IN lists)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _empty_map_is(proc: Callable[[Any], Any], text: str) -> bool:
    """Whether a column's bind processor turns an empty mapping into ``text``."""
    try:
        return bool(proc({}) == text)
    except Exception:  # a processor for another kind of value
        return False


class _RawInsert:
    """An executemany of row dicts through SQLite's driver, the columns' bind processing done here.

    SQLAlchemy's compiled ``insert`` spends most of a bulk insert building
    parameters row by row; the driver's own executemany of values already
    processed by each column's type (the same processors SQLAlchemy would
    call) writes exactly the same rows several times faster.
    """

    def __init__(self, table: sa.Table, backend: Backend) -> None:
        dialect = backend.engine.dialect
        #: SQLite's driver takes processed values as they are; PostgreSQL's and MariaDB's
        #: drivers need SQLAlchemy's per-statement adaptation (JSON, casts), so they keep it
        self.direct = isinstance(backend, SqliteBackend)
        compiled = sa.insert(table).compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        names = list(compiled.positiontup or ()) if self.positional else list(compiled.binds)
        columns = {c.key: c for c in table.columns}
        # the processor SQLAlchemy itself would run: the dialect-level type (a decorated
        # type on SQLite stores decimals as text, not through Numeric's float processor)
        procs = [
            (name, columns[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in names
        ]
        # one generated function per table: no per-value loop machinery on the hot path
        ns: dict[str, Any] = {}
        parts = []
        sqlite = isinstance(backend, SqliteBackend)
        ns["_UUID"], ns["_UTC"] = uuid.UUID, _dt.timezone.utc
        for k, (name, proc) in enumerate(procs):
            kind = type(columns[name].type)
            if proc is None:
                parts.append(f"r[{name!r}]")
            elif sqlite and kind is UuidType:
                # what the processor stores, inline: the 32 hex digits
                ns[f"f{k}"] = proc
                parts.append(
                    f"(v{k}.hex if type(v{k} := r[{name!r}]) is _UUID"
                    f" else None if v{k} is None else f{k}(v{k}))"
                )
            elif sqlite and kind is UtcDateTime:
                # an aware UTC time as the processor writes it: ISO text without the offset
                ns[f"f{k}"] = proc
                parts.append(
                    f"(v{k}.isoformat(' ', 'microseconds')[:26]"
                    f" if (v{k} := r[{name!r}]) is not None and v{k}.tzinfo is _UTC"
                    f" else None if v{k} is None else f{k}(v{k}))"
                )
            elif _empty_map_is(proc, "{}"):
                # most custom/sealed maps are empty: skip the JSON encoder for them
                ns[f"f{k}"] = proc
                parts.append(
                    f"(None if (v{k} := r[{name!r}]) is None else "
                    f"'{{}}' if v{k} == {{}} else f{k}(v{k}))"
                )
            else:
                ns[f"f{k}"] = proc
                parts.append(f"(None if (v{k} := r[{name!r}]) is None else f{k}(v{k}))")
        if self.positional:
            body = "(" + "".join(f"{x}, " for x in parts) + ")"
        else:
            pairs = zip(procs, parts, strict=True)
            body = "{" + ", ".join(f"{n!r}: {x}" for (n, _), x in pairs) + "}"
        src = f"def rows(chunk):\n    return [{body} for r in chunk]\n"
        exec(compile(src, f"<crmcore.sql raw insert {table.name}>", "exec"), ns)
        #: the chunk as the driver takes it: tuples (or dicts) of processed values
        self.rows: Callable[[Sequence[dict[str, Any]]], list[Any]] = ns["rows"]

    def run(
        self, conn: sa.Connection, statement: sa.Insert, chunk: Sequence[dict[str, Any]]
    ) -> None:
        """Insert ``chunk``; values the fast path cannot process go through SQLAlchemy."""
        if not self.direct:
            conn.execute(statement, list(chunk))
            return
        try:
            rows = self.rows(chunk)
        except (TypeError, ValueError, OverflowError, KeyError):
            conn.execute(statement, list(chunk))  # the same error, raised and translated as ever
            return
        conn.exec_driver_sql(self.sql, rows)


class _Ops:
    """Prepared statements and SQL helpers of one entity type on one backend."""

    def __init__(self, m: EntityMapper, backend: Backend) -> None:
        self.m = m
        self.b = backend
        self.tr = Translator(m, backend)
        t = self.table = m.table
        self.id_index = m.columns.index("id")
        self.insert = sa.insert(t)
        bid = sa.bindparam("b_id", type_=t.c.id.type)
        bversion = sa.bindparam("b_version", type_=t.c.version.type)
        self.update = sa.update(t).where(t.c.id == bid, t.c.version == bversion)
        self.delete = sa.delete(t).where(t.c.id == bid)
        self.delete_versioned = sa.delete(t).where(t.c.id == bid, t.c.version == bversion)
        self.version_of = sa.select(t.c.version).where(t.c.id == bid)
        # each parent row says which child tables hold rows for it (an index probe each),
        # so loading queries only the child tables some row of the batch needs
        self.ncols = len(m.columns)
        flags = [
            sa.exists().where(ct.c[CHILD_KEY] == t.c.id).correlate(t).label(f"crm_has_{k}")
            for k, ct in enumerate(m.child_tables)
        ]
        self.select = sa.select(t, *flags)
        self.ids_in = sa.select(t.c.id).where(t.c.id.in_(sa.bindparam("ids", expanding=True)))
        self.by_ids = self.select.where(t.c.id.in_(sa.bindparam("ids", expanding=True)))
        self.child_insert = tuple(sa.insert(ct) for ct in m.child_tables)
        self.raw_insert = _RawInsert(t, backend)
        self.raw_child_insert = tuple(_RawInsert(ct, backend) for ct in m.child_tables)
        self.child_delete = tuple(
            sa.delete(ct).where(ct.c[CHILD_KEY] == sa.bindparam("rid", type_=ct.c[CHILD_KEY].type))
            for ct in m.child_tables
        )
        self.child_select = tuple(
            sa.select(ct)
            .where(ct.c[CHILD_KEY].in_(sa.bindparam("ids", expanding=True)))
            .order_by(ct.c[CHILD_KEY], *([ct.c.position] if isinstance(f, ChildField) else []))
            for f, ct in zip(m.child_fields, m.child_tables, strict=True)
        )
        self.child_is_set = tuple(not isinstance(f, ChildField) for f in m.child_fields)
        self.child_names = tuple(f.name for f in m.child_fields)

    # -- writes

    def insert_rows(self, conn: sa.Connection, entities: Sequence[Entity]) -> None:
        """Insert new records, one executemany per table per ``_BATCH`` records."""
        for chunk in _chunks(entities, _BATCH):
            parents, children = self.m.dump_many(chunk)
            self.insert_dumped(conn, parents, children)

    def insert_dumped(
        self, conn: sa.Connection, parents: list[dict[str, Any]], children: tuple[list[Any], ...]
    ) -> None:
        if len(parents) > _BATCH:
            # in key order: each index page is then visited once per batch, not per row
            parents = sorted(parents, key=_by_id)
        for chunk in _chunks(parents, _BATCH):
            self.raw_insert.run(conn, self.insert, chunk)
        self._insert_children(conn, children, range(len(children)))

    def _insert_children(
        self, conn: sa.Connection, children: tuple[list[Any], ...], which: Iterable[int]
    ) -> None:
        for k in which:
            rows = children[k]
            for chunk in _chunks(rows, _BATCH):
                self.raw_child_insert[k].run(conn, self.child_insert[k], chunk)

    def update_row(
        self, conn: sa.Connection, entity: Entity, expected: int, version: int, base: Entity | None
    ) -> bool:
        """Write ``entity`` at ``version`` if the stored version is ``expected``."""
        parents, children = self.m.dump_many([entity])
        row = parents[0]
        del row["id"]
        row["version"] = version
        row["b_id"] = entity.id
        row["b_version"] = expected
        if conn.execute(self.update, row).rowcount != 1:
            return False
        self.replace_children(conn, entity, children, base)
        return True

    def replace_children(
        self,
        conn: sa.Connection,
        entity: Entity,
        children: tuple[list[Any], ...],
        base: Entity | None,
    ) -> None:
        for k, name in enumerate(self.child_names):
            if base is not None and getattr(base, name) == getattr(entity, name):
                continue
            conn.execute(self.child_delete[k], {"rid": entity.id})
            self._insert_children(conn, children, (k,))

    def version(self, conn: sa.Connection, id: uuid.UUID) -> int | None:
        return cast("int | None", conn.execute(self.version_of, {"b_id": id}).scalar())

    def existing_ids(self, conn: sa.Connection, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        for chunk in _chunks(ids, _IDS):
            found.update(conn.execute(self.ids_in, {"ids": list(chunk)}).scalars())
        return found

    # -- reads

    def load(self, conn: sa.Connection, rows: Sequence[Any]) -> list[Entity]:
        """Entities from parent rows (selected with ``self.select``) and their child rows.

        One query per child table that some row of the batch has rows in.
        """
        if not rows:
            return []
        build = self.m.build
        if not self.child_select:
            return [build(r, ()) for r in rows]
        idx, base = self.id_index, self.ncols
        children: list[dict[Any, Any]] = []
        for k, select in enumerate(self.child_select):
            ids = [r[idx] for r in rows if r[base + k]]
            if not ids:
                children.append({})
                continue
            make = self.m.child_builders[k]
            grouped: dict[Any, list[Any]] = {}
            for chunk in _chunks(ids, _IDS):
                for cr in conn.execute(select, {"ids": list(chunk)}):
                    rid = cr[0].int
                    items = grouped.get(rid)
                    if items is None:
                        grouped[rid] = [make(cr)]
                    else:
                        items.append(make(cr))
            wrap = frozenset if self.child_is_set[k] else tuple
            children.append({rid: wrap(v) for rid, v in grouped.items()})
        ch = tuple(children)
        return [build(r, ch) for r in rows]

    def get_rows(self, conn: sa.Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Entity]:
        rows: list[Any] = []
        for chunk in _chunks(ids, _IDS):
            rows += conn.execute(self.by_ids, {"ids": list(chunk)}).all()
        return {e.id: e for e in self.load(conn, rows)}

    def statement(
        self,
        where: Filter | None,
        order: Sequence[Sort],
        after: Sequence[object] | None,
        limit: int | None,
    ) -> sa.Select[Any]:
        tr = self.tr
        stmt = self.select
        if where is not None:
            stmt = stmt.where(tr.where(where))
        if after is not None:
            stmt = stmt.where(tr.after(order, after))
        stmt = stmt.order_by(*tr.order_by(tr.atoms(order)))
        if limit is not None:
            stmt = stmt.limit(limit)
        return stmt

    def count(self, conn: sa.Connection, where: Filter | None, extra: Any = None) -> int:
        stmt = sa.select(sa.func.count()).select_from(self.table)
        if where is not None:
            stmt = stmt.where(self.tr.where(where))
        if extra is not None:
            stmt = stmt.where(extra)
        return int(conn.execute(stmt).scalar_one())


class SqlStore:
    """A crmcore store on SQLite, PostgreSQL or MariaDB through SQLAlchemy Core.

    Args:
        url_or_engine: a database URL (``"sqlite:///crm.db"``,
            ``"postgresql+psycopg://..."``, ``"mysql+pymysql://..."``) or an
            existing :class:`sqlalchemy.engine.Engine` (crmcore then leaves its
            disposal to you).
        create_schema: create the tables at the newest revision on an empty
            database (an existing schema is always checked against the code).
        pool_size / max_overflow: connection pool settings for a URL.
        echo: log every statement (SQLAlchemy's ``echo``).
        engine_kwargs: passed to :func:`sqlalchemy.create_engine`.

    Raises:
        ConfigurationError: the URL or options cannot work.
        SchemaError: the database schema is at another revision.
        StorageError: the database cannot be reached.
    """

    def __init__(
        self,
        url_or_engine: str | sa.URL | Engine,
        *,
        create_schema: bool = True,
        pool_size: int | None = None,
        max_overflow: int | None = None,
        echo: bool = False,
        **engine_kwargs: Any,
    ) -> None:
        from crmcore.storage.sql._migrate import ensure_schema

        if isinstance(url_or_engine, Engine):
            if pool_size is not None or max_overflow is not None or engine_kwargs or echo:
                raise ConfigurationError("engine options apply to a URL, not to an existing Engine")
            self.engine = url_or_engine
            self._owns_engine = False
        else:
            self.engine = _create_engine(
                url_or_engine, pool_size, max_overflow, echo, engine_kwargs
            )
            self._owns_engine = True
        self.url: str = self.engine.url.render_as_string(hide_password=True)
        self.backend = backend_for(self.engine)
        self.backend.install()
        memory = isinstance(self.backend, SqliteBackend) and self.backend.in_memory
        #: every unit of work shares one connection (an in-memory SQLite database)
        self.shared = memory
        self._serial: threading.RLock | None = threading.RLock() if memory else None
        self._ops: dict[type[Entity], _Ops] = {}
        self._ops_lock = threading.Lock()
        try:
            with self.serial():
                ensure_schema(self.engine, self.backend, create=create_schema)
        except BaseException:
            if self._owns_engine:
                self.engine.dispose()
            raise

    def serial(self) -> contextlib.AbstractContextManager[Any]:
        """A lock serialising database work when every unit shares one connection (``:memory:``)."""
        return self._serial if self._serial is not None else contextlib.nullcontext()

    def ops(self, entity_type: type[Entity]) -> _Ops:
        ops = self._ops.get(entity_type)
        if ops is None:
            with self._ops_lock:
                ops = self._ops.get(entity_type)
                if ops is None:
                    ops = self._ops[entity_type] = _Ops(mapper(entity_type), self.backend)
        return ops

    def begin(self) -> SqlUnitOfWork:
        """Start a unit of work (it takes a pooled connection on first use)."""
        return SqlUnitOfWork(self)

    def close(self) -> None:
        """Dispose of the engine if this store created it (an engine passed in is left alone)."""
        if self._owns_engine:
            self.engine.dispose()

    def __repr__(self) -> str:
        return f"SqlStore({self.url!r})"


def _create_engine(
    url: str | sa.URL,
    pool_size: int | None,
    max_overflow: int | None,
    echo: bool,
    engine_kwargs: dict[str, Any],
) -> Engine:
    try:
        parsed = sa.make_url(url)
    except sa_exc.ArgumentError as exc:
        raise ConfigurationError(f"not a database URL: {exc}") from None
    kwargs: dict[str, Any] = {"echo": echo, **engine_kwargs}
    if pool_size is not None:
        kwargs["pool_size"] = pool_size
    if max_overflow is not None:
        kwargs["max_overflow"] = max_overflow
    if parsed.get_backend_name() in ("mysql", "mariadb"):
        kwargs.setdefault("isolation_level", "READ COMMITTED")
    if parsed.get_backend_name() == "sqlite":
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("check_same_thread", False)
        kwargs["connect_args"] = connect_args
        database = parsed.database or ""
        if database in ("", ":memory:") or "mode=memory" in database:
            from sqlalchemy.pool import StaticPool

            kwargs.setdefault("poolclass", StaticPool)
            kwargs.pop("pool_size", None)
            kwargs.pop("max_overflow", None)
    try:
        return sa.create_engine(parsed, **kwargs)
    except ImportError as exc:
        raise ConfigurationError(
            f"the database driver for {parsed.drivername!r} is not installed ({exc.name}); "
            "install crmcore[postgres] or crmcore[mysql]"
        ) from None
    except (sa_exc.ArgumentError, TypeError) as exc:
        raise ConfigurationError(f"cannot create an engine for {parsed!r}: {exc}") from None


class SqlUnitOfWork(UnitOfWork):
    """Staged writes plus the versions they expect, applied in one transaction at commit."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._sqlite = isinstance(store.backend, SqliteBackend)
        self._conn: sa.Connection | None = None
        self._repos: dict[type[Entity], SqlRepository[Any]] = {}
        self._known: dict[type[Entity], dict[uuid.UUID, Entity]] = {}
        # the identity map: per type, the committed records this unit has read, by id;
        # get/get_many/update answer from it until commit or rollback (the version
        # check stays at commit)
        self._seen: dict[type[Entity], dict[uuid.UUID, Entity]] = {}
        # per type, keyed by id.int: the staged entity (or _Gone), and the version the
        # stored row must still have at commit (None: the id must be new)
        self._staged: dict[type[Entity], dict[int, Any]] = {}
        self._expect: dict[type[Entity], dict[int, int | None]] = {}
        # rows already dumped by add / add_many: (entities, parent rows, child rows)
        self._prepared: dict[type[Entity], list[tuple[Sequence[Entity], Any, Any]]] = {}
        self._reading = 0
        # set by flush(): the write transaction it opened (and the serial lock it holds)
        self._writing: contextlib.ExitStack | None = None

    # -- the port

    def repository(self, entity_type: type[E]) -> SqlRepository[E]:
        """The repository of ``entity_type`` in this unit of work."""
        repo = self._repos.get(entity_type)
        if repo is None:
            repo = self._repos[entity_type] = SqlRepository(self, entity_type)
        return cast("SqlRepository[E]", repo)

    def commit(self) -> None:
        """Apply every staged write in one transaction, or none.

        Raises:
            Conflict: a record changed or vanished since it was read.
            AlreadyExists: a new record's id was taken meanwhile.
        """
        if self._writing is not None:
            self.flush()
            with self._end_writing(), guard("UnitOfWork"):
                self.connection().commit()
            self._clear()
            return
        if not any(self._staged.values()):
            self._clear()
            return
        if self._reading:
            raise StorageError("cannot commit while a stream of this unit of work is still open")
        store = self._store
        conn = self.connection()
        with store.serial():
            try:
                if self._sqlite:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                for etype in sorted(self._staged, key=_type_order):
                    self._apply(conn, store.ops(etype), self._staged[etype])
                conn.commit()
            except BaseException as exc:
                with contextlib.suppress(sa_exc.SQLAlchemyError):
                    conn.rollback()
                if isinstance(exc, sa_exc.SQLAlchemyError):
                    raise translate(exc, "UnitOfWork") from exc
                raise
        for etype, rows in self._staged.items():
            if len(rows) <= _REMEMBER_MAX:  # not after bulk loads: nobody updates those next
                self.remember(etype, [r for r in rows.values() if type(r) is not _Gone])
            for r in rows.values():
                if type(r) is _Gone:
                    self.forget(etype, r.id)
        self._clear()

    def flush(self) -> None:
        """Write the staged changes into a transaction that stays open, and forget them.

        For bulk loads (a restore) that must be all or nothing without holding
        every record in memory: the first flush opens the write transaction
        (on SQLite it takes the write lock), later reads of this unit see what
        was flushed, :meth:`commit` commits it all and :meth:`rollback` (or any
        error here) undoes it all.

        Raises:
            Conflict / AlreadyExists: as :meth:`commit` (the transaction is rolled back).
        """
        if self._reading:
            raise StorageError("cannot flush while a stream of this unit of work is still open")
        if not any(self._staged.values()):
            return
        store = self._store
        conn = self.connection()
        if self._writing is None:
            stack = contextlib.ExitStack()
            stack.enter_context(store.serial())
            self._writing = stack
            try:
                if self._sqlite:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException as exc:
                self._abort_writing(conn)
                if isinstance(exc, sa_exc.SQLAlchemyError):
                    raise translate(exc, "UnitOfWork") from exc
                raise
        try:
            for etype in sorted(self._staged, key=_type_order):
                self._apply(conn, store.ops(etype), self._staged[etype])
        except BaseException as exc:
            self._abort_writing(conn)
            self._clear()
            if isinstance(exc, sa_exc.SQLAlchemyError):
                raise translate(exc, "UnitOfWork") from exc
            raise
        for etype, rows in self._staged.items():  # the identity map answers the flushed state
            seen = self._seen.get(etype)
            if seen:
                for row in rows.values():
                    if row.id in seen:
                        if type(row) is _Gone:
                            del seen[row.id]
                        else:
                            seen[row.id] = row
        self._staged.clear()
        self._expect.clear()
        self._prepared.clear()

    @contextlib.contextmanager
    def _end_writing(self) -> Iterator[None]:
        """Around the end of a flushed transaction: afterwards the serial lock is released."""
        try:
            yield
        except BaseException:
            self._abort_writing(self.connection())
            raise
        stack, self._writing = self._writing, None
        if stack is not None:
            stack.close()

    def _abort_writing(self, conn: sa.Connection) -> None:
        with contextlib.suppress(sa_exc.SQLAlchemyError):
            conn.rollback()
        stack, self._writing = self._writing, None
        if stack is not None:
            stack.close()

    def rollback(self) -> None:
        """Discard every staged write (and everything flushed)."""
        if self._writing is not None and self._conn is not None:
            self._abort_writing(self._conn)
        self._clear()
        self._known.clear()
        if self._conn is not None and self._reading:
            self._reading = 0
            with guard("UnitOfWork"):
                self._conn.rollback()

    def close(self) -> None:
        """Discard anything uncommitted and give the connection back to the pool."""
        try:
            self.rollback()
        finally:
            conn, self._conn = self._conn, None
            if conn is not None:
                with guard("UnitOfWork"), self._store.serial():
                    conn.close()

    def __repr__(self) -> str:
        staged = sum(len(v) for v in self._staged.values())
        return f"<SqlUnitOfWork on {self._store.url!r}, {staged} staged>"

    # -- connection and reads

    def _clear(self) -> None:
        self._staged.clear()
        self._expect.clear()
        self._prepared.clear()
        self._seen.clear()

    def seen(self, etype: type[Entity]) -> dict[uuid.UUID, Entity]:
        """The identity map of one type: records read by this unit, by id."""
        seen = self._seen.get(etype)
        if seen is None:
            seen = self._seen[etype] = {}
        return seen

    def connection(self) -> sa.Connection:
        """This unit's connection (taken from the pool on first use)."""
        conn = self._conn
        if conn is None:
            with guard("UnitOfWork"):
                conn = self._store.engine.connect()
                if self._store.backend.name == "mariadb" and not _read_committed(conn):
                    conn.execution_options(isolation_level="READ COMMITTED")
            self._conn = conn
        return conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """The connection inside one read transaction (a snapshot on SQLite), ended after."""
        conn = self.connection()
        if self._reading or self._writing is not None:  # inside a read or a flushed write
            self._reading += 1
            try:
                yield conn
            finally:
                self._reading -= 1
            return
        with self._store.serial():
            if self._sqlite:
                conn.exec_driver_sql("BEGIN")
            self._reading = 1
            try:
                yield conn
            finally:
                self._reading = 0
                conn.rollback()

    def remember(
        self, etype: type[Entity], entities: Iterable[Entity], *, read: bool = False
    ) -> None:
        """Keep the stored state of records (to skip rewriting unchanged child rows).

        With ``read``, they were just read from the database: the identity map
        answers them from now on until commit or rollback.
        """
        known = self._known.setdefault(etype, {})
        if len(known) > _KNOWN_MAX:
            known.clear()
        seen = self.seen(etype) if read else None
        if seen is not None and len(seen) > _KNOWN_MAX:
            seen.clear()
        for e in entities:
            known[e.id] = e
            if seen is not None:
                seen[e.id] = e

    def known(self, etype: type[Entity], id: uuid.UUID, version: int) -> Entity | None:
        """The stored state of a record at ``version``, if this unit of work saw it."""
        e = self._known.get(etype, {}).get(id)
        return e if e is not None and e.version == version else None

    def forget(self, etype: type[Entity], id: uuid.UUID) -> None:
        self._known.get(etype, {}).pop(id, None)

    # -- staging

    def stage(self, etype: type[Entity], id: uuid.UUID, row: Any, expect: int | None) -> None:
        """Stage ``row`` (an entity or ``_Gone``); the first expectation per id wins."""
        key = id.int
        self._expect.setdefault(etype, {}).setdefault(key, expect)
        self._staged.setdefault(etype, {})[key] = row

    def stage_new(self, etype: type[Entity], items: Sequence[Entity]) -> None:
        """Stage new records (the bulk path of ``add_many``)."""
        staged = self._staged.setdefault(etype, {})
        expect = self._expect.setdefault(etype, {})
        for e in items:
            key = e.id.int
            staged[key] = e
            expect.setdefault(key, None)

    def has_staged(self) -> bool:
        """Whether any write is staged (of any type)."""
        return any(self._staged.values())

    def staged(self, etype: type[Entity]) -> dict[int, Any]:
        """Staged rows of a type, keyed by ``id.int``."""
        return self._staged.get(etype, {})

    def expects(self, etype: type[Entity], key: int) -> int | None:
        return self._expect.get(etype, {}).get(key)

    def prepared(self, etype: type[Entity], items: Sequence[Entity], dumped: Any) -> None:
        self._prepared.setdefault(etype, []).append((items, dumped[0], dumped[1]))

    def _apply(self, conn: sa.Connection, ops: _Ops, rows: dict[int, Any]) -> None:
        etype = ops.m.cls
        name = ops.m.name
        expects = self._expect.get(etype, {})
        new: dict[int, Entity] = {}
        changed: list[tuple[int, Any, int]] = []
        for key, row in rows.items():
            expect = expects.get(key)
            if expect is None:
                if type(row) is not _Gone:
                    new[key] = row
            else:
                changed.append((key, row, expect))
        changed.sort(key=lambda item: item[0])  # one lock order for every committer
        for _key, row, expect in changed:
            id = row.id
            if type(row) is _Gone:
                params = {"b_id": id, "b_version": expect}
                if conn.execute(ops.delete_versioned, params).rowcount != 1:
                    actual = ops.version(conn, id)
                    raise Conflict(name, id, expected_version=expect, actual_version=actual)
                continue
            base = self.known(etype, id, expect)
            if not ops.update_row(conn, row, expect, row.version, base):
                actual = ops.version(conn, id)
                raise Conflict(name, id, expected_version=expect, actual_version=actual)
        if not new:
            return
        try:
            self._insert(conn, ops, new)
        except sa_exc.IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            conn.rollback()
            ids = [e.id for e in new.values()]
            with guard(name):
                found = ops.existing_ids(conn, ids)
                conn.rollback()
            taken = next((i for i in ids if i in found), "(a concurrent insert)")
            raise AlreadyExists(name, taken) from exc

    def _insert(self, conn: sa.Connection, ops: _Ops, new: dict[int, Entity]) -> None:
        """Insert the new records, reusing the rows add / add_many already built."""
        remaining = dict(new)
        for items, parents, children in self._prepared.get(ops.m.cls, ()):
            if all(remaining.get(e.id.int) is e for e in items):
                ops.insert_dumped(conn, parents, children)
                for e in items:
                    del remaining[e.id.int]
        if remaining:
            ops.insert_rows(conn, list(remaining.values()))


def _own_writes(uow: SqlUnitOfWork, f: Filter) -> Filter:
    """``f`` with every related filter also counting the unit's staged related rows.

    The database counts committed rows only. For the few keys a staged row of
    the related collection touches (its new key, and the key its committed
    version had) the count is worked out here: committed matches in the
    database, minus the committed versions of staged rows, plus the staged
    rows that match. Those keys are decided by a key list, every other key by
    the unchanged subquery, so plain finds and related filters read the unit's
    own writes alike.
    """
    if isinstance(f, (And, Or)):
        items = [_own_writes(uow, i) for i in f.items]
        return all_of(*items) if isinstance(f, And) else any_of(*items)
    if isinstance(f, Not):
        return not_(_own_writes(uow, f.item))
    if not isinstance(f, Related):
        return f
    etype = COLLECTIONS[f.collection]
    node = attrs.evolve(f, where=_own_writes(uow, f.where))
    staged = uow.staged(etype)
    if not staged:
        return node
    ops = uow._store.ops(etype)
    term = ops.tr.m.term(f.key)
    if not isinstance(term, ColumnTerm):
        raise QueryError("related needs a plain column key", field=f.key)
    key, tenant = term.column, ops.table.c.tenant_id
    get_key = getter(f.key)
    pred = compile_predicate(node.where, uow.repository(etype)._related_counts)
    counts: dict[tuple[str, Any], int] = {}
    for row in staged.values():
        if type(row) is not _Gone:
            k = get_key(row)
            if k is not None:
                counts.setdefault((row.tenant_id, k), 0)
                if pred(row):
                    counts[(row.tenant_id, k)] += 1
    replaced = [uuid.UUID(int=i) for i in staged if uow.expects(etype, i) is not None]
    cond = ops.tr.where(node.where)
    with guard(etype.__name__), uow.reading() as conn:
        for chunk in _chunks(replaced, _IDS):
            stmt = sa.select(ops.table.c.id, tenant, key, cond.label("m")).where(
                ops.table.c.id.in_(list(chunk)), key.is_not(None)
            )
            for _, t, k, matched in conn.execute(stmt):
                counts[(t, k)] = counts.get((t, k), 0) - (1 if matched else 0)
        by_tenant: dict[str, list[Any]] = {}
        for t, k in counts:
            by_tenant.setdefault(t, []).append(k)
        for t, keys in by_tenant.items():
            for chunk in _chunks(keys, _IDS):
                stmt = (
                    sa.select(key, sa.func.count())
                    .where(tenant == t, key.in_(list(chunk)), cond)
                    .group_by(key)
                )
                for k, n in conn.execute(stmt):
                    counts[(t, k)] += int(n)
    if not counts:
        return node
    decided: list[Filter] = []
    matching: list[Filter] = []
    for t, keys in by_tenant.items():
        decided.append(all_of(eq("tenant_id", t), in_(f.field, keys)))
        hits = [k for k in keys if node.matches(counts[(t, k)])]
        if hits:
            matching.append(all_of(eq("tenant_id", t), in_(f.field, hits)))
    return any_of(all_of(not_(any_of(*decided)), node), *matching)


def _type_order(etype: type[Entity]) -> int:
    order = _TYPE_ORDER.get(etype)
    return len(_TYPE_ORDER) if order is None else order


def _read_committed(conn: sa.Connection) -> bool:
    configured = getattr(conn.engine.dialect, "isolation_level", None)
    if configured is not None:
        return bool(configured == "READ COMMITTED")
    return conn.default_isolation_level == "READ COMMITTED"


class SqlRepository(Repository[E], Generic[E]):
    """One aggregate type inside a :class:`SqlUnitOfWork`."""

    def __init__(self, uow: SqlUnitOfWork, entity_type: type[E]) -> None:
        self._uow = uow
        self.entity_type = entity_type
        self._name = entity_type.__name__
        self._ops = uow._store.ops(entity_type)

    def _check(self, entity: object) -> None:
        if not isinstance(entity, self.entity_type):
            raise QueryError(f"expected a {self._name}, got {type(entity).__name__}")

    # -- writes

    def add(self, entity: E) -> E:
        """Stage a new record (validated now, written at commit).

        Raises:
            AlreadyExists: a record with that id is stored.
        """
        self._check(entity)
        if self._visible_version(entity.id) is not None:
            raise AlreadyExists(self._name, entity.id)
        uow = self._uow
        uow.prepared(self.entity_type, (entity,), self._ops.m.dump_many((entity,)))
        uow.stage(self.entity_type, entity.id, entity, None)
        return entity

    def add_many(self, entities: Iterable[E]) -> list[E]:
        """Stage many new records; all or nothing.

        A duplicate within ``entities`` or with this unit's staged records is
        refused at once; a clash with a stored record is found by the batched
        insert at commit.

        Raises:
            AlreadyExists: an id is taken.
        """
        items = list(entities)
        uow, etype = self._uow, self.entity_type
        staged = uow.staged(etype)
        seen: set[int] = set()
        for e in items:
            if e.__class__ is not etype:
                self._check(e)
            key = e.id.int
            if key in seen or (staged and key in staged and type(staged[key]) is not _Gone):
                raise AlreadyExists(self._name, e.id)
            seen.add(key)
        if not items:
            return items
        uow.prepared(etype, items, self._ops.m.dump_many(items))
        uow.stage_new(etype, items)
        return items

    def update(self, entity: E) -> E:
        """Stage a replacement if ``entity.version`` is the visible version.

        Returns:
            The record as it will be stored, its version incremented.

        Raises:
            Conflict: the stored version differs or the record is gone.
        """
        self._check(entity)
        id, expected = entity.id, entity.version
        current = self._visible_version(id)
        if current != expected:
            raise Conflict(self._name, id, expected_version=expected, actual_version=current)
        ops = self._ops
        stored = cast(E, ops.m.copy_with_version(entity, expected + 1))
        ops.m.dump_many((stored,))  # refuse unstorable values now, not at commit
        self._uow.stage(self.entity_type, id, stored, expected)
        return stored

    def delete(self, id: uuid.UUID, *, expected_version: int | None = None) -> None:
        """Stage removal of a record (its child rows go with it).

        Raises:
            NotFound: no such record.
            Conflict: ``expected_version`` is given and differs.
        """
        current = self._visible_version(id)
        if current is None:
            raise NotFound(self._name, id)
        if expected_version is not None and current != expected_version:
            raise Conflict(
                self._name, id, expected_version=expected_version, actual_version=current
            )
        self._uow.stage(self.entity_type, id, _Gone(id), current)

    # -- reads

    def _visible_version(self, id: uuid.UUID) -> int | None:
        row = self._uow.staged(self.entity_type).get(id.int)
        if row is not None:
            return None if type(row) is _Gone else cast(int, row.version)
        known = self._uow.seen(self.entity_type).get(id)
        if known is not None:
            return known.version
        with guard(self._name, id), self._uow.reading() as conn:
            return self._ops.version(conn, id)

    def get(self, id: uuid.UUID) -> E:
        """The visible record with that id.

        Raises:
            NotFound: no such record.
        """
        found = self.get_many((id,))
        if not found:
            raise NotFound(self._name, id)
        return found[0]

    def get_many(self, ids: Iterable[uuid.UUID]) -> list[E]:
        """The visible records among ``ids``, in the order asked."""
        wanted = list(ids)
        staged = self._uow.staged(self.entity_type)
        seen = self._uow.seen(self.entity_type)
        out: dict[uuid.UUID, Any] = {}
        missing = []
        for i in wanted:
            row = staged.get(i.int) if staged else None
            if row is None:
                row = seen.get(i)
                if row is None:
                    missing.append(i)
                else:
                    out[i] = row
            elif type(row) is not _Gone:
                out[i] = row
        if missing:
            with guard(self._name), self._uow.reading() as conn:
                loaded = self._ops.get_rows(conn, list(dict.fromkeys(missing)))
            self._uow.remember(self.entity_type, loaded.values(), read=True)
            out.update(loaded)
        return [cast(E, out[i]) for i in wanted if i in out]

    def find(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[E]:
        """One page of matching records in ``order_by`` order (ties by id)."""
        order = normalize_order(order_by)
        check_order(order, self.entity_type)
        check_limit(limit)
        tr = self._ops.tr
        bound = self._bind(where)
        cursor = None if after is None else tr.cursor_values(order, decode_cursor(after, order))
        staged = self._uow.staged(self.entity_type)
        with guard(self._name):
            if staged:
                rows = self._find_overlay(bound, order, limit, cursor, staged)
            else:
                fetch = None if limit is None else limit + 1
                stmt = self._ops.statement(bound, order, cursor, fetch)
                with self._uow.reading() as conn:
                    rows = self._ops.load(conn, conn.execute(stmt).all())
        if len(rows) <= _KNOWN_MAX:
            staged_ids = staged or {}
            self._uow.remember(
                self.entity_type, [r for r in rows if r.id.int not in staged_ids], read=True
            )
        more = limit is not None and len(rows) > limit
        items = rows[:limit] if limit is not None else rows
        next_cursor = (
            encode_cursor(order, sort_key_values(items[-1], order)) if more and items else None
        )
        return Page(tuple(cast("list[E]", items)), next_cursor)

    def _find_overlay(
        self,
        bound: Filter | None,
        order: tuple[Sort, ...],
        limit: int | None,
        cursor: Sequence[object] | None,
        staged: dict[int, Any],
    ) -> list[Entity]:
        """Committed rows overlaid with this unit of work's staged ones."""
        pred = compile_predicate(bound, self._related_counts) if bound is not None else None
        extra = [
            r
            for r in staged.values()
            if type(r) is not _Gone
            and (pred is None or pred(r))
            and (cursor is None or compare_keys(sort_key_values(r, order), cursor, order) > 0)
        ]
        etype = self.entity_type
        hidden = sum(1 for i in staged if self._uow.expects(etype, i) is not None)
        fetch = None if limit is None else limit + 1 + hidden
        stmt = self._ops.statement(bound, order, cursor, fetch)
        with self._uow.reading() as conn:
            loaded = self._ops.load(conn, conn.execute(stmt).all())
        rows = [e for e in loaded if e.id.int not in staged]

        def cmp(a: tuple[tuple[object, ...], Entity], b: tuple[tuple[object, ...], Entity]) -> int:
            return compare_keys(a[0], b[0], order)

        key = cmp_to_key(cmp)
        merged = heapq.merge(
            [(sort_key_values(e, order), e) for e in rows],
            sorted(((sort_key_values(e, order), e) for e in extra), key=key),
            key=key,
        )
        out = [e for _, e in merged]
        return out if limit is None else out[: limit + 1]

    def _bind(self, where: Filter | None) -> Filter | None:
        """``where`` bound, with related filters made to see this unit's staged rows."""
        bound = self._ops.tr.bind(where)
        if bound is None or not self._uow.has_staged():
            return bound
        return _own_writes(self._uow, bound)

    def _related_counts(self, node: Related) -> dict[tuple[str, Any], int]:
        """Committed related records per (tenant, key), for staged rows the database cannot see."""
        ops = self._uow._store.ops(COLLECTIONS[node.collection])
        bound = ops.tr.bind(node.where)
        term = ops.tr.m.term(node.key)
        if not isinstance(term, ColumnTerm):
            raise QueryError("related needs a plain column key", field=node.key)
        key = term.column
        stmt = sa.select(ops.table.c.tenant_id, key, sa.func.count()).where(key.is_not(None))
        if bound is not None:
            stmt = stmt.where(ops.tr.where(bound))
        stmt = stmt.group_by(ops.table.c.tenant_id, key)
        with self._uow.reading() as conn:
            return {(t, k): int(n) for t, k, n in conn.execute(stmt)}

    def count(self, where: Filter | None = None) -> int:
        """How many visible records match ``where``."""
        bound = self._bind(where)
        etype = self.entity_type
        staged = self._uow.staged(etype)
        with guard(self._name), self._uow.reading() as conn:
            total = self._ops.count(conn, bound)
            if not staged:
                return total
            hidden = [r.id for k, r in staged.items() if self._uow.expects(etype, k) is not None]
            for chunk in _chunks(hidden, _IDS):
                total -= self._ops.count(conn, bound, self._ops.table.c.id.in_(list(chunk)))
        pred = compile_predicate(bound, self._related_counts) if bound is not None else None
        return total + sum(
            1 for r in staged.values() if type(r) is not _Gone and (pred is None or pred(r))
        )

    def aggregate(
        self,
        where: Filter | None = None,
        *,
        group_by: Sequence[GroupKey] = (),
        measures: Mapping[str, Measure],
    ) -> list[dict[str, Any]]:
        """Groups of matching records measured by one ``GROUP BY`` statement.

        A unit with staged writes of this type aggregates over its own view
        (committed rows overlaid with staged ones) in Python instead.
        """
        plan = plan_aggregate(self.entity_type, group_by, measures)
        ops = self._ops
        bound = self._bind(where)
        if self._uow.staged(self.entity_type):
            return aggregate_records(self.stream(where), plan)
        stmt = aggregate_statement(ops.m, ops.tr, bound, plan)
        with guard(self._name), self._uow.reading() as conn:
            return read_aggregate(conn, stmt, plan, ops.b.name)

    def stream(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        batch_size: int = 1000,
    ) -> Iterator[E]:
        """Every matching record, fetched ``batch_size`` at a time (never all at once).

        PostgreSQL reads through a server-side cursor and SQLite through its
        lazy cursor, in one snapshot; MariaDB (which cannot run the child-row
        queries while a result is open) and units with staged writes of this
        type read keyset pages.
        """
        if batch_size < 1:
            raise QueryError("batch_size must be positive")
        order = normalize_order(order_by)
        check_order(order, self.entity_type)
        bound = self._bind(where)
        return self._stream(where, bound, order_by, order, batch_size)

    def _stream(
        self,
        where: Filter | None,
        bound: Filter | None,
        order_by: OrderSpec,
        order: tuple[Sort, ...],
        batch_size: int,
    ) -> Iterator[E]:
        uow = self._uow
        store = uow._store
        if uow.staged(self.entity_type) or not store.backend.server_cursor or store.shared:
            after: str | None = None
            while True:
                page = self.find(where, order_by=order_by, limit=batch_size, after=after)
                yield from page.items
                if page.next_cursor is None:
                    return
                after = page.next_cursor
        stmt = self._ops.statement(bound, order, None, None)
        options = {"stream_results": True, "yield_per": batch_size}
        with guard(self._name), uow.reading() as conn:
            result = conn.execute(stmt, execution_options=options)
            try:
                for part in result.partitions(batch_size):
                    yield from cast("list[E]", self._ops.load(conn, part))
            finally:
                result.close()
