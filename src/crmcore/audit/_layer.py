"""The audit layer: records who changed what, field by field, in the same unit of work.

Entries are collected while a session works and appended to the tenant's
chain just before it commits, through the adapter's own repository, so they
land in the same transaction as the changes: a rolled-back unit of work leaves
no entry. An entry's id is derived from (tenant, seq), so two sessions that
race to append the same position cannot both commit: the second one fails
with :class:`crmcore.errors.Conflict` and can be retried.

With ``key`` the entries are chained with HMAC-SHA256 (a keyed chain); with
``checkpoints`` the layer writes a signed checkpoint of the new head after
each commit that appended entries. Use cases record actions that are not a
repository write with :func:`note` (a no-op when the audit layer is off)::

    from crmcore.audit import note

    note(uow, "shred", Customer, customer.id, {"subject_key": {"shredded": True}})
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from crmcore.audit._chain import GENESIS, AuditKeys, entry_hash
from crmcore.audit._checkpoint import Checkpoint, CheckpointStore
from crmcore.errors import AlreadyExists, Conflict, CrmError
from crmcore.model import AuditEntry, Entity, to_data, value_copies
from crmcore.query import eq
from crmcore.storage.ports import ForwardingRepository, Repository, UnitOfWorkContext

__all__ = ["AuditLayer", "AuditingRepository", "Auditor", "note"]

E = TypeVar("E", bound=Entity)
_NAMESPACE = uuid.UUID("6f1c63c5-2a8e-4c5e-9d0f-6b8f5d2c9a41")
_SKIP = frozenset({"updated_at", "version", "created_at", "tenant_id", "id"})
#: how a protected (encrypted) field's change is recorded: never its value
REDACTED: Mapping[str, Any] = {"changed": True, "redacted": True}


def _diff(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, redact: frozenset[str]
) -> dict[str, Any]:
    keys = set(before or {}) | set(after or {})
    out: dict[str, Any] = {}
    for key in sorted(keys - _SKIP):
        old = (before or {}).get(key)
        new = (after or {}).get(key)
        if old == new:
            continue
        out[key] = dict(REDACTED) if key in redact else {"from": old, "to": new}
    return out


class Auditor:
    """Collects one unit of work's changes and appends them to the tenant's chain at commit.

    Args:
        uow: the unit of work whose changes are recorded.
        redact: per entity name, fields recorded as changed but never with values.
        key: the audit key (keyed HMAC chain); ``None`` keeps the chain unkeyed.
        checkpoints: where to write a signed checkpoint of the head after commit.
    """

    def __init__(
        self,
        uow: UnitOfWorkContext,
        redact: Mapping[str, frozenset[str]],
        *,
        key: bytes | None = None,
        key_version: int | None = None,
        checkpoints: CheckpointStore | None = None,
    ) -> None:
        self._uow = uow
        self._redact = redact
        self._key = key
        self._key_version = key_version
        self._checkpoints = checkpoints
        self._pending: list[dict[str, Any]] = []
        uow.before_commit(self._flush)
        uow.on_rollback(self.discard)
        uow.on_commit_error(_lost_race)

    def record(
        self, action: str, entity: Entity, before: Entity | None, after: Entity | None
    ) -> None:
        """Note one change (the entry is written when the session commits)."""
        name = type(entity).entity_name()
        redact = self._redact.get(name, frozenset())
        copies = value_copies(type(entity))
        if copies is not None:
            # copies of other records' values (a merge journal, a snapshot) are
            # recorded as changed, never with values: they would escape that
            # record's field policy and encryption (issue #13)
            redact = redact | {p.split(".", 1)[0] for p in copies.paths}
        changes = _diff(
            to_data(before) if before is not None else None,
            to_data(after) if after is not None else None,
            redact,
        )
        self._pending.append(
            {"action": action, "entity": name, "record_id": entity.id, "changes": changes}
        )

    def note(
        self,
        action: str,
        entity: type[Entity] | str,
        record_id: uuid.UUID | None,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an action that is not a repository write (a shred, a re-encryption).

        The entry is chained and written when the session commits, like any other.

        Args:
            action: what was done (``"shred"``, ``"reencrypt"``...).
            entity: the entity type or its name.
            record_id: the record acted on, or ``None`` for a tenant-wide action.
            changes: plain JSON-able facts about the action (never secret values).
        """
        name = entity if isinstance(entity, str) else entity.entity_name()
        self._pending.append(
            {
                "action": action,
                "entity": name,
                "record_id": record_id,
                "changes": dict(changes or {}),
            }
        )

    def discard(self) -> None:
        """Forget what was collected (the session rolled back)."""
        self._pending.clear()

    def _flush(self) -> None:
        if not self._pending:
            return
        session = self._uow
        repo = session.inner(AuditEntry)
        tenant = session.tenant_id
        head = repo.find(eq("tenant_id", tenant), order_by="-seq", limit=1)
        seq = head.items[0].seq if head.items else 0
        prev = head.items[0].hash if head.items else GENESIS
        now = session.now()
        principal = session.principal
        entries = []
        for item in self._pending:
            seq += 1
            entry = AuditEntry(
                id=uuid.uuid5(_NAMESPACE, f"{tenant}:{seq}"),
                tenant_id=tenant,
                created_at=now,
                updated_at=now,
                version=1,
                seq=seq,
                actor=principal.user_id,
                system=principal.system,
                at=now,
                correlation_id=session.correlation_id,
                prev_hash=prev,
                **item,
            )
            entry = attrs.evolve(entry, hash=entry_hash(entry, self._key, self._key_version))
            prev = entry.hash
            entries.append(entry)
        repo.add_many(entries)
        self._pending.clear()
        if self._checkpoints is not None:
            store, key = self._checkpoints, self._key
            mark = Checkpoint.sign(tenant, seq, prev, now, key, self._key_version)
            session.after_commit(lambda: store.write(mark))


