"""Firing lifecycle events on stored records, with history, inside a uow.

The engine (:mod:`crmcore.lifecycle`) decides; this module persists: the
changed record (with its version check) and a
:class:`~crmcore.model.TransitionRecord` are written in the same unit of work,
so a failed unit of work leaves neither.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from crmcore.errors import ConfigurationError, Conflict, InvalidTransition
from crmcore.lifecycle import (
    CAMPAIGN,
    CUSTOMER_STAGE,
    LEAD,
    OPPORTUNITY,
    TICKET,
    HistoryEntry,
    Machine,
    TransitionContext,
    stage_durations,
    time_in_stage,
)
from crmcore.model import (
    Campaign,
    Customer,
    Entity,
    Lead,
    Opportunity,
    Ticket,
    TransitionRecord,
    stamp_new,
)
from crmcore.query import all_of, eq
from crmcore.storage.ports import UnitOfWorkContext

__all__ = [
    "DEFAULT_MACHINES",
    "allowed_events",
    "atomic",
    "machine_for",
    "stage_report",
    "time_in_stages",
    "transition",
    "transition_history",
]

E = TypeVar("E", bound=Entity)

#: the machine that moves each entity type, unless the CRM is configured otherwise
DEFAULT_MACHINES: Mapping[type[Entity], Machine] = {
    Lead: LEAD,
    Opportunity: OPPORTUNITY,
    Ticket: TICKET,
    Customer: CUSTOMER_STAGE,
    Campaign: CAMPAIGN,
}


@contextlib.contextmanager
def atomic(uow: UnitOfWorkContext) -> Iterator[None]:
    """All or nothing for a multi-step use case: on any error, roll the unit of work back.

    The uow has no savepoints, so the rollback discards everything not
    yet committed in it; the uow stays usable.
    """
    try:
        yield
    except BaseException:
        uow.rollback()
        raise


def machine_for(uow: UnitOfWorkContext, entity_type: type[Entity]) -> Machine:
    """The machine configured for ``entity_type`` in this CRM.

    Raises:
        ConfigurationError: no machine moves that entity type.
    """
    machines = uow.machines or DEFAULT_MACHINES
    try:
        return machines[entity_type]
    except KeyError:
        raise ConfigurationError(f"no lifecycle machine for {entity_type.__name__}") from None


def _context(
    uow: UnitOfWorkContext, comment: str | None, extra: Mapping[str, Any] | None
) -> TransitionContext:
    return TransitionContext(
        actor=uow.principal.user_id, now=uow.now(), comment=comment, extra=extra or {}
    )


def transition(
    uow: UnitOfWorkContext,
    record: E,
    event: str,
    *,
    comment: str | None = None,
    extra: Mapping[str, Any] | None = None,
    machine: Machine | None = None,
) -> E:
    """Fire ``event`` on a stored record and persist the result with its history.

    Args:
        uow: the unit of work.
        record: the record as the caller last read it, possibly with other
            field changes to store along with the transition; if another
            version is stored, the transition is refused.
        event: the event name (``"qualify"``, ``"win"``...).
        comment: a reason, kept in the history.
        extra: data for guards and effects.
        machine: overrides the CRM's machine for this entity type.

    Returns:
        The stored record in its new state.

    Raises:
        InvalidTransition: the event is not allowed now (names the state and
            the allowed events, and a guard's reason).
        Conflict: ``record`` is stale.
        NotFound: no such record in this tenant.
        PermissionDenied: the policy does not grant ``transition:<event>``.
    """
    entity_type = type(record)
    repo = uow.repo(entity_type)
    current = repo.get(record.id)
    if current.version != record.version:
        raise Conflict(
            entity_type.entity_name(),
            record.id,
            expected_version=record.version,
            actual_version=current.version,
        )
    uow.authorize(f"transition:{event}", current)
    m = machine or machine_for(uow, entity_type)
    try:
        result = m.fire(record, event, _context(uow, comment, extra))
    except InvalidTransition as exc:
        raise InvalidTransition(
            exc.machine,
            exc.state,
            exc.event,
            exc.allowed,
            entity=entity_type.entity_name(),
            id=record.id,
            reason=exc.reason,
        ) from None
    with atomic(uow):
        stored = repo.update(result.record)
        _append_history(uow, _history_row(entity_type, record.id, result.history))
    return stored


def _append_history(uow: UnitOfWorkContext, row: TransitionRecord) -> None:
    """Write a history row as bookkeeping of an authorised transition.

    The transition itself passed the policy (``transition:<event>`` and the
    record's ``update``); its history row is written by the system, like an
    audit entry, so no principal needs ``create`` on TransitionRecord.
    """
    now = uow.now()
    stamped = stamp_new(row, tenant_id=uow.tenant_id, now=now)
    uow.inner(TransitionRecord).add(stamped)


def _history_row(
    entity_type: type[Entity], record_id: uuid.UUID, h: HistoryEntry
) -> TransitionRecord:
    return TransitionRecord(
        entity=entity_type.entity_name(),
        record_id=record_id,
        machine=h.machine,
        event=h.event,
        from_state=h.from_state or "",
        to_state=h.to_state,
        actor=None if h.actor is None else str(h.actor),
        at=h.at,
        comment=h.comment,
        data=dict(h.snapshot),
    )


def allowed_events(
    uow: UnitOfWorkContext, record: Entity, *, machine: Machine | None = None
) -> tuple[str, ...]:
    """The events the uow's principal could fire on ``record`` now.

    Guards are evaluated; when the CRM has a policy, only events the principal
    holds ``transition:<event>`` permission for are listed.
    """
    m = machine or machine_for(uow, type(record))

    def can(event: str) -> bool:
        return uow.can(f"transition:{event}", record)

    return tuple(m.allowed_events(record, _context(uow, None, None), can=can))


def transition_history(
    uow: UnitOfWorkContext, entity_type: type[Entity], record_id: uuid.UUID
) -> list[TransitionRecord]:
    """A record's transitions, oldest first."""
    where = all_of(eq("entity", entity_type.entity_name()), eq("record_id", record_id))
    return list(uow.repo(TransitionRecord).stream(where, order_by="at"))


def _entries(rows: Sequence[TransitionRecord]) -> list[HistoryEntry]:
    return [
        HistoryEntry(
            machine=r.machine,
            event=r.event,
            from_state=r.from_state or None,
            to_state=r.to_state,
            at=r.at or r.created_at,
            entity=r.entity,
            record_id=r.record_id,
            actor=r.actor,
            comment=r.comment,
            snapshot=r.data,
        )
        for r in rows
    ]


def time_in_stages(
    uow: UnitOfWorkContext,
    entity_type: type[Entity],
    record_id: uuid.UUID,
    *,
    now: _dt.datetime | None = None,
) -> dict[str, _dt.timedelta]:
    """How long one record spent in each state, from its history (up to ``now``)."""
    rows = transition_history(uow, entity_type, record_id)
    return dict(time_in_stage(_entries(rows), now=now or uow.now()))


def stage_report(
    uow: UnitOfWorkContext, entity_type: type[Entity], *, now: _dt.datetime | None = None
) -> Any:
    """Per state, how long records of ``entity_type`` stay there (mean, median...)."""
    where = eq("entity", entity_type.entity_name())
    rows = list(uow.repo(TransitionRecord).stream(where, order_by="at"))
    by_record: dict[uuid.UUID, list[TransitionRecord]] = {}
    for r in rows:
        by_record.setdefault(r.record_id, []).append(r)
    return stage_durations([_entries(v) for v in by_record.values()], now=now or uow.now())
