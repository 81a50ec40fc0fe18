"""Choosing an agent for a ticket: eligibility, strategies, overflow, explanations.

An agent is eligible for a ticket when it is active, online, on shift (in its
own time zone), in the queue's teams and the rule's teams, holds every
required skill at the required level, speaks the language, and has room for
the ticket's weight within its capacity. Among the eligible, the strategy
ranks: least loaded relative to capacity, or best skill first; ties go round
robin (least recently assigned first, then by id). The customer's previous
agent wins when eligible (sticky). Nobody eligible: the ticket overflows to
the queue's overflow queue, tier after tier, and stays queued at the last one.

The same inputs always give the same decision: every order is total.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from crmcore.errors import ConfigurationError
from crmcore.model import Agent, AgentPresence, Ticket
from crmcore.routing._requirements import (
    DEFAULT_TICKET_WEIGHTS,
    PRIORITY_RANK,
    RequirementRule,
    TicketRequirement,
    _names,
    ticket_requirement,
)

__all__ = [
    "RoutingCandidate",
    "RoutingDecision",
    "RoutingPlan",
    "RoutingQueue",
    "RoutingStrategy",
    "TicketRouter",
    "agent_on_shift",
    "agent_rejections",
    "backlog_order",
]

_UTC = _dt.timezone.utc
_NEVER = _dt.datetime.min.replace(tzinfo=_UTC)


class RoutingStrategy(str, enum.Enum):
    """How eligible agents are ranked."""

    LEAST_LOADED = "least_loaded"
    BEST_SKILL = "best_skill"


@attrs.frozen(kw_only=True)
class RoutingQueue:
    """A queue: the teams that work it, and where its tickets overflow when nobody can.

    Attributes:
        name: the queue name (kept on a ticket nobody could take).
        teams: agents of any of these teams work the queue (empty: any agent).
        overflow: the next queue to try when nobody here is eligible.
    """

    name: str
    teams: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    overflow: str | None = None


@attrs.frozen(kw_only=True)
class RoutingCandidate:
    """An eligible agent with the figures it was ranked by."""

    agent_id: str
    load: int
    capacity: int
    skill_score: int
    last_assigned_at: _dt.datetime | None

    @property
    def utilisation(self) -> float:
        """Load relative to capacity (exact for the small integers loads are)."""
        return self.load / self.capacity


@attrs.frozen(kw_only=True)
class RoutingDecision:
    """Where one ticket went and why.

    Attributes:
        ticket_id: the ticket.
        agent_id: the winner's ``user_id``, or None when it stays queued.
        queue: the queue it was routed in (the last tier tried when queued).
        queues_tried: the overflow path, in order.
        weight: capacity units it took.
        reason: why the winner won (or why nobody did).
        eligible: the eligible agents of the deciding tier, best first
            (with ``explain=False`` only the winner).
        eligible_count: how many agents were eligible in the deciding tier.
        rejected: agent -> why it was not eligible (``explain=True`` only);
            an agent rejected in several tiers keeps its first tier's reasons.
        requirement: what the ticket needed.
    """

    ticket_id: Any
    agent_id: str | None
    queue: str | None
    queues_tried: tuple[str, ...]
    weight: int
    reason: str
    eligible: tuple[RoutingCandidate, ...]
    rejected: Mapping[str, tuple[str, ...]]
    requirement: TicketRequirement
    eligible_count: int = 0

    @property
    def assigned(self) -> bool:
        """Whether an agent got the ticket."""
        return self.agent_id is not None

    def explain(self) -> str:
        """The decision as readable lines."""
        lines = [f"ticket {self.ticket_id}: {self.reason}"]
        if len(self.queues_tried) > 1:
            lines.append("queues tried: " + " -> ".join(self.queues_tried))
        for rank, c in enumerate(self.eligible, 1):
            lines.append(
                f"  {rank}. {c.agent_id}: load {c.load}/{c.capacity}, skill {c.skill_score}"
            )
        for agent, reasons in sorted(self.rejected.items()):
            lines.append(f"  x {agent}: " + "; ".join(reasons))
        return "\n".join(lines)


@attrs.frozen(kw_only=True)
class RoutingPlan:
    """The result of routing a backlog: one decision per ticket, and the loads after."""

    decisions: tuple[RoutingDecision, ...]
    loads: Mapping[str, int]

    @property
    def assigned(self) -> int:
        """How many tickets got an agent."""
        return sum(d.agent_id is not None for d in self.decisions)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"unknown agent time zone {name!r}") from None


def agent_on_shift(agent: Agent, now: _dt.datetime) -> bool:
    """Whether ``now`` falls in one of the agent's shifts (in its zone); no shifts: always."""
    if not agent.shifts:
        return True
    local = now.astimezone(_zone(agent.timezone))
    minute = local.hour * 60 + local.minute
    day = local.weekday()
    prev = (day - 1) % 7
    for s in agent.shifts:
        if s.weekday == day and s.start_minute <= minute < s.end_minute:
            return True
        if s.weekday == prev and minute + 1440 < s.end_minute:
            return True
    return False