def _no_auditor() -> Auditor | None:
    return None


def note(
    uow: UnitOfWorkContext,
    action: str,
    entity: type[Entity],
    record_id: uuid.UUID | None,
    changes: Mapping[str, Any] | None = None,
) -> bool:
    """Record an action that is not a repository write, if the audit layer is on.

    Reaching ``uow.repo(entity)`` builds the session's layers, so the audit
    layer (when configured) has made its auditor; the entry is then chained
    and written at commit like any other (see :meth:`Auditor.note`).

    Args:
        uow: the unit of work.
        action: what was done (``"shred"``, ``"reencrypt"``...).
        entity: the entity type acted on.
        record_id: the record, or ``None`` for a tenant-wide action.
        changes: plain JSON-able facts about the action (never secret values).

    Returns:
        Whether an entry was recorded (``False``: no audit layer).
    """
    uow.repo(entity)
    auditor = uow.extension("auditor", _no_auditor)
    if not isinstance(auditor, Auditor):
        return False
    auditor.note(action, entity, record_id, changes)
    return True


def _lost_race(exc: CrmError) -> CrmError | None:
    """Another unit appended the same chain position first: a Conflict the caller can retry."""
    if isinstance(exc, AlreadyExists) and exc.entity == AuditEntry.__name__:
        return Conflict(
            "AuditEntry",
            exc.id,
            reason="another session appended to the audit trail first; retry the unit of work",
        )
    return None


class AuditingRepository(ForwardingRepository[E], Generic[E]):
    """Passes every call through and records each change with the session's auditor."""

    def __init__(self, inner: Repository[E], auditor: Auditor) -> None:
        super().__init__(inner)
        self._auditor = auditor

    def add(self, entity: E) -> E:
        stored = self._inner.add(entity)
        self._auditor.record("create", stored, None, stored)
        return stored

    def add_many(self, entities: Iterable[E]) -> list[E]:
        stored = self._inner.add_many(entities)
        for e in stored:
            self._auditor.record("create", e, None, e)
        return stored

    def update(self, entity: E) -> E:
        before = self._inner.get(entity.id)
        stored = self._inner.update(entity)
        action = "update"
        if before.deleted_at is None and stored.deleted_at is not None:
            action = "delete"
        elif before.deleted_at is not None and stored.deleted_at is None:
            action = "restore"
        self._auditor.record(action, stored, before, stored)
        return stored

    def delete(self, id: uuid.UUID, *, expected_version: int | None = None) -> None:
        before = self._inner.get(id)
        self._inner.delete(id, expected_version=expected_version)
        self._auditor.record("erase", before, before, None)


@attrs.frozen
class AuditLayer:
    """The audit layer for ``connect(layers=...)``: one Auditor per session.

    Args:
        redact: per entity name, fields recorded as changed but never with
            their values (the encrypted ones).
        key: the audit key; entries are then chained with HMAC-SHA256 (a chain
            may switch from unkeyed to keyed, never back). ``None``: unkeyed SHA-256.
            A callable ``tenant_id -> bytes | None`` gives each tenant its own key
            (from a key store or keyring), looked up once per unit of work.
            An :class:`~crmcore.audit.AuditKeys` (``crmcore.crypto.KeyringAuditKeys``:
            the keyring's ``audit`` keys) gives versioned keys: each entry's
            hash names its key version, so a rotation keeps old entries verifiable.
        checkpoints: a :class:`CheckpointStore` that receives a signed head
            after every commit that appended entries.
    """

    redact: Mapping[str, frozenset[str]] = attrs.field(factory=dict)
    key: bytes | AuditKeys | Callable[[str], bytes | None] | None = attrs.field(
        default=None, repr=False
    )
    checkpoints: CheckpointStore | None = None

    def key_for(self, tenant_id: str) -> bytes | None:
        """The audit key of ``tenant_id`` (``None``: its chain stays unkeyed)."""
        return self.versioned_key_for(tenant_id)[1]

    def versioned_key_for(self, tenant_id: str) -> tuple[int | None, bytes | None]:
        """``(version, key)`` new entries of ``tenant_id`` use (version ``None``: unversioned)."""
        if isinstance(self.key, AuditKeys):
            return self.key.current(tenant_id)
        return None, self.key(tenant_id) if callable(self.key) else self.key

    def auditor(self, uow: UnitOfWorkContext) -> Auditor:
        """The unit's auditor (made on first use; the same one every layer shares)."""

        def make() -> Auditor:
            version, key = self.versioned_key_for(uow.tenant_id)
            return Auditor(
                uow, self.redact, key=key, key_version=version, checkpoints=self.checkpoints
            )

        return uow.extension("auditor", make)

    def __call__(self, inner: Repository[Any], uow: UnitOfWorkContext) -> Repository[Any]:
        if inner.entity_type is AuditEntry:
            return inner  # the trail itself is append-only through the auditor
        return AuditingRepository(inner, self.auditor(uow))
