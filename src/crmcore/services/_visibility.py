"""Bookkeeping rows as a principal may see them: audit entries and transition history.

Audit entries and transition rows copy values of the records they describe.
Reading them straight from their repositories shows those copies as stored,
whatever the policy hides of the records themselves; these use cases show
them as :func:`crmcore.services.history` does: only rows of records the
principal may read (rows of records erased since stay), with copied values at
the principal's field levels. The HTTP API serves bookkeeping through them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from crmcore.errors import NotFound, PermissionDenied
from crmcore.model import ENTITY_TYPES, AuditEntry, TransitionRecord, replace_trusted
from crmcore.services._audit import _shown
from crmcore.storage.ports import UnitOfWorkContext

__all__ = ["visible_audit_entries", "visible_transitions"]

R = TypeVar("R", AuditEntry, TransitionRecord)
View = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def _visible(uow: UnitOfWorkContext, rows: Iterable[R], show: Callable[[R, View], R]) -> list[R]:
    readable: dict[tuple[str, uuid.UUID | None], bool] = {}
    views: dict[str, View] = {}
    out: list[R] = []
    for row in rows:
        key = (row.entity, row.record_id)
        if key not in readable:
            kind = ENTITY_TYPES.get(row.entity)
            ok = True
            if kind is not None and row.record_id is not None:
                try:
                    uow.repo(kind).get(row.record_id, include_deleted=True)
                except NotFound:
                    pass  # erased for good since: its bookkeeping stays readable
                except PermissionDenied:
                    ok = False
            readable[key] = ok
        if not readable[key]:
            continue
        view = views.get(row.entity)
        if view is None:
            view = views[row.entity] = uow.field_view(row.entity)
        out.append(show(row, view))
    return out


def _shown_transition(row: TransitionRecord, view: View) -> TransitionRecord:
    if not row.data:
        return row
    return replace_trusted(row, data=dict(view(dict(row.data))))


def visible_audit_entries(
    uow: UnitOfWorkContext, entries: Iterable[AuditEntry]
) -> list[AuditEntry]:
    """The entries among ``entries`` whose record the principal may read, values as it may see them.

    Changed values show at the principal's field levels for the entry's
    entity (masked masked; hidden fields as ``{"changed": True, "redacted": True}``).
    """
    return _visible(uow, entries, _shown)


def visible_transitions(
    uow: UnitOfWorkContext, rows: Iterable[TransitionRecord]
) -> list[TransitionRecord]:
    """The transition rows whose record the principal may read, their data at its field levels."""
    return _visible(uow, rows, _shown_transition)
