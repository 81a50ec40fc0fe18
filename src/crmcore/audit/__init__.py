"""The audit trail: append-only, hash-chained, written in the same unit of work as the change.

Enable it with ``crmcore.connect(url, audit=True)`` (or pass an
:class:`AuditLayer` in ``layers``); read it with :func:`crmcore.services.history`,
:func:`crmcore.services.field_history`, :func:`crmcore.services.export_trail`; check it
with :func:`crmcore.services.verify_trail` (or :func:`verify` over entries you hold).
"""

from __future__ import annotations

from crmcore.audit._chain import GENESIS, Problem, VerifyReport, entry_hash, verify
from crmcore.audit._layer import REDACTED, AuditingRepository, AuditLayer, Auditor

__all__ = [
    "GENESIS",
    "REDACTED",
    "AuditLayer",
    "AuditingRepository",
    "Auditor",
    "Problem",
    "VerifyReport",
    "entry_hash",
    "verify",
]
