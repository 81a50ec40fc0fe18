"""Storage behind ports: the protocols, the in-memory adapter and (lazily) the SQL one."""

from __future__ import annotations

from crmcore.storage.memory import MemoryStore
from crmcore.storage.ports import Repository, Store, UnitOfWork

__all__ = ["MemoryStore", "Repository", "Store", "UnitOfWork"]
