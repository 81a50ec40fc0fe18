"""Service-desk use cases: route tickets to agents, SLA status, escalations.

The routing and SLA decisions are pure (:mod:`crmcore.routing`,
:mod:`crmcore.sla`); these functions read the records they need through the
unit of work, apply the decision and write it back. Capacity holds under
concurrency: an assignment updates the agent's ``load`` through its
``version``, so when two routers (in two processes) pick the same agent, one
commit wins and the other gets a :class:`~crmcore.errors.Conflict` and writes
nothing; retrying it in a new unit of work routes against the fresh load.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from crmcore.errors import FieldError, NotFound, ValidationError
from crmcore.events import emit
from crmcore.model import (
    Activity,
    Agent,
    AgentPresence,
    Customer,
    EscalationRecord,
    Priority,
    Ticket,
    TransitionRecord,
)
from crmcore.query import all_of, eq, in_, is_null, not_
from crmcore.routing import RoutingDecision, TicketRouter, backlog_order
from crmcore.services._transitions import atomic
from crmcore.sla import (
    EscalationAction,
    EscalationRule,
    SlaClock,
    SlaFacts,
    SlaPolicy,
    select_sla_policy,
    sla_clocks,
)
from crmcore.storage.ports import UnitOfWorkContext

__all__ = [
    "OPEN_TICKET_STATES",
    "TicketAssignment",
    "TicketSla",
    "desk_ticket_facts",
    "reassign_away",
    "recount_agent_loads",
    "release_ticket",
    "route_backlog",
    "route_ticket",
    "run_escalations",
    "sla_status",
    "stamp_sla_due",
]

#: ticket states that hold an agent's capacity and can be routed
OPEN_TICKET_STATES = ("new", "open", "pending")
#: ticket states during which resolution clocks stop (waiting on the customer, resolved)
PAUSE_STATES = frozenset({"pending", "resolved"})
_RAISE = {
    Priority.LOW: Priority.NORMAL,
    Priority.NORMAL: Priority.HIGH,
    Priority.HIGH: Priority.URGENT,
}

#: a customer's tier for routing rules and SLA targets
TierOf = Callable[[Customer | None, Ticket], "str | None"]


def default_tier(customer: Customer | None, ticket: Ticket) -> str | None:
    """The tier in ``customer.custom["tier"]``, else a ``tier:<name>`` tag, else None."""
    if customer is None:
        return None
    tier = customer.custom.get("tier")
    if isinstance(tier, str) and tier:
        return tier
    for tag in sorted(customer.tags):
        if tag.startswith("tier:"):
            return tag[5:]
    return None


@attrs.frozen
class TicketAssignment:
    """A routed ticket as stored, and the decision that placed it."""

    ticket: Ticket
    decision: RoutingDecision


@attrs.frozen
class TicketSla:
    """A ticket's SLA clocks at one instant (no policy applies: no clocks)."""

    ticket_id: uuid.UUID
    at: _dt.datetime
    policy: str | None
    clocks: tuple[SlaClock, ...]

    def clock(self, metric: str) -> SlaClock | None:
        """The clock of ``metric`` (``"resolution"``...), if there is one."""
        return next((c for c in self.clocks if c.metric.value == metric), None)

    @property
    def breached(self) -> bool:
        """Whether any clock is breached (or was missed)."""
        return any(c.breached for c in self.clocks)

    @property
    def at_risk(self) -> bool:
        """Whether any clock is at risk."""
        return any(c.at_risk for c in self.clocks)

    @property
    def next_due_at(self) -> _dt.datetime | None:
        """The earliest due time among running clocks."""
        due = [c.due_at for c in self.clocks if c.stopped_at is None]
        return min(due) if due else None


def _ticket(uow: UnitOfWorkContext, ticket: uuid.UUID | Ticket) -> Ticket:
    return uow.repo(Ticket).get(ticket.id if isinstance(ticket, Ticket) else ticket)


def _customer(uow: UnitOfWorkContext, ticket: Ticket) -> Customer | None:
    if ticket.customer_id is None:
        return None
    found = uow.repo(Customer).get_many([ticket.customer_id])
    return found[0] if found else None


def _language(customer: Customer | None, ticket: Ticket) -> str | None:
    lang = ticket.custom.get("language")
    if isinstance(lang, str) and lang:
        return lang
    return customer.preferred_language if customer is not None else None


def _previous_agent(uow: UnitOfWorkContext, ticket: Ticket) -> str | None:
    if ticket.customer_id is None:
        return None
    for other in uow.repo(Ticket).stream(
        eq("customer_id", ticket.customer_id), order_by="-created_at", batch_size=20
    ):
        if other.id != ticket.id and other.assignee_id is not None:
            return other.assignee_id
    return None


