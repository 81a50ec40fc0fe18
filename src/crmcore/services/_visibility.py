"""Bookkeeping rows as a principal may see them: audit entries and transition history.

Audit entries and transition rows copy values of the records they describe.
The policy guard itself shows them only where the principal may read the
record they are about, with the copied values at the principal's field levels
(entity types declaring ``__crm_copies__``, issue #13); these use cases give
rows obtained elsewhere (built by a use case, read below the guard) the same
treatment by reading them again through the session's repositories. The HTTP
API serves bookkeeping through them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from crmcore.model import AuditEntry, TransitionRecord
from crmcore.storage.ports import UnitOfWorkContext

__all__ = ["visible_audit_entries", "visible_transitions"]

R = TypeVar("R", AuditEntry, TransitionRecord)


def _visible(uow: UnitOfWorkContext, rows: Iterable[R], kind: type[R]) -> list[R]:
    wanted = list(rows)
    seen = {r.id: r for r in uow.repo(kind).get_many([r.id for r in wanted])}
    return [seen[r.id] for r in wanted if r.id in seen]


def visible_audit_entries(
    uow: UnitOfWorkContext, entries: Iterable[AuditEntry]
) -> list[AuditEntry]:
    """The entries among ``entries`` whose record the principal may read, values as it may see them.

    Changed values show at the principal's field levels for the entry's
    entity (masked masked; hidden fields as ``{"changed": True, "redacted": True}``).
    """
    return _visible(uow, entries, AuditEntry)


def visible_transitions(
    uow: UnitOfWorkContext, rows: Iterable[TransitionRecord]
) -> list[TransitionRecord]:
    """The transition rows whose record the principal may read, their data at its field levels."""
    return _visible(uow, rows, TransitionRecord)
