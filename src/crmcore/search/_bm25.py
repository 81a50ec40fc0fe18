"""BM25 ranking: the formula every search index follows, and a pure-Python index.

The score is SQLite FTS5's ``bm25()`` with two weighted fields: for each query
term ``t`` found in a document ``d``::

    idf(t)   = ln((N - n(t) + 0.5) / (n(t) + 0.5)), or 1e-6 when that is <= 0
    f(t, d)  = title_weight * tf_title + body_weight * tf_body
    score   += idf(t) * f * (k1 + 1) / (f + k1 * (1 - b + b * |d| / avgdl))

where ``N`` is the number of documents in the scope (a tenant's published
articles), ``n(t)`` how many contain ``t``, ``|d|`` the document's token count
(all fields) and ``avgdl`` the scope's mean. Indexes compute the statistics
and the sum where they can (in the database); :func:`rank` does the rest, so
every backend ranks by the same numbers.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import attrs

from crmcore.search._analyze import analyze
from crmcore.search._query import SearchQuery, parse_query

__all__ = [
    "BM25",
    "Bm25",
    "CorpusStats",
    "MemorySearchIndex",
    "SearchDocument",
    "SearchHit",
    "SearchIndex",
    "rank",
]


@attrs.frozen
class Bm25:
    """BM25 parameters: saturation ``k1``, length normalisation ``b``, field weights."""

    k1: float = 1.2
    b: float = 0.75
    title_weight: float = 2.0
    body_weight: float = 1.0

    def idf(self, documents: int, containing: int) -> float:
        """FTS5's inverse document frequency (floored at 1e-6 so every match counts)."""
        value = math.log((documents - containing + 0.5) / (containing + 0.5))
        return value if value > 0 else 1e-6

    def term_score(self, idf: float, freq: float, length: int, avgdl: float) -> float:
        """One term's contribution for a weighted frequency ``freq`` in a document of ``length``."""
        if freq <= 0:
            return 0.0
        norm = 1 - self.b + self.b * (length / avgdl if avgdl > 0 else 0.0)
        return idf * freq * (self.k1 + 1) / (freq + self.k1 * norm)


#: the default parameters (FTS5's k1 and b; titles weigh twice the body)
BM25 = Bm25()