def _agents(uow: UnitOfWorkContext) -> dict[str, Agent]:
    return {a.user_id: a for a in uow.repo(Agent).stream(order_by="user_id")}


def _check_open(ticket: Ticket) -> None:
    if ticket.status not in OPEN_TICKET_STATES:
        raise ValidationError(
            [
                FieldError(
                    "$.status",
                    "ticket_not_open",
                    f"only tickets in {', '.join(OPEN_TICKET_STATES)} are routed, "
                    f"not {ticket.status}",
                )
            ],
            entity="Ticket",
            id=ticket.id,
        )


def _release(uow: UnitOfWorkContext, agents: dict[str, Agent], ticket: Ticket) -> Ticket:
    """Give back the capacity ``ticket`` holds of its assignee's load."""
    if ticket.assignee_id is None or not ticket.routed_weight:
        return ticket
    agent = agents.get(ticket.assignee_id)
    if agent is not None:
        agents[agent.user_id] = uow.repo(Agent).update(
            attrs.evolve(agent, load=max(agent.load - ticket.routed_weight, 0))
        )
    return attrs.evolve(ticket, routed_weight=0)


def _apply(
    uow: UnitOfWorkContext,
    agents: dict[str, Agent],
    ticket: Ticket,
    decision: RoutingDecision,
    now: _dt.datetime,
) -> Ticket:
    if decision.agent_id is None:
        return uow.repo(Ticket).update(
            attrs.evolve(ticket, assignee_id=None, queue=decision.queue, routed_weight=0)
        )
    agent = agents[decision.agent_id]
    if agent.load + decision.weight > agent.capacity:  # the decision was made on these loads
        raise ValidationError(
            [FieldError("$.load", "over_capacity", "the decision no longer fits the agent")],
            entity="Agent",
            id=agent.id,
        )  # pragma: no cover - routing checks capacity first
    agents[agent.user_id] = uow.repo(Agent).update(
        attrs.evolve(agent, load=agent.load + decision.weight, last_assigned_at=now)
    )
    return uow.repo(Ticket).update(
        attrs.evolve(
            ticket,
            assignee_id=agent.user_id,
            queue=decision.queue,
            routed_weight=decision.weight,
        )
    )


def route_ticket(
    uow: UnitOfWorkContext,
    ticket_id: uuid.UUID | Ticket,
    *,
    router: TicketRouter | None = None,
    exclude: Iterable[str] = (),
    tier_of: TierOf = default_tier,
    explain: bool = True,
) -> TicketAssignment:
    """Route one ticket: pick an agent (or a queue) and record the assignment.

    The ticket's requirement comes from the router's rules over the ticket,
    the customer's language (``ticket.custom["language"]`` first) and tier;
    the customer's previous agent is preferred when eligible. A ticket already
    assigned gives its capacity back first (it is re-routed).

    Args:
        uow: the unit of work; on error it is rolled back whole.
        ticket_id: the ticket (or the ticket record).
        router: the routing configuration (default :class:`TicketRouter`).
        exclude: agents (``user_id``) that may not get it.
        tier_of: reads the customer's tier.
        explain: record why each other agent was not eligible.

    Raises:
        NotFound: no such ticket.
        ValidationError: the ticket is resolved or closed.
        Conflict: at commit, when another router changed the chosen agent first.
    """
    router = router or TicketRouter()
    with atomic(uow):
        ticket = _ticket(uow, ticket_id)
        _check_open(ticket)
        agents = _agents(uow)
        ticket = _release(uow, agents, ticket)
        customer = _customer(uow, ticket)
        requirement = router.requirement(
            ticket,
            language=_language(customer, ticket),
            tier=tier_of(customer, ticket),
            previous_agent=_previous_agent(uow, ticket),
        )
        now = uow.now()
        decision = router.route(
            requirement, list(agents.values()), now, exclude=exclude, explain=explain
        )
        stored = _apply(uow, agents, ticket, decision, now)
    return TicketAssignment(stored, decision)


