"""Query parsing: free words, quoted phrases and ``-excluded`` words.

``parse_query('退款 "refund policy" -发票')`` gives the terms to rank by
(``退款``, ``refund``, ``polici``) and one exclusion group (``发票``): a
document containing every term of an exclusion group is left out. Terms are
OR-ed and ranked by BM25, like a search box: more matching terms rank higher.
"""

from __future__ import annotations

import re

import attrs

from crmcore.errors import QueryError
from crmcore.search._analyze import analyze

__all__ = ["MAX_QUERY_TERMS", "SearchQuery", "parse_query"]

#: more distinct terms than this in one query is refused (a pasted document is not a query)
MAX_QUERY_TERMS = 64
#: longest query text accepted
MAX_QUERY_LENGTH = 2000

_PART = re.compile(r'(-?)"([^"]*)"|(\S+)')


@attrs.frozen
class SearchQuery:
    """A parsed query: distinct terms to rank by and groups of terms to exclude."""

    terms: tuple[str, ...]
    excluded: tuple[tuple[str, ...], ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether nothing can match (no term to rank by)."""
        return not self.terms


def _unique(tokens: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tokens))


def parse_query(text: str) -> SearchQuery:
    """Parse a search box's text.

    Args:
        text: words, ``"quoted phrases"`` and ``-word`` / ``-"phrase"`` exclusions.

    Returns:
        The :class:`SearchQuery` (empty when the text has no searchable word).

    Raises:
        QueryError: the text is longer than 2000 characters or has more than 64 terms.
    """
    if not isinstance(text, str):
        raise QueryError(f"search text must be a string, not {type(text).__name__}")
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"search text is longer than {MAX_QUERY_LENGTH} characters")
    terms: list[str] = []
    excluded: list[tuple[str, ...]] = []
    for m in _PART.finditer(text):
        if m.group(2) is not None:
            negative, chunk = m.group(1) == "-", m.group(2)
        else:
            word = m.group(3)
            negative = word.startswith("-") and len(word) > 1
            chunk = word[1:] if negative else word
        tokens = analyze(chunk, query=True)
        if not tokens:
            continue
        if negative:
            excluded.append(_unique(tokens))
        else:
            terms += tokens
    unique = _unique(terms)
    if len(unique) > MAX_QUERY_TERMS:
        raise QueryError(f"a search has at most {MAX_QUERY_TERMS} distinct terms")
    return SearchQuery(unique, tuple(dict.fromkeys(excluded)))
