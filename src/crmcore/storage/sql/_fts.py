"""Engine-side search indexes over the ``article_search_entries`` table.

The table holds analysed tokens (CJK bigrams, stemmed words; see
:mod:`crmcore.search`), written like any record in the unit of work that
changes the article. Each engine indexes it its own way and ranks with the
BM25 of :class:`crmcore.search.Bm25` (the caller passes the parameters and
the idf of each term, so every backend computes the same numbers):

- **SQLite**: an FTS5 table (``unicode61`` over the space-separated tokens)
  kept in step with the entries table by triggers, and its ``fts5vocab``
  instance table for term frequencies; statistics and the BM25 sum are SQL.
- **PostgreSQL**: a GIN index on ``array_to_tsvector(string_to_array(terms,
  ' '))`` finds candidates; term frequencies come from
  ``array_positions`` over the token arrays; the BM25 sum is SQL.
- **MariaDB**: no native index here (:func:`search_index_for` returns None and
  the caller ranks in Python over the tenant's entries).

The FTS5 objects and the GIN index are created on first use (idempotently,
in their own transaction); migrations may create them ahead of time with
:func:`search_ddl`.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa

from crmcore.storage.sql._errors import guard
from crmcore.storage.sql._store import SqlRepository, SqlStore, SqlUnitOfWork

__all__ = ["SqlSearchIndex", "search_ddl", "search_index_for"]

_ENTRIES = "article_search_entries"
_FTS = "article_search_fts"
_VOCAB = "article_search_vocab"
_GIN = "ix_article_search_terms_gin"

_SQLITE_ROW = "new.id, new.tenant_id, new.article_id, new.length, new.title_tokens, new.body_tokens"
_SQLITE_COLS = "entry_id, tenant_id, article_id, length, title, body"

_SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {_FTS} USING fts5(entry_id UNINDEXED, tenant_id UNINDEXED,"
    " article_id UNINDEXED, length UNINDEXED, title, body,"
    " tokenize='unicode61 remove_diacritics 0')",
    f"CREATE VIRTUAL TABLE {_VOCAB} USING fts5vocab({_FTS}, instance)",
    f"CREATE TRIGGER {_FTS}_ai AFTER INSERT ON {_ENTRIES} BEGIN"
    f" INSERT INTO {_FTS}({_SQLITE_COLS}) VALUES ({_SQLITE_ROW}); END",
    f"CREATE TRIGGER {_FTS}_ad AFTER DELETE ON {_ENTRIES} BEGIN"
    f" DELETE FROM {_FTS} WHERE entry_id = old.id; END",
    f"CREATE TRIGGER {_FTS}_au AFTER UPDATE ON {_ENTRIES} BEGIN"
    f" DELETE FROM {_FTS} WHERE entry_id = old.id;"
    f" INSERT INTO {_FTS}({_SQLITE_COLS}) VALUES ({_SQLITE_ROW}); END",
    f"INSERT INTO {_FTS}({_SQLITE_COLS}) SELECT id, tenant_id, article_id, length,"
    f" title_tokens, body_tokens FROM {_ENTRIES}",
)

_PG_VECTOR = "array_to_tsvector(string_to_array({t}terms, ' '))"
_PG_DDL = (
    f"CREATE INDEX IF NOT EXISTS {_GIN} ON {_ENTRIES} USING gin ({_PG_VECTOR.format(t='')})",
)


class Bm25Params(Protocol):
    """The BM25 parameters (:class:`crmcore.search.Bm25` is one)."""

    @property
    def k1(self) -> float: ...
    @property
    def b(self) -> float: ...
    @property
    def title_weight(self) -> float: ...
    @property
    def body_weight(self) -> float: ...


def search_ddl(dialect: str) -> tuple[str, ...]:
    """The statements creating the search index on ``dialect`` (``sqlite``, ``postgresql``)."""
    if dialect == "sqlite":
        return _SQLITE_DDL
    if dialect == "postgresql":
        return _PG_DDL
    return ()


_ready: weakref.WeakKeyDictionary[SqlStore, bool] = weakref.WeakKeyDictionary()
_ready_lock = threading.Lock()


def _ensure(uow: SqlUnitOfWork) -> None:
    """Create the engine's index objects once per store (a no-op when they exist)."""
    store = uow._store
    if _ready.get(store):
        return
    with _ready_lock:
        if _ready.get(store):
            return
        conn = uow.connection()
        with store.serial(), guard("ArticleSearchEntry"):
            try:
                if store.backend.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    names = {
                        r[0]
                        for r in conn.exec_driver_sql(
                            "SELECT name FROM sqlite_master WHERE name LIKE 'article_search_%'"
                        )
                    }
                    if f"{_FTS}_ai" not in names:  # new, or left behind by a dropped schema
                        for stale in (_VOCAB, _FTS):
                            if stale in names:
                                conn.exec_driver_sql(f"DROP TABLE {stale}")
                        for stmt in _SQLITE_DDL:
                            conn.exec_driver_sql(stmt)
                else:
                    for stmt in _PG_DDL:
                        conn.exec_driver_sql(stmt)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        _ready[store] = True


