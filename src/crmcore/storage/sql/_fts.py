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
_GIN = "ix_article_search_scope_terms"

_DOCS = "article_search_docs"
#: the FTS5 column holding one token naming the tenant, so a tenant's rows are found in the index
_SCOPE = "'s' || hex({row}.tenant_id)"
_FTS_NEW = (
    f" INSERT INTO {_FTS}(rowid, scope, title, body) SELECT d.rid, {_SCOPE.format(row='new')},"
    f" new.title_tokens, new.body_tokens FROM {_DOCS} d WHERE d.entry_id = new.id;"
)
_FTS_OLD = (
    f" INSERT INTO {_FTS}({_FTS}, rowid, scope, title, body) SELECT 'delete', d.rid,"
    f" {_SCOPE.format(row='old')}, old.title_tokens, old.body_tokens"
    f" FROM {_DOCS} d WHERE d.entry_id = old.id;"
)

_SQLITE_DDL = (
    # rowid -> entry, tenant, article, length: what ranking reads per candidate, by integer key
    f"CREATE TABLE {_DOCS} (rid INTEGER PRIMARY KEY, entry_id TEXT NOT NULL UNIQUE,"
    " tenant_id TEXT NOT NULL, article_id TEXT NOT NULL, length INTEGER NOT NULL)",
    f"CREATE INDEX ix_{_DOCS}_tenant ON {_DOCS} (tenant_id, length)",
    # contentless: the index only (the tokens live in the entries table)
    f"CREATE VIRTUAL TABLE {_FTS} USING fts5(scope, title, body, content='',"
    " tokenize='unicode61 remove_diacritics 0')",
    f"CREATE VIRTUAL TABLE {_VOCAB} USING fts5vocab({_FTS}, instance)",
    f"CREATE TRIGGER {_FTS}_ai AFTER INSERT ON {_ENTRIES} BEGIN"
    f" INSERT INTO {_DOCS}(entry_id, tenant_id, article_id, length)"
    f" VALUES (new.id, new.tenant_id, new.article_id, new.length);{_FTS_NEW} END",
    f"CREATE TRIGGER {_FTS}_ad AFTER DELETE ON {_ENTRIES} BEGIN{_FTS_OLD}"
    f" DELETE FROM {_DOCS} WHERE entry_id = old.id; END",
    f"CREATE TRIGGER {_FTS}_au AFTER UPDATE ON {_ENTRIES} BEGIN{_FTS_OLD}"
    f" UPDATE {_DOCS} SET entry_id = new.id, tenant_id = new.tenant_id,"
    f" article_id = new.article_id, length = new.length WHERE entry_id = old.id;{_FTS_NEW} END",
    f"INSERT INTO {_DOCS}(entry_id, tenant_id, article_id, length)"
    f" SELECT id, tenant_id, article_id, length FROM {_ENTRIES}",
    f"INSERT INTO {_FTS}(rowid, scope, title, body) SELECT d.rid, {_SCOPE.format(row='e')},"
    f" e.title_tokens, e.body_tokens FROM {_ENTRIES} e JOIN {_DOCS} d ON d.entry_id = e.id",
)

#: the entry's terms plus one lexeme naming its tenant (``'s' || md5(tenant_id)``), so one GIN
#: index answers "this tenant's entries holding these terms"
_PG_VECTOR = (
    "array_to_tsvector(array_append(string_to_array({t}terms, ' '), 's' || md5({t}tenant_id)))"
)
_PG_SCOPE = "CAST(quote_literal('s' || md5(CAST(:tenant AS text))) AS tsquery)"
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
                        for stale in (_VOCAB, _FTS, _DOCS):
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


def _phrase(term: str) -> str:
    """An FTS5 phrase of one analysed token (tokens are letters and digits, never quotes)."""
    return '"' + term.replace('"', '""') + '"'


def _scope_match(tenant: str) -> str:
    """The FTS5 filter on a tenant's scope token (``'s' || hex(tenant_id)``, folded)."""
    return f"scope : {_phrase('s' + tenant.encode('utf-8').hex())}"


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
        sqlite = self._dialect == "sqlite"
        table = _DOCS if sqlite else _ENTRIES
        with self._uow.reading() as conn, guard("ArticleSearchEntry"):
            n, total = conn.execute(
                sa.text(
                    f"SELECT count(*), coalesce(sum(length), 0) FROM {table}"
                    " WHERE tenant_id = :tenant"
                ),
                {"tenant": scope},
            ).one()
            if not n or not terms:
                return int(n), int(total), {}
            marks, binds = _params("t", list(terms))
            if sqlite:
                sql = " UNION ALL ".join(
                    f"SELECT {i}, count(*) FROM {_FTS} WHERE {_FTS} MATCH {m}"
                    for i, m in enumerate(marks)
                )
                binds = {
                    k: f"{_scope_match(scope)} AND {_phrase(t)}"
                    for k, t in zip(binds, terms, strict=True)
                }
                rows = [(terms[i], c) for i, c in conn.execute(sa.text(sql), binds).all()]
            else:
                sql = (
                    "SELECT q.term, (SELECT count(*) FROM article_search_entries e"
                    f" WHERE {_PG_VECTOR.format(t='e.')}"
                    f" @@ ({_PG_SCOPE} && CAST(quote_literal(q.term) AS tsquery))"
                    " AND e.tenant_id || '' = :tenant)"
                    f" FROM (VALUES {', '.join(f'(CAST({m} AS text))' for m in marks)}) AS q(term)"
                )
                rows = [tuple(r) for r in conn.execute(sa.text(sql), {"tenant": scope, **binds})]
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
        terms = [binds[m[1:]] for m in tmarks]
        match = f"({_scope_match(binds['tenant'])} AND ({' OR '.join(map(_phrase, terms))}))"
        for group in excluded:
            match = f"({match} NOT ({' AND '.join(map(_phrase, group))}))"
        binds["match"] = match
        return (
            f"WITH q(term, idf) AS (VALUES {values}),"
            f" cand(rid) AS MATERIALIZED (SELECT rowid FROM {_FTS} WHERE {_FTS} MATCH :match),"
            " hits AS (SELECT v.doc AS rid, max(q.idf) AS idf,"
            " sum(CASE v.col WHEN 'title' THEN :tw WHEN 'body' THEN :bw ELSE 0.0 END) AS f"
            f" FROM q JOIN {_VOCAB} v ON v.term = q.term GROUP BY v.doc, v.term)"
            " SELECT d.article_id,"
            " sum(h.idf * h.f * (:k1 + 1.0) / (h.f + :k1 * (1.0 - :b + :b * d.length / :avgdl)))"
            " AS score"
            f" FROM hits h JOIN cand c ON c.rid = h.rid JOIN {_DOCS} d ON d.rid = h.rid"
            " WHERE h.f > 0"
            " GROUP BY h.rid ORDER BY score DESC, d.article_id LIMIT :limit"
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
            " cand AS MATERIALIZED (SELECT e.article_id, e.length,"
            " string_to_array(e.title_tokens, ' ') AS ta, string_to_array(e.body_tokens, ' ') AS ba"
            f" FROM {_ENTRIES} e WHERE {vector} @@ ({_PG_SCOPE} && ({any_term})){skip}"
            # the scope lexeme finds the tenant's rows in the index; this re-checks the tenant
            # (written so that the planner does not prefer the tenant's B-tree index)
            " AND e.tenant_id || '' = :tenant),"
            " tf AS MATERIALIZED (SELECT c.article_id, c.length, q.idf,"
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
