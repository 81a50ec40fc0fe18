"""crmcore: the domain of a CRM as an embeddable library.

Start with :func:`connect`::

    import crmcore
    crm = crmcore.connect("sqlite:///crm.db")
    with crm.session() as s:
        s.customers.add(crmcore.Customer(first_name="伟", last_name="张", phone="13800138000"))
"""

from __future__ import annotations

from crmcore import errors, query
from crmcore._lazy import lazy_exports
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
    Principal,
    Priority,
    Product,
    Segment,
    SurveyKind,
    SurveyResponse,
    Ticket,
)
from crmcore.query import field

# Subpackages are attributes (``crmcore.dedupe.find_duplicates``) loaded on first
# use, and the version is read from the installed package's metadata on first use,
# so ``import crmcore`` stays light.
_SUBPACKAGES = (
    "analytics",
    "audit",
    "crypto",
    "dedupe",
    "io",
    "lifecycle",
    "model",
    "policy",
    "search",
    "services",
    "storage",
    "testing",
    "validation",
)
_lazy_getattr, __dir__ = lazy_exports(__name__, dict.fromkeys(_SUBPACKAGES))


def __getattr__(name: str) -> object:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("crmcore")
        except PackageNotFoundError:  # running from a source tree that is not installed
            from crmcore._version import __version__ as found
        globals()["__version__"] = found
        return found
    return _lazy_getattr(name)


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