def route_backlog(
    uow: UnitOfWorkContext,
    *,
    router: TicketRouter | None = None,
    queue: str | None = None,
    limit: int | None = None,
    exclude: Iterable[str] = (),
    tier_of: TierOf = default_tier,
    explain: bool = False,
) -> list[TicketAssignment]:
    """Route every unassigned open ticket (of ``queue``, if given) in one call.

    Most urgent and oldest first; each assignment counts against the agent's
    capacity before the next ticket is routed. Tickets nobody can take stay
    in (or overflow to) a queue.

    Args:
        uow: the unit of work.
        router: the routing configuration.
        queue: only tickets waiting in this queue.
        limit: at most this many tickets (the most urgent, oldest).
        exclude: agents that may not get any.
        tier_of: reads the customer's tier.
        explain: keep every agent's rejection reasons on each decision.
    """
    router = router or TicketRouter()
    where = all_of(in_("status", OPEN_TICKET_STATES), is_null("assignee_id"))
    if queue is not None:
        where = all_of(where, eq("queue", queue))
    with atomic(uow):
        tickets = {t.id: t for t in uow.repo(Ticket).stream(where, order_by="created_at")}
        return _route_many(uow, router, tickets, exclude, tier_of, explain, limit)


def _route_many(
    uow: UnitOfWorkContext,
    router: TicketRouter,
    tickets: Mapping[uuid.UUID, Ticket],
    exclude: Iterable[str],
    tier_of: TierOf,
    explain: bool,
    limit: int | None = None,
) -> list[TicketAssignment]:
    agents = _agents(uow)
    ids = [t.customer_id for t in tickets.values() if t.customer_id is not None]
    customers = {c.id: c for c in uow.repo(Customer).get_many(dict.fromkeys(ids))}
    previous = _previous_agents(uow, tickets.values())
    requirements = []
    for t in tickets.values():
        c = customers.get(t.customer_id) if t.customer_id else None
        requirements.append(
            router.requirement(
                t,
                language=_language(c, t),
                tier=tier_of(c, t),
                previous_agent=previous.get(t.customer_id) if t.customer_id else None,
            )
        )
    if limit is not None:
        requirements = sorted(requirements, key=backlog_order)[:limit]
    now = uow.now()
    plan = router.route_backlog(
        requirements, list(agents.values()), now, exclude=exclude, explain=explain
    )
    out = []
    for decision in plan.decisions:
        ticket = tickets[decision.ticket_id]
        out.append(TicketAssignment(_apply(uow, agents, ticket, decision, now), decision))
    return out


def _previous_agents(uow: UnitOfWorkContext, tickets: Iterable[Ticket]) -> dict[uuid.UUID, str]:
    wanted = {t.customer_id for t in tickets if t.customer_id is not None}
    if not wanted:
        return {}
    found: dict[uuid.UUID, str] = {}
    where = all_of(in_("customer_id", sorted(wanted)), not_(is_null("assignee_id")))
    for t in uow.repo(Ticket).stream(where, order_by="-created_at"):
        if t.customer_id is not None and t.assignee_id is not None:
            found.setdefault(t.customer_id, t.assignee_id)
    return found


def _agent(uow: UnitOfWorkContext, agent_id: uuid.UUID | str) -> Agent:
    if isinstance(agent_id, uuid.UUID):
        return uow.repo(Agent).get(agent_id)
    found = uow.repo(Agent).first(user_id=agent_id)
    if found is None:
        raise NotFound("Agent", agent_id)
    return found


def reassign_away(
    uow: UnitOfWorkContext,
    agent_id: uuid.UUID | str,
    *,
    router: TicketRouter | None = None,
    presence: AgentPresence | str | None = AgentPresence.AWAY,
    tier_of: TierOf = default_tier,
) -> list[TicketAssignment]:
    """Move every open ticket of an agent to other agents (or queues), e.g. when they leave.

    Args:
        uow: the unit of work.
        agent_id: the agent's record id or ``user_id``.
        router: the routing configuration.
        presence: set the agent's presence first (None: leave it).
        tier_of: reads the customers' tiers.

    Returns:
        One assignment per moved ticket.
    """
    router = router or TicketRouter()
    with atomic(uow):
        agent = _agent(uow, agent_id)
        if presence is not None and AgentPresence(presence) is not agent.presence:
            agent = uow.repo(Agent).update(attrs.evolve(agent, presence=presence))
        where = all_of(in_("status", OPEN_TICKET_STATES), eq("assignee_id", agent.user_id))
        tickets = list(uow.repo(Ticket).stream(where, order_by="created_at"))
        agents = _agents(uow)
        released = {}
        for t in tickets:
            t = _release(uow, agents, t)
            released[t.id] = uow.repo(Ticket).update(attrs.evolve(t, assignee_id=None))
        return _route_many(uow, router, released, [agent.user_id], tier_of, explain=False)


