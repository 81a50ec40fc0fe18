"""Knowledge base and satisfaction records: article versions, feedback, the search index, surveys.

``ArticleVersion`` keeps what a published article said before an edit;
``ArticleFeedback`` is one reader's "helpful or not"; ``ArticleSearchEntry``
is the storage-side search index of a published article (its analysed
tokens, written by :mod:`crmcore.services` whenever the article changes);
``SurveyRequest`` is a satisfaction survey sent when a ticket resolves, with
the agent, team and category it is attributed to.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from typing import ClassVar

import attrs

from crmcore.model._base import Entity, _aware_opt, _tags
from crmcore.model._entities import SurveyKind

__all__ = [
    "ArticleFeedback",
    "ArticleSearchEntry",
    "ArticleVersion",
    "SurveyRequest",
]


@attrs.frozen(kw_only=True)
class ArticleVersion(Entity):
    """One published revision of a knowledge article (``number`` counts from 1)."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("article_id", "number")
    __crm_references__: ClassVar[tuple[str, ...]] = ("article_id",)

    article_id: uuid.UUID
    number: int
    title: str
    body: str = ""
    language: str = "zh-CN"
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)
    author_id: str | None = None
    published_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    superseded_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)


@attrs.frozen(kw_only=True)
class ArticleFeedback(Entity):
    """A reader's verdict on an article: helpful or not, with an optional comment."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("article_id", "ticket_id")
    __crm_references__: ClassVar[tuple[str, ...]] = ("article_id", "customer_id", "ticket_id")

    article_id: uuid.UUID
    helpful: bool
    comment: str | None = None
    customer_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    actor: str | None = None


@attrs.frozen(kw_only=True)
class ArticleSearchEntry(Entity):
    """The search index row of one published article: analysed tokens, space-separated.

    ``terms`` holds the distinct tokens (what an engine's inverted index
    covers), ``length`` the token count of both fields (BM25's ``|d|``).
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("article_id",)
    __crm_references__: ClassVar[tuple[str, ...]] = ("article_id",)

    article_id: uuid.UUID
    language: str = "zh-CN"
    title_tokens: str = ""
    body_tokens: str = ""
    terms: str = ""
    length: int = 0


@attrs.frozen(kw_only=True)
class SurveyRequest(Entity):
    """A satisfaction survey asked of a customer about a ticket.

    ``agent_id``, ``team_id`` and ``category`` are the ticket's at the time
    the survey was requested (who is credited); ``status`` is ``pending``
    until answered; the answer's ``score`` is copied here for reporting.
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = (
        "ticket_id",
        "customer_id",
        "agent_id",
        "status",
        "kind",
    )
    __crm_references__: ClassVar[tuple[str, ...]] = ("ticket_id", "customer_id")

    ticket_id: uuid.UUID
    kind: SurveyKind = SurveyKind.CSAT
    status: str = "pending"
    customer_id: uuid.UUID | None = None
    agent_id: str | None = None
    team_id: str | None = None
    category: str | None = None
    requested_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    answered_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    response_id: uuid.UUID | None = None
    score: int | None = None