def _tokens(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class SearchDocument:
    """An analysed document: its id and the tokens of its two fields."""

    id: uuid.UUID
    title: tuple[str, ...] = attrs.field(converter=_tokens)
    body: tuple[str, ...] = attrs.field(converter=_tokens, default=())

    @classmethod
    def from_text(cls, id: uuid.UUID, title: str, body: str | None = "") -> SearchDocument:
        """Analyse ``title`` and ``body`` (see :func:`crmcore.search.analyze`)."""
        return cls(id, analyze(title), analyze(body))

    @property
    def length(self) -> int:
        """Tokens in all fields (BM25's ``|d|``)."""
        return len(self.title) + len(self.body)

    @property
    def terms(self) -> frozenset[str]:
        """The distinct tokens."""
        return frozenset(self.title) | frozenset(self.body)


@attrs.frozen
class CorpusStats:
    """What BM25 needs of a scope: documents, total tokens, documents per term."""

    documents: int
    total_length: int
    containing: Mapping[str, int]

    @property
    def avgdl(self) -> float:
        """Mean document length (0 for an empty scope)."""
        return self.total_length / self.documents if self.documents else 0.0


@attrs.frozen
class SearchHit:
    """One ranked result: the document id and its BM25 score (higher is better)."""

    id: uuid.UUID
    score: float


class SearchIndex(Protocol):
    """A search index over analysed documents, partitioned by scope (a tenant).

    Storage adapters implement it over their engine (SQLite FTS5, a PostgreSQL
    GIN index); :class:`MemorySearchIndex` is the pure-Python one. Both
    methods use plain types only, so an adapter needs nothing of this package.
    """

    def corpus_stats(self, scope: str, terms: Sequence[str]) -> tuple[int, int, Mapping[str, int]]:
        """``(documents, total tokens, {term: documents containing it})`` in ``scope``."""
        ...

    def top(
        self,
        scope: str,
        idf: Mapping[str, float],
        excluded: Sequence[Sequence[str]],
        avgdl: float,
        params: Bm25,
        limit: int,
    ) -> list[tuple[uuid.UUID, float]]:
        """The ``limit`` best ``(id, score)`` of ``scope`` by BM25 over the terms of ``idf``.

        A document containing every term of one ``excluded`` group is left out;
        ties are broken by id.
        """
        ...


def rank(
    index: SearchIndex,
    query: SearchQuery | str,
    *,
    scope: str = "",
    limit: int = 10,
    params: Bm25 = BM25,
) -> list[SearchHit]:
    """Run a query on an index: statistics first, then the index's own top-``limit``.

    Args:
        index: any :class:`SearchIndex`.
        query: a parsed query or a search box's text.
        scope: the partition to search (a tenant id).
        limit: how many hits at most.
        params: BM25 parameters.

    Returns:
        Hits, best first (ties by id).
    """
    q = parse_query(query) if isinstance(query, str) else query
    if q.is_empty or limit <= 0:
        return []
    documents, total, containing = index.corpus_stats(scope, q.terms)
    if not documents:
        return []
    idf = {t: params.idf(documents, containing.get(t, 0)) for t in q.terms if containing.get(t)}
    if not idf:
        return []
    pairs = index.top(scope, idf, q.excluded, total / documents, params, limit)
    return [SearchHit(id, score) for id, score in pairs]


class MemorySearchIndex:
    """The pure-Python :class:`SearchIndex`: postings in dictionaries, per scope.

    Used on ``memory://``, on backends without a native index (MariaDB), and
    as the reference the engine-side indexes are tested against.
    """

    def __init__(self) -> None:
        self._docs: dict[str, dict[uuid.UUID, tuple[Counter[str], Counter[str], int]]] = {}
        self._postings: dict[str, dict[str, set[uuid.UUID]]] = {}
        self._totals: dict[str, int] = {}

    def add(self, scope: str, doc: SearchDocument) -> None:
        """Index ``doc`` in ``scope`` (replacing a document with the same id)."""
        self.remove(scope, doc.id)
        self._docs.setdefault(scope, {})[doc.id] = (
            Counter(doc.title),
            Counter(doc.body),
            doc.length,
        )
        postings = self._postings.setdefault(scope, {})
        for term in doc.terms:
            postings.setdefault(term, set()).add(doc.id)
        self._totals[scope] = self._totals.get(scope, 0) + doc.length

    def add_many(self, scope: str, docs: Iterable[SearchDocument]) -> None:
        """Index every document of ``docs`` in ``scope``."""
        for doc in docs:
            self.add(scope, doc)

    def remove(self, scope: str, id: uuid.UUID) -> None:
        """Drop a document from ``scope`` (nothing if absent)."""
        old = self._docs.get(scope, {}).pop(id, None)
        if old is None:
            return
        title, body, length = old
        postings = self._postings[scope]
        for term in set(title) | set(body):
            ids = postings.get(term)
            if ids is not None:
                ids.discard(id)
                if not ids:
                    del postings[term]
        self._totals[scope] -= length

    def __len__(self) -> int:
        return sum(len(d) for d in self._docs.values())

    def corpus_stats(self, scope: str, terms: Sequence[str]) -> tuple[int, int, Mapping[str, int]]:
        postings = self._postings.get(scope, {})
        return (
            len(self._docs.get(scope, {})),
            self._totals.get(scope, 0),
            {t: len(postings.get(t, ())) for t in terms},
        )

    def top(
        self,
        scope: str,
        idf: Mapping[str, float],
        excluded: Sequence[Sequence[str]],
        avgdl: float,
        params: Bm25,
        limit: int,
    ) -> list[tuple[uuid.UUID, float]]:
        docs = self._docs.get(scope, {})
        postings = self._postings.get(scope, {})
        out: set[uuid.UUID] = set()
        for group in excluded:
            sets = [postings.get(t, set()) for t in group]
            if sets:
                out |= set.intersection(*sets)
        scores: dict[uuid.UUID, float] = {}
        for term, weight in idf.items():
            for id in postings.get(term, ()):
                if id in out:
                    continue
                title, body, length = docs[id]
                freq = params.title_weight * title[term] + params.body_weight * body[term]
                scores[id] = scores.get(id, 0.0) + params.term_score(weight, freq, length, avgdl)
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return best[:limit]
