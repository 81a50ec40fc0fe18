"""Service-desk use cases over a session: routing, capacity under races, SLA status, escalations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

import crmcore
from crmcore.errors import Conflict, ValidationError
from crmcore.model import (
    Activity,
    ActivityType,
    Agent,
    AgentPresence,
    Customer,
    EscalationRecord,
    Priority,
    Ticket,
)
from crmcore.routing import RequirementRule, RoutingQueue, TicketRouter
from crmcore.services import (
    reassign_away,
    recount_agent_loads,
    release_ticket,
    route_backlog,
    route_ticket,
    run_escalations,
    sla_status,
    stamp_sla_due,
    transition,
)
from crmcore.sla import BusinessCalendar, EscalationRule, SlaPolicy, SlaState, SlaTarget
from crmcore.testing import FrozenClock

T0 = dt.datetime(2025, 6, 2, 1, 0, tzinfo=dt.timezone.utc)  # Monday 09:00 in Shanghai
MIN = dt.timedelta(minutes=1)


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def desk(
    request: pytest.FixtureRequest, tmp_path: Path, scratch_db: Callable[[str], str]
) -> Iterator[tuple[crmcore.Crm, FrozenClock]]:
    clock = FrozenClock(T0)
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'desk.db'}"
    else:
        url = scratch_db(request.param)
    crm = crmcore.connect(url, clock=clock)
    yield crm, clock
    crm.close()


def _agents(s, *specs):
    return [s.repo(Agent).add(Agent(**spec)) for spec in specs]


ROUTER = TicketRouter(
    rules=[RequirementRule(name="billing", when={"category": "billing"}, skills={"billing": 2})],
    queues=[
        RoutingQueue(name="default", overflow="tier2"),
        RoutingQueue(name="tier2", teams={"t2"}),
    ],
)


def test_route_ticket_assigns_counts_load_and_explains(desk):
    crm, _ = desk
    with crm.session() as s:
        _agents(
            s,
            {"user_id": "ann", "skills": {"billing": 3}, "languages": {"zh"}, "capacity": 3},
            {"user_id": "bob", "skills": {"billing": 1}, "languages": {"zh"}, "capacity": 3},
            {"user_id": "cyd", "skills": {"billing": 5}, "languages": {"en"}, "capacity": 3},
        )
        c = s.customers.add(Customer(first_name="伟", last_name="张", preferred_language="zh"))
        t = s.repo(Ticket).add(
            Ticket(subject="发票", category="billing", customer_id=c.id, priority="high")
        )
    with crm.session() as s:
        result = route_ticket(s, t.id, router=ROUTER)
    assert result.decision.agent_id == "ann"
    assert "skill billing at level 1 < 2" in result.decision.rejected["bob"]
    assert "does not speak zh" in result.decision.rejected["cyd"]
    with crm.session() as s:
        ann = s.repo(Agent).first(user_id="ann")
        stored = s.repo(Ticket).get(t.id)
    assert (ann.load, ann.last_assigned_at) == (2, T0)  # high priority weighs 2
    assert (stored.assignee_id, stored.routed_weight, stored.queue) == ("ann", 2, "default")
    # routing it again gives the old capacity back first (no double count)
    with crm.session() as s:
        route_ticket(s, t.id, router=ROUTER)
        assert s.repo(Agent).first(user_id="ann").load == 2
    # a second customer ticket sticks to ann even though she is more loaded than bob could be
    with crm.session() as s:
        s.repo(Agent).update(
            attrs.evolve(s.repo(Agent).first(user_id="bob"), skills={"billing": 4})
        )
        t2 = s.repo(Ticket).add(Ticket(subject="again", category="billing", customer_id=c.id))
    with crm.session() as s:
        again = route_ticket(s, t2.id, router=ROUTER)
    assert again.decision.agent_id == "ann" and "sticky" in again.decision.reason
    with crm.session() as s:
        done = s.repo(Ticket).update(attrs.evolve(s.repo(Ticket).get(t2.id), status="resolved"))
        with pytest.raises(ValidationError) as e:
            route_ticket(s, done.id, router=ROUTER)
    assert "ticket_not_open" in e.value.codes


def test_backlog_fills_capacity_then_overflows_and_reassign_away(desk):
    crm, _ = desk
    with crm.session() as s:
        _agents(
            s, {"user_id": "ann", "capacity": 2}, {"user_id": "bob", "capacity": 1, "teams": {"t2"}}
        )
        ids = [s.repo(Ticket).add(Ticket(subject=f"t{i}")).id for i in range(5)]
    with crm.session() as s:
        done = route_backlog(s, router=ROUTER)
    assert len(done) == 5
    placed = [(a.decision.agent_id, a.ticket.queue) for a in done]
    assert sum(a is not None for a, _ in placed) == 3
    assert [p for p in placed if p[0] is None] == [(None, "tier2")] * 2
    with crm.session() as s:
        loads = {a.user_id: a.load for a in s.repo(Agent).stream()}
        assert loads == {"ann": 2, "bob": 1}
        assert len(route_backlog(s, router=ROUTER)) == 2  # the queued ones are tried again
    with crm.session() as s:
        moved = reassign_away(s, "ann", router=ROUTER)
    assert len(moved) == 2 and all(m.decision.agent_id != "ann" for m in moved)
    with crm.session() as s:
        ann = s.repo(Agent).first(user_id="ann")
        assert (ann.load, ann.presence) == (0, AgentPresence.AWAY)
        assert s.tickets.count(assignee_id="ann") == 0
        bob_ticket = s.repo(Ticket).first(assignee_id="bob")
        first = release_ticket(s, bob_ticket.id)
        second = release_ticket(s, bob_ticket.id)
        assert 0 == first.routed_weight == second.routed_weight
        assert s.repo(Agent).first(user_id="bob").load == 0
        assert recount_agent_loads(s) == {"ann": 0, "bob": 0}
    assert len(ids) == 5


def test_two_routers_never_overfill_an_agent(desk):
    crm, _ = desk
    with crm.session() as s:
        _agents(s, {"user_id": "ann", "capacity": 1})
        a = s.repo(Ticket).add(Ticket(subject="a"))
        b = s.repo(Ticket).add(Ticket(subject="b"))
    s1, s2 = crm.session(), crm.session()
    route_ticket(s1, a.id)
    route_ticket(s2, b.id)  # both saw ann at load 0
    s1.commit()
    with pytest.raises(Conflict):
        s2.commit()
    s1.close()
    s2.close()
    with crm.session() as s:  # the loser retries against the fresh load: queued
        retry = route_ticket(s, b.id)
    assert retry.decision.agent_id is None
    with crm.session() as s:
        assert s.repo(Agent).first(user_id="ann").load == 1


POLICY = SlaPolicy(
    name="std",
    calendar=BusinessCalendar.always(),
    targets=[
        SlaTarget(metric="first_response", minutes=60),
        SlaTarget(metric="next_response", minutes=30),
        SlaTarget(metric="resolution", minutes=240),
        SlaTarget(metric="resolution", minutes=120, tier="gold"),
    ],
)


def test_sla_status_pauses_while_pending_and_reads_replies(desk):
    crm, clock = desk
    with crm.session() as s:
        c = s.customers.add(Customer(first_name="Ann", custom={"tier": "gold"}))
        t = s.repo(Ticket).add(Ticket(subject="x", customer_id=c.id))
    with crm.session() as s:
        clock.advance(10 * MIN)
        t = transition(s, s.repo(Ticket).get(t.id), "open")
        s.repo(Activity).add(
            Activity(
                type=ActivityType.EMAIL,
                subject="re",
                ticket_id=t.id,
                done_at=T0 + 20 * MIN,
                custom={"direction": "outbound"},
            )
        )
        s.repo(Activity).add(
            Activity(
                type=ActivityType.EMAIL,
                subject="q",
                ticket_id=t.id,
                done_at=T0 + 25 * MIN,
                custom={"direction": "inbound"},
            )
        )
    with crm.session() as s:
        clock.advance(20 * MIN)  # T0+30: wait for the customer
        transition(s, s.repo(Ticket).get(t.id), "wait")
    with crm.session() as s:
        clock.advance(45 * MIN)  # T0+75: the customer answers
        transition(s, s.repo(Ticket).get(t.id), "resume")
    with crm.session() as s:
        st_ = sla_status(s, t.id, T0 + 100 * MIN, policies=[POLICY])
        paused = sla_status(s, t.id, T0 + 40 * MIN, policies=[POLICY])
    frt, nrt, res = st_.clock("first_response"), st_.clock("next_response"), st_.clock("resolution")
    assert SlaState.MET is frt.state and frt.stopped_at == T0 + 20 * MIN
    assert res.target_minutes == 120  # the gold tier's target
    assert res.due_at == T0 + (120 + 45) * MIN  # 45 minutes pending do not count
    assert nrt.started_at == T0 + 25 * MIN
    assert paused.clock("resolution").paused
    with crm.session() as s:
        stamped = stamp_sla_due(s, t.id, policies=[POLICY], now=T0 + 100 * MIN)
        assert (T0 + 20 * MIN + 40 * MIN, res.due_at) == (
            stamped.first_response_due_at,
            stamped.resolution_due_at,
        )
        assert stamped.version == stamp_sla_due(s, t.id, policies=[POLICY]).version
    assert st_.breached  # next response: 30 minutes from T0+25, paused 45, due T0+100
    assert nrt.due_at == T0 + 100 * MIN


def test_escalations_fire_once_per_clock(desk):
    crm, _ = desk
    with crm.session() as s:
        _agents(s, {"user_id": "ann", "capacity": 5}, {"user_id": "bob", "capacity": 5})
        t = s.repo(Ticket).add(Ticket(subject="slow", priority="normal"))
        route_ticket(s, t.id)
    rules = [
        EscalationRule(name="warn", metric="first_response", when="at_risk", notify=["lead"]),
        EscalationRule(name="bump", metric="resolution", when="breached", action="raise_priority"),
        EscalationRule(name="move", metric="first_response", when="breached", action="reassign"),
    ]
    with crm.session() as s:
        assert run_escalations(s, T0 + 10 * MIN, rules, policies=[POLICY]) == []
        warn = run_escalations(s, T0 + 50 * MIN, rules, policies=[POLICY])
        assert [r.rule for r in warn] == ["warn"] and warn[0].notify == ("lead",)
        assert run_escalations(s, T0 + 55 * MIN, rules, policies=[POLICY]) == []
        later = run_escalations(s, T0 + 300 * MIN, rules, policies=[POLICY])
        assert sorted(r.rule for r in later) == ["bump", "move"]
        assert run_escalations(s, T0 + 301 * MIN, rules, policies=[POLICY]) == []
        stored = s.repo(Ticket).get(t.id)
        move = next(r for r in later if r.rule == "move")
        assert Priority.HIGH is stored.priority
        assert stored.assignee_id == move.data["to"] != move.data["from"]
        assert s.repo(EscalationRecord).count() == 3


def test_a_breach_emits_ticket_breached_once_per_clock() -> None:
    from crmcore.model import OutboxEvent

    crm = crmcore.connect("memory://", events=True, clock=FrozenClock(T0))
    with crm.session() as s:
        _agents(s, {"user_id": "ann", "capacity": 5}, {"user_id": "bob", "capacity": 5})
        t = s.repo(Ticket).add(Ticket(subject="slow", priority="normal"))
        route_ticket(s, t.id)
    rules = [
        EscalationRule(name="warn", metric="first_response", when="at_risk", notify=["lead"]),
        EscalationRule(name="bump", metric="first_response", when="breached", notify=["lead"]),
        EscalationRule(name="move", metric="first_response", when="breached", action="reassign"),
    ]
    with crm.session() as s:
        run_escalations(s, T0 + 50 * MIN, rules, policies=[POLICY])  # at risk: no breach
        run_escalations(s, T0 + 300 * MIN, rules, policies=[POLICY])  # two rules, one clock
        run_escalations(s, T0 + 301 * MIN, rules, policies=[POLICY])  # nothing new
    with crm.session() as s:
        events = [e for e in s.repo(OutboxEvent).stream() if e.event_type == "ticket.breached"]
    assert [(e.aggregate_id, e.payload["target"]) for e in events] == [(t.id, "first_response")]
