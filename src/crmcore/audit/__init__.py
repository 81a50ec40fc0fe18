"""The audit trail: append-only, hash-chained, written in the same unit of work as the change.

Enable it with ``crmcore.connect(url, audit=True)`` (or pass an
:class:`AuditLayer` in ``layers``); read it with :func:`history`,
:func:`field_history`, :func:`export`; check it with :func:`verify_trail`.
"""

from __future__ import annotations

from crmcore.audit._chain import GENESIS, Problem, VerifyReport, entry_hash, verify
from crmcore.audit._layer import REDACTED, AuditingRepository, AuditLayer, Auditor
from crmcore.audit._query import FieldChange, export, field_history, history, verify_trail

__all__ = [
    "GENESIS",
    "REDACTED",
    "AuditLayer",
    "AuditingRepository",
    "Auditor",
    "FieldChange",
    "Problem",
    "VerifyReport",
    "entry_hash",
    "export",
    "field_history",
    "history",
    "verify",
    "verify_trail",
]
