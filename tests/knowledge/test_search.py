"""crmcore.search: analysis, stemming, query parsing, and BM25 against a brute-force reference."""

from __future__ import annotations

import math
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.errors import QueryError
from crmcore.search import (
    BM25,
    MemorySearchIndex,
    SearchDocument,
    SearchQuery,
    analyze,
    fold_text,
    parse_query,
    porter_stem,
    rank,
)


def test_chinese_becomes_overlapping_bigrams_plus_characters_in_documents() -> None:
    assert analyze("申请退款") == ["申请", "请退", "退款", "申", "请", "退", "款"]
    assert analyze("申请退款", query=True) == ["申请", "请退", "退款"]
    assert analyze("退", query=True) == ["退"]


def test_english_is_folded_stemmed_and_stop_words_dropped() -> None:
    assert analyze("The Refunds are PROCESSED") == ["refund", "process"]
    assert analyze("refunding refunded refund") == ["refund"] * 3


def test_mixed_script_width_and_accents_are_normalised() -> None:
    assert analyze("ＶＩＰ会员Café") == ["vip", "会员", "会", "员", "cafe"]
    assert fold_text("Ｃａｆé") == "cafe"


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("agreed", "agre"),
        ("hopping", "hop"),
        ("filing", "file"),
        ("relational", "relat"),
        ("generalizations", "gener"),
        ("passwords", "password"),
        ("connection", "connect"),
        ("sky", "sky"),
    ],
)
def test_porter_stems_match_the_published_examples(word: str, stem: str) -> None:
    assert porter_stem(word) == stem


def test_query_parsing_reads_phrases_and_exclusions() -> None:
    q = parse_query('退款 "refund policy" -发票 -"tax invoice"')
    assert q.terms == ("退款", "refund", "polici")
    assert q.excluded == (("发票",), ("tax", "invoic"))


def test_a_query_of_only_stop_words_or_punctuation_is_empty() -> None:
    assert parse_query("the ... ！？").is_empty


def test_oversized_queries_are_refused() -> None:
    with pytest.raises(QueryError, match="2000"):
        parse_query("a" * 2001)
    with pytest.raises(QueryError, match="64"):
        parse_query(" ".join(f"w{i}" for i in range(65)))


def _docs(*pairs: tuple[str, str]) -> tuple[MemorySearchIndex, list[uuid.UUID]]:
    index = MemorySearchIndex()
    ids = []
    for title, body in pairs:
        doc = SearchDocument.from_text(uuid.uuid4(), title, body)
        index.add("t", doc)
        ids.append(doc.id)
    return index, ids


def test_chinese_substring_and_english_plural_are_found() -> None:
    index, (cn, en, _other) = _docs(
        ("申请退款流程", "七天内可申请"), ("Refund", "how to ask"), ("发票", "开具")
    )
    assert [h.id for h in rank(index, "退款", scope="t")] == [cn]
    assert [h.id for h in rank(index, "refunds", scope="t")] == [en]
    assert [h.id for h in rank(index, "退", scope="t")] == [cn]
    assert rank(index, "退款", scope="other-tenant") == []


def test_exclusion_drops_documents_with_every_excluded_term() -> None:
    index, (a, b) = _docs(("退款", "电子发票"), ("退款", "纸质"))
    assert [h.id for h in rank(index, "退款 -电子发票", scope="t")] == [b]
    assert {h.id for h in rank(index, "退款 -电子纸质", scope="t")} == {a, b}


def test_removing_a_document_updates_the_statistics() -> None:
    index, (a, b) = _docs(("refund", ""), ("refund refund", ""))
    index.remove("t", b)
    assert len(index) == 1
    assert index.corpus_stats("t", ["refund"]) == (1, 1, {"refund": 1})
    assert [h.id for h in rank(index, "refund", scope="t")] == [a]


# ---------------------------------------------------------------- brute-force reference

_WORDS = ["退款", "申请", "密码", "发票", "refund", "password", "invoice", "order", "账户", "login"]


def _reference(
    docs: list[tuple[uuid.UUID, list[str], list[str]]], terms: tuple[str, ...]
) -> dict[uuid.UUID, float]:
    """BM25 straight from the formula: every document, every term, no index."""
    n = len(docs)
    avgdl = sum(len(t) + len(b) for _, t, b in docs) / n
    out: dict[uuid.UUID, float] = {}
    for id, title, body in docs:
        score = 0.0
        for term in terms:
            df = sum(1 for _, t2, b2 in docs if term in t2 or term in b2)
            if not df:
                continue
            idf = math.log((n - df + 0.5) / (df + 0.5))
            idf = idf if idf > 0 else 1e-6
            f = BM25.title_weight * title.count(term) + BM25.body_weight * body.count(term)
            if f:
                norm = 1 - BM25.b + BM25.b * (len(title) + len(body)) / avgdl
                score += idf * f * (BM25.k1 + 1) / (f + BM25.k1 * norm)
        if score:
            out[id] = score
    return out


texts = st.lists(st.sampled_from(_WORDS), max_size=8).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(texts, texts), min_size=1, max_size=15),
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3),
)
def test_memory_index_ranks_exactly_like_the_formula(
    pairs: list[tuple[str, str]], query_words: list[str]
) -> None:
    index = MemorySearchIndex()
    docs = []
    for title, body in pairs:
        d = SearchDocument.from_text(uuid.uuid4(), title, body)
        index.add("t", d)
        docs.append((d.id, list(d.title), list(d.body)))
    query = parse_query(" ".join(query_words))
    expected = _reference(docs, query.terms)
    hits = rank(index, query, scope="t", limit=100)
    assert {h.id for h in hits} == set(expected)
    for h in hits:
        assert h.score == pytest.approx(expected[h.id], rel=1e-9)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_an_empty_query_or_scope_gives_nothing() -> None:
    index, _ = _docs(("refund", ""))
    assert rank(index, SearchQuery(()), scope="t") == []
    assert rank(index, "refund", scope="t", limit=0) == []
    assert rank(MemorySearchIndex(), "refund", scope="t") == []
