"""Audit use cases: a record's history, a field's history, export and verification of the trail."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import attrs

from crmcore.audit import (
    AuditKeys,
    Checkpoint,
    CheckpointStore,
    KeyResolver,
    Problem,
    VerifyReport,
    verify,
)
from crmcore.errors import NotFound
from crmcore.model import (
    ENTITY_TYPES,
    AuditEntry,
    Entity,
    to_data,
)
from crmcore.query import all_of, eq
from crmcore.storage.ports import UnitOfWorkContext

__all__ = [
    "FieldChange",
    "checkpoint",
    "export_trail",
    "field_history",
    "history",
    "verify_trail",
]


def _entity_name(entity: type[Entity] | str) -> str:
    return entity if isinstance(entity, str) else entity.entity_name()


def history(
    uow: UnitOfWorkContext, entity: type[Entity] | str, record_id: uuid.UUID
) -> list[AuditEntry]:
    """Every audit entry of one record, oldest first, as the principal may see it.

    The principal must be able to read the record (while it exists), and each
    change shows its values at the principal's field level for that entity:
    masked values masked, hidden fields recorded as changed without values
    (``{"changed": True, "redacted": True}``), as for encrypted fields.

    Raises:
        PermissionDenied: the principal may not read the record.
    """
    name = _entity_name(entity)
    kind = ENTITY_TYPES.get(name)
    if kind is not None:
        try:
            uow.repo(kind).get(record_id, include_deleted=True)  # read permission, tenant
        except NotFound:
            pass  # erased for good since: its history stays readable
    where = all_of(eq("entity", name), eq("record_id", record_id))
    # the policy guard shows the changes at the principal's field levels (issue #13)
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


def checkpoint(
    uow: UnitOfWorkContext, store: CheckpointStore, *, key: bytes | AuditKeys | None = None
) -> Checkpoint | None:
    """Write a signed checkpoint of the session tenant's audit head to ``store``.

    Args:
        uow: the unit of work (its tenant's chain, read below every layer).
        store: where the checkpoint is kept (outside the audit table).
        key: the audit key (HMAC signature); ``None`` for an unkeyed digest; an
            :class:`~crmcore.audit.AuditKeys` signs with its current version.

    Returns:
        The checkpoint written, or ``None`` if the trail is empty.
    """
    head = uow.inner(AuditEntry).find(eq("tenant_id", uow.tenant_id), order_by="-seq", limit=1)
    if not head.items:
        return None
    entry = head.items[0]
    version: int | None = None
    if isinstance(key, AuditKeys):
        version, key = key.current(uow.tenant_id)
    cp = Checkpoint.sign(uow.tenant_id, entry.seq, entry.hash, uow.now(), key, version)
    store.write(cp)
    return cp


def verify_trail(
    uow: UnitOfWorkContext,
    *,
    key: bytes | AuditKeys | None = None,
    checkpoints: CheckpointStore | None = None,
    batch_size: int = 1000,
) -> VerifyReport:
    """Verify the session tenant's hash chain (streamed; nothing is loaded whole).

    Args:
        uow: the unit of work.
        key: the audit key, needed for a keyed chain and keyed checkpoints; an
            :class:`~crmcore.audit.AuditKeys` (``crmcore.crypto.KeyringAuditKeys``)
            checks each entry with the key version its hash names.
        checkpoints: compare the table with the newest checkpoint kept there:
            entries missing up to it are ``"truncated"``, a different hash at its
            seq is ``"rewritten"``; a checkpoint whose signature fails is a
            ``"checkpoint"`` problem (and is not trusted).
        batch_size: rows per read.

    Returns:
        The report; ``str(report)`` says keyed/unkeyed and which checkpoint was used.
    """
    head: tuple[int, str] | None = None
    bad: list[Problem] = []
    check: bytes | KeyResolver | None = key if not isinstance(key, AuditKeys) else None
    if isinstance(key, AuditKeys):
        keys, tenant = key, uow.tenant_id

        def versioned(version: int | None) -> bytes | None:
            return None if version is None else keys.get(tenant, version)

        check = versioned
    if checkpoints is not None:
        cp = checkpoints.latest(uow.tenant_id)
        if cp is not None:
            if cp.valid(check):
                head = (cp.seq, cp.head)
            else:
                bad.append(
                    Problem(
                        seq=cp.seq,
                        entry_id="-",
                        reason="checkpoint signature does not match (checkpoint edited)",
                        kind="checkpoint",
                    )
                )
    stream = uow.repo(AuditEntry).stream(order_by="seq", batch_size=batch_size)
    report = verify(stream, key=check, head=head)
    if bad:
        report = attrs.evolve(report, problems=(*bad, *report.problems))
    return report