def release_ticket(uow: UnitOfWorkContext, ticket_id: uuid.UUID | Ticket) -> Ticket:
    """Give back the capacity a ticket holds (call when it is resolved or closed).

    Idempotent: the ticket's ``routed_weight`` goes to 0, so a second call
    changes nothing. The assignee stays on the ticket.
    """
    with atomic(uow):
        ticket = _ticket(uow, ticket_id)
        if not ticket.routed_weight:
            return ticket
        agents = _agents(uow)
        return uow.repo(Ticket).update(_release(uow, agents, ticket))


def recount_agent_loads(uow: UnitOfWorkContext) -> dict[str, int]:
    """Recompute every agent's load from the open tickets assigned to it.

    Returns:
        ``user_id`` -> the load now stored (only changed agents are written).
    """
    with atomic(uow):
        agents = _agents(uow)
        loads = dict.fromkeys(agents, 0)
        where = all_of(in_("status", OPEN_TICKET_STATES), not_(is_null("assignee_id")))
        for t in uow.repo(Ticket).stream(where):
            if t.assignee_id in loads:
                loads[t.assignee_id] += t.routed_weight
        for uid, agent in agents.items():
            if agent.load != loads[uid]:
                uow.repo(Agent).update(attrs.evolve(agent, load=loads[uid]))
        return loads


def desk_ticket_facts(
    uow: UnitOfWorkContext, ticket: Ticket, *, tier_of: TierOf = default_tier
) -> SlaFacts:
    """A ticket's SLA facts from its record, its status history and its activities.

    Pauses are the spans the ticket spent ``pending`` (or ``resolved``, when
    reopened); customer messages and agent replies are the ticket's
    activities with ``custom["direction"]`` ``"inbound"`` / ``"outbound"``
    (their ``done_at``, else ``created_at``); the first response is
    ``ticket.first_response_at``, else the first outbound activity.
    """
    pauses: list[tuple[_dt.datetime, _dt.datetime | None]] = []
    where = all_of(eq("entity", "Ticket"), eq("record_id", ticket.id))
    opened: _dt.datetime | None = None
    for r in uow.repo(TransitionRecord).stream(where, order_by="at"):
        at = r.at or r.created_at
        if r.to_state in PAUSE_STATES and opened is None:
            opened = at
        elif r.to_state not in PAUSE_STATES and opened is not None:
            pauses.append((opened, at))
            opened = None
    if opened is not None:
        pauses.append((opened, None))
    inbound: list[_dt.datetime] = []
    outbound: list[_dt.datetime] = []
    for a in uow.repo(Activity).stream(eq("ticket_id", ticket.id)):
        direction = a.custom.get("direction")
        at = a.done_at or a.created_at
        if direction == "inbound":
            inbound.append(at)
        elif direction == "outbound":
            outbound.append(at)
    first = ticket.first_response_at or (min(outbound) if outbound else None)
    return SlaFacts(
        created_at=ticket.created_at,
        priority=ticket.priority,
        channel=ticket.channel,
        tier=tier_of(_customer(uow, ticket), ticket),
        first_response_at=first,
        resolved_at=ticket.resolved_at,
        customer_messages=inbound,
        agent_replies=outbound,
        pauses=pauses,
    )


def sla_status(
    uow: UnitOfWorkContext,
    ticket_id: uuid.UUID | Ticket,
    now: _dt.datetime | None = None,
    *,
    policies: Sequence[SlaPolicy],
    tier_of: TierOf = default_tier,
) -> TicketSla:
    """A ticket's SLA clocks at ``now`` (default: the unit's clock): due, left, at risk, breached.

    Computed from the stored facts on every call (nothing is counted up), so
    any past instant can be asked about too.

    Args:
        uow: the unit of work.
        ticket_id: the ticket.
        now: the instant (aware).
        policies: the SLA policies in order; the first that applies is used.
        tier_of: reads the customer's tier.
    """
    ticket = _ticket(uow, ticket_id)
    at = now or uow.now()
    facts = desk_ticket_facts(uow, ticket, tier_of=tier_of)
    policy = select_sla_policy(policies, facts.priority, facts.channel, facts.tier)
    if policy is None:
        return TicketSla(ticket.id, at, None, ())
    return TicketSla(ticket.id, at, policy.name, sla_clocks(policy, facts, at))


