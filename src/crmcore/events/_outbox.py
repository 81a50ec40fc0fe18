"""The outbox layer: domain events written in the same unit of work as the change.

Enable it with ``crmcore.connect(url, events=True)`` (or pass an
:class:`OutboxLayer` in ``layers``). Repository writes of customers,
opportunities, tickets and consents become events (see
:data:`crmcore.events.EVENT_TYPES`); use cases add the events a repository
write cannot see with :func:`emit` (a no-op when the layer is off)::

    from crmcore.events import emit

    emit(uow, "customer.merged", survivor, {"merge_id": str(merge_id)})

Events are collected while the unit works and appended just before it
commits, through the adapter's own repository, so a rolled-back unit leaves
none. Each aggregate's events are numbered 1, 2, 3... without gaps; an event's
id is derived from (tenant, aggregate, number), so two units that race to
append the same number cannot both commit (the second gets a ``Conflict``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

from crmcore.errors import AlreadyExists, Conflict, CrmError
from crmcore.events._schema import EVENT_TYPES
from crmcore.model import Consent, Customer, Entity, Opportunity, OutboxEvent, Ticket, to_data
from crmcore.query import all_of, eq, in_
from crmcore.storage.ports import ForwardingRepository, Repository, UnitOfWorkContext

__all__ = ["DESCRIBERS", "Outbox", "OutboxLayer", "OutboxingRepository", "emit", "outbox_event_id"]

E = TypeVar("E", bound=Entity)
_NAMESPACE = uuid.UUID("a4b1f0d2-6a3e-4f57-9b61-2f0c8e7d5a13")
_SKIP = frozenset(
    {"updated_at", "version", "created_at", "tenant_id", "id", "sealed", "search_keys"}
)
_CHUNK = 500

#: (type, payload) pairs a write produces
Described = list[tuple[str, dict[str, Any]]]


def outbox_event_id(
    tenant_id: str, aggregate_type: str, aggregate_id: uuid.UUID, seq: int
) -> uuid.UUID:
    """The id of an aggregate's ``seq``-th event (the same for every writer that tries it)."""
    return uuid.uuid5(_NAMESPACE, f"{tenant_id}:{aggregate_type}:{aggregate_id}:{seq}")


def _changed(before: Entity, after: Entity) -> list[str]:
    old, new = to_data(before), to_data(after)
    return sorted(k for k in (set(old) | set(new)) - _SKIP if old.get(k) != new.get(k))


def _set_fields(entity: Entity) -> list[str]:
    data = to_data(entity)
    return sorted(k for k, v in data.items() if k not in _SKIP and v not in (None, "", [], {}))


def _lifecycle(before: Entity | None, after: Entity | None, prefix: str) -> Described | None:
    """Created / deleted / restored events shared by the watched types (None: an update)."""
    if before is None and after is not None:
        return None
    if after is None:
        return [(f"{prefix}.deleted", {"hard": True})]
    assert before is not None
    if before.deleted_at is None and after.deleted_at is not None:
        return [(f"{prefix}.deleted", {"hard": False})]
    if before.deleted_at is not None and after.deleted_at is None:
        return [(f"{prefix}.restored", {})]
    return None


def _customer(before: Entity | None, after: Entity | None) -> Described:
    if before is None and isinstance(after, Customer):
        return [("customer.created", {"fields": _set_fields(after)})]
    done = _lifecycle(before, after, "customer")
    if done is not None:
        return done
    assert before is not None and after is not None
    fields = _changed(before, after)
    return [("customer.updated", {"fields": fields})] if fields else []


