"""What a ticket needs of an agent: skills with levels, a language, teams, a weight.

Requirements come from the ticket itself (its ``skills`` at level 1) and from
rules as data (:class:`RequirementRule`): "category billing and tier gold
needs billing at level 3 in team vip". Every matching rule adds to the
requirement; a higher level wins over a lower one.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from crmcore.errors import ValidationError
from crmcore.model import Ticket

__all__ = [
    "DEFAULT_TICKET_WEIGHTS",
    "PRIORITY_RANK",
    "RequirementRule",
    "TicketRequirement",
    "ticket_requirement",
]

#: capacity units a ticket takes by priority (Salesforce's CapacityWeight idea)
DEFAULT_TICKET_WEIGHTS: Mapping[str, int] = {"low": 1, "normal": 1, "high": 2, "urgent": 3}
#: backlog order: lower routes first
PRIORITY_RANK: Mapping[str, int] = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
#: the facts a rule may test
RULE_FACTS = frozenset({"category", "channel", "language", "tier", "priority", "tag", "queue"})


def _label(value: object) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _levels(value: Mapping[str, int] | Iterable[str]) -> dict[str, int]:
    if not isinstance(value, Mapping):
        value = dict.fromkeys(value, 1)
    out: dict[str, int] = {}
    for name, level in value.items():
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 10:
            raise ValidationError.single(
                f"$.skills.{name}", "invalid_skill", "required levels run from 1 to 10"
            )
        out[str(name).strip().lower()] = level
    return out


def _conditions(value: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for key, want in value.items():
        if key not in RULE_FACTS:
            raise ValidationError.single(
                f"$.when.{key}", "unknown_fact", f"rules test {sorted(RULE_FACTS)}"
            )
        values = [want] if isinstance(want, str) or not isinstance(want, Iterable) else want
        out[key] = frozenset(str(_label(v)) for v in values)
    return out


def _names(value: Iterable[str]) -> frozenset[str]:
    return frozenset([value] if isinstance(value, str) else value)


def _weight(value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValidationError.single("$.weight", "invalid_weight", "a weight is an integer >= 1")
    return value


@attrs.frozen(kw_only=True)
class RequirementRule:
    """When a ticket's facts match ``when``, it needs ``skills`` (and maybe a team, a queue).

    Attributes:
        name: shown in explanations.
        when: fact -> value or list of values, all must match; facts are
            ``category``, ``channel``, ``language``, ``tier``, ``priority``,
            ``tag`` (any of the ticket's tags) and ``queue``.
        skills: skill -> minimum level (a list of names means level 1).
        teams: the agent must be in one of these teams.
        queue: route in this queue (the first matching rule with one wins).
        weight: capacity units instead of the priority's weight.
    """

    name: str
    when: Mapping[str, frozenset[str]] = attrs.field(factory=dict, converter=_conditions)
    skills: Mapping[str, int] = attrs.field(factory=dict, converter=_levels)
    teams: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    queue: str | None = None
    weight: int | None = attrs.field(default=None, converter=_weight)

    def matches(self, facts: Mapping[str, Any]) -> bool:
        """Whether every condition holds for ``facts`` (``tag`` is a set of tags)."""
        for key, allowed in self.when.items():
            value = facts.get(key)
            if key == "tag":
                if not allowed & frozenset(value or ()):
                    return False
            elif _label(value) not in allowed:
                return False
        return True


def _lang(value: object) -> str | None:
    return None if value is None else str(value).lower()


def _unit_weight(value: int) -> int:
    return _weight(value) or 1


def _priority(value: object) -> str:
    return str(_label(value))


@attrs.frozen(kw_only=True)
class TicketRequirement:
    """What one ticket needs of the agent it goes to, and what it costs them.

    Attributes:
        ticket_id: the ticket (None for a what-if).
        skills: skill -> minimum level.
        language: the language the agent must speak (None: any).
        teams: the agent must be in one of these teams (empty: any).
        weight: capacity units the ticket takes.
        priority: orders a backlog (urgent first).
        queue: the queue to route in (None: the router's default).
        previous_agent: the customer's previous agent (``user_id``), for stickiness.
        customer_id: the customer (a backlog keeps their tickets together).
        created_at: orders a backlog within a priority (oldest first).
        rules: names of the rules that matched.
    """

    ticket_id: uuid.UUID | None = None
    skills: Mapping[str, int] = attrs.field(factory=dict, converter=_levels)
    language: str | None = attrs.field(default=None, converter=_lang)
    teams: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    weight: int = attrs.field(default=1, converter=_unit_weight)
    priority: str = attrs.field(default="normal", converter=_priority)
    queue: str | None = None
    previous_agent: str | None = None
    customer_id: uuid.UUID | None = None
    created_at: _dt.datetime | None = None
    rules: tuple[str, ...] = ()


def ticket_requirement(
    ticket: Ticket,
    *,
    language: str | None = None,
    tier: str | None = None,
    rules: Iterable[RequirementRule] = (),
    weights: Mapping[str, int] = DEFAULT_TICKET_WEIGHTS,
    previous_agent: str | None = None,
) -> TicketRequirement:
    """Derive a ticket's requirement from its fields and the rules that match it.

    Args:
        ticket: the ticket (its ``skills`` are required at level 1).
        language: the customer's language (required of the agent when given).
        tier: the customer's tier (``"gold"``), a fact for the rules.
        rules: requirement rules, in order.
        weights: capacity units by priority.
        previous_agent: the ``user_id`` of the customer's previous agent.
    """
    priority = str(_label(ticket.priority))
    facts: dict[str, Any] = {
        "category": ticket.category,
        "channel": _label(ticket.channel),
        "language": language.lower() if language else None,
        "tier": tier,
        "priority": priority,
        "tag": ticket.tags,
        "queue": ticket.queue,
    }
    skills = dict.fromkeys((s.lower() for s in ticket.skills), 1)
    teams: set[str] = set()
    queue = ticket.queue
    weight = weights.get(priority, 1)
    matched: list[str] = []
    for rule in rules:
        if not rule.matches(facts):
            continue
        matched.append(rule.name)
        for name, level in rule.skills.items():
            skills[name] = max(level, skills.get(name, 0))
        teams |= rule.teams
        if queue is None and rule.queue is not None:
            queue = rule.queue
        if rule.weight is not None:
            weight = rule.weight
    return TicketRequirement(
        ticket_id=ticket.id,
        skills=skills,
        language=facts["language"],
        teams=teams,
        weight=weight,
        priority=priority,
        queue=queue,
        previous_agent=previous_agent,
        customer_id=ticket.customer_id,
        created_at=ticket.created_at,
        rules=tuple(matched),
    )
