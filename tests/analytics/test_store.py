"""From a store to every analysis: readers respect the tenant and feed the pure functions."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import crmcore
from crmcore import Money, Order, OrderLine, Principal, SurveyKind, SurveyResponse, Ticket
from crmcore.analytics import (
    basket_rules,
    customer_features,
    read_campaign_events,
    read_order_lines,
    read_orders,
    read_surveys,
    read_tickets,
)
from crmcore.model import Campaign, CampaignEvent
from crmcore.query import field

AS_OF = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


def test_readers_feed_features_and_baskets(
    crm: crmcore.Crm, session: Callable[[], crmcore.Session], tenant: str
) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()

    def order(who: uuid.UUID, days: int, *skus: str) -> Order:
        return Order(
            customer_id=who,
            ordered_at=AS_OF - dt.timedelta(days=days),
            lines=tuple(OrderLine(sku=s, unit_price=Money("10.50", "CNY")) for s in skus),
        )

    with session() as s:
        s.orders.add_many(
            [
                order(alice, 100, "tea", "kettle"),
                order(alice, 10, "tea", "kettle", "cups"),
                order(bob, 200, "pen"),
                order(bob, 50, "tea", "kettle"),
            ]
        )
        s.tickets.add(Ticket(subject="broken", customer_id=bob))
        s.tickets.add(Ticket(subject="late", customer_id=bob))
        s.survey_responses.add(
            SurveyResponse(
                kind=SurveyKind.CSAT,
                score=2,
                customer_id=bob,
                responded_at=AS_OF - dt.timedelta(days=40),
            )
        )
        s.survey_responses.add(
            SurveyResponse(
                kind=SurveyKind.NPS,
                score=9,
                customer_id=alice,
                responded_at=AS_OF - dt.timedelta(days=40),
            )
        )
        campaign = s.campaigns.add(Campaign(name="spring"))
        s.campaign_events.add_many(
            [
                CampaignEvent(
                    campaign_id=campaign.id,
                    customer_id=alice,
                    kind=k,
                    occurred_at=AS_OF - dt.timedelta(days=20),
                )
                for k in ("sent", "opened", "clicked")
            ]
        )
    with crm.session(Principal.system_principal(f"{tenant}-x")) as other:
        other.tickets.add(Ticket(subject="not ours", customer_id=alice))
    with session() as s:
        orders = read_orders(s, page_size=3)
        lines = read_order_lines(s)
        tickets = read_tickets(s)
        surveys = read_surveys(s)
        events = read_campaign_events(s)
        only_bob = read_orders(s, field("customer_id") == bob)
    assert len(orders) == 4 and orders["amount"].sum() == pytest.approx(8 * 10.5)
    assert set(only_bob["customer_id"]) == {str(bob)}
    assert len(tickets) == 2
    assert surveys["score"].tolist() == [2.0]  # CSAT only by default
    features = customer_features(
        orders,
        AS_OF,
        tickets=tickets.assign(opened_at=AS_OF - pd.Timedelta(days=1)),
        surveys=surveys,
        campaign_events=events,
    )
    a, b = features.loc[str(alice)], features.loc[str(bob)]
    assert (a["frequency"], a["recency_days"], a["engagement"], a["tickets"]) == (2, 10, 2, 0)
    assert (b["frequency"], b["recency_days"], b["tickets"], b["csat"]) == (2, 50, 2, 2.0)
    rules = basket_rules(lines, min_support=0.5, min_confidence=0.9)
    recs = rules.recommend_for(str(bob))
    assert "cups" not in set(recs["item"])  # support 1/4 is below the threshold
    assert rules.also_bought("tea").loc[0, "item"] == "kettle"


def test_readers_see_only_what_the_policy_lets_the_principal_read(tmp_path: Path) -> None:
    from crmcore.policy import Policy

    policy = Policy.from_dict(
        {
            "name": "shop",
            "rules": [
                {
                    "name": "reps-own-orders",
                    "roles": ["rep"],
                    "entities": ["Order"],
                    "actions": ["read", "create"],
                    "condition": "resource.owner_id == principal.user_id",
                },
            ],
        }
    )
    crm = crmcore.connect(f"sqlite:///{tmp_path / 'policy.db'}", policy=policy)
    who = uuid.uuid4()
    with crm.session(Principal.system_principal("shop")) as s:
        s.orders.add_many(
            [
                Order(
                    customer_id=who,
                    owner_id=owner,
                    ordered_at=AS_OF,
                    lines=(OrderLine(sku="x", unit_price=Money("5", "CNY")),),
                )
                for owner in ("ann", "ann", "bob")
            ]
        )
    ann = Principal(user_id="ann", tenant_id="shop", roles="rep")
    with crm.session(ann) as s:
        mine = read_orders(s, page_size=1)
    assert len(mine) == 2 and mine["amount"].sum() == 10.0
    crm.close()


def test_order_readers_scope_statuses_and_narrow_with_where(
    session: Callable[[], crmcore.Session],
) -> None:
    who = uuid.uuid4()

    def order(status: str, currency: str) -> Order:
        return Order(
            customer_id=who,
            status=status,
            currency=currency,
            ordered_at=AS_OF,
            lines=(OrderLine(sku="x", unit_price=Money("5", currency)),),
        )

    with session() as s:
        s.orders.add_many(
            [
                order("placed", "CNY"),
                order("cancelled", "CNY"),
                order("placed", "USD"),
                order("refunded", "USD"),
            ]
        )
        s.orders.add(Order(customer_id=None, ordered_at=AS_OF))
    with session() as s:
        assert len(read_orders(s)) == 2
        assert len(read_orders(s, exclude_statuses=())) == 4
        cny = read_orders(s, field("currency") == "CNY")
        assert (cny["currency"].tolist(), cny["status"].tolist()) == (["CNY"], ["placed"])
        assert len(read_order_lines(s, field("currency") == "USD", exclude_statuses=())) == 2
