"""Satisfaction (CSAT, NPS, CES), SLA attainment and campaign effect on data worked out by hand."""

from __future__ import annotations

import datetime as dt
import math
import uuid

import pytest

import crmcore
from crmcore import Campaign, Money, Principal, SurveyKind, SurveyResponse, Ticket
from crmcore.analytics import campaign_effect, satisfaction, sla_attainment, two_proportion_z_test
from crmcore.model import CampaignEvent, CampaignMember
from crmcore.testing.contract import stamp

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 3, 3, 9, tzinfo=UTC)
NOW = dt.datetime(2025, 6, 1, tzinfo=UTC)


def _who() -> Principal:
    return Principal.system_principal(f"t-{uuid.uuid4().hex[:12]}")


def _h(n: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=n)


def _service(crm: crmcore.Crm) -> Principal:
    who = _who()
    tickets = [
        # agent a1, billing: answered in 1h (due 4h), resolved in 10h (due 24h): both met
        Ticket(
            subject="a",
            assignee_id="a1",
            category="billing",
            first_response_due_at=_h(4),
            first_response_at=_h(1),
            resolution_due_at=_h(24),
            resolved_at=_h(10),
        ),
        # agent a1, tech: answered late (5h > 4h), resolved late (30h > 24h)
        Ticket(
            subject="b",
            assignee_id="a1",
            category="tech",
            first_response_due_at=_h(4),
            first_response_at=_h(5),
            resolution_due_at=_h(24),
            resolved_at=_h(30),
        ),
        # agent a2: never answered, overdue at NOW (breached); resolution due after NOW: pending
        Ticket(
            subject="c",
            assignee_id="a2",
            category="tech",
            first_response_due_at=_h(4),
            resolution_due_at=NOW + dt.timedelta(days=1),
        ),
        # no SLA at all
        Ticket(subject="d", assignee_id="a2", category="billing"),
    ]
    with crm.session(who) as s:
        stored = [stamp(t, who.tenant_id, at=T0) for t in tickets]
        s.inner(Ticket).add_many(stored)
        a, b, c, _d = stored
        answers = [
            (SurveyKind.CSAT, 5, a),
            (SurveyKind.CSAT, 4, a),
            (SurveyKind.CSAT, 2, b),
            (SurveyKind.NPS, 10, a),
            (SurveyKind.NPS, 9, b),
            (SurveyKind.NPS, 8, c),
            (SurveyKind.NPS, 3, c),
            (SurveyKind.CES, 2, a),
            (SurveyKind.CES, 5, c),
        ]
        s.survey_responses.add_many(
            [
                SurveyResponse(kind=k, score=v, ticket_id=t.id, responded_at=_h(48))
                for k, v, t in answers
            ]
            + [SurveyResponse(kind=SurveyKind.NPS, score=0, responded_at=_h(24 * 40))]
        )
    return who


def test_satisfaction_overall_and_per_agent(crm: crmcore.Crm) -> None:
    who = _service(crm)
    with crm.session(who) as s:
        overall = satisfaction(s, period=None).frame.iloc[0]
        agents = satisfaction(s, by="assignee_id", period=None).frame
        months = satisfaction(s, period="month").frame
    assert overall["csat_responses"] == 3
    assert overall["csat"] == pytest.approx(100 * 2 / 3)
    assert overall["csat_mean"] == pytest.approx(11 / 3)
    # NPS: 10, 9 promoters; 8 passive; 3, 0 detractors -> (2 - 2) / 5
    assert (overall["nps_responses"], overall["nps"]) == (5, 0)
    assert overall["ces_mean"] == pytest.approx(3.5)
    a1 = agents[agents["assignee_id"] == "a1"].iloc[0]
    a2 = agents[agents["assignee_id"] == "a2"].iloc[0]
    assert (a1["csat"], a1["nps"], a1["ces_mean"]) == (pytest.approx(200 / 3), 100, 2)
    assert (a2["nps_responses"], a2["nps"], a2["ces_mean"]) == (2, -50, 5)
    assert math.isnan(a2["csat"])
    # the response without a ticket has no agent
    assert agents["nps_responses"].sum() == 5
    assert list(months["period"]) == [dt.date(2025, 3, 1), dt.date(2025, 4, 1)]
    assert list(months["nps"]) == [pytest.approx(100 * (2 - 1) / 4), -100]


