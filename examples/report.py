"""From a store to one HTML report: a quarter of sales, service and a campaign with a holdout.

    python examples/report.py [--url sqlite:///crm-report.db] [--out crm-report.html]

Fills a CRM (by default a temporary SQLite file) with three months of
activity written through a session, with a clock that moves forward:
opportunities moved through the pipeline by ``transition`` (so the stage
history is real), tickets with SLA due times, CSAT/NPS survey answers, a
campaign whose holdout group got nothing, and the orders of its customers.
Then prints a few numbers from the reports (RFM grouped in the database) and
writes everything into one self-contained HTML file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

import crmcore
from crmcore import (
    Campaign,
    Money,
    Opportunity,
    Order,
    OrderLine,
    SurveyKind,
    SurveyResponse,
    Ticket,
)
from crmcore.analytics import (
    build_report,
    campaign_effect,
    pipeline_coverage,
    rfm,
    sales_funnel,
    satisfaction,
    win_rate,
)
from crmcore.model import CampaignEvent, CampaignMember
from crmcore.services import transition

UTC = dt.timezone.utc
START = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)
OWNERS = ["li.na", "wang.fang", "zhang.wei"]


class Clock:
    """A clock the example moves forward (connect(clock=...) takes any callable)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


def fill(crm: crmcore.Crm, clock: Clock, rnd: random.Random) -> None:
    with crm.session() as s:
        for i in range(150):
            clock.now = START + dt.timedelta(days=rnd.uniform(0, 80))
            deal = s.opportunities.add(
                Opportunity(
                    name=f"订单 {i}",
                    owner_id=rnd.choice(OWNERS),
                    team_id="east" if i % 3 else "west",
                    amount=Money(Decimal(rnd.randint(5, 120)) * 1000, "CNY"),
                    expected_close_date=(clock.now + dt.timedelta(days=rnd.randint(15, 75))).date(),
                )
            )
            skill = rnd.random()
            for _step in range(4):
                clock.now += dt.timedelta(days=rnd.uniform(1, 12))
                if deal.stage == "negotiation" or rnd.random() > 0.55 + skill / 3:
                    if rnd.random() < 0.6:
                        deal = transition(s, deal, "win" if rnd.random() < skill else "lose")
                    break
                deal = transition(s, deal, "advance")
        for i in range(90):
            clock.now = START + dt.timedelta(days=rnd.uniform(0, 85))
            fast = rnd.random() < 0.7
            ticket = s.tickets.add(
                Ticket(
                    subject=f"ticket {i}",
                    category=rnd.choice(["billing", "delivery", "product"]),
                    assignee_id=rnd.choice(["agent.chen", "agent.liu"]),
                    first_response_due_at=clock.now + dt.timedelta(hours=4),
                    resolution_due_at=clock.now + dt.timedelta(days=2),
                    first_response_at=clock.now
                    + dt.timedelta(hours=rnd.uniform(0.2, 3 if fast else 9)),
                    resolved_at=clock.now + dt.timedelta(hours=rnd.uniform(2, 40 if fast else 90)),
                )
            )
            s.survey_responses.add(
                SurveyResponse(
                    kind=SurveyKind.CSAT,
                    score=rnd.choice([5, 4, 4, 3] if fast else [2, 3, 4]),
                    ticket_id=ticket.id,
                    responded_at=clock.now + dt.timedelta(days=2),
                )
            )
            s.survey_responses.add(
                SurveyResponse(
                    kind=SurveyKind.NPS,
                    score=rnd.choice([10, 9, 8, 6] if fast else [3, 6, 7, 9]),
                    ticket_id=ticket.id,
                    responded_at=clock.now + dt.timedelta(days=2),
                )
            )
        clock.now = START + dt.timedelta(days=30)
        spring = s.campaigns.add(Campaign(name="春季促销 Spring sale", budget=Money("8000", "CNY")))
        members, events = [], []
        for i in range(400):
            customer = uuid.uuid4()
            holdout = i % 10 == 0  # one in ten gets nothing
            members.append(
                CampaignMember(
                    campaign_id=spring.id,
                    customer_id=customer,
                    status="holdout" if holdout else "targeted",
                )
            )
            if not holdout:
                reached = ["sent", "delivered", "opened", "clicked"][
                    : rnd.choice([1, 2, 2, 3, 3, 4])
                ]
                events += [
                    CampaignEvent(campaign_id=spring.id, customer_id=customer, kind=k)
                    for k in reached
                ]
            if rnd.random() < (0.04 if holdout else 0.12):
                events.append(
                    CampaignEvent(
                        campaign_id=spring.id,
                        customer_id=customer,
                        kind="converted",
                        value=Money("450", "CNY"),
                    )
                )
        s.campaign_members.add_many(members)
        s.campaign_events.add_many(events)
        orders = []
        for member in members:
            for _ in range(rnd.choice([0, 1, 1, 2, 3, 5])):
                at = START + dt.timedelta(days=rnd.uniform(0, 90))
                price = Money(Decimal(rnd.randint(20, 400)), "CNY")
                line = OrderLine(sku=rnd.choice(["tea", "cups", "kettle"]), unit_price=price)
                orders.append(Order(customer_id=member.customer_id, ordered_at=at, lines=(line,)))
        s.orders.add_many(orders)
    clock.now = START + dt.timedelta(days=95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a database URL (default: a temporary SQLite file)")
    parser.add_argument("--out", default="crm-report.html", help="the HTML file to write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'crm.db'}"
        clock = Clock()
        crm = crmcore.connect(url, clock=clock)
        fill(crm, clock, random.Random(2026))
        with crm.session() as s:
            funnel = sales_funnel(s, period=None).frame.set_index("stage")
            print("funnel:", ", ".join(f"{k} {int(v)}" for k, v in funnel["entered"].items()))
            rates = win_rate(s, by="owner_id", period=None).frame
            for row in rates.itertuples():
                print(f"win rate {row.owner_id:<10} {row.win_rate:5.0%} of {row.closed} closed")
            overall = satisfaction(s, period=None).frame.iloc[0]
            print(f"CSAT {overall['csat']:.0f}%  NPS {overall['nps']:+.0f}")
            camp = campaign_effect(s).frame.iloc[0]
            print(
                f"campaign: converts {camp['conversion_rate']:.1%} vs holdout "
                f"{camp['holdout_rate']:.1%} (lift {camp['lift']:+.0%}, p={camp['p_value']:.3f})"
            )
            # RFM is grouped per customer in the database: no order record is read
            value = rfm(s, clock.now)
            print(value)
            quota = {dt.date(2026, 1, 1): 1_500_000, dt.date(2026, 4, 1): 2_000_000}
            build_report(
                s,
                [
                    "funnel",
                    "stage_times",
                    "win_rate",
                    "owners",
                    "forecast",
                    pipeline_coverage(s, quota),
                    "satisfaction",
                    "agents",
                    "sla",
                    "campaigns",
                    value,
                ],
                title="CRM report, Q1 2026",
                path=args.out,
            )
        crm.close()
    print(f"wrote {args.out} ({Path(args.out).stat().st_size // 1024} KiB, self-contained)")


if __name__ == "__main__":
    main()
