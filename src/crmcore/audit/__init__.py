"""The audit trail: append-only, hash-chained, written in the same unit of work as the change.

Enable it with ``crmcore.connect(url, audit=True)`` (or pass an
:class:`AuditLayer` in ``layers``); read it with :func:`crmcore.services.history`,
:func:`crmcore.services.field_history`, :func:`crmcore.services.export_trail`; check it
with :func:`crmcore.services.verify_trail` (or :func:`verify` over entries you hold).
"""

from __future__ import annotations

from crmcore.audit._chain import (
    GENESIS,
    KEYED_PREFIX,
    AuditKeys,
    KeyResolver,
    Problem,
    VerifyReport,
    entry_hash,
    is_keyed,
    key_version,
    verify,
)
from crmcore.audit._checkpoint import (
    Checkpoint,
    CheckpointStore,
    FileCheckpointStore,
    MemoryCheckpointStore,
)
from crmcore.audit._layer import REDACTED, AuditingRepository, AuditLayer, Auditor, note

__all__ = [
    "GENESIS",
    "KEYED_PREFIX",
    "REDACTED",
    "AuditKeys",
    "AuditLayer",
    "AuditingRepository",
    "Auditor",
    "Checkpoint",
    "CheckpointStore",
    "FileCheckpointStore",
    "KeyResolver",
    "MemoryCheckpointStore",
    "Problem",
    "VerifyReport",
    "entry_hash",
    "is_keyed",
    "key_version",
    "note",
    "verify",
]