def test_sla_attainment(crm: crmcore.Crm) -> None:
    who = _service(crm)
    clocked = crmcore.Crm(crm.store, clock=lambda: NOW)
    with clocked.session(who) as s:
        total = sla_attainment(s, period=None).frame.iloc[0]
        agents = sla_attainment(s, by="assignee_id", period="month").frame
    assert total["tickets"] == 4
    assert (total["response_met"], total["response_breached"], total["response_pending"]) == (
        1,
        2,
        0,
    )
    assert total["response_attainment"] == pytest.approx(1 / 3)
    assert (total["resolution_met"], total["resolution_breached"]) == (1, 1)
    assert total["resolution_pending"] == 1
    assert total["resolution_attainment"] == pytest.approx(0.5)
    assert total["mean_resolution_hours"] == pytest.approx(20)
    assert list(agents["assignee_id"]) == ["a1", "a2"]
    assert list(agents["period"]) == [dt.date(2025, 3, 1)] * 2
    assert list(agents["response_attainment"][:1]) == [0.5]


def test_two_proportion_z_test_matches_statsmodels_reference() -> None:
    # statsmodels' proportions_ztest example (research notes): 5/83 vs 12/99
    z, p = two_proportion_z_test(5, 83, 12, 99)
    assert z == pytest.approx(-1.408, abs=5e-4)
    assert p == pytest.approx(0.1592, abs=5e-5)
    assert all(math.isnan(v) for v in two_proportion_z_test(0, 0, 1, 2))


def test_campaign_rates_and_lift_over_holdout(crm: crmcore.Crm) -> None:
    who = _who()
    people = [uuid.uuid4() for _ in range(14)]
    treated, held = people[:10], people[10:]
    with crm.session(who) as s:
        camp = s.campaigns.add(Campaign(name="春季促销", budget=Money("100", "CNY")))
        other = s.campaigns.add(Campaign(name="Other"))
        s.campaign_members.add_many(
            [CampaignMember(campaign_id=camp.id, customer_id=c) for c in treated]
            + [CampaignMember(campaign_id=camp.id, customer_id=c, status="holdout") for c in held]
            + [CampaignMember(campaign_id=other.id, customer_id=people[0])]
        )
        events = []
        for i, c in enumerate(treated):
            events.append(("sent", c))
            if i < 8:
                events.append(("delivered", c))
            if i < 6:
                events += [("opened", c), ("opened", c)]  # a second open is the same person
            if i < 3:
                events.append(("clicked", c))
            if i < 4:
                events.append(("converted", c))
        events.append(("converted", held[0]))
        s.campaign_events.add_many(
            [
                CampaignEvent(
                    campaign_id=camp.id,
                    customer_id=c,
                    kind=k,
                    value=Money("60", "CNY") if k == "converted" else None,
                )
                for k, c in events
            ]
            + [CampaignEvent(campaign_id=other.id, customer_id=people[0], kind="sent")]
        )
    with crm.session(who) as s:
        report = campaign_effect(s, [camp.id])
        both = campaign_effect(s)
    row = report.frame.iloc[0]
    assert row["campaign"] == "春季促销"
    assert (row["members"], row["sent"], row["delivered"], row["opened"]) == (10, 10, 8, 6)
    assert (row["open_rate"], row["click_rate"], row["click_to_open"]) == (0.75, 3 / 8, 0.5)
    assert row["delivery_rate"] == 0.8
    assert (row["converted"], row["conversion_rate"]) == (4, 0.4)
    assert (row["holdout"], row["holdout_converted"], row["holdout_rate"]) == (4, 1, 0.25)
    assert row["lift"] == pytest.approx(0.6)
    assert row["uplift"] == pytest.approx(0.15)
    assert row["p_value"] == pytest.approx(two_proportion_z_test(4, 10, 1, 4)[1])
    assert (row["revenue"], row["budget"], row["roi"]) == (300.0, 100.0, 2.0)
    assert len(both.frame) == 2
    o = both.frame[both.frame["campaign"] == "Other"].iloc[0]
    assert (o["members"], o["sent"], o["delivered"], o["holdout"]) == (1, 1, 1, 0)
    assert math.isnan(o["lift"]) and math.isnan(o["roi"])
