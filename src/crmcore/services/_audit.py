"""Audit use cases: a record's history, a field's history, export and verification of the trail."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import attrs

from crmcore.audit import VerifyReport, verify
from crmcore.model import AuditEntry, Entity, to_data
from crmcore.query import all_of, eq
from crmcore.storage.ports import UnitOfWorkContext

__all__ = ["FieldChange", "export_trail", "field_history", "history", "verify_trail"]


def _entity_name(entity: type[Entity] | str) -> str:
    return entity if isinstance(entity, str) else entity.entity_name()


def history(
    uow: UnitOfWorkContext, entity: type[Entity] | str, record_id: uuid.UUID
) -> list[AuditEntry]:
    """Every audit entry of one record, oldest first."""
    where = all_of(eq("entity", _entity_name(entity)), eq("record_id", record_id))
    return list(uow.repo(AuditEntry).stream(where, order_by="seq"))


@attrs.frozen
class FieldChange:
    """One change of one field: when, by whom, from what to what (None if redacted)."""

    seq: int
    at: Any
    actor: str
    action: str
    before: Any
    after: Any
    redacted: bool = False


def field_history(
    uow: UnitOfWorkContext, entity: type[Entity] | str, record_id: uuid.UUID, field: str
) -> list[FieldChange]:
    """How one field of one record changed over time, oldest first."""
    out = []
    for entry in history(uow, entity, record_id):
        change = entry.changes.get(field)
        if change is None:
            continue
        redacted = bool(change.get("redacted"))
        out.append(
            FieldChange(
                entry.seq,
                entry.at,
                entry.actor,
                entry.action,
                None if redacted else change.get("from"),
                None if redacted else change.get("to"),
                redacted,
            )
        )
    return out


def export_trail(uow: UnitOfWorkContext, *, batch_size: int = 1000) -> Iterator[dict[str, Any]]:
    """The session tenant's whole trail as plain data, in order, streamed."""
    for entry in uow.repo(AuditEntry).stream(order_by="seq", batch_size=batch_size):
        yield to_data(entry)


def verify_trail(uow: UnitOfWorkContext, *, batch_size: int = 1000) -> VerifyReport:
    """Verify the session tenant's hash chain (streamed; nothing is loaded whole)."""
    return verify(uow.repo(AuditEntry).stream(order_by="seq", batch_size=batch_size))