def _skill_reasons(agent: Agent, skills: Mapping[str, int]) -> list[str]:
    out = []
    for name, level in skills.items():
        have = agent.skills.get(name)
        if have is None:
            out.append(f"missing skill {name}")
        elif have < level:
            out.append(f"skill {name} at level {have} < {level}")
    return out


def agent_rejections(
    agent: Agent,
    requirement: TicketRequirement,
    now: _dt.datetime,
    *,
    load: int | None = None,
    queue_teams: frozenset[str] = frozenset(),
    queue: str | None = None,
    exclude: frozenset[str] = frozenset(),
    on_shift: bool | None = None,
) -> tuple[str, ...]:
    """Every reason ``agent`` may not take the ticket now (empty: eligible).

    Args:
        agent: the agent.
        requirement: what the ticket needs.
        now: the instant (shifts are read in the agent's zone).
        load: the agent's current load (default: ``agent.load``).
        queue_teams: the teams of the queue routed in.
        queue: its name (for the reason text).
        exclude: agents that may not have it (``user_id``).
        on_shift: a precomputed shift check.
    """
    reasons: list[str] = []
    if agent.user_id in exclude:
        reasons.append("excluded")
    if not agent.active:
        reasons.append("inactive")
    if agent.presence is not AgentPresence.ONLINE:
        reasons.append(f"presence {AgentPresence(agent.presence).value}")
    if not (agent_on_shift(agent, now) if on_shift is None else on_shift):
        reasons.append("off shift")
    if queue_teams and not queue_teams & agent.teams:
        reasons.append(f"not in a team of queue {queue}")
    if requirement.teams and not requirement.teams & agent.teams:
        reasons.append("not in a required team: " + ", ".join(sorted(requirement.teams)))
    reasons.extend(_skill_reasons(agent, requirement.skills))
    if requirement.language and requirement.language not in agent.languages:
        reasons.append(f"does not speak {requirement.language}")
    current = agent.load if load is None else load
    if current + requirement.weight > agent.capacity:
        reasons.append(f"no capacity: {current} + {requirement.weight} > {agent.capacity}")
    return tuple(reasons)


def _weights(value: Mapping[str, int]) -> Mapping[str, int]:
    return dict(value)


