"""Knowledge-base use cases: article lifecycle, published versions, feedback, search.

An article moves through :data:`ARTICLE_MACHINE` (draft -> review ->
published -> archived). While it is published it has one
:class:`~crmcore.model.ArticleSearchEntry` (its analysed tokens), written in
the same unit of work as the change, so the engine's index (SQLite FTS5,
PostgreSQL GIN; :mod:`crmcore.storage.sql`) follows every publish, edit,
unpublish and archive. Each publication and each edit of a published article
keeps an :class:`~crmcore.model.ArticleVersion`, so the prior text survives.

:func:`search_articles` ranks a tenant's published articles by BM25
(:mod:`crmcore.search`) in the engine where it can, and returns only what the
session's principal may read. Search sees committed articles.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from crmcore.errors import NotFound, ValidationError
from crmcore.lifecycle import Machine, State, Transition
from crmcore.model import (
    ArticleFeedback,
    ArticleSearchEntry,
    ArticleVersion,
    KnowledgeArticle,
    Ticket,
    replace_trusted,
    stamp_new,
)
from crmcore.query import all_of, eq, is_null
from crmcore.search import (
    BM25,
    MAX_QUERY_TERMS,
    MemorySearchIndex,
    SearchDocument,
    SearchIndex,
    SearchQuery,
    analyze,
    parse_query,
    rank,
)
from crmcore.services._transitions import atomic, transition
from crmcore.storage.ports import UnitOfWorkContext

__all__ = [
    "ARTICLE_MACHINE",
    "ArticleFeedbackSummary",
    "ArticleMatch",
    "archive_article",
    "article_feedback_summary",
    "article_search_index",
    "article_versions",
    "create_article",
    "edit_article",
    "publish_article",
    "record_article_feedback",
    "reindex_articles",
    "reject_article",
    "restore_article",
    "search_articles",
    "submit_article",
    "suggest_articles",
    "unpublish_article",
]

#: Knowledge articles: draft -> review -> published -> archived; ``reject`` sends a
#: review back to draft, ``unpublish`` a published article back to draft, and
#: ``restore`` an archived one to draft.
ARTICLE_MACHINE = Machine(
    "knowledge_article",
    field="status",
    states=["draft", "review", "published", State("archived", final=True)],
    initial="draft",
    transitions=[
        Transition("submit", "draft", "review"),
        Transition("reject", "review", "draft"),
        Transition("publish", "review", "published"),
        Transition("unpublish", "published", "draft"),
        Transition("archive", ("draft", "review", "published"), "archived"),
        Transition("restore", "archived", "draft", from_final=True),
    ],
    entity="knowledge_article",
    description="Knowledge-base article.",
)

#: how many more hits than asked a search fetches, for those the policy hides
_OVERFETCH = 1.5
#: most hits one search looks at before giving up filling the page
_MAX_CANDIDATES = 1000


@attrs.frozen
class ArticleMatch:
    """A search result: the article (as the principal may see it) and its BM25 score."""

    article: KnowledgeArticle
    score: float


@attrs.frozen
class ArticleFeedbackSummary:
    """Readers' verdicts on one article."""

    article_id: uuid.UUID
    helpful: int
    not_helpful: int

    @property
    def total(self) -> int:
        """All verdicts."""
        return self.helpful + self.not_helpful

    @property
    def helpful_ratio(self) -> float | None:
        """Share of helpful verdicts (None without any)."""
        return self.helpful / self.total if self.total else None


def _machine(uow: UnitOfWorkContext) -> Machine:
    configured = uow.machines.get(KnowledgeArticle) if uow.machines else None
    return configured if isinstance(configured, Machine) else ARTICLE_MACHINE


# ----------------------------------------------------------------------------- lifecycle


def create_article(
    uow: UnitOfWorkContext,
    title: str,
    body: str = "",
    *,
    language: str = "zh-CN",
    tags: Iterable[str] = (),
    author_id: str | None = None,
) -> KnowledgeArticle:
    """Store a new draft article (the author defaults to the session's principal)."""
    return uow.repo(KnowledgeArticle).add(
        KnowledgeArticle(
            title=title,
            body=body,
            status=ARTICLE_MACHINE.initial,
            language=language,
            tags=frozenset(tags),
            author_id=author_id or uow.principal.user_id,
        )
    )


