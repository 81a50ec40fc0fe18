"""Storage behind ports: the protocols, the in-memory adapter and (lazily) the SQL one."""

from __future__ import annotations

from crmcore.storage._campaigns import (
    FUNNEL_RANK,
    FunnelRow,
    campaign_funnel,
    campaign_timeline,
    stored_ids,
)
from crmcore.storage.memory import MemoryStore
from crmcore.storage.ports import Repository, Store, UnitOfWork

__all__ = [
    "FUNNEL_RANK",
    "FunnelRow",
    "MemoryStore",
    "Repository",
    "Store",
    "UnitOfWork",
    "campaign_funnel",
    "campaign_timeline",
    "stored_ids",
]