def _uuid(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, bytes):
        return uuid.UUID(bytes=value)
    return uuid.UUID(str(value))


def _params(prefix: str, values: Sequence[Any]) -> tuple[list[str], dict[str, Any]]:
    names = [f"{prefix}{i}" for i in range(len(values))]
    return [f":{n}" for n in names], dict(zip(names, values, strict=True))


class SqlSearchIndex:
    """A :class:`crmcore.search.SearchIndex` over one SQL unit of work's connection.

    It reads committed rows only (the unit's own staged writes are not yet
    in the database).
    """

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._dialect = uow._store.backend.name
        _ensure(uow)

    def corpus_stats(self, scope: str, terms: Sequence[str]) -> tuple[int, int, Mapping[str, int]]:
        with self._uow.reading() as conn, guard("ArticleSearchEntry"):
            n, total = conn.execute(
                sa.text(
                    f"SELECT count(*), coalesce(sum(length), 0) FROM {_ENTRIES}"
                    " WHERE tenant_id = :tenant"
                ),
                {"tenant": scope},
            ).one()
            if not n or not terms:
                return int(n), int(total), {}
            marks, binds = _params("t", list(terms))
            if self._dialect == "sqlite":
                sql = (
                    f"SELECT v.term, count(DISTINCT v.doc) FROM {_VOCAB} v"
                    f" JOIN {_FTS} f ON f.rowid = v.doc"
                    f" WHERE v.term IN ({', '.join(marks)}) AND f.tenant_id = :tenant"
                    " GROUP BY v.term"
                )
            else:
                sql = (
                    "SELECT q.term, (SELECT count(*) FROM article_search_entries e"
                    " WHERE e.tenant_id = :tenant"
                    f" AND {_PG_VECTOR.format(t='e.')} @@ CAST(quote_literal(q.term) AS tsquery))"
                    f" FROM (VALUES {', '.join(f'(CAST({m} AS text))' for m in marks)}) AS q(term)"
                )
            rows = conn.execute(sa.text(sql), {"tenant": scope, **binds}).all()
        return int(n), int(total), {str(t): int(c) for t, c in rows if c}

    def top(
        self,
        scope: str,
        idf: Mapping[str, float],
        excluded: Sequence[Sequence[str]],
        avgdl: float,
        params: Bm25Params,
        limit: int,
    ) -> list[tuple[uuid.UUID, float]]:
        if not idf or avgdl <= 0:
            return []
        terms = list(idf)
        binds: dict[str, Any] = {
            "tenant": scope,
            "k1": params.k1,
            "b": params.b,
            "tw": params.title_weight,
            "bw": params.body_weight,
            "avgdl": float(avgdl),
            "limit": int(limit),
        }
        tmarks, tb = _params("t", terms)
        imarks, ib = _params("i", [float(idf[t]) for t in terms])
        binds |= tb | ib
        sql = (
            self._sqlite_sql(tmarks, imarks, excluded, binds)
            if self._dialect == "sqlite"
            else (self._pg_sql(tmarks, imarks, excluded, binds))
        )
        with self._uow.reading() as conn, guard("ArticleSearchEntry"):
            rows = conn.execute(sa.text(sql), binds).all()
        return [(_uuid(a), float(s)) for a, s in rows]

    @staticmethod
    def _sqlite_sql(
        tmarks: list[str],
        imarks: list[str],
        excluded: Sequence[Sequence[str]],
        binds: dict[str, Any],
    ) -> str:
        values = ", ".join(f"({t}, {i})" for t, i in zip(tmarks, imarks, strict=True))
        skip = ""
        for g, group in enumerate(excluded):
            marks, b = _params(f"x{g}_", list(group))
            binds |= b
            inter = " INTERSECT ".join(f"SELECT doc FROM {_VOCAB} WHERE term = {m}" for m in marks)
            skip += f" AND h.rid NOT IN ({inter})"
        return (
            f"WITH q(term, idf) AS (VALUES {values}),"
            " hits AS (SELECT v.doc AS rid, max(q.idf) AS idf,"
            " sum(CASE v.col WHEN 'title' THEN :tw WHEN 'body' THEN :bw ELSE 0.0 END) AS f"
            f" FROM q JOIN {_VOCAB} v ON v.term = q.term GROUP BY v.doc, v.term)"
            " SELECT f.article_id,"
            " sum(h.idf * h.f * (:k1 + 1.0) / (h.f + :k1 * (1.0 - :b + :b * f.length / :avgdl)))"
            " AS score"
            f" FROM hits h JOIN {_FTS} f ON f.rowid = h.rid"
            f" WHERE f.tenant_id = :tenant AND h.f > 0{skip}"
            " GROUP BY f.rowid ORDER BY score DESC, f.article_id LIMIT :limit"
        )

    @staticmethod
    def _pg_sql(
        tmarks: list[str],
        imarks: list[str],
        excluded: Sequence[Sequence[str]],
        binds: dict[str, Any],
    ) -> str:
        values = ", ".join(
            f"(CAST({t} AS text), CAST({i} AS float8))" for t, i in zip(tmarks, imarks, strict=True)
        )
        vector = _PG_VECTOR.format(t="e.")
        any_term = " || ".join(f"CAST(quote_literal(CAST({t} AS text)) AS tsquery)" for t in tmarks)
        skip = ""
        for g, group in enumerate(excluded):
            marks, b = _params(f"x{g}_", list(group))
            binds |= b
            every = " && ".join(f"CAST(quote_literal(CAST({m} AS text)) AS tsquery)" for m in marks)
            skip += f" AND NOT ({vector} @@ ({every}))"
        return (
            f"WITH q(term, idf) AS (VALUES {values}),"
            " cand AS (SELECT e.article_id, e.length,"
            " string_to_array(e.title_tokens, ' ') AS ta, string_to_array(e.body_tokens, ' ') AS ba"
            f" FROM {_ENTRIES} e WHERE e.tenant_id = :tenant AND {vector} @@ ({any_term}){skip}),"
            " tf AS (SELECT c.article_id, c.length, q.idf,"
            " (:tw * coalesce(cardinality(array_positions(c.ta, q.term)), 0)"
            " + :bw * coalesce(cardinality(array_positions(c.ba, q.term)), 0)) AS f"
            " FROM cand c CROSS JOIN q)"
            " SELECT article_id,"
            " sum(idf * f * (:k1 + 1.0) / (f + :k1 * (1.0 - :b + :b * length / :avgdl))) AS score"
            " FROM tf WHERE f > 0 GROUP BY article_id ORDER BY score DESC, article_id LIMIT :limit"
        )


def search_index_for(repository: object) -> SqlSearchIndex | None:
    """The engine's search index behind a SQL repository, or None where there is none (MariaDB).

    Args:
        repository: the adapter's repository of ``ArticleSearchEntry``
            (``uow.inner(ArticleSearchEntry)``); anything else gives None.
    """
    if not isinstance(repository, SqlRepository):
        return None
    uow = repository._uow
    if uow._store.backend.name not in ("sqlite", "postgresql"):
        return None
    return SqlSearchIndex(uow)