@attrs.frozen(kw_only=True)
class TicketRouter:
    """The routing configuration, as data; ``route`` and ``route_backlog`` apply it.

    Attributes:
        strategy: least loaded (default) or best skill first.
        sticky: prefer the customer's previous agent when eligible.
        rules: requirement rules (skills, teams, queue, weight by ticket facts).
        weights: capacity units by priority.
        queues: the queues with their teams and overflow.
        default_queue: where a ticket without a queue routes.
    """

    strategy: RoutingStrategy = attrs.field(
        default=RoutingStrategy.LEAST_LOADED, converter=RoutingStrategy
    )
    sticky: bool = True
    rules: tuple[RequirementRule, ...] = attrs.field(default=(), converter=tuple)
    weights: Mapping[str, int] = attrs.field(
        factory=lambda: dict(DEFAULT_TICKET_WEIGHTS), converter=_weights
    )
    queues: tuple[RoutingQueue, ...] = attrs.field(default=(), converter=tuple)
    default_queue: str = "default"

    def requirement(
        self,
        ticket: Ticket,
        *,
        language: str | None = None,
        tier: str | None = None,
        previous_agent: str | None = None,
    ) -> TicketRequirement:
        """The requirement of ``ticket`` under this router's rules and weights."""
        return ticket_requirement(
            ticket,
            language=language,
            tier=tier,
            rules=self.rules,
            weights=self.weights,
            previous_agent=previous_agent,
        )

    def _path(self, start: str | None) -> list[RoutingQueue]:
        by_name = {q.name: q for q in self.queues}
        name: str | None = start or self.default_queue
        path: list[RoutingQueue] = []
        seen: set[str] = set()
        while name is not None and name not in seen:
            seen.add(name)
            queue = by_name.get(name, RoutingQueue(name=name))
            path.append(queue)
            name = queue.overflow
        return path

    def _key(self, c: RoutingCandidate) -> tuple[Any, ...]:
        rr = (c.last_assigned_at or _NEVER, c.agent_id)
        if self.strategy is RoutingStrategy.BEST_SKILL:
            return (-c.skill_score, c.utilisation, *rr)
        return (c.utilisation, -c.skill_score, *rr)

    def _decide(
        self,
        requirement: TicketRequirement,
        agents: Sequence[Agent],
        now: _dt.datetime,
        loads: Mapping[str, int],
        last: Mapping[str, _dt.datetime | None],
        shift: Mapping[str, bool],
        exclude: frozenset[str],
        explain: bool,
        index: _SkillIndex | None,
    ) -> RoutingDecision:
        tried: list[str] = []
        rejected: dict[str, tuple[str, ...]] = {}
        for queue in self._path(requirement.queue):
            if not explain:
                tried.append(queue.name)
                fast = self._fast(requirement, agents, loads, last, shift, exclude, queue, index)
                if fast is None:
                    continue
                winner, count, ties = fast
                return RoutingDecision(
                    ticket_id=requirement.ticket_id,
                    agent_id=winner.agent_id,
                    queue=queue.name,
                    queues_tried=tuple(tried),
                    weight=requirement.weight,
                    reason=self._reason(winner, count, ties, requirement, queue.name),
                    eligible=(winner,),
                    rejected={},
                    requirement=requirement,
                    eligible_count=count,
                )
            tried.append(queue.name)
            eligible: list[RoutingCandidate] = []
            for agent in agents:
                uid = agent.user_id
                reasons = agent_rejections(
                    agent,
                    requirement,
                    now,
                    load=loads[uid],
                    queue_teams=queue.teams,
                    queue=queue.name,
                    exclude=exclude,
                    on_shift=shift[uid],
                )
                if reasons:
                    if explain and uid not in rejected:
                        rejected[uid] = reasons
                    continue
                eligible.append(
                    RoutingCandidate(
                        agent_id=uid,
                        load=loads[uid],
                        capacity=agent.capacity,
                        skill_score=sum(agent.skills[s] for s in requirement.skills),
                        last_assigned_at=last[uid],
                    )
                )
            if not eligible:
                continue
            eligible.sort(key=self._key)
            winner = eligible[0]
            sticky = requirement.previous_agent
            if self.sticky and sticky is not None and sticky != winner.agent_id:
                again = next((c for c in eligible if c.agent_id == sticky), None)
                if again is not None:
                    eligible.remove(again)
                    eligible.insert(0, again)
                    winner = again
            primary = self._key(winner)[:2]
            ties = sum(self._key(c)[:2] == primary for c in eligible)
            reason = self._reason(winner, len(eligible), ties, requirement, queue.name)
            for c in eligible:
                rejected.pop(c.agent_id, None)
            return RoutingDecision(
                ticket_id=requirement.ticket_id,
                agent_id=winner.agent_id,
                queue=queue.name,
                queues_tried=tuple(tried),
                weight=requirement.weight,
                reason=reason,
                eligible=tuple(eligible),
                rejected=rejected,
                requirement=requirement,
                eligible_count=len(eligible),
            )
        return RoutingDecision(
            ticket_id=requirement.ticket_id,
            agent_id=None,
            queue=tried[-1] if tried else None,
            queues_tried=tuple(tried),
            weight=requirement.weight,
            reason=f"no eligible agent in {' -> '.join(tried)}: queued in {tried[-1]}",
            eligible=(),
            rejected=rejected,
            requirement=requirement,
        )

    def _fast(
        self,
        requirement: TicketRequirement,
        agents: Sequence[Agent],
        loads: Mapping[str, int],
        last: Mapping[str, _dt.datetime | None],
        shift: Mapping[str, bool],
        exclude: frozenset[str],
        queue: RoutingQueue,
        index: _SkillIndex | None,
    ) -> tuple[RoutingCandidate, int, int] | None:
        """The winner of one tier without recording reasons: (winner, eligible, tied)."""
        pool = index.candidates(requirement.skills) if index is not None else agents
        skills = list(requirement.skills.items())
        lang, weight = requirement.language, requirement.weight
        qteams, rteams = queue.teams, requirement.teams
        best_skill = self.strategy is RoutingStrategy.BEST_SKILL
        sticky = requirement.previous_agent if self.sticky else None
        online = AgentPresence.ONLINE
        keys: list[tuple[Any, ...]] = []
        best: tuple[Any, ...] | None = None
        found: dict[str, tuple[Agent, int]] = {}
        for agent in pool:
            uid = agent.user_id
            if (
                uid in exclude
                or not agent.active
                or agent.presence is not online
                or not shift[uid]
                or (qteams and not qteams & agent.teams)
                or (rteams and not rteams & agent.teams)
                or (lang and lang not in agent.languages)
            ):
                continue
            load = loads[uid]
            if load + weight > agent.capacity:
                continue
            have = agent.skills
            score = 0
            for name, level in skills:
                got = have.get(name, 0)
                if got < level:
                    score = -1
                    break
                score += got
            if score < 0:
                continue
            util = load / agent.capacity
            rr = last[uid] or _NEVER
            key = (-score, util, rr, uid) if best_skill else (util, -score, rr, uid)
            keys.append(key)
            if best is None or key < best:
                best = key
                found[uid] = (agent, score)
            if uid == sticky:
                found[uid] = (agent, score)
        if best is None:
            return None
        uid = sticky if sticky is not None and sticky in found else best[3]
        agent, score = found[uid]
        winner = RoutingCandidate(
            agent_id=uid,
            load=loads[uid],
            capacity=agent.capacity,
            skill_score=score,
            last_assigned_at=last[uid],
        )
        primary = best[:2]
        return winner, len(keys), sum(k[:2] == primary for k in keys)

    def _reason(
        self,
        winner: RoutingCandidate,
        count: int,
        ties: int,
        requirement: TicketRequirement,
        queue: str,
    ) -> str:
        head = f"{winner.agent_id} in {queue}"
        if self.sticky and requirement.previous_agent == winner.agent_id:
            return f"{head}: the customer's previous agent, eligible (sticky)"
        if self.strategy is RoutingStrategy.BEST_SKILL:
            why = f"best skill ({winner.skill_score}), then load {winner.load}/{winner.capacity}"
        else:
            why = f"least loaded ({winner.load}/{winner.capacity}), then skill {winner.skill_score}"
        if ties > 1:
            why += f"; round robin among {ties} tied: least recently assigned"
        return f"{head}: {why} of {count} eligible"

    def _state(
        self, agents: Sequence[Agent], now: _dt.datetime, loads: Mapping[str, int] | None
    ) -> tuple[dict[str, int], dict[str, _dt.datetime | None], dict[str, bool]]:
        cur = {a.user_id: a.load for a in agents}
        if loads:
            cur.update({k: v for k, v in loads.items() if k in cur})
        last = {a.user_id: a.last_assigned_at for a in agents}
        shift = {a.user_id: agent_on_shift(a, now) for a in agents}
        return cur, last, shift

    def route(
        self,
        requirement: TicketRequirement,
        agents: Sequence[Agent],
        now: _dt.datetime,
        *,
        loads: Mapping[str, int] | None = None,
        exclude: Iterable[str] = (),
        explain: bool = True,
    ) -> RoutingDecision:
        """Choose an agent for one ticket (or a queue when nobody is eligible).

        Args:
            requirement: what the ticket needs.
            agents: the candidates (``user_id`` unique).
            now: the instant (presence and shifts).
            loads: current loads by ``user_id`` instead of ``agent.load``.
            exclude: agents that may not have it (``user_id``).
            explain: record why each other agent was not eligible.
        """
        cur, last, shift = self._state(agents, now, loads)
        return self._decide(
            requirement, agents, now, cur, last, shift, frozenset(exclude), explain, None
        )

    def route_backlog(
        self,
        requirements: Iterable[TicketRequirement],
        agents: Sequence[Agent],
        now: _dt.datetime,
        *,
        loads: Mapping[str, int] | None = None,
        exclude: Iterable[str] = (),
        explain: bool = True,
    ) -> RoutingPlan:
        """Route many tickets in one call, most urgent and oldest first.

        Each assignment adds the ticket's weight to the winner's load before
        the next ticket is routed, so capacity holds across the backlog; a
        customer's later tickets stick to the agent an earlier one got here.
        """
        cur, last, shift = self._state(agents, now, loads)
        order = sorted(requirements, key=backlog_order)
        index = _SkillIndex(agents)
        out: list[RoutingDecision] = []
        stamp = now
        ex = frozenset(exclude)
        recent: dict[Any, str] = {}  # customer -> agent assigned earlier in this call
        for req in order:
            if req.customer_id is not None and req.customer_id in recent:
                req = attrs.evolve(req, previous_agent=recent[req.customer_id])
            decision = self._decide(req, agents, now, cur, last, shift, ex, explain, index)
            if decision.agent_id is not None:
                if req.customer_id is not None:
                    recent[req.customer_id] = decision.agent_id
                cur[decision.agent_id] += decision.weight
                # strictly increasing stamps keep round robin rotating inside one call
                last[decision.agent_id] = stamp
                stamp += _dt.timedelta(microseconds=1)
            out.append(decision)
        return RoutingPlan(decisions=tuple(out), loads=cur)


def backlog_order(requirement: TicketRequirement) -> tuple[int, _dt.datetime, str]:
    """The order a backlog is routed in: most urgent, then oldest, then by ticket id."""
    return (
        PRIORITY_RANK.get(requirement.priority, len(PRIORITY_RANK)),
        requirement.created_at or _NEVER,
        str(requirement.ticket_id),
    )


class _SkillIndex:
    """Agents by skill: the candidates for a set of required skills, in the given order."""

    def __init__(self, agents: Sequence[Agent]) -> None:
        self._agents = list(agents)
        self._by_skill: dict[str, set[int]] = {}
        for i, a in enumerate(self._agents):
            for s in a.skills:
                self._by_skill.setdefault(s, set()).add(i)
        self._cache: dict[frozenset[str], list[Agent]] = {}

    def candidates(self, skills: Mapping[str, int]) -> list[Agent]:
        key = frozenset(skills)
        found = self._cache.get(key)
        if found is None:
            if not key:
                found = self._agents
            else:
                sets = sorted((self._by_skill.get(s, set()) for s in key), key=len)
                common = set.intersection(*sets) if sets else set()
                found = [self._agents[i] for i in sorted(common)]
            self._cache[key] = found
        return found