def _fire(
    uow: UnitOfWorkContext, article: KnowledgeArticle, event: str, comment: str | None
) -> KnowledgeArticle:
    with atomic(uow):
        stored = transition(uow, article, event, comment=comment, machine=_machine(uow))
        text = _source(uow, stored)
        if stored.status == "published":
            _new_version(uow, text)
        _sync_entry(uow, text)
    return stored


def _source(uow: UnitOfWorkContext, article: KnowledgeArticle) -> KnowledgeArticle:
    """The article's full text for versions and the index, whatever the principal may see.

    The adapter's record, unmasked (what the session returns may have fields
    masked by the policy). Articles are not a protectable type, so the stored
    record is plaintext.
    """
    return uow.inner(KnowledgeArticle).get(article.id)


def submit_article(
    uow: UnitOfWorkContext, article: KnowledgeArticle, *, comment: str | None = None
) -> KnowledgeArticle:
    """Send a draft for review."""
    return _fire(uow, article, "submit", comment)


def reject_article(
    uow: UnitOfWorkContext, article: KnowledgeArticle, *, comment: str | None = None
) -> KnowledgeArticle:
    """Send an article under review back to draft."""
    return _fire(uow, article, "reject", comment)


def publish_article(
    uow: UnitOfWorkContext, article: KnowledgeArticle, *, comment: str | None = None
) -> KnowledgeArticle:
    """Publish a reviewed article: it gets a new version and enters the search index.

    Raises:
        InvalidTransition: the article is not under review.
        PermissionDenied: the policy does not grant ``transition:publish``.
    """
    return _fire(uow, article, "publish", comment)


def unpublish_article(
    uow: UnitOfWorkContext, article: KnowledgeArticle, *, comment: str | None = None
) -> KnowledgeArticle:
    """Take a published article back to draft (it leaves the search index)."""
    return _fire(uow, article, "unpublish", comment)


def archive_article(
    uow: UnitOfWorkContext, article: KnowledgeArticle, *, comment: str | None = None
) -> KnowledgeArticle:
    """Archive an article (it leaves the search index; its versions stay)."""
    return _fire(uow, article, "archive", comment)


def restore_article(
    uow: UnitOfWorkContext, article: KnowledgeArticle, *, comment: str | None = None
) -> KnowledgeArticle:
    """Bring an archived article back as a draft."""
    return _fire(uow, article, "restore", comment)


def edit_article(
    uow: UnitOfWorkContext,
    article: KnowledgeArticle,
    *,
    title: str | None = None,
    body: str | None = None,
    tags: Iterable[str] | None = None,
    language: str | None = None,
) -> KnowledgeArticle:
    """Change an article's text; a published article keeps its prior version and is reindexed.

    Args:
        uow: the unit of work.
        article: the article as last read (a stale version is a Conflict).
        title / body / tags / language: what changes (None keeps it).

    Returns:
        The stored article.

    Raises:
        Conflict: the article changed since it was read.
        ValidationError: the title would be empty.
    """
    changes: dict[str, Any] = {}
    if title is not None:
        if not title.strip():
            raise ValidationError.single("$.title", "required", "an article needs a title")
        changes["title"] = title
    if body is not None:
        changes["body"] = body
    if tags is not None:
        changes["tags"] = frozenset(tags)
    if language is not None:
        changes["language"] = language
    with atomic(uow):
        before = _source(uow, article)
        stored = uow.repo(KnowledgeArticle).update(attrs.evolve(article, **changes))
        text = _source(uow, stored)
        if stored.status == "published" and _content(text) != _content(before):
            _new_version(uow, text)
        _sync_entry(uow, text)
    return stored


def _content(a: KnowledgeArticle) -> tuple[object, ...]:
    return (a.title, a.body, a.tags, a.language)


def article_versions(uow: UnitOfWorkContext, article_id: uuid.UUID) -> list[ArticleVersion]:
    """Every published version of an article, oldest first (the last is current if published)."""
    uow.repo(KnowledgeArticle).get(article_id)  # NotFound / PermissionDenied as for the article
    return list(uow.repo(ArticleVersion).stream(eq("article_id", article_id), order_by="number"))


