"""Text analysis for Chinese and English: one token stream for the index and for queries.

Text is NFKC-normalised, case-folded and stripped of diacritics. Runs of
Chinese/Japanese characters become overlapping character **bigrams**
(``申请退款`` -> ``申请 请退 退款``); documents also keep every single character,
so a one-character query (``退``) finds them. Other letters and digits form
words; English words lose a small stop list and are Porter-stemmed
(``refunds`` -> ``refund``). Every token is a run of letters/digits only, so a
storage engine's plain word tokenizer (SQLite FTS5 ``unicode61``, a
PostgreSQL text array) keeps each one whole.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from crmcore.search._stem import porter_stem

__all__ = ["ENGLISH_STOPWORDS", "analyze", "analyze_query_words", "fold_text", "is_cjk_char"]

#: English words too common to help ranking (dropped from documents and queries)
ENGLISH_STOPWORDS = frozenset(
    """a an and are as at be but by for from has have how i if in into is it its
    of on or our so than that the their them then there these they this to was we
    were what when where which who why will with you your""".split()  # noqa: SIM905
)

#: longest word kept as one token (longer runs are cut: no engine needs them)
_MAX_WORD = 64


def is_cjk_char(ch: str) -> bool:
    """Whether ``ch`` is a Han ideograph or Japanese kana (text written without spaces)."""
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= o <= 0x4DBF  # extension A
        or 0x20000 <= o <= 0x3134F  # extensions B-G
        or 0xF900 <= o <= 0xFAFF  # compatibility ideographs
        or 0x3040 <= o <= 0x30FF  # hiragana, katakana
        or 0x31F0 <= o <= 0x31FF  # katakana phonetic extensions
        or o == 0x3007  # 〇
    )


def fold_text(text: str) -> str:
    """NFKC, case-folded, without combining marks (``Café`` -> ``cafe``, ``ＡＢＣ`` -> ``abc``)."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    bare = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", bare)


def _runs(text: str) -> Iterator[tuple[bool, str]]:
    """``(is_cjk, run)`` for each maximal run of CJK characters or of other letters/digits."""
    run: list[str] = []
    cjk = False
    for ch in text:
        if is_cjk_char(ch):
            kind = True
        elif ch.isalnum():
            kind = False
        else:
            if run:
                yield cjk, "".join(run)
                run = []
            continue
        if run and kind != cjk:
            yield cjk, "".join(run)
            run = []
        cjk = kind
        run.append(ch)
    if run:
        yield cjk, "".join(run)


def _word(word: str) -> str | None:
    if word.isascii() and word.isalpha():
        if word in ENGLISH_STOPWORDS:
            return None
        return porter_stem(word)[:_MAX_WORD]
    return word[:_MAX_WORD]


def _cjk_tokens(run: str, *, unigrams: bool) -> list[str]:
    if len(run) == 1:
        return [run]
    grams = [run[i : i + 2] for i in range(len(run) - 1)]
    return [*grams, *run] if unigrams else grams


def analyze(text: str | None, *, query: bool = False) -> list[str]:
    """The tokens of ``text``, in order (duplicates kept: they are term frequencies).

    Args:
        text: any text (None is empty).
        query: analyse as a query: a CJK run of two or more characters gives
            its bigrams only (a document also gives its single characters).

    Returns:
        Tokens such as ``["申请", "请退", "退款", "refund"]``.
    """
    if not text:
        return []
    out: list[str] = []
    for cjk, run in _runs(fold_text(text)):
        if cjk:
            out += _cjk_tokens(run, unigrams=not query)
        else:
            token = _word(run)
            if token:
                out.append(token)
    return out


def analyze_query_words(text: str) -> list[str]:
    """Query tokens of ``text`` (an alias of ``analyze(text, query=True)``)."""
    return analyze(text, query=True)
