"""Routing properties against a brute-force reference: capacity, eligibility, determinism."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.model import Agent, AgentPresence, AgentShift, Priority, Ticket
from crmcore.routing import (
    RequirementRule,
    RoutingQueue,
    RoutingStrategy,
    TicketRequirement,
    TicketRouter,
)

UTC = dt.timezone.utc
NOW = dt.datetime(2025, 6, 4, 3, 30, tzinfo=UTC)  # a Wednesday
SKILLS = ["billing", "tech", "vip", "refund", "network"]
LANGS = ["zh", "en", "ja"]
TEAMS = ["t1", "t2", "t3"]
ZONES = ["UTC", "Asia/Shanghai", "America/New_York"]


AGENT_SKILLS = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=4)
NEED_SKILLS = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 4), max_size=2)
LANG_SETS = st.frozensets(st.sampled_from(LANGS), max_size=2)
TEAM_SETS = st.frozensets(st.sampled_from(TEAMS), max_size=2)
SHIFT = st.builds(
    lambda d, start, length: AgentShift(weekday=d, start_minute=start, end_minute=start + length),
    st.integers(0, 6),
    st.integers(0, 1439),
    st.integers(1, 1440),
)
LAST = st.none() | st.integers(0, 5).map(lambda h: NOW - dt.timedelta(hours=h))
PRESENCE = st.sampled_from(list(AgentPresence))
AGENT_FIELDS = st.tuples(
    AGENT_SKILLS,
    LANG_SETS,
    TEAM_SETS,
    st.integers(0, 6),
    st.integers(0, 6),
    PRESENCE,
    st.sampled_from(ZONES),
    st.lists(SHIFT, max_size=1),
    st.booleans(),
    LAST,
)


def _agent(i, f):
    skills, langs, teams, capacity, load, presence, zone, shifts, active, last = f
    return Agent(
        user_id=f"a{i:02d}",
        skills=skills,
        languages=langs,
        teams=teams,
        capacity=capacity,
        load=min(load, capacity),
        presence=presence,
        timezone=zone,
        shifts=shifts,
        active=active or presence is AgentPresence.ONLINE,
        last_assigned_at=last,
    )


def agents():
    return st.lists(AGENT_FIELDS, min_size=1, max_size=8).map(
        lambda fs: [_agent(i, f) for i, f in enumerate(fs)]
    )


PREVIOUS = st.none() | st.sampled_from([f"a{i:02d}" for i in range(8)])


def requirements():
    return st.builds(
        TicketRequirement,
        ticket_id=st.integers(0, 2**64).map(lambda n: uuid.UUID(int=n)),
        skills=NEED_SKILLS,
        language=st.none() | st.sampled_from(LANGS),
        teams=st.frozensets(st.sampled_from(TEAMS), max_size=1),
        weight=st.integers(1, 3),
        priority=st.sampled_from([p.value for p in Priority]),
        queue=st.none() | st.sampled_from(["front", "second"]),
        previous_agent=PREVIOUS,
        customer_id=st.none() | st.sampled_from([uuid.UUID(int=1), uuid.UUID(int=2)]),
        created_at=st.integers(0, 100).map(lambda m: NOW - dt.timedelta(minutes=m)),
    )


QUEUES = (
    RoutingQueue(name="front", teams={"t1"}, overflow="second"),
    RoutingQueue(name="second", teams={"t2", "t3"}, overflow="default"),
)
routers = st.builds(
    TicketRouter,
    strategy=st.sampled_from(list(RoutingStrategy)),
    sticky=st.booleans(),
    queues=st.just(QUEUES),
)


def ref_on_shift(a: Agent) -> bool:
    if not a.shifts:
        return True
    local = NOW.astimezone(ZoneInfo(a.timezone))
    m = local.hour * 60 + local.minute
    for s in a.shifts:
        if s.weekday == local.weekday() and s.start_minute <= m < s.end_minute:
            return True
        if (s.weekday + 1) % 7 == local.weekday() and m + 1440 < s.end_minute:
            return True
    return False


def ref_eligible(a: Agent, r: TicketRequirement, load: int, teams: frozenset[str]) -> bool:
    return (
        a.active
        and a.presence is AgentPresence.ONLINE
        and ref_on_shift(a)
        and (not teams or bool(teams & a.teams))
        and (not r.teams or bool(r.teams & a.teams))
        and all(a.skills.get(s, 0) >= lvl for s, lvl in r.skills.items())
        and (r.language is None or r.language in a.languages)
        and load + r.weight <= a.capacity
    )


def ref_tiers(router: TicketRouter, r: TicketRequirement) -> list[tuple[str, frozenset[str]]]:
    by = {q.name: q for q in router.queues}
    name, out = r.queue or router.default_queue, []
    while name is not None and name not in [n for n, _ in out]:
        q = by.get(name)
        out.append((name, q.teams if q else frozenset()))
        name = q.overflow if q else None
    return out


def ref_route(router, r, ags, loads, last):
    """Brute force: every tier, every agent, full ranking."""
    for name, teams in ref_tiers(router, r):
        ok = [a for a in ags if ref_eligible(a, r, loads[a.user_id], teams)]
        if not ok:
            continue
        if router.sticky and r.previous_agent in {a.user_id for a in ok}:
            return r.previous_agent, name

        def key(a, never=dt.datetime.min.replace(tzinfo=UTC)):
            util = Fraction(loads[a.user_id], a.capacity)
            skill = sum(a.skills[s] for s in r.skills)
            rr = (last[a.user_id] or never, a.user_id)
            if router.strategy is RoutingStrategy.BEST_SKILL:
                return (-skill, util, *rr)
            return (util, -skill, *rr)

        return min(ok, key=key).user_id, name
    return None, ref_tiers(router, r)[-1][0]


@settings(max_examples=80, deadline=None)
@given(router=routers, ags=agents(), req=requirements())
def test_single_route_matches_brute_force_and_explains_everyone(router, ags, req):
    decision = router.route(req, ags, NOW)
    loads = {a.user_id: a.load for a in ags}
    last = {a.user_id: a.last_assigned_at for a in ags}
    expected = ref_route(router, req, ags, loads, last)
    assert expected == (decision.agent_id, decision.queue)
    # everyone is accounted for: eligible in the deciding tier, or rejected with reasons
    eligible = {c.agent_id for c in decision.eligible}
    assert eligible | set(decision.rejected) == {a.user_id for a in ags}
    assert not eligible & set(decision.rejected)
    assert all(decision.rejected.values())
    if decision.agent_id is None:
        assert not decision.eligible
        assert decision.queue == decision.queues_tried[-1]
    else:
        assert decision.eligible[0].agent_id == decision.agent_id
    assert decision.explain().startswith(f"ticket {req.ticket_id}:")


@settings(max_examples=60, deadline=None)
@given(
    router=routers,
    ags=agents(),
    reqs=st.lists(requirements(), max_size=15, unique_by=lambda r: r.ticket_id),
    seed=st.integers(),
)
def test_backlog_never_exceeds_capacity_never_ineligible_and_is_deterministic(
    router, ags, reqs, seed
):
    plan = router.route_backlog(reqs, ags, NOW, explain=False)
    # replay the plan against the brute force, one ticket at a time
    loads = {a.user_id: a.load for a in ags}
    last = {a.user_id: a.last_assigned_at for a in ags}
    by_id = {a.user_id: a for a in ags}
    assert len(reqs) == len(plan.decisions)
    stamp = NOW
    recent = {}
    for d in plan.decisions:
        req = d.requirement
        if req.customer_id in recent:  # a customer's later tickets stick within the call
            assert recent[req.customer_id] == req.previous_agent
        expected = ref_route(router, req, ags, loads, last)
        assert expected == (d.agent_id, d.queue)
        if d.agent_id is not None:
            teams = dict(ref_tiers(router, d.requirement))[d.queue]
            assert ref_eligible(by_id[d.agent_id], d.requirement, loads[d.agent_id], teams)
            if req.customer_id is not None:
                recent[req.customer_id] = d.agent_id
            loads[d.agent_id] += d.weight
            last[d.agent_id] = stamp
            stamp += dt.timedelta(microseconds=1)
    assert loads == dict(plan.loads)
    assert all(plan.loads[a.user_id] <= a.capacity for a in ags)
    # the same state in any order gives the same plan, with or without explanations
    shuffled = list(ags)
    random.Random(seed).shuffle(shuffled)
    again = router.route_backlog(list(reversed(reqs)), shuffled, NOW, explain=True)
    assert [(d.ticket_id, d.agent_id, d.queue) for d in plan.decisions] == [
        (d.ticket_id, d.agent_id, d.queue) for d in again.decisions
    ]


def test_rules_derive_requirements_and_weights():
    router = TicketRouter(
        rules=[
            RequirementRule(name="billing", when={"category": "billing"}, skills={"billing": 2}),
            RequirementRule(
                name="gold",
                when={"tier": ["gold", "platinum"]},
                teams={"vip"},
                queue="vip",
                weight=5,
            ),
            RequirementRule(name="wechat zh", when={"channel": "wechat"}, skills={"billing": 3}),
        ]
    )
    ticket = Ticket(
        subject="refund", category="billing", channel="wechat", skills={"Refund"}, priority="urgent"
    )
    req = router.requirement(ticket, language="ZH", tier="gold", previous_agent="a1")
    assert dict(req.skills) == {"billing": 3, "refund": 1}
    assert req.rules == ("billing", "gold", "wechat zh")
    assert (frozenset({"vip"}), "vip", 5, "zh") == (req.teams, req.queue, req.weight, req.language)
    plain = router.requirement(Ticket(subject="x", priority="high"))
    assert (plain.weight, plain.queue, dict(plain.skills)) == (2, None, {})


def test_sticky_round_robin_overflow_and_reasons():
    ags = [
        Agent(user_id="ann", skills={"tech": 3}, capacity=4, teams={"t1"}),
        Agent(user_id="bob", skills={"tech": 3}, capacity=4, teams={"t1"}),
        Agent(user_id="cyd", skills={"tech": 5}, capacity=4, load=2, teams={"t2"}),
        Agent(user_id="dan", skills={"tech": 5}, capacity=4, presence="away", teams={"t1"}),
    ]
    router = TicketRouter(
        queues=[
            RoutingQueue(name="front", teams={"t1"}, overflow="back"),
            RoutingQueue(name="back", teams={"t2"}),
        ]
    )
    reqs = [
        TicketRequirement(
            ticket_id=uuid.UUID(int=i), skills={"tech": 1}, queue="front", created_at=NOW
        )
        for i in range(5)
    ]
    plan = router.route_backlog(reqs, ags, NOW)
    # ann and bob alternate (round robin among equal load), then both full -> overflow to back
    assert [d.agent_id for d in plan.decisions] == ["ann", "bob", "ann", "bob", "ann"]
    assert "round robin" in plan.decisions[0].reason
    assert plan.decisions[0].rejected["dan"] == ("presence away",)
    full = router.route_backlog(reqs * 2, ags, NOW)
    assert [d.queue for d in full.decisions] == [
        "front",
        "front",
        "front",
        "front",
        "front",
        "front",
        "front",
        "front",
        "back",
        "back",
    ]
    assert full.decisions[-1].queues_tried == ("front", "back")
    sticky = router.route(
        TicketRequirement(skills={"tech": 1}, queue="front", previous_agent="bob"),
        ags,
        NOW,
        loads={"bob": 1},
    )
    assert sticky.agent_id == "bob" and "sticky" in sticky.reason
    best = TicketRouter(strategy="best_skill").route(
        TicketRequirement(skills={"tech": 1}), ags, NOW
    )
    assert best.agent_id == "cyd"
    nobody = router.route(TicketRequirement(skills={"tech": 9}, queue="front"), ags, NOW)
    assert nobody.agent_id is None and nobody.queue == "back"
    assert "skill tech at level 3 < 9" in nobody.rejected["ann"]


def test_shifts_in_agent_time_zone_and_overnight():
    night = Agent(
        user_id="n", timezone="Asia/Shanghai", shifts=AgentShift.weekly("tue", "22:00-06:00")
    )
    # 2025-06-04 03:30 UTC = Wed 11:30 in Shanghai: off shift; Tue 23:00 UTC... = Wed 07:00 local
    router = TicketRouter()
    req = TicketRequirement()
    assert "off shift" in router.route(req, [night], NOW).rejected["n"]
    inside = dt.datetime(2025, 6, 3, 21, 0, tzinfo=UTC)  # Wed 05:00 local, Tue's night shift
    assert router.route(req, [night], inside).agent_id == "n"
