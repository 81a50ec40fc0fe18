"""crmcore: the domain of a CRM as an embeddable library.

Start with :func:`connect`::

    import crmcore
    crm = crmcore.connect("sqlite:///crm.db")
    with crm.session() as s:
        s.customers.add(crmcore.Customer(first_name="伟", last_name="张", phone="13800138000"))
"""

from __future__ import annotations

from crmcore import errors, query
from crmcore._version import __version__
from crmcore.app import Crm, Session, connect
from crmcore.errors import (
    AlreadyExists,
    Conflict,
    CrmError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from crmcore.model import (
    Account,
    Activity,
    ActivityType,
    Address,
    Campaign,
    Channel,
    Consent,
    ConsentStatus,
    ContactRole,
    Customer,
    KnowledgeArticle,
    Lead,
    Money,
    Opportunity,
    Order,
    OrderLine,
    Priority,
    Product,
    Segment,
    SurveyKind,
    SurveyResponse,
    Ticket,
)
from crmcore.policy import Principal
from crmcore.query import field

__all__ = [
    "Account",
    "Activity",
    "ActivityType",
    "Address",
    "AlreadyExists",
    "Campaign",
    "Channel",
    "Conflict",
    "Consent",
    "ConsentStatus",
    "ContactRole",
    "Crm",
    "CrmError",
    "Customer",
    "KnowledgeArticle",
    "Lead",
    "Money",
    "NotFound",
    "Opportunity",
    "Order",
    "OrderLine",
    "PermissionDenied",
    "Principal",
    "Priority",
    "Product",
    "Segment",
    "Session",
    "SurveyKind",
    "SurveyResponse",
    "Ticket",
    "ValidationError",
    "__version__",
    "connect",
    "errors",
    "field",
    "query",
]
