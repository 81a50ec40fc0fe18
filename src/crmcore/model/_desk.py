"""Service-desk records: agents (skills, capacity, presence, shifts) and the escalation journal.

Tickets themselves live in :mod:`crmcore.model._entities`; the routing and
SLA logic that reads these records lives in :mod:`crmcore.routing` and
:mod:`crmcore.sla`, the use cases in :mod:`crmcore.services`.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from crmcore.errors import ValidationError
from crmcore.model._base import Entity, _aware_opt, _tags

__all__ = ["Agent", "AgentPresence", "AgentShift", "EscalationRecord"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
#: the highest skill level (levels run 1..10, as in Salesforce Omni-Channel)
MAX_SKILL_LEVEL = 10


class AgentPresence(str, enum.Enum):
    """Whether an agent takes new work now; only ``online`` agents are routed to."""

    ONLINE = "online"
    BUSY = "busy"
    AWAY = "away"
    OFFLINE = "offline"


def _weekday(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 6:
        raise ValidationError.single("$.weekday", "invalid_weekday", "weekday must be 0 (Mon)-6")
    return value


@attrs.frozen(kw_only=True)
class AgentShift:
    """One weekly working span of an agent, in the agent's time zone.

    ``start_minute``/``end_minute`` count from local midnight of ``weekday``
    (0 = Monday); an end past 1440 runs into the next day (a night shift).
    """

    weekday: int = attrs.field(converter=_weekday)
    start_minute: int
    end_minute: int

    def __attrs_post_init__(self) -> None:
        s, e = self.start_minute, self.end_minute
        if not (0 <= s < 1440 and s < e <= s + 1440):
            raise ValidationError.single(
                "$.shifts", "invalid_shift", "a shift starts within its day and lasts 1 min-24 h"
            )

    @classmethod
    def weekly(cls, days: str, hours: str) -> tuple[AgentShift, ...]:
        """Shifts from ``("mon-fri", "09:00-18:00")``; ``"22:00-06:00"`` runs overnight.

        Raises:
            ValidationError: unknown weekday or malformed hours.
        """
        out: list[AgentShift] = []
        m = _SPAN.match(hours)
        if m is None:
            raise ValidationError.single(
                "$.shifts", "invalid_shift", f"expected HH:MM-HH:MM: {hours!r}"
            )
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            end += 1440
        for part in days.lower().split(","):
            a, _, b = part.strip().partition("-")
            if a not in _DAYS or (b and b not in _DAYS):
                raise ValidationError.single("$.shifts", "invalid_weekday", f"unknown day {part!r}")
            lo, hi = _DAYS.index(a), _DAYS.index(b or a)
            for d in range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(hi + 1)]:
                out.append(cls(weekday=d, start_minute=start, end_minute=end))
        return tuple(out)


def _skills(value: Mapping[str, int] | Iterable[str]) -> dict[str, int]:
    if not isinstance(value, Mapping):
        value = dict.fromkeys(_tags(value), 1)
    out: dict[str, int] = {}
    for name, level in value.items():
        key = str(name).strip().lower()
        if not key or isinstance(level, bool) or not isinstance(level, int):
            raise ValidationError.single(
                f"$.skills.{name}", "invalid_skill", "skill levels are integers"
            )
        if not 1 <= level <= MAX_SKILL_LEVEL:
            raise ValidationError.single(
                f"$.skills.{name}", "invalid_skill", f"skill levels run from 1 to {MAX_SKILL_LEVEL}"
            )
        out[key] = level
    return out


def _lower_tags(value: Iterable[str]) -> frozenset[str]:
    return frozenset(t.lower() for t in _tags(value))


def _shifts(value: Iterable[AgentShift | Mapping[str, Any]]) -> tuple[AgentShift, ...]:
    return tuple(v if isinstance(v, AgentShift) else AgentShift(**v) for v in value)


def _count(name: str) -> Any:
    def check(_self: object, _a: object, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError.single(
                f"$.{name}", f"invalid_{name}", f"{name} must be an integer >= 0"
            )

    return check


@attrs.frozen(kw_only=True)
class Agent(Entity):
    """A person who works tickets: skills with levels, languages, capacity, presence, shifts.

    Attributes:
        user_id: the id tickets carry in ``assignee_id`` (the agent's principal id).
        name: display name.
        skills: skill -> level (1-10); a list of names means level 1 each.
        languages: languages spoken (lower-case tags: ``"zh"``, ``"en"``).
        teams: the teams (queues) the agent works in.
        capacity: how many weighted units of open work the agent takes.
        load: the weighted units assigned now; routing keeps it and the
            record's ``version`` guards it (two routers never overfill an agent).
        presence: only ``online`` agents are routed to.
        timezone: IANA zone the shifts are read in.
        shifts: weekly working spans; none means always on shift.
        active: inactive agents are never routed to.
        last_assigned_at: when the agent last got a ticket (round-robin order).
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("user_id", "presence")

    user_id: str
    name: str = ""
    skills: Mapping[str, int] = attrs.field(factory=dict, converter=_skills, hash=False)
    languages: frozenset[str] = attrs.field(default=frozenset(), converter=_lower_tags)
    teams: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)
    capacity: int = attrs.field(default=10, validator=_count("capacity"))
    load: int = attrs.field(default=0, validator=_count("load"))
    presence: AgentPresence = attrs.field(default=AgentPresence.ONLINE, converter=AgentPresence)
    timezone: str = "UTC"
    shifts: tuple[AgentShift, ...] = attrs.field(default=(), converter=_shifts)
    active: bool = True
    last_assigned_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


@attrs.frozen(kw_only=True)
class EscalationRecord(Entity):
    """One escalation that fired: which rule, for which ticket and clock, and what it did.

    ``(ticket_id, rule, clock_started_at)`` identifies it, so running the
    escalations again does not repeat an action.
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("ticket_id", "rule")
    __crm_references__: ClassVar[tuple[str, ...]] = ("ticket_id",)

    ticket_id: uuid.UUID
    rule: str
    metric: str
    action: str
    clock_started_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    due_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    fired_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    notify: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    data: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