def stamp_sla_due(
    uow: UnitOfWorkContext,
    ticket_id: uuid.UUID | Ticket,
    *,
    policies: Sequence[SlaPolicy],
    now: _dt.datetime | None = None,
    tier_of: TierOf = default_tier,
) -> Ticket:
    """Write the ticket's current first-response and resolution due times onto it.

    ``Ticket.first_response_due_at`` / ``resolution_due_at`` are then
    queryable (``resolution_due_at`` is indexed: "what is due in the next
    hour"). Call it after a change that moves them (creation, pending,
    resume, priority); a clock that has stopped keeps its due time. Only a
    changed ticket is written.
    """
    with atomic(uow):
        ticket = _ticket(uow, ticket_id)
        status = sla_status(uow, ticket, now, policies=policies, tier_of=tier_of)
        frt = status.clock("first_response")
        res = status.clock("resolution")
        first_due = frt.due_at if frt else None
        resolution_due = res.due_at if res else None
        if (ticket.first_response_due_at, ticket.resolution_due_at) == (first_due, resolution_due):
            return ticket
        return uow.repo(Ticket).update(
            attrs.evolve(ticket, first_response_due_at=first_due, resolution_due_at=resolution_due)
        )


def run_escalations(
    uow: UnitOfWorkContext,
    now: _dt.datetime | None,
    rules: Sequence[EscalationRule],
    *,
    policies: Sequence[SlaPolicy],
    router: TicketRouter | None = None,
    tier_of: TierOf = default_tier,
) -> list[EscalationRecord]:
    """Fire the escalation rules whose clocks are at risk or breached, once per clock.

    Every firing is journaled as an :class:`~crmcore.model.EscalationRecord`
    keyed by (ticket, rule, clock start), so running again at a later instant
    does not repeat an action; a new next-response cycle is a new clock.
    Actions: ``notify`` (the journal entry is the notification, with its
    recipients), ``raise_priority`` (one step up; its capacity weight stays
    what it was at assignment), ``reassign`` (route to another agent, or
    overflow to a queue).

    Returns:
        The escalations fired by this call.
    """
    at = now or uow.now()
    fired: list[EscalationRecord] = []
    with atomic(uow):
        open_tickets = list(
            uow.repo(Ticket).stream(in_("status", OPEN_TICKET_STATES), order_by="created_at")
        )
        for ticket in open_tickets:
            status = sla_status(uow, ticket, at, policies=policies, tier_of=tier_of)
            if not status.clocks:
                continue
            journal = list(uow.repo(EscalationRecord).stream(eq("ticket_id", ticket.id)))
            done = {(r.rule, r.clock_started_at) for r in journal}
            breached = {
                (r.metric, r.clock_started_at)
                for r in journal
                if (r.data or {}).get("state") == "breached"
            }
            for rule in rules:
                for clock in status.clocks:
                    if not rule.fires(clock) or (rule.name, clock.started_at) in done:
                        continue
                    data = _act(uow, ticket, rule, router, tier_of)
                    ticket = uow.repo(Ticket).get(ticket.id)
                    record = uow.repo(EscalationRecord).add(
                        EscalationRecord(
                            ticket_id=ticket.id,
                            rule=rule.name,
                            metric=clock.metric.value,
                            action=rule.action.value,
                            clock_started_at=clock.started_at,
                            due_at=clock.due_at,
                            fired_at=at,
                            notify=rule.notify,
                            data={"state": clock.state.value, "policy": clock.policy, **data},
                        )
                    )
                    done.add((rule.name, clock.started_at))
                    fired.append(record)
                    if clock.state.value == "breached" and (
                        (clock.metric.value, clock.started_at) not in breached
                    ):
                        breached.add((clock.metric.value, clock.started_at))
                        emit(  # once per clock, however many rules fire on it
                            uow,
                            "ticket.breached",
                            ticket,
                            {"target": clock.metric.value, "due_at": clock.due_at.isoformat()},
                        )
    return fired


def _act(
    uow: UnitOfWorkContext,
    ticket: Ticket,
    rule: EscalationRule,
    router: TicketRouter | None,
    tier_of: TierOf,
) -> dict[str, object]:
    if rule.action is EscalationAction.RAISE_PRIORITY:
        current = Priority(ticket.priority)
        raised = _RAISE.get(current)
        if raised is None:
            return {"priority": current.value, "unchanged": True}
        uow.repo(Ticket).update(attrs.evolve(ticket, priority=raised))
        return {"priority": raised.value, "was": current.value}
    if rule.action is EscalationAction.REASSIGN:
        before = ticket.assignee_id
        exclude = [before] if before else []
        moved = route_ticket(
            uow, ticket, router=router, exclude=exclude, tier_of=tier_of, explain=False
        )
        return {"from": before, "to": moved.decision.agent_id, "queue": moved.decision.queue}
    return {}
