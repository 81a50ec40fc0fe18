"""The aggregates crmcore stores, by name and by collection (``s.customers``)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from crmcore.errors import ConfigurationError
from crmcore.model._base import Entity
from crmcore.model._desk import Agent, EscalationRecord
from crmcore.model._entities import (
    Account,
    Activity,
    AuditEntry,
    Campaign,
    CampaignEvent,
    CampaignMember,
    Consent,
    ContactRole,
    Customer,
    KnowledgeArticle,
    Lead,
    MergeRecord,
    Opportunity,
    Order,
    Product,
    Segment,
    SurveyResponse,
    Ticket,
    TransitionRecord,
)
from crmcore.model._events import OutboxEvent, WebhookDelivery, WebhookSubscription
from crmcore.model._io import ImportBatch, ImportJob
from crmcore.model._knowledge import (
    ArticleFeedback,
    ArticleSearchEntry,
    ArticleVersion,
    SurveyRequest,
)
from crmcore.model._marketing import CampaignCost, CampaignVariant, ChannelSuppression, SegmentEntry

__all__ = ["COLLECTIONS", "ENTITY_TYPES", "collection_of", "entity_type", "references_to"]

#: collection name (session attribute and table name) -> entity type
COLLECTIONS: Mapping[str, type[Entity]] = MappingProxyType(
    {
        "customers": Customer,
        "accounts": Account,
        "contact_roles": ContactRole,
        "leads": Lead,
        "opportunities": Opportunity,
        "activities": Activity,
        "tickets": Ticket,
        "campaigns": Campaign,
        "campaign_members": CampaignMember,
        "campaign_events": CampaignEvent,
        "segments": Segment,
        "products": Product,
        "orders": Order,
        "consents": Consent,
        "articles": KnowledgeArticle,
        "survey_responses": SurveyResponse,
        "transitions": TransitionRecord,
        "merges": MergeRecord,
        "audit_entries": AuditEntry,
        "import_jobs": ImportJob,
        "import_batches": ImportBatch,
        "outbox_events": OutboxEvent,
        "webhook_subscriptions": WebhookSubscription,
        "webhook_deliveries": WebhookDelivery,
        "article_versions": ArticleVersion,
        "article_feedback": ArticleFeedback,
        "article_search_entries": ArticleSearchEntry,
        "survey_requests": SurveyRequest,
        "segment_entries": SegmentEntry,
        "channel_suppressions": ChannelSuppression,
        "campaign_variants": CampaignVariant,
        "campaign_costs": CampaignCost,
        "agents": Agent,
        "escalations": EscalationRecord,
    }
)

#: entity type name (``"Customer"``) -> entity type
ENTITY_TYPES: Mapping[str, type[Entity]] = MappingProxyType(
    {cls.__name__: cls for cls in COLLECTIONS.values()}
)

_COLLECTION_OF = {cls: name for name, cls in COLLECTIONS.items()}


def entity_type(name: str) -> type[Entity]:
    """The entity type called ``name``.

    Raises:
        ConfigurationError: no such entity type.
    """
    try:
        return ENTITY_TYPES[name]
    except KeyError:
        raise ConfigurationError(f"unknown entity type {name!r}") from None


def collection_of(cls: type[Entity]) -> str:
    """The collection (table) name of an entity type."""
    try:
        return _COLLECTION_OF[cls]
    except KeyError:
        raise ConfigurationError(f"{cls.__name__} is not a stored aggregate") from None


_TARGETS = {
    "customer": "Customer",
    "account": "Account",
    "lead": "Lead",
    "opportunity": "Opportunity",
    "ticket": "Ticket",
    "campaign": "Campaign",
    "segment": "Segment",
}


def _target(cls: type[Entity], field: str) -> str | None:
    if field == "parent_id":
        return cls.__name__
    stem = field.removeprefix("converted_").removesuffix("_id")
    return _TARGETS.get(stem)


def references_to(target: type[Entity]) -> list[tuple[type[Entity], str]]:
    """Every (entity type, field) that holds the id of a ``target`` record.

    Generic references (a transition's or an audit entry's ``record_id``) are
    not included: history stays with the record it describes.
    """
    return [
        (cls, field)
        for cls in COLLECTIONS.values()
        for field in cls.__crm_references__
        if _target(cls, field) == target.__name__
    ]