def _new_version(uow: UnitOfWorkContext, article: KnowledgeArticle) -> ArticleVersion:
    """Record ``article``'s current text as its next published version (bookkeeping)."""
    now = uow.now()
    inner = uow.inner(ArticleVersion)
    where = all_of(eq("tenant_id", uow.tenant_id), eq("article_id", article.id))
    previous = inner.find(where, order_by="-number", limit=1).items
    number = 1
    if previous:
        last = previous[0]
        number = last.number + 1
        if last.superseded_at is None:
            inner.update(replace_trusted(last, superseded_at=now, updated_at=now))
    row = ArticleVersion(
        article_id=article.id,
        number=number,
        title=article.title,
        body=article.body,
        language=article.language,
        tags=article.tags,
        author_id=article.author_id,
        published_at=now,
    )
    return inner.add(stamp_new(row, tenant_id=uow.tenant_id, now=now))


# ----------------------------------------------------------------------------- index


def _entry_fields(article: KnowledgeArticle) -> dict[str, object] | None:
    title = analyze(" ".join([article.title, *sorted(article.tags)]))
    body = analyze(article.body)
    if not title and not body:
        return None
    return {
        "language": article.language,
        "title_tokens": " ".join(title),
        "body_tokens": " ".join(body),
        "terms": " ".join(sorted(set(title) | set(body))),
        "length": len(title) + len(body),
    }


def _sync_entry(uow: UnitOfWorkContext, article: KnowledgeArticle) -> None:
    """Make the article's index entry match it: present with its tokens iff published."""
    _cache(uow).index = None
    inner = uow.inner(ArticleSearchEntry)
    existing = inner.find(eq("article_id", article.id), limit=2).items
    fields = (
        _entry_fields(article)
        if article.status == "published" and article.deleted_at is None
        else None
    )
    now = uow.now()
    if fields is None:
        for e in existing:
            inner.delete(e.id)
        return
    if existing:
        inner.update(replace_trusted(existing[0], updated_at=now, **fields))
        for extra in existing[1:]:
            inner.delete(extra.id)
        return
    entry = ArticleSearchEntry(article_id=article.id, **fields)  # type: ignore[arg-type]
    inner.add(stamp_new(entry, tenant_id=article.tenant_id or uow.tenant_id, now=now))


def reindex_articles(uow: UnitOfWorkContext) -> int:
    """Rebuild the tenant's search entries from its articles; returns how many are indexed.

    For articles changed outside these use cases (``s.articles.update``),
    bulk loads, or after an upgrade of the analyser. Index upkeep is
    bookkeeping: it reads the articles below the policy (nothing of them is
    returned) and writes only index entries.
    """
    indexed = 0
    _cache(uow).index = None
    with atomic(uow):
        inner = uow.inner(ArticleSearchEntry)
        stale = list(inner.stream(eq("tenant_id", uow.tenant_id)))
        for e in stale:
            inner.delete(e.id)
        now = uow.now()
        rows = []
        where = all_of(
            eq("tenant_id", uow.tenant_id), eq("status", "published"), is_null("deleted_at")
        )
        for raw in uow.inner(KnowledgeArticle).stream(where):
            article = raw
            fields = _entry_fields(article)
            if fields is not None:
                entry = ArticleSearchEntry(article_id=article.id, **fields)  # type: ignore[arg-type]
                rows.append(stamp_new(entry, tenant_id=uow.tenant_id, now=now))
        if rows:
            inner.add_many(rows)
            indexed = len(rows)
    return indexed


class _IndexCache:
    """The pure-Python index built once per unit of work (memory, MariaDB).

    Dropped when this unit changes an entry or rolls back; changes other
    units commit meanwhile show in the next unit of work.
    """

    __slots__ = ("hooked", "index")

    def __init__(self) -> None:
        self.index: MemorySearchIndex | None = None
        self.hooked = False

    def clear(self) -> None:
        self.index = None


def _cache(uow: UnitOfWorkContext) -> _IndexCache:
    cache = uow.extension("crmcore.knowledge.index", _IndexCache)
    if not cache.hooked:
        uow.on_rollback(cache.clear)
        cache.hooked = True
    return cache


def _memory_index(uow: UnitOfWorkContext) -> MemorySearchIndex:
    cache = _cache(uow)
    if cache.index is None:
        index = MemorySearchIndex()
        for e in uow.inner(ArticleSearchEntry).stream(eq("tenant_id", uow.tenant_id)):
            doc = SearchDocument(e.article_id, e.title_tokens.split(), e.body_tokens.split())
            index.add(uow.tenant_id, doc)
        cache.index = index
    return cache.index


