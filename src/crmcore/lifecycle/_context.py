"""The values that flow through a transition: context in, result and history out.

:class:`TransitionContext` is what guards and effects see besides the record
(who, when, why). :class:`HistoryEntry` is the row a transition leaves behind;
:class:`TransitionResult` bundles the changed record with that row so the caller
can persist both in one unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Generic, TypeVar
from uuid import UUID

import attrs

from crmcore.errors import ConfigurationError

__all__ = [
    "START_EVENT",
    "Effect",
    "Guard",
    "HistoryEntry",
    "TransitionContext",
    "TransitionResult",
    "TransitionSink",
    "utc",
]

R = TypeVar("R")

#: The event name recorded in the history entry written by :meth:`Machine.start`.
#: It cannot clash with a declared event: event names must be identifiers.
START_EVENT = "@start"

EMPTY: Mapping[str, Any] = MappingProxyType({})

_UTC = timezone.utc


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime.

    Raises:
        ConfigurationError: ``value`` is naive (has no time zone).
    """
    tz = value.tzinfo
    if tz is _UTC:
        return value
    if tz is None or value.utcoffset() is None:
        raise ConfigurationError(f"lifecycle: datetime {value.isoformat()} must be timezone-aware")
    return value.astimezone(_UTC)


def _now() -> datetime:
    return datetime.now(_UTC)


def _readonly(value: Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(value, MappingProxyType):
        return value
    return MappingProxyType(dict(value)) if value else EMPTY


@attrs.frozen
class TransitionContext:
    """Who fires an event, when, and why; passed to every guard and effect.

    Args:
        actor: the id of the user or process firing the event.
        now: the moment of the transition (aware; stored as UTC). Defaults to
            the current time; pass it to make tests deterministic.
        comment: a free-text reason, kept in the history entry.
        extra: anything else guards and effects need (tenant settings...).
    """

    actor: str | UUID | None = None
    now: datetime = attrs.field(factory=_now, converter=utc)
    comment: str | None = None
    extra: Mapping[str, Any] = attrs.field(default=EMPTY, converter=_readonly)


#: ``guard(record, ctx)`` returns ``None``/``True`` to allow, or a reason
#: (``str``; ``False`` for an unexplained refusal) to refuse.
Guard = Callable[[Any, TransitionContext], "str | bool | None"]

#: ``effect(record, ctx)`` returns the changed record (a new one for frozen records).
Effect = Callable[[Any, TransitionContext], Any]


@attrs.frozen
class HistoryEntry:
    """One transition of one record: the row the storage layer appends.

    Attributes:
        machine: the machine's name (``"opportunity"``).
        event: the event fired (``START_EVENT`` for :meth:`Machine.start`).
        from_state: the state before (``None`` for a start entry).
        to_state: the state after.
        at: when it happened (aware UTC).
        entity: the entity type (``"opportunity"``), from the machine.
        record_id: the record's id (its ``id`` field), if it has one.
        actor: who fired the event.
        comment: the reason given in the context.
        snapshot: state data copied on entry (``{"probability": 0.5}``).
    """

    machine: str
    event: str
    from_state: str | None
    to_state: str
    at: datetime
    entity: str | None = None
    record_id: Any = None
    actor: str | UUID | None = None
    comment: str | None = None
    snapshot: Mapping[str, Any] = attrs.field(default=EMPTY, converter=_readonly, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (``at`` as an ISO-8601 string, ids as given)."""
        return {
            "machine": self.machine,
            "event": self.event,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "at": self.at.isoformat(),
            "entity": self.entity,
            "record_id": self.record_id,
            "actor": self.actor,
            "comment": self.comment,
            "snapshot": dict(self.snapshot),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistoryEntry:
        """The entry that :meth:`to_dict` produced (``at`` may be a datetime or ISO string).

        Raises:
            ConfigurationError: a required key is missing or ``at`` is not a valid time.
        """
        try:
            at = data["at"]
            if isinstance(at, str):
                at = datetime.fromisoformat(at)
            return cls(
                machine=data["machine"],
                event=data["event"],
                from_state=data.get("from_state"),
                to_state=data["to_state"],
                at=utc(at),
                entity=data.get("entity"),
                record_id=data.get("record_id"),
                actor=data.get("actor"),
                comment=data.get("comment"),
                snapshot=data.get("snapshot") or EMPTY,
            )
        except KeyError as exc:
            raise ConfigurationError(f"history entry: missing {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"history entry: {exc}") from None


@attrs.frozen
class TransitionResult(Generic[R]):
    """What :meth:`Machine.fire` returns: the changed record and its history entry.

    Attributes:
        record: the record after exit hooks, effects, the state change and entry hooks.
        history: the entry to append in the same unit of work as ``record``.
        event: the event fired (from ``history``).
        from_state: the state before (``None`` for :meth:`Machine.start`).
        to_state: the state after.
    """

    record: R
    history: HistoryEntry

    @property
    def event(self) -> str:
        """The event fired."""
        return self.history.event

    @property
    def from_state(self) -> str | None:
        """The state before (``None`` for :meth:`Machine.start`)."""
        return self.history.from_state

    @property
    def to_state(self) -> str:
        """The state after."""
        return self.history.to_state


# Fast constructors for the hot path of Machine.fire. A frozen attrs __init__
# pays a bound object.__setattr__ call per field; writing the slots through
# their descriptors builds the very same objects (equal, hashable, frozen) in
# about two thirds of the time. The arguments must already be valid: the engine
# passes a UTC datetime and a read-only snapshot mapping.
_new = object.__new__
_slots = vars(HistoryEntry)
_h_machine = _slots["machine"].__set__
_h_event = _slots["event"].__set__
_h_from = _slots["from_state"].__set__
_h_to = _slots["to_state"].__set__
_h_at = _slots["at"].__set__
_h_entity = _slots["entity"].__set__
_h_record_id = _slots["record_id"].__set__
_h_actor = _slots["actor"].__set__
_h_comment = _slots["comment"].__set__
_h_snapshot = _slots["snapshot"].__set__
_r_record = vars(TransitionResult)["record"].__set__
_r_history = vars(TransitionResult)["history"].__set__


def new_result(
    record: Any,
    machine: str,
    event: str,
    from_state: str | None,
    to_state: str,
    at: datetime,
    entity: str | None,
    record_id: Any,
    actor: str | UUID | None,
    comment: str | None,
    snapshot: Mapping[str, Any],
) -> TransitionResult[Any]:
    """``TransitionResult(record, HistoryEntry(...))`` built without the frozen-init overhead."""
    h = _new(HistoryEntry)
    _h_machine(h, machine)
    _h_event(h, event)
    _h_from(h, from_state)
    _h_to(h, to_state)
    _h_at(h, at)
    _h_entity(h, entity)
    _h_record_id(h, record_id)
    _h_actor(h, actor)
    _h_comment(h, comment)
    _h_snapshot(h, snapshot)
    r = _new(TransitionResult)
    _r_record(r, record)
    _r_history(r, h)
    return r


#: The storage hook: called by ``fire(..., sink=)`` with the result, inside the
#: caller's unit of work. It persists ``result.record`` and ``result.history``
#: and may return the stored record (new version...), which then replaces
#: ``result.record``; returning ``None`` keeps it.
TransitionSink = Callable[[TransitionResult[Any]], Any]
