"""Full-text search for Chinese and English: analysis, query parsing, BM25 ranking.

Pure logic (no storage, no session). :func:`analyze` turns text into tokens
(CJK bigrams, stemmed English words); :func:`parse_query` reads a search box;
:class:`SearchIndex` is the port a storage engine implements (SQLite FTS5 and
PostgreSQL in :mod:`crmcore.storage.sql`), :class:`MemorySearchIndex` the
pure-Python one, and :func:`rank` runs a query on any of them with the same
BM25 numbers (:class:`Bm25`).
"""

from __future__ import annotations

from crmcore.search._analyze import (
    ENGLISH_STOPWORDS,
    analyze,
    analyze_query_words,
    fold_text,
    is_cjk_char,
)
from crmcore.search._bm25 import (
    BM25,
    Bm25,
    CorpusStats,
    MemorySearchIndex,
    SearchDocument,
    SearchHit,
    SearchIndex,
    rank,
)
from crmcore.search._query import MAX_QUERY_TERMS, SearchQuery, parse_query
from crmcore.search._stem import porter_stem

__all__ = [
    "BM25",
    "ENGLISH_STOPWORDS",
    "MAX_QUERY_TERMS",
    "Bm25",
    "CorpusStats",
    "MemorySearchIndex",
    "SearchDocument",
    "SearchHit",
    "SearchIndex",
    "SearchQuery",
    "analyze",
    "analyze_query_words",
    "fold_text",
    "is_cjk_char",
    "parse_query",
    "porter_stem",
    "rank",
]