def _money(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    return {"amount": str(value.amount), "currency": str(value.currency)}


def _opportunity(before: Entity | None, after: Entity | None) -> Described:
    if not isinstance(after, Opportunity):
        return []
    if isinstance(before, Opportunity) and before.deleted_at is None and after.deleted_at is None:
        if before.stage == after.stage:
            return []
        out: Described = [("opportunity.stage_changed", {"from": before.stage, "to": after.stage})]
    elif before is None:
        out = []
    else:
        return []
    if before is None or before.stage != after.stage:
        if after.forecast_category == "closed":
            out.append(("opportunity.won", {"stage": after.stage, "amount": _money(after.amount)}))
        elif after.forecast_category == "omitted":
            out.append(
                ("opportunity.lost", {"stage": after.stage, "lost_reason": after.lost_reason})
            )
    return out


def _ticket(before: Entity | None, after: Entity | None) -> Described:
    if not isinstance(after, Ticket):
        return []
    out: Described = []
    if before is None:
        out.append(
            (
                "ticket.created",
                {
                    "status": after.status,
                    "priority": str(getattr(after.priority, "value", after.priority)),
                    "channel": getattr(after.channel, "value", after.channel),
                },
            )
        )
        if after.assignee_id is not None:
            out.append(("ticket.assigned", {"from": None, "to": after.assignee_id}))
        return out
    assert isinstance(before, Ticket)
    if after.assignee_id is not None and after.assignee_id != before.assignee_id:
        out.append(("ticket.assigned", {"from": before.assignee_id, "to": after.assignee_id}))
    if after.status == "resolved" and before.status != "resolved":
        out.append(("ticket.resolved", {"from": before.status}))
    return out


def _consent(before: Entity | None, after: Entity | None) -> Described:
    if not isinstance(after, Consent) or after.deleted_at is not None:
        return []
    status = str(getattr(after.status, "value", after.status))
    previous = None
    if isinstance(before, Consent):
        previous = str(getattr(before.status, "value", before.status))
        if (before.status, before.channel, before.purpose) == (
            after.status,
            after.channel,
            after.purpose,
        ):
            return []
    return [
        (
            "consent.changed",
            {
                "customer_id": str(after.customer_id),
                "purpose": after.purpose,
                "channel": getattr(after.channel, "value", after.channel),
                "status": status,
                "previous_status": previous,
            },
        )
    ]


#: per entity type, what its repository writes publish
DESCRIBERS: Mapping[type[Entity], Callable[[Entity | None, Entity | None], Described]] = {
    Customer: _customer,
    Opportunity: _opportunity,
    Ticket: _ticket,
    Consent: _consent,
}


class Outbox:
    """Collects one unit of work's events and appends them to the outbox at commit.

    Args:
        uow: the unit of work whose events these are.
    """

    def __init__(self, uow: UnitOfWorkContext) -> None:
        self._uow = uow
        self._pending: list[tuple[str, str, uuid.UUID, dict[str, Any]]] = []
        uow.before_commit(self._flush)
        uow.on_rollback(self.discard)
        uow.on_commit_error(_lost_race)

    @property
    def pending(self) -> Sequence[tuple[str, str, uuid.UUID, Mapping[str, Any]]]:
        """The events collected so far: (type, aggregate type, aggregate id, payload)."""
        return tuple(self._pending)

    def add(
        self,
        event_type: str,
        aggregate_type: str,
        aggregate_id: uuid.UUID,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue one event (written when the unit commits)."""
        self._pending.append((event_type, aggregate_type, aggregate_id, dict(payload or {})))

    def record(self, entity: Entity, before: Entity | None, after: Entity | None) -> None:
        """Queue the events a repository write of ``entity`` publishes (if any)."""
        describe = DESCRIBERS.get(type(entity))
        if describe is None:
            return
        for event_type, payload in describe(before, after):
            self.add(event_type, type(entity).entity_name(), entity.id, payload)

    def discard(self) -> None:
        """Forget what was collected (the unit rolled back)."""
        self._pending.clear()

    def _last_sequences(
        self, keys: set[tuple[str, uuid.UUID]], created: set[uuid.UUID]
    ) -> dict[tuple[str, uuid.UUID], int]:
        """The last stored number of each aggregate (absent: none yet).

        Records created in this unit are looked up in bulk (they usually have
        no events, unless an id came back, as an unmerge restores one); the
        others one query each, for their newest event only.
        """
        repo = self._uow.inner(OutboxEvent)
        tenant = self._uow.tenant_id
        found: dict[tuple[str, uuid.UUID], int] = {}
        fresh = sorted(created)
        for start in range(0, len(fresh), _CHUNK):
            where = all_of(
                eq("tenant_id", tenant), in_("aggregate_id", fresh[start : start + _CHUNK])
            )
            for e in repo.stream(where):
                key = (e.aggregate_type, e.aggregate_id)
                found[key] = max(found.get(key, 0), e.sequence)
        for agg_type, agg in sorted(keys, key=lambda k: (k[0], k[1].int)):
            if agg in created:
                continue
            last = repo.find(
                all_of(eq("tenant_id", tenant), eq("aggregate_id", agg)),
                order_by="-sequence",
                limit=1,
            ).items
            if last:
                found[(agg_type, agg)] = last[0].sequence
        return found

    def _flush(self) -> None:
        if not self._pending:
            return
        uow = self._uow
        keys = {(p[1], p[2]) for p in self._pending}
        created: set[uuid.UUID] = set()
        opened: set[uuid.UUID] = set()
        for event_type, _, agg_id, _ in self._pending:
            if agg_id not in opened:
                opened.add(agg_id)
                if event_type.endswith(".created"):
                    created.add(agg_id)
        last = self._last_sequences(keys, created)
        tenant = uow.tenant_id
        now = uow.now()
        actor = uow.principal.user_id
        rows = []
        for event_type, agg_type, agg_id, payload in self._pending:
            seq = last.get((agg_type, agg_id), 0) + 1
            last[(agg_type, agg_id)] = seq
            info = EVENT_TYPES.get(event_type)
            rows.append(
                OutboxEvent(
                    id=outbox_event_id(tenant, agg_type, agg_id, seq),
                    tenant_id=tenant,
                    created_at=now,
                    updated_at=now,
                    version=1,
                    event_type=event_type,
                    schema_version=info.version if info is not None else 1,
                    aggregate_type=agg_type,
                    aggregate_id=agg_id,
                    sequence=seq,
                    occurred_at=now,
                    correlation_id=uow.correlation_id,
                    actor=actor,
                    payload=payload,
                )
            )
        uow.inner(OutboxEvent).add_many(rows)
        self._pending.clear()


def _lost_race(exc: CrmError) -> CrmError | None:
    """Another unit appended the same event number first: a Conflict the caller can retry."""
    if isinstance(exc, AlreadyExists) and exc.entity == OutboxEvent.__name__:
        return Conflict(
            "OutboxEvent",
            exc.id,
            reason="another session published an event of the same record first; "
            "retry the unit of work",
        )
    return None


class OutboxingRepository(ForwardingRepository[E], Generic[E]):
    """Passes every call through and queues the events each write publishes."""

    def __init__(self, inner: Repository[E], outbox: Outbox) -> None:
        super().__init__(inner)
        self._outbox = outbox

    def add(self, entity: E) -> E:
        stored = self._inner.add(entity)
        self._outbox.record(stored, None, stored)
        return stored

    def add_many(self, entities: Iterable[E]) -> list[E]:
        stored = self._inner.add_many(entities)
        for e in stored:
            self._outbox.record(e, None, e)
        return stored

    def update(self, entity: E) -> E:
        before = self._inner.get(entity.id)
        stored = self._inner.update(entity)
        self._outbox.record(stored, before, stored)
        return stored

    def delete(self, id: uuid.UUID, *, expected_version: int | None = None) -> None:
        before = self._inner.get(id)
        self._inner.delete(id, expected_version=expected_version)
        self._outbox.record(before, before, None)


def _no_outbox() -> Outbox | None:
    return None


@attrs.frozen
class OutboxLayer:
    """The outbox layer for ``connect(layers=...)`` (``connect(events=True)`` adds one).

    Args:
        entities: the entity types whose repository writes publish events
            (default: every type with a describer: customers, opportunities,
            tickets, consents). :func:`emit` works for any type.
    """

    entities: frozenset[type[Entity]] = attrs.field(
        factory=lambda: frozenset(DESCRIBERS), converter=frozenset
    )

    def outbox(self, uow: UnitOfWorkContext) -> Outbox:
        """The unit's outbox (made on first use; shared by every repository of the unit)."""
        return uow.extension("outbox", lambda: Outbox(uow))

    def __call__(self, inner: Repository[Any], uow: UnitOfWorkContext) -> Repository[Any]:
        outbox = self.outbox(uow)
        if inner.entity_type not in self.entities:
            return inner
        return OutboxingRepository(inner, outbox)


def emit(
    uow: UnitOfWorkContext,
    event_type: str,
    aggregate: Entity | tuple[type[Entity] | str, uuid.UUID],
    payload: Mapping[str, Any] | None = None,
) -> bool:
    """Publish an event a repository write cannot see (merged, erased...), if the layer is on.

    The event is numbered and written when the unit commits, after the events
    already queued for the same record.

    Args:
        uow: the unit of work.
        event_type: ``"customer.merged"``... (see :data:`crmcore.events.EVENT_TYPES`).
        aggregate: the record (or ``(type, id)``) the event is about.
        payload: plain JSON data (names and ids; never protected values).

    Returns:
        Whether an event was queued (``False``: no outbox layer).
    """
    if isinstance(aggregate, Entity):
        kind: type[Entity] | str = type(aggregate)
        agg_id = aggregate.id
    else:
        kind, agg_id = aggregate
    uow.repo(OutboxEvent)  # builds the session's layers, so a configured outbox exists
    outbox = uow.extension("outbox", _no_outbox)
    if not isinstance(outbox, Outbox):
        return False
    name = kind if isinstance(kind, str) else kind.entity_name()
    outbox.add(event_type, name, agg_id, payload)
    return True
