"""Customer value analytics on a small shop: RFM, CLV, churn, clusters and basket rules.

    python examples/analytics_value.py [--url memory://] [--customers 300]

Fills a store with made-up customers who buy, lapse, open tickets, answer
satisfaction surveys and react to a campaign; then reads it back through a
session (so tenant and policy apply) and asks the value questions. Needs the
``analytics`` extra.
"""

from __future__ import annotations

import argparse
import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd

import crmcore
from crmcore import Customer, Money, Order, OrderLine, SurveyKind, SurveyResponse, Ticket
from crmcore.analytics import (
    ChurnRiskModel,
    basket_rules,
    churn_drivers,
    churn_labels,
    cluster_customers,
    clv,
    customer_features,
    read_campaign_events,
    read_order_lines,
    read_orders,
    read_surveys,
    read_tickets,
    rfm,
    survival_by_segment,
    survival_frame,
)
from crmcore.model import Campaign, CampaignEvent

AS_OF = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
START = AS_OF - dt.timedelta(days=730)
PRICES = {
    "tea": "38",
    "kettle": "199",
    "cups": "59",
    "beans": "88",
    "grinder": "399",
    "filter": "25",
    "mug": "45",
}
# what tends to go together in one basket
BUNDLES = [("tea", "kettle"), ("tea", "cups"), ("beans", "grinder"), ("beans", "filter"), ("mug",)]


def fill(crm: crmcore.Crm, n: int, seed: int = 7) -> None:
    """Customers with their own buying rate, spend and lifetime; service and campaign history."""
    rng = np.random.default_rng(seed)
    with crm.session() as s:
        people = s.customers.add_many(
            [Customer(first_name=f"Buyer{i}", last_name="Demo") for i in range(n)]
        )
        campaign = s.campaigns.add(Campaign(name="Spring tea"))
        orders, tickets, surveys, events = [], [], [], []
        for person in people:
            t = rng.uniform(0, 300)
            rate = rng.gamma(1.2, 1 / 40)  # purchases per day while active
            unhappy = rng.random() < 0.25
            life = rng.exponential(150 if unhappy else 500)
            death = t + life
            while t < min(death, 730):
                bundle = BUNDLES[int(rng.integers(len(BUNDLES)))]
                skus = list(bundle) + (["mug"] if rng.random() < 0.2 else [])
                orders.append(
                    Order(
                        customer_id=person.id,
                        ordered_at=START + dt.timedelta(days=float(t)),
                        lines=tuple(
                            OrderLine(
                                sku=k,
                                quantity=int(rng.integers(1, 3)),
                                unit_price=Money(Decimal(PRICES[k]), "CNY"),
                            )
                            for k in dict.fromkeys(skus)
                        ),
                    )
                )
                t += rng.exponential(1 / rate) + 1
            for _ in range(int(rng.poisson(2.0 if unhappy else 0.3))):
                tickets.append(Ticket(subject="problem with my order", customer_id=person.id))
            if rng.random() < 0.6:
                surveys.append(
                    SurveyResponse(
                        kind=SurveyKind.CSAT,
                        customer_id=person.id,
                        score=int(rng.integers(1, 3) if unhappy else rng.integers(3, 6)),
                        responded_at=START + dt.timedelta(days=float(rng.uniform(0, 600))),
                    )
                )
            for kind in ("sent", "opened", "clicked")[: int(rng.integers(1, 4))]:
                events.append(
                    CampaignEvent(
                        campaign_id=campaign.id,
                        customer_id=person.id,
                        kind=kind,
                        occurred_at=START + dt.timedelta(days=400),
                    )
                )
        s.orders.add_many(orders)
        s.tickets.add_many(tickets)
        s.survey_responses.add_many(surveys)
        s.campaign_events.add_many(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="memory://")
    parser.add_argument("--customers", type=int, default=300)
    args = parser.parse_args()
    pd.set_option("display.width", 140)
    pd.set_option("display.max_columns", 12)

    # the shop's clock stands at the end of the history, so tickets are stamped then
    crm = crmcore.connect(args.url, clock=lambda: AS_OF - dt.timedelta(days=200))
    fill(crm, args.customers)
    with crm.session() as s:
        orders = read_orders(s)
        lines = read_order_lines(s)
        tickets = read_tickets(s)
        surveys = read_surveys(s)
        events = read_campaign_events(s)
    print(
        f"read {len(orders)} orders ({len(lines)} lines) of {orders.customer_id.nunique()} "
        f"customers, {len(tickets)} tickets, {len(surveys)} CSAT answers\n"
    )

    value = rfm(orders, AS_OF)
    print(value)
    print(value.segments.round(2), "\n")

    lifetime = clv(
        orders, AS_OF, time_unit="W", periods=12, period_length=4.345, discount_rate=0.01
    )  # 12 months of 4.345 weeks, 1% a month
    print(lifetime.purchases)
    print(lifetime.spend)
    top = lifetime.frame.sort_values("clv", ascending=False).head(5)
    print("top customers by 12-month CLV:")
    print(top[["frequency", "recency", "T", "p_alive", "expected_purchases", "clv"]].round(2))
    print()

    # survival: who lapsed (no order for 120 days), split by RFM segment group
    life = survival_frame(orders, AS_OF, churn_after_days=120)
    life["complained"] = tickets.groupby("customer_id").size().reindex(life.index).fillna(0)
    life["group"] = np.where(life["complained"] > 0, "had tickets", "no tickets")
    curves = survival_by_segment(life, segment="group")
    print(curves)
    print(curves.medians, "\n")
    print(churn_drivers(life, ["complained", "monetary"]).frame.round(4), "\n")

    # churn risk: behaviour up to a cutoff, label = no order in the 120 days after it
    cutoff = AS_OF - dt.timedelta(days=120)
    features = customer_features(
        orders, cutoff, tickets=tickets, surveys=surveys, campaign_events=events
    )
    labels = churn_labels(orders, cutoff, horizon_days=120).reindex(features.index)
    risk = ChurnRiskModel(seed=0).fit(features, labels)
    print(risk)
    print(risk.importance.round(3), "\n")

    clusters = cluster_customers(
        value.frame[["recency_days", "frequency", "monetary"]], k=range(2, 6)
    )
    print(clusters)
    print(clusters.evidence.round(3))
    print(clusters.profiles[["customers", "description"]], "\n")

    rules = basket_rules(lines, min_support=0.05, min_confidence=0.3)
    print(rules)
    print(
        rules.frame[["antecedents", "consequents", "support", "confidence", "lift"]]
        .head(6)
        .round(3)
    )
    kinds = lines.groupby("customer_id")["item"].nunique()
    tea = lines.loc[lines["item"] == "tea", "customer_id"].unique()
    someone = kinds[kinds.index.isin(tea)].idxmin()  # a tea buyer with the fewest kinds
    print(f"\nrecommended for {someone}:")
    print(rules.recommend_for(someone))
    crm.close()


if __name__ == "__main__":
    main()
