"""Knowledge-base use cases on every backend: lifecycle, versions, index, search, feedback."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import Principal
from crmcore.errors import InvalidTransition, NotFound
from crmcore.model import ArticleSearchEntry, KnowledgeArticle, Ticket
from crmcore.policy import Policy, R
from crmcore.search import MemorySearchIndex, SearchDocument, rank
from crmcore.services import (
    archive_article,
    article_feedback_summary,
    article_versions,
    create_article,
    edit_article,
    publish_article,
    record_article_feedback,
    reindex_articles,
    reject_article,
    restore_article,
    search_articles,
    submit_article,
    suggest_articles,
    unpublish_article,
)

from .corpus import QUERIES, generate

Factory = Callable[[], crmcore.Session]


def _published(s: crmcore.Session, title: str, body: str = "", **kw: object) -> KnowledgeArticle:
    a = create_article(s, title, body, **kw)  # type: ignore[arg-type]
    return publish_article(s, submit_article(s, a))


def _titles(s: crmcore.Session, text: str, **kw: object) -> list[str]:
    return [m.article.title for m in search_articles(s, text, **kw)]  # type: ignore[arg-type]


def test_chinese_substrings_and_english_stems_are_found(session: Factory) -> None:
    with session() as s:
        _published(s, "申请退款流程", "签收后七天内可申请", language="zh-CN")
        _published(s, "Refund", "how to ask for one", language="en")
        _published(s, "发票", "电子发票")
    with session() as s:
        assert _titles(s, "退款") == ["申请退款流程"]
        assert _titles(s, "refunds") == ["Refund"]
        assert _titles(s, "退") == ["申请退款流程"]
        assert _titles(s, "refund 退款", language="en") == ["Refund"]
        assert _titles(s, "发票 -电子") == []
        assert _titles(s, "the") == []


def test_only_published_articles_are_found_and_the_index_follows_the_lifecycle(
    session: Factory,
) -> None:
    with session() as s:
        draft = create_article(s, "密码草稿", "重置密码")
        review = submit_article(s, create_article(s, "密码审核中", "重置密码"))
        live = _published(s, "重置密码", "忘记密码")
    with session() as s:
        assert _titles(s, "密码") == ["重置密码"]
        unpublish_article(s, s.repo(KnowledgeArticle).get(live.id))
    with session() as s:
        assert _titles(s, "密码") == []
        again = publish_article(s, submit_article(s, s.repo(KnowledgeArticle).get(live.id)))
        assert again.status == "published"
    with session() as s:
        assert _titles(s, "密码") == ["重置密码"]
        archived = archive_article(s, s.repo(KnowledgeArticle).get(live.id))
        reject_article(s, s.repo(KnowledgeArticle).get(review.id))
        assert s.inner(ArticleSearchEntry).find(where_article(live.id)).items == ()
    with session() as s:
        assert _titles(s, "密码") == []
        assert s.repo(KnowledgeArticle).get(review.id).status == "draft"
        restored = restore_article(s, s.repo(KnowledgeArticle).get(archived.id))
        assert restored.status == "draft"
        with pytest.raises(InvalidTransition):
            publish_article(s, s.repo(KnowledgeArticle).get(draft.id))


def where_article(article_id: uuid.UUID) -> crmcore.query.Filter:
    return crmcore.query.eq("article_id", article_id)


def test_editing_a_published_article_keeps_the_prior_version_and_reindexes(
    session: Factory,
) -> None:
    with session() as s:
        a = _published(s, "退款时限", "七天内可以退款")
    with session() as s:
        edited = edit_article(s, s.repo(KnowledgeArticle).get(a.id), body="十五天内可以退款")
        edit_article(s, edited, tags=["售后"])
    with session() as s:
        versions = article_versions(s, a.id)
        assert [v.number for v in versions] == [1, 2, 3]
        assert versions[0].body == "七天内可以退款"
        assert versions[1].body == "十五天内可以退款"
        assert versions[2].tags == frozenset({"售后"})
        assert versions[0].superseded_at is not None and versions[2].superseded_at is None
        assert _titles(s, "七天") == []
        assert _titles(s, "十五天") == ["退款时限"]
        assert _titles(s, "售后") == ["退款时限"]  # tags are indexed with the title


def test_editing_a_draft_makes_no_version(session: Factory) -> None:
    with session() as s:
        a = create_article(s, "草稿", "正文")
        edit_article(s, a, body="新正文")
        assert article_versions(s, a.id) == []


def test_search_is_confined_to_the_tenant_and_its_statistics(
    crm: crmcore.Crm, session: Factory
) -> None:
    other = Principal.system_principal(f"t-{uuid.uuid4().hex[:12]}")
    with crm.session(other) as s:
        _published(s, "退款说明", "其他租户的退款文章")
        for i in range(5):
            _published(s, f"退款问答{i}", "退款")
    with session() as s:
        mine = _published(s, "退款流程", "七天")
        _published(s, "发票", "电子")
    with session() as s:
        hits = search_articles(s, "退款")
        assert [m.article.id for m in hits] == [mine.id]
        # the score is the one of this tenant's two articles alone
        index = MemorySearchIndex()
        index.add("x", SearchDocument.from_text(mine.id, "退款流程", "七天"))
        index.add("x", SearchDocument.from_text(uuid.uuid4(), "发票", "电子"))
        assert hits[0].score == pytest.approx(rank(index, "退款", scope="x")[0].score)


def test_suggestions_come_from_the_ticket_subject_and_description(session: Factory) -> None:
    with session() as s:
        refund = _published(s, "申请退款流程", "签收七天内")
        _published(s, "重置密码", "忘记密码")
    with session() as s:
        ticket = Ticket(subject="我要退款", description="买的东西不合适，怎么申请？" * 20)
        assert [m.article.id for m in suggest_articles(s, ticket)] == [refund.id]


def test_feedback_is_counted_per_article(session: Factory) -> None:
    with session() as s:
        a = _published(s, "积分兑换", "礼品")
        draft = create_article(s, "草稿", "")
        record_article_feedback(s, a.id, True)
        record_article_feedback(s, a.id, True, comment="清楚")
        record_article_feedback(s, a.id, False)
        with pytest.raises(NotFound):
            record_article_feedback(s, draft.id, True)
    with session() as s:
        summary = article_feedback_summary(s, a.id)
        assert (summary.helpful, summary.not_helpful, summary.total) == (2, 1, 3)
        assert summary.helpful_ratio == pytest.approx(2 / 3)
        many = article_feedback_summary(s, [a.id, draft.id])
        assert isinstance(many, dict) and many[draft.id].total == 0


def test_reindex_repairs_articles_changed_behind_the_use_cases(session: Factory) -> None:
    with session() as s:
        a = _published(s, "物流配送", "三天送达")
    with session() as s:
        s.repo(KnowledgeArticle).update(
            crmcore.model.replace_trusted(s.repo(KnowledgeArticle).get(a.id), body="五天送达")
        )
    with session() as s:
        assert _titles(s, "五天") == []  # the direct update bypassed the index
        assert reindex_articles(s) == 1
    with session() as s:
        assert _titles(s, "五天") == ["物流配送"]


_AGREE = generate(60)


def test_every_backend_ranks_like_the_pure_python_reference(session: Factory) -> None:
    index = MemorySearchIndex()
    with session() as s:
        ids = []
        for _topic, title, body, language in _AGREE:
            a = _published(s, title, body, language=language)
            ids.append(a.id)
            index.add("ref", SearchDocument.from_text(a.id, title, body))
    with session() as s:
        for query, _topic in QUERIES[::3]:
            got = search_articles(s, query, limit=5)
            want = rank(index, query, scope="ref", limit=5)
            assert [m.score for m in got] == pytest.approx([h.score for h in want], rel=1e-9)
            for m, h in zip(got, want, strict=True):
                if not any(abs(h.score - o.score) < 1e-9 * h.score for o in want if o.id != h.id):
                    assert m.article.id == h.id, query


# ---------------------------------------------------------------- policy


def _policy() -> Policy:
    return (
        Policy.builder()
        .allow(
            "english-only",
            roles="agent",
            entities="KnowledgeArticle",
            actions="read",
            when=R.language == "en",
        )
        .build()
    )


@pytest.mark.parametrize("url", ["memory://", "sqlite"])
def test_search_shows_only_articles_the_policy_lets_the_principal_read(
    url: str, tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'kb.db'}" if url == "sqlite" else url
    crm = crmcore.connect(target, policy=_policy())
    admin = Principal.system_principal("acme")
    agent = Principal(user_id="a1", tenant_id="acme", roles="agent")
    with crm.session(admin) as s:
        for i in range(12):
            _published(s, f"退款 refund {i}", "退款 refund 退款", language="zh-CN")
        en = _published(s, "refund policy", "refund", language="en")
    with crm.session(agent) as s:
        hits = search_articles(s, "refund 退款", limit=3)
        assert [m.article.id for m in hits] == [en.id]
    crm.close()


def test_one_memory_session_sees_its_own_publications_in_search() -> None:
    crm = crmcore.connect("memory://")
    with crm.session() as s:
        _published(s, "退款", "一")
        assert _titles(s, "退款") == ["退款"]  # builds the session's index
        _published(s, "退款二", "二")  # must drop it
        assert sorted(_titles(s, "退款")) == ["退款", "退款二"]
        s.rollback()
        assert _titles(s, "退款") == []


@pytest.mark.parametrize("url", ["memory://", "sqlite"])
def test_a_principal_who_cannot_read_the_body_still_indexes_and_versions_it_whole(
    url: str, tmp_path: Path
) -> None:
    policy = (
        Policy.builder()
        .allow("editors", roles="editor", entities=["KnowledgeArticle"], actions="*")
        .fields(roles="editor", entities="KnowledgeArticle", body="hidden", all="write")
        .build()
    )
    target = f"sqlite:///{tmp_path / 'kb.db'}" if url == "sqlite" else url
    crm = crmcore.connect(target, policy=policy)
    admin = Principal.system_principal("acme")
    editor = Principal(user_id="e1", tenant_id="acme", roles="editor")
    with crm.session(admin) as s:
        draft = submit_article(s, create_article(s, "退款", "七天内可以申请"))
    with crm.session(editor) as s:
        shown = publish_article(s, s.repo(KnowledgeArticle).get(draft.id))
        assert shown.body is None  # the editor does not see the body...
    with crm.session(admin) as s:
        assert _titles(s, "七天") == ["退款"]  # ...but it was indexed whole
        assert [v.body for v in article_versions(s, draft.id)] == ["七天内可以申请"]
        assert s.repo(KnowledgeArticle).get(draft.id).body == "七天内可以申请"
    crm.close()


_VOCAB = ["退款", "申请", "密码", "发票", "refund", "password", "invoice", "order", "账户锁定"]
_text = st.lists(st.sampled_from(_VOCAB), max_size=6).map(" ".join)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    docs=st.lists(st.tuples(_text, _text), min_size=1, max_size=8),
    words=st.lists(st.sampled_from(_VOCAB), min_size=1, max_size=3),
    exclude=st.none() | st.sampled_from(_VOCAB),
)
def test_random_corpora_rank_like_the_reference_in_a_fresh_tenant(
    crm: crmcore.Crm,
    docs: list[tuple[str, str]],
    words: list[str],
    exclude: str | None,
) -> None:
    principal = Principal.system_principal(f"t-{uuid.uuid4().hex[:12]}")
    index = MemorySearchIndex()
    with crm.session(principal) as s:
        for title, body in docs:
            a = _published(s, title or "空", body)
            index.add("ref", SearchDocument.from_text(a.id, a.title, body))
    query = " ".join(words) + (f" -{exclude}" if exclude else "")
    with crm.session(principal) as s:
        got = search_articles(s, query, limit=20)
    want = rank(index, query, scope="ref", limit=20)
    assert {m.article.id for m in got} == {h.id for h in want}
    by_id = {h.id: h.score for h in want}
    for m in got:
        assert m.score == pytest.approx(by_id[m.article.id], rel=1e-9)
