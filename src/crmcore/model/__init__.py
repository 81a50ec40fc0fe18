"""The domain model: attrs entities and value objects, and their plain-data form.

Nothing here imports the rest of crmcore (only :mod:`crmcore.errors`), nor any
storage library.
"""

from __future__ import annotations

from crmcore.model._base import Entity, fields_of, new_id, replace_trusted, utcnow
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
    "Account",
    "Activity",
    "ActivityType",
    "Address",
    "Agent",
    "AgentPresence",
    "AgentShift",
    "AuditEntry",
    "Campaign",
    "CampaignEvent",
    "CampaignMember",
    "Channel",
    "Consent",
    "ConsentStatus",
    "ContactRole",
    "Customer",
    "EmailAddress",
    "Entity",
    "EscalationRecord",
    "Gender",
    "KnowledgeArticle",
    "Lead",
    "MergeRecord",
    "Money",
    "Opportunity",
    "Order",
    "OrderLine",
    "PersonName",
    "PhoneNumber",
    "Principal",
    "Priority",
    "Product",
    "Segment",
    "SurveyKind",
    "SurveyResponse",
    "Ticket",
    "TransitionRecord",
    "collection_of",
    "entity_type",
    "fields_of",
    "from_data",
    "is_cjk",
    "make_converter",
    "new_id",
    "references_to",
    "replace_trusted",
    "stamp_new",
    "to_data",
    "utcnow",
]