def article_search_index(uow: UnitOfWorkContext) -> SearchIndex:
    """The search index of this unit's storage: the engine's, else a pure-Python one.

    SQLite and PostgreSQL rank in the database (:mod:`crmcore.storage.sql`);
    memory and MariaDB rank in Python over the tenant's entries.
    """
    repo = uow.inner(ArticleSearchEntry)
    if type(repo).__module__.startswith("crmcore.storage.sql"):
        from crmcore.storage.sql import search_index_for

        native = search_index_for(repo)
        if native is not None:
            return native
    return _memory_index(uow)


def _ranked(
    uow: UnitOfWorkContext, query: SearchQuery, limit: int, language: str | None
) -> list[ArticleMatch]:
    if query.is_empty or limit <= 0:
        return []
    index = article_search_index(uow)
    repo = uow.repo(KnowledgeArticle)
    fetch = int(limit * _OVERFETCH) + 5
    while True:
        hits = rank(index, query, scope=uow.tenant_id, limit=fetch, params=BM25)
        visible = {a.id: a for a in repo.get_many([h.id for h in hits])}  # the policy filters
        out = [
            ArticleMatch(visible[h.id], h.score)
            for h in hits
            if h.id in visible
            and visible[h.id].status == "published"
            and (language is None or visible[h.id].language == language)
        ]
        if len(out) >= limit or len(hits) < fetch or fetch >= _MAX_CANDIDATES:
            return out[:limit]
        fetch = min(fetch * 4, _MAX_CANDIDATES)


def search_articles(
    uow: UnitOfWorkContext, text: str, limit: int = 10, *, language: str | None = None
) -> list[ArticleMatch]:
    """The tenant's published articles best matching ``text``, ranked by BM25.

    Chinese is matched by character bigrams (``退款`` finds ``申请退款流程``),
    English by stems (``refunds`` finds ``refund``); ``"phrases"`` group words
    and ``-word`` excludes. Titles and tags weigh twice the body. Only
    articles the principal may read are returned (the policy filters them).

    Args:
        uow: the unit of work.
        text: the search box's text.
        limit: how many results at most.
        language: only articles in this language (``"zh-CN"``, ``"en"``...).

    Raises:
        QueryError: the text is too long or has too many terms.
    """
    return _ranked(uow, parse_query(text), limit, language)


def suggest_articles(
    uow: UnitOfWorkContext, ticket: Ticket, limit: int = 5, *, language: str | None = None
) -> list[ArticleMatch]:
    """Published articles that may answer a ticket, from its subject and description.

    The subject's terms come first; at most 64 distinct terms are used.
    """
    tokens = analyze(ticket.subject, query=True) + analyze(ticket.description, query=True)
    terms = tuple(dict.fromkeys(tokens))[:MAX_QUERY_TERMS]
    return _ranked(uow, SearchQuery(terms), limit, language)


# ----------------------------------------------------------------------------- feedback


def record_article_feedback(
    uow: UnitOfWorkContext,
    article_id: uuid.UUID,
    helpful: bool,
    *,
    comment: str | None = None,
    customer_id: uuid.UUID | None = None,
    ticket_id: uuid.UUID | None = None,
) -> ArticleFeedback:
    """Store a reader's verdict on a published article.

    Raises:
        NotFound: no such article, or it is not published.
    """
    article = uow.repo(KnowledgeArticle).get(article_id)
    if article.status != "published":
        raise NotFound("KnowledgeArticle", article_id)
    return uow.repo(ArticleFeedback).add(
        ArticleFeedback(
            article_id=article_id,
            helpful=bool(helpful),
            comment=comment,
            customer_id=customer_id,
            ticket_id=ticket_id,
            actor=uow.principal.user_id,
        )
    )


def article_feedback_summary(
    uow: UnitOfWorkContext, article_ids: uuid.UUID | Sequence[uuid.UUID]
) -> ArticleFeedbackSummary | dict[uuid.UUID, ArticleFeedbackSummary]:
    """Helpful / not helpful counts of one article, or a dict for several."""
    one = isinstance(article_ids, uuid.UUID)
    ids = [article_ids] if isinstance(article_ids, uuid.UUID) else list(article_ids)
    repo = uow.repo(ArticleFeedback)
    out = {}
    for aid in ids:
        yes = repo.count(all_of(eq("article_id", aid), eq("helpful", True)))
        no = repo.count(all_of(eq("article_id", aid), eq("helpful", False)))
        out[aid] = ArticleFeedbackSummary(aid, yes, no)
    return out[ids[0]] if one else out
