"""What differs between SQLite, PostgreSQL and MariaDB: connection set-up and SQL pieces.

Each backend gets one :class:`Backend` object that knows

- how to prepare a DBAPI connection the first time crmcore uses it (SQLite:
  WAL, foreign keys, busy timeout, a Unicode ``lower``; PostgreSQL: exact
  JSON floats; MariaDB: long sort keys). These settings are harmless to other
  users of the same engine; the transaction mode is left alone;
- how to lower-case text the way ``str.lower()`` does, match substrings and
  prefixes case-sensitively, and place NULLs (first ascending, last
  descending);
- how to read a path inside a JSON document (its kind, text, number, boolean;
  membership of an array element or object key).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.pool import ConnectionPoolEntry

from crmcore.errors import ConfigurationError, QueryError
from crmcore.storage.sql._types import dumps_exact

__all__ = ["JSON_KINDS", "Backend", "backend_for", "json_path"]

#: the JSON kinds crmcore distinguishes (``query._kind``): number covers int and float
JSON_KINDS = frozenset({"str", "number", "bool", "array", "object", "null"})
_CONFIGURED = "crmcore_configured"
_BUSY_TIMEOUT_MS = 30_000
#: SQLite page cache per connection, in KiB (PRAGMA cache_size takes a negative KiB count)
_CACHE_KIB = 65_536
_MARIADB_COLLATION = "utf8mb4_nopad_bin"


def json_path(keys: Sequence[str]) -> str:
    """A JSON path (``$."a"."b"``) naming object members only, never array indexes.

    Raises:
        QueryError: a key that cannot be quoted safely in a path.
    """
    parts = ["$"]
    for key in keys:
        if '"' in key or "\\" in key or any(ord(ch) < 32 for ch in key):
            raise QueryError(
                "JSON field names with quotes, backslashes or control characters "
                f"cannot be queried in SQL: {key!r}"
            )
        parts.append(f'."{key}"')
    return "".join(parts)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class Backend:
    """The portable defaults; subclasses override what their database does differently."""

    name = "generic"
    #: stream with a server-side (or lazy) cursor in the unit of work's connection
    server_cursor = True

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    # -- connections

    def install(self) -> None:
        """Register the connection hook on the engine (once per engine)."""
        with self._lock:
            if getattr(self.engine, "_crmcore_hooked", False):
                return
            event.listen(self.engine, "checkout", self._on_checkout)
            self.engine._crmcore_hooked = True  # type: ignore[attr-defined]

    def _on_checkout(self, dbapi_conn: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        if record.info.get(_CONFIGURED):
            return
        self.configure(dbapi_conn)
        record.info[_CONFIGURED] = True

    def configure(self, dbapi_conn: Any) -> None:
        """Prepare a new DBAPI connection."""

    def detect(self, conn: sa.Connection) -> None:
        """Learn server capabilities once (collations...)."""

    # -- text

    def lower(self, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.lower(expr)

    def text_collate(self, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """``expr`` compared by code point."""
        return expr

    def contains(self, expr: sa.ColumnElement[Any], needle: str) -> sa.ColumnElement[bool]:
        return expr.contains(needle, autoescape=True)

    def startswith(self, expr: sa.ColumnElement[Any], prefix: str) -> sa.ColumnElement[bool]:
        return expr.startswith(prefix, autoescape=True)

    # -- ordering

    def order(
        self, expr: sa.ColumnElement[Any], descending: bool, nullable: bool
    ) -> sa.ColumnElement[Any]:
        """ORDER BY term with NULLs first ascending and last descending."""
        return expr.desc() if descending else expr.asc()

    # -- JSON

    def json_kind_is(
        self, col: sa.ColumnElement[Any], keys: Sequence[str], kinds: frozenset[str]
    ) -> sa.ColumnElement[bool]:
        raise NotImplementedError

    def json_is_null(
        self, col: sa.ColumnElement[Any], keys: Sequence[str]
    ) -> sa.ColumnElement[bool]:
        raise NotImplementedError

    def json_text(self, col: sa.ColumnElement[Any], keys: Sequence[str]) -> sa.ColumnElement[Any]:
        raise NotImplementedError

    def json_number(self, col: sa.ColumnElement[Any], keys: Sequence[str]) -> sa.ColumnElement[Any]:
        raise NotImplementedError

    def json_bool_int(
        self, col: sa.ColumnElement[Any], keys: Sequence[str]
    ) -> sa.ColumnElement[Any]:
        """1 for JSON true, 0 for false (only meaningful when the kind is bool)."""
        raise NotImplementedError

    def json_has(
        self, col: sa.ColumnElement[Any], keys: Sequence[str], value: object
    ) -> sa.ColumnElement[bool]:
        """The JSON array holds ``value`` as an element, or the object has ``value`` as a key."""
        raise NotImplementedError

    def number_param(self, value: object) -> sa.ColumnElement[Any]:
        """A bound number for comparing with JSON numbers."""
        if isinstance(value, float):
            return sa.literal(value, sa.Double())
        if isinstance(value, int) and -(2**63) <= value < 2**63:
            return sa.literal(value, sa.BigInteger())
        return sa.literal(float(value), sa.Double())  # type: ignore[arg-type]


def _scalar_kind(value: object) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "str"
    return None


class SqliteBackend(Backend):
    """SQLite: one writer (commits run under ``BEGIN IMMEDIATE``), JSON1, a Python ``lower``."""

    name = "sqlite"
    _KINDS: ClassVar[dict[str, Any]] = {
        "str": ("text",),
        "number": ("integer", "real"),
        "bool": ("true", "false"),
        "array": ("array",),
        "object": ("object",),
        "null": ("null",),
    }

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        database = engine.url.database or ""
        self.in_memory = database in ("", ":memory:") or "mode=memory" in database

    def configure(self, dbapi_conn: Any) -> None:
        dbapi_conn.create_function("crm_lower", 1, _lower, deterministic=True)
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            if not self.in_memory:
                cur.execute("PRAGMA journal_mode = WAL")
            # a page cache of up to 64 MiB (default 2 MiB): a bulk insert updates nine
            # B-trees per table (the rows, the id key, the indexes) and thrashes a small one
            cur.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        finally:
            cur.close()

    def lower(self, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.crm_lower(expr)

    def contains(self, expr: sa.ColumnElement[Any], needle: str) -> sa.ColumnElement[bool]:
        # SQLite's LIKE ignores ASCII case; instr() is exact
        return sa.func.instr(expr, sa.literal(needle, sa.String())) > 0

    def startswith(self, expr: sa.ColumnElement[Any], prefix: str) -> sa.ColumnElement[bool]:
        return sa.func.substr(expr, 1, len(prefix)) == sa.literal(prefix, sa.String())

    def _path(self, keys: Sequence[str]) -> sa.ColumnElement[Any]:
        return sa.literal(json_path(keys), sa.String())

    def _type(self, col: sa.ColumnElement[Any], keys: Sequence[str]) -> sa.ColumnElement[Any]:
        return sa.func.json_type(col, self._path(keys))

    def json_kind_is(
        self, col: sa.ColumnElement[Any], keys: Sequence[str], kinds: frozenset[str]
    ) -> sa.ColumnElement[bool]:
        names = [n for k in sorted(kinds) for n in self._KINDS[k]]
        return self._type(col, keys).in_(names)

    def json_is_null(
        self, col: sa.ColumnElement[Any], keys: Sequence[str]
    ) -> sa.ColumnElement[bool]:
        return sa.func.coalesce(self._type(col, keys), "null") == "null"

    def json_text(self, col: sa.ColumnElement[Any], keys: Sequence[str]) -> sa.ColumnElement[Any]:
        return sa.func.json_extract(col, self._path(keys))

    def json_number(self, col: sa.ColumnElement[Any], keys: Sequence[str]) -> sa.ColumnElement[Any]:
        return sa.func.json_extract(col, self._path(keys))

    def json_bool_int(
        self, col: sa.ColumnElement[Any], keys: Sequence[str]
    ) -> sa.ColumnElement[Any]:
        return sa.func.json_extract(col, self._path(keys))

    def json_has(
        self, col: sa.ColumnElement[Any], keys: Sequence[str], value: object
    ) -> sa.ColumnElement[bool]:
        kind = _scalar_kind(value)
        branches: list[tuple[sa.ColumnElement[bool], sa.ColumnElement[Any]]] = []
        if kind is not None:
            each = sa.func.json_each(col, self._path(keys)).table_valued("value", "type")
            probe: object = int(value) if isinstance(value, bool) else value
            matches: sa.ColumnElement[bool] = each.c.value == probe
            member = (
                sa.select(sa.literal(1))
                .select_from(each)
                .where(each.c.type.in_(self._KINDS[kind]), matches)
                .exists()
            )
            branches.append((self._type(col, keys) == "array", member))
        if isinstance(value, str):
            key_type = sa.func.json_type(col, sa.literal(json_path([*keys, value]), sa.String()))
            branches.append((self._type(col, keys) == "object", key_type.is_not(None)))
        if not branches:
            return sa.false()
        return sa.case(*branches, else_=sa.false())


class PostgresBackend(Backend):
    """PostgreSQL: ``COLLATE "C"`` text, ``jsonb``, explicit NULLS FIRST / LAST."""

    name = "postgresql"
    _KINDS: ClassVar[dict[str, Any]] = {
        "str": "string",
        "number": "number",
        "bool": "boolean",
        "array": "array",
        "object": "object",
        "null": "null",
    }
    #: collations whose lower() maps like str.lower(), best first
    _LOWER_COLLATIONS = ("und-x-icu", "pg_c_utf8", "C.utf8", "C.UTF-8", "en_US.utf8")

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.lower_collation: str | None = None

    def configure(self, dbapi_conn: Any) -> None:
        try:
            from psycopg.types.json import set_json_dumps
        except ImportError:  # pragma: no cover - another driver
            return
        if type(dbapi_conn).__module__.startswith("psycopg"):
            set_json_dumps(dumps_exact, dbapi_conn)

    def detect(self, conn: sa.Connection) -> None:
        names = set(
            conn.execute(
                sa.text("SELECT collname FROM pg_collation WHERE collname = ANY(:names)"),
                {"names": list(self._LOWER_COLLATIONS)},
            ).scalars()
        )
        self.lower_collation = next((n for n in self._LOWER_COLLATIONS if n in names), None)

    def lower(self, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        # lower() under the "C" collation only maps ASCII; use a Unicode-aware one
        if self.lower_collation:
            expr = sa.collate(expr, self.lower_collation)
        return sa.collate(sa.func.lower(expr), "C")

    def text_collate(self, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.collate(expr, "C")

    def order(
        self, expr: sa.ColumnElement[Any], descending: bool, nullable: bool
    ) -> sa.ColumnElement[Any]:
        if not nullable:
            return expr.desc() if descending else expr.asc()
        return expr.desc().nulls_last() if descending else expr.asc().nulls_first()

    def _node(self, col: sa.ColumnElement[Any], keys: Sequence[str]) -> sa.ColumnElement[Any]:
        json_path(keys)  # refuse the same keys as the other backends
        node: sa.ColumnElement[Any] = col
        for key in keys:
            # jsonb -> text only looks up object members (never array indexes)
            node = node.op("->", return_type=postgresql.JSONB())(sa.literal(key, sa.Text()))
        return node

    def json_kind_is(
        self, col: sa.ColumnElement[Any], keys: Sequence[str], kinds: frozenset[str]
    ) -> sa.ColumnElement[bool]:
        names = sorted(self._KINDS[k] for k in kinds)
        typeof = sa.func.jsonb_typeof(self._node(col, keys))
        return typeof == names[0] if len(names) == 1 else typeof.in_(names)

    def json_is_null(
        self, col: sa.ColumnElement[Any], keys: Sequence[str]
    ) -> sa.ColumnElement[bool]:
        return sa.func.coalesce(sa.func.jsonb_typeof(self._node(col, keys)), "null") == "null"

    def json_text(self, col: sa.ColumnElement[Any], keys: Sequence[str]) -> sa.ColumnElement[Any]:
        if not keys:
            return sa.collate(col.op("#>>", return_type=sa.Text())(sa.literal("{}")), "C")
        parent = self._node(col, keys[:-1])
        text = parent.op("->>", return_type=sa.Text())(sa.literal(keys[-1], sa.Text()))
        return sa.collate(text, "C")

    def json_number(self, col: sa.ColumnElement[Any], keys: Sequence[str]) -> sa.ColumnElement[Any]:
        return sa.cast(self._node(col, keys), sa.Numeric())

    def json_bool_int(
        self, col: sa.ColumnElement[Any], keys: Sequence[str]
    ) -> sa.ColumnElement[Any]:
        return sa.case((sa.cast(self._node(col, keys), sa.Boolean()), 1), else_=0)

    def json_has(
        self, col: sa.ColumnElement[Any], keys: Sequence[str], value: object
    ) -> sa.ColumnElement[bool]:
        node = self._node(col, keys)
        typeof = sa.func.jsonb_typeof(node)
        branches: list[tuple[sa.ColumnElement[bool], sa.ColumnElement[Any]]] = []
        if _scalar_kind(value) is not None:
            probe = sa.cast(sa.literal(json.dumps([value]), sa.Text()), postgresql.JSONB())
            branches.append((typeof == "array", node.op("@>", return_type=sa.Boolean())(probe)))
        if isinstance(value, str):
            key = node.op("?", return_type=sa.Boolean())(sa.literal(value, sa.Text()))
            branches.append((typeof == "object", key))
        if not branches:
            return sa.false()
        return sa.case(*branches, else_=sa.false())

    def number_param(self, value: object) -> sa.ColumnElement[Any]:
        if isinstance(value, float):
            return sa.literal(value, sa.Double())
        return sa.literal(value, sa.Numeric())


class MariaDbBackend(Backend):
    """MariaDB: ``utf8mb4_nopad_bin`` text, JSON as checked LONGTEXT, keyset-paged streams."""

    name = "mariadb"
    #: MariaDB cannot run another query while an unbuffered result is open
    server_cursor = False
    _KINDS: ClassVar[dict[str, Any]] = {
        "str": ("STRING",),
        "number": ("INTEGER", "DOUBLE", "DECIMAL", "UNSIGNED INTEGER"),
        "bool": ("BOOLEAN",),
        "array": ("ARRAY",),
        "object": ("OBJECT",),
        "null": ("NULL",),
    }

    def configure(self, dbapi_conn: Any) -> None:
        cur = dbapi_conn.cursor()
        try:
            # ORDER BY on long text compares only max_sort_length bytes (default 1024)
            cur.execute("SET SESSION max_sort_length = 65536")
        finally:
            cur.close()

    def text_collate(self, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.collate(expr, _MARIADB_COLLATION)

    def _node(self, col: sa.ColumnElement[Any], keys: Sequence[str]) -> sa.ColumnElement[Any]:
        if not keys:
            return col
        return sa.func.JSON_EXTRACT(col, sa.literal(json_path(keys), sa.String()))

    def json_kind_is(
        self, col: sa.ColumnElement[Any], keys: Sequence[str], kinds: frozenset[str]
    ) -> sa.ColumnElement[bool]:
        names = [n for k in sorted(kinds) for n in self._KINDS[k]]
        return sa.func.JSON_TYPE(self._node(col, keys)).in_(names)

    def json_is_null(
        self, col: sa.ColumnElement[Any], keys: Sequence[str]
    ) -> sa.ColumnElement[bool]:
        return sa.func.coalesce(sa.func.JSON_TYPE(self._node(col, keys)), "NULL") == "NULL"

    def json_text(self, col: sa.ColumnElement[Any], keys: Sequence[str]) -> sa.ColumnElement[Any]:
        return sa.collate(sa.func.JSON_UNQUOTE(self._node(col, keys)), _MARIADB_COLLATION)

    def json_number(self, col: sa.ColumnElement[Any], keys: Sequence[str]) -> sa.ColumnElement[Any]:
        return self._node(col, keys) + sa.literal(0, sa.Integer())

    def json_bool_int(
        self, col: sa.ColumnElement[Any], keys: Sequence[str]
    ) -> sa.ColumnElement[Any]:
        return sa.case((self.json_text(col, keys) == "true", 1), else_=0)

    def json_has(
        self, col: sa.ColumnElement[Any], keys: Sequence[str], value: object
    ) -> sa.ColumnElement[bool]:
        node = self._node(col, keys)
        typeof = sa.func.JSON_TYPE(node)
        branches: list[tuple[sa.ColumnElement[bool], sa.ColumnElement[Any]]] = []
        if _scalar_kind(value) is not None:
            probe = sa.literal(json.dumps(value), sa.String())
            branches.append((typeof == "ARRAY", sa.func.JSON_CONTAINS(node, probe) == 1))
        if isinstance(value, str):
            path = sa.literal(json_path([value]), sa.String())
            branches.append(
                (typeof == "OBJECT", sa.func.JSON_CONTAINS_PATH(node, "one", path) == 1)
            )
        if not branches:
            return sa.false()
        return sa.case(*branches, else_=sa.false())


def backend_for(engine: Engine) -> Backend:
    """The :class:`Backend` of an engine's database.

    Raises:
        ConfigurationError: not SQLite, PostgreSQL or MariaDB/MySQL.
    """
    name = engine.dialect.name
    if name == "sqlite":
        return SqliteBackend(engine)
    if name == "postgresql":
        return PostgresBackend(engine)
    if name in ("mysql", "mariadb"):
        return MariaDbBackend(engine)
    raise ConfigurationError(f"the SQL adapter does not support {name!r} databases")
