"""Service desk: route tickets by skill, language and load; watch SLA clocks; escalate.

Runs in a second on ``memory://``: three agents, a Chinese business calendar
with the Spring Festival and its adjusted working Sunday, a few tickets.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import crmcore
from crmcore.model import Agent, AgentShift, Customer, Ticket
from crmcore.routing import RequirementRule, RoutingQueue, TicketRouter
from crmcore.services import route_backlog, route_ticket, run_escalations, sla_status, transition
from crmcore.sla import BusinessCalendar, EscalationRule, SlaPolicy, SlaTarget
from crmcore.testing import FrozenClock

SH = ZoneInfo("Asia/Shanghai")
clock = FrozenClock(dt.datetime(2025, 1, 24, 16, 0, tzinfo=SH))  # Friday 16:00 before the festival
crm = crmcore.connect("memory://", clock=clock)

router = TicketRouter(
    rules=[
        RequirementRule(name="billing", when={"category": "billing"}, skills={"billing": 2}),
        RequirementRule(name="gold", when={"tier": "gold"}, queue="vip"),
    ],
    queues=[
        RoutingQueue(name="vip", teams={"vip"}, overflow="default"),
        RoutingQueue(name="default", overflow="backlog"),
    ],
)
calendar = BusinessCalendar.for_country("CN", [2025], hours={"mon-fri": "09:00-18:00"})
policy = SlaPolicy(
    name="standard",
    calendar=calendar,
    targets=[
        SlaTarget(metric="first_response", minutes=120),
        SlaTarget(metric="first_response", minutes=30, tier="gold"),
        SlaTarget(metric="resolution", minutes=8 * 60),
    ],
)

with crm.session() as s:
    for spec in (
        {"user_id": "li", "skills": {"billing": 4}, "languages": {"zh"}, "teams": {"vip"}},
        {"user_id": "wang", "skills": {"billing": 2, "tech": 3}, "languages": {"zh", "en"}},
        {"user_id": "anna", "skills": {"tech": 5}, "languages": {"en"}, "capacity": 2},
    ):
        s.repo(Agent).add(
            Agent(
                **spec, timezone="Asia/Shanghai", shifts=AgentShift.weekly("mon-fri", "09:00-18:00")
            )
        )
    gold = s.customers.add(
        Customer(first_name="伟", last_name="张", preferred_language="zh", custom={"tier": "gold"})
    )
    other = s.customers.add(Customer(first_name="Sam", last_name="Lee", preferred_language="en"))
    vip = s.repo(Ticket).add(
        Ticket(subject="发票抬头错误", category="billing", customer_id=gold.id, priority="high")
    )
    for i in range(3):
        s.repo(Ticket).add(Ticket(subject=f"VPN down #{i}", skills={"tech"}, customer_id=other.id))

with crm.session() as s:
    first = route_ticket(s, vip.id, router=router)
    print(first.decision.explain())
    print()
    for a in route_backlog(s, router=router):
        print(f"{a.ticket.subject:12} -> {a.decision.agent_id or 'queue ' + str(a.ticket.queue)}")

# first response (gold tier): 30 business minutes -> Friday 16:30; resolution: 8 business
# hours -> 2 on Friday, then 6 on Sunday 26 Jan, China's adjusted working day (调休).
with crm.session() as s:
    status = sla_status(s, vip.id, policies=[policy])
    frt = status.clock("first_response")
    res = status.clock("resolution")
    print()
    print(f"first response due {frt.due_at.astimezone(SH):%a %d %b %H:%M} ({frt.state.value})")
    print(f"resolution due     {res.due_at.astimezone(SH):%a %d %b %H:%M} ({res.state.value})")

clock.advance(dt.timedelta(minutes=25))
with crm.session() as s:
    transition(s, s.repo(Ticket).get(vip.id), "open")
    rules = [
        EscalationRule(
            name="frt-warn", metric="first_response", when="at_risk", notify=["team-lead"]
        )
    ]
    fired = run_escalations(s, None, rules, policies=[policy])
    again = run_escalations(s, None, rules, policies=[policy])
    print()
    print(f"escalations fired: {[(e.rule, e.notify) for e in fired]}; run again: {len(again)}")
