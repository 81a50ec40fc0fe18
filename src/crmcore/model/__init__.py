"""The domain model: attrs entities and value objects, and their plain-data form.

Nothing here imports the rest of crmcore (only :mod:`crmcore.errors`), nor any
storage library.
"""

from __future__ import annotations

from crmcore.model._base import (
    Entity,
    Protectable,
    fields_of,
    new_id,
    replace_trusted,
    utcnow,
)
from crmcore.model._copies import (
    VALUE_COPY_OPENER,
    ValueCopies,
    map_value_copies,
    shown_changes,
    shown_copies,
    value_copies,
)
from crmcore.model._desk import Agent, AgentPresence, AgentShift, EscalationRecord
from crmcore.model._entities import (
    Account,
    Activity,
    ActivityType,
    AuditEntry,
    Campaign,
    CampaignEvent,
    CampaignMember,
    Channel,
    Consent,
    ConsentStatus,
    ContactRole,
    Customer,
    Gender,
    KnowledgeArticle,
    Lead,
    MergeRecord,
    Opportunity,
    Order,
    Priority,
    Product,
    Segment,
    SurveyKind,
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
from crmcore.model._principal import Principal
from crmcore.model._registry import (
    COLLECTIONS,
    ENTITY_TYPES,
    collection_of,
    entity_type,
    references_to,
)
from crmcore.model._serialize import from_data, make_converter, to_data
from crmcore.model._stamp import stamp_new
from crmcore.model._values import (
    Address,
    EmailAddress,
    Money,
    OrderLine,
    PersonName,
    PhoneNumber,
    is_cjk,
)

__all__ = [
    "COLLECTIONS",
    "ENTITY_TYPES",
    "VALUE_COPY_OPENER",
    "Account",
    "Activity",
    "ActivityType",
    "Address",
    "Agent",
    "AgentPresence",
    "AgentShift",
    "ArticleFeedback",
    "ArticleSearchEntry",
    "ArticleVersion",
    "AuditEntry",
    "Campaign",
    "CampaignCost",
    "CampaignEvent",
    "CampaignMember",
    "CampaignVariant",
    "Channel",
    "ChannelSuppression",
    "Consent",
    "ConsentStatus",
    "ContactRole",
    "Customer",
    "EmailAddress",
    "Entity",
    "EscalationRecord",
    "Gender",
    "ImportBatch",
    "ImportJob",
    "KnowledgeArticle",
    "Lead",
    "MergeRecord",
    "Money",
    "Opportunity",
    "Order",
    "OrderLine",
    "OutboxEvent",
    "PersonName",
    "PhoneNumber",
    "Principal",
    "Priority",
    "Product",
    "Protectable",
    "Segment",
    "SegmentEntry",
    "SurveyKind",
    "SurveyRequest",
    "SurveyResponse",
    "Ticket",
    "TransitionRecord",
    "ValueCopies",
    "WebhookDelivery",
    "WebhookSubscription",
    "collection_of",
    "entity_type",
    "fields_of",
    "from_data",
    "is_cjk",
    "make_converter",
    "map_value_copies",
    "new_id",
    "references_to",
    "replace_trusted",
    "shown_changes",
    "shown_copies",
    "stamp_new",
    "to_data",
    "utcnow",
    "value_copies",
]
