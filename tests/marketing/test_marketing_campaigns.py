"""Campaigns on every backend: send with a snapshot, ingest events idempotently, report."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import services as sv
from crmcore.channels import FakeChannel
from crmcore.errors import InvalidTransition, NotFound, ValidationError
from crmcore.marketing import AudienceRules, consent_verdict
from crmcore.model import (
    Campaign,
    CampaignEvent,
    CampaignMember,
    CampaignVariant,
    Channel,
    ChannelSuppression,
    Consent,
    ConsentStatus,
    Customer,
    Money,
    Order,
    OrderLine,
)
from crmcore.query import TRUE
from crmcore.storage import FUNNEL_RANK, campaign_funnel


def _setup(session: Any, n: int = 6, *, consent: bool = True) -> tuple[Campaign, list[Customer]]:
    with session() as s:
        cs = s.customers.add_many(
            Customer(first_name=f"m{i}", email=f"m{i}@x.cn") for i in range(n)
        )
        if consent:
            s.repo(Consent).add_many(
                Consent(
                    customer_id=c.id,
                    purpose="marketing",
                    status=ConsentStatus.GRANTED,
                    recorded_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                )
                for c in cs
            )
        seg = sv.create_segment(s, "all", TRUE)
        camp = s.repo(Campaign).add(
            Campaign(name="Launch 1", channel=Channel.EMAIL, segment_id=seg.id)
        )
        for name, w in (("A", 1), ("B", 1)):
            s.repo(CampaignVariant).add(
                CampaignVariant(
                    campaign_id=camp.id,
                    name=name,
                    weight=w,
                    subject=f"{name} hi {{first_name}}",
                    body="go {link:home}",
                    links={"home": "https://x.cn/"},
                )
            )
    return camp, cs


def test_send_snapshots_members_and_skips_repeats(session: Any) -> None:
    camp, cs = _setup(session)
    fake = FakeChannel(reject={"m0@x.cn"})
    with session() as s:
        rep = sv.send_campaign(s, camp.id, fake)
    assert rep.sent == 5 and rep.failed == 1
    assert rep.campaign.status == "running"
    assert sum(rep.variants.values()) == 5
    msg = fake.outbox[0]
    names = {c.id: c.first_name for c in cs}
    assert msg.subject == f"{msg.variant} hi {names[msg.customer_id]}"  # type: ignore[index]
    assert "utm_campaign=launch-1" in msg.body and f"utm_content={msg.variant}" in msg.body
    with session() as s:
        members = list(s.repo(CampaignMember).stream())
        assert sorted(m.status for m in members) == ["failed"] + ["sent"] * 5
        assert {m.variant for m in members} <= {"A", "B"}
        # the bounced address is suppressed; the next send leaves it (and repeats) out
        (sup,) = s.repo(ChannelSuppression).find()
        assert (sup.address, sup.reason) == ("m0@x.cn", "bounced")
        again = sv.send_campaign(s, camp.id, FakeChannel())
    assert again.sent == 0
    assert again.audience.reasons() == {"already_sent": 5, "suppressed": 1}


def test_send_needs_segment_variant_and_a_startable_campaign(session: Any) -> None:
    camp, _ = _setup(session)
    with session() as s:
        bare = s.repo(Campaign).add(Campaign(name="x", channel=Channel.EMAIL))
        with pytest.raises(ValidationError, match="segment"):
            sv.send_campaign(s, bare, FakeChannel())
        with pytest.raises(ValidationError, match="delivers sms"):
            sv.send_campaign(s, camp, FakeChannel(Channel.SMS))
    with session() as s:
        c = sv.transition(s, s.repo(Campaign).get(camp.id), "cancel")
        with pytest.raises(InvalidTransition):
            sv.send_campaign(s, c, FakeChannel())


def test_schedule_goes_through_the_campaign_machine(session: Any) -> None:
    camp, _ = _setup(session)
    with session() as s, pytest.raises(InvalidTransition):
        sv.schedule_campaign(s, camp.id, s.now() - dt.timedelta(hours=1))
    with session() as s:
        done = sv.schedule_campaign(s, camp.id, s.now() + dt.timedelta(days=1))
        assert done.status == "scheduled"
        assert [h.event for h in sv.transition_history(s, Campaign, camp.id)] == ["schedule"]


def _events(camp: Campaign, cs: list[Customer], rng: random.Random) -> list[dict[str, Any]]:
    out = []
    t0 = dt.datetime(2026, 3, 1, 9, tzinfo=dt.timezone.utc)
    for c in cs:
        variant = rng.choice(["A", "B"])
        base = {"campaign_id": camp.id, "customer_id": c.id, "variant": variant}
        kinds = ["sent", "delivered"]
        kinds += [k for k in ("opened", "clicked", "converted") if rng.random() < 0.5]
        if rng.random() < 0.2:
            kinds.append(rng.choice(["unsubscribed", "bounced", "complained"]))
        for k in kinds:
            at = t0 + dt.timedelta(hours=rng.randint(0, 72))
            e = {**base, "id": f"{c.id}-{k}", "kind": k, "occurred_at": at}
            if k == "converted":
                e["value"] = Money("10.50", "CNY")
            out.append(e)
    return out


def _expected_funnel(events: list[dict[str, Any]]) -> dict[str | None, dict[str, int]]:
    stage: dict[tuple[str | None, uuid.UUID], int] = {}
    flags: dict[tuple[str | None, uuid.UUID], set[str]] = defaultdict(set)
    for e in events:
        key = (e["variant"], e["customer_id"])
        stage[key] = max(stage.get(key, -1), FUNNEL_RANK[e["kind"]])
        flags[key].add(e["kind"])
    out: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (v, _), r in stage.items():
        out[v]["sent"] += 1
        out[v]["delivered"] += r >= 1
        out[v]["opened"] += r >= 2
        out[v]["clicked"] += r >= 3
    for (v, _), ks in flags.items():
        for k in ("converted", "unsubscribed", "bounced", "complained"):
            out[v][k] += k in ks
    return out


def test_ingest_is_idempotent_out_of_order_and_reports_match(examples: int, fresh: Any) -> None:
    @settings(
        max_examples=max(3, examples // 4),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(seed=st.integers(0, 10**6), n=st.integers(1, 10))
    def check(seed: int, n: int) -> None:
        session = fresh()
        camp, cs = _setup(session, n)
        rng = random.Random(seed)
        events = _events(camp, cs, rng)
        shuffled = events[:]
        rng.shuffle(shuffled)
        half = len(shuffled) // 2
        with session() as s:
            first = sv.ingest_events(s, shuffled[:half] + shuffled[:3])  # repeats in one call
        with session() as s:
            second = sv.ingest_events(s, shuffled)  # and across calls
        assert first.stored + second.stored == len(events)
        assert first.duplicates == min(3, half) and second.duplicates == first.stored
        with session() as s:
            assert s.repo(CampaignEvent).count() == len(events)
            rows = campaign_funnel(s.inner(CampaignEvent), s.tenant_id, camp.id)
            funnel = {r.variant: r for r in rows}
            expected = _expected_funnel(events)
            assert set(funnel) == set(expected)
            for v, want in expected.items():
                got = funnel[v]
                for k in want:
                    assert getattr(got, k) == want[k], (v, k)
                conv = want["converted"]
                assert got.value == ({"CNY": Decimal("10.50") * conv} if conv else {})
            # unsubscribes wrote withdrawn consents; complaints and bounces suppressions
            unsub = {e["customer_id"] for e in events if e["kind"] == "unsubscribed"}
            for c in cs:
                history = list(s.repo(Consent).stream(customer_id=c.id))
                assert consent_verdict(history, Channel.EMAIL).allowed == (c.id not in unsub)
            bad = {e["customer_id"] for e in events if e["kind"] in ("bounced", "complained")}
            sup = {x.customer_id for x in s.repo(ChannelSuppression).stream()}
            assert sup == bad
            report = sv.campaign_report(s, camp.id, metric="click")
            assert report.total.funnel.sent == n
            if {"A", "B"} <= set(funnel):
                assert set(report.tests) == {"B"}
                assert report.chi_square is not None

    check()


def test_ingest_refuses_bad_events_whole(session: Any) -> None:
    camp, cs = _setup(session, 1)
    good = {
        "id": "ok",
        "kind": "opened",
        "campaign_id": camp.id,
        "customer_id": cs[0].id,
        "occurred_at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    }
    with session() as s, pytest.raises(ValidationError, match=r"\$\[1\]\.kind"):
        sv.ingest_events(s, [good, {**good, "id": "x", "kind": "read"}])
    with session() as s, pytest.raises(NotFound):
        sv.ingest_events(s, [{**good, "campaign_id": uuid.uuid4()}])
    with session() as s:
        assert s.repo(CampaignEvent).count() == 0


def test_report_revenue_cost_roi_and_timeline(session: Any) -> None:
    camp, cs = _setup(session, 4)
    with session() as s:
        sent = sv.send_campaign(s, camp.id, FakeChannel())
        sv.record_campaign_cost(s, camp.id, Money("100", "CNY"))
    assert sent.sent == 4
    now = dt.datetime.now(dt.timezone.utc)
    buyer = cs[0]
    with session() as s:
        sv.ingest_events(
            s,
            [
                {
                    "id": f"d{c.id}",
                    "kind": "delivered",
                    "campaign_id": camp.id,
                    "customer_id": c.id,
                    "occurred_at": now - dt.timedelta(seconds=1),
                }
                for c in cs
            ],
        )
        s.repo(Order).add(
            Order(
                customer_id=buyer.id,
                ordered_at=now,
                lines=(OrderLine(sku="x", quantity=3, unit_price=Money("100", "CNY")),),
            )
        )
    with session() as s:
        r = sv.campaign_report(s, camp.id)
        assert r.revenue == {"CNY": Decimal("300.00")}
        assert r.cost == {"CNY": Decimal("100.00")}
        assert r.roi == {"CNY": Decimal("2.0000")}
        assert r.total.delivery_rate == 1.0
        days = {(d, k) for d, k, _ in r.timeline}
        assert (now.date().isoformat(), "delivered") in days or (
            (now - dt.timedelta(seconds=1)).date().isoformat(),
            "delivered",
        ) in days
        assert {k for _, k, _ in r.timeline} == {"sent", "delivered"}
        rows = r.to_rows()
        assert rows[-1]["variant"] == "(total)" and rows[-1]["sent"] == 4
        with pytest.raises(ValidationError):
            sv.campaign_report(s, camp.id, metric="likes")


def test_send_rules_channel_must_match(session: Any) -> None:
    camp, _ = _setup(session, 1)
    with session() as s, pytest.raises(ValidationError):
        sv.send_campaign(s, camp.id, FakeChannel(), rules=AudienceRules(channel=Channel.SMS))


def test_due_campaigns_are_sent_and_budget_is_tracked(session: Any) -> None:
    camp, _ = _setup(session, 3)
    with session() as s:
        c = s.repo(Campaign).get(camp.id)
        s.repo(Campaign).update(attrs.evolve(c, budget=Money("250", "CNY")))
    with session() as s:
        at = s.now() + dt.timedelta(hours=1)
        sv.schedule_campaign(s, camp.id, at)
    channels = {Channel.EMAIL: FakeChannel()}
    minute = dt.timedelta(minutes=1)
    with session() as s:
        assert sv.send_due_campaigns(s, channels, now=at - minute) == []
        (rep,) = sv.send_due_campaigns(s, channels, now=at + minute)
        assert rep.sent == 3 and rep.campaign.status == "running"
        sv.record_campaign_cost(s, camp.id, Money("300", "CNY"))
    with session() as s:
        r = sv.campaign_report(s, camp.id)
        assert r.budget == Money("250", "CNY")
        assert r.budget_left == Decimal("-50")
        assert sv.send_due_campaigns(s, channels, now=at + dt.timedelta(days=1)) == []


def test_a_send_emits_campaign_sent_when_the_outbox_is_on() -> None:
    from crmcore.model import OutboxEvent

    crm = crmcore.connect("memory://", events=True)
    session = crm.session
    camp, _ = _setup(session)
    with session() as s:
        rep = sv.send_campaign(s, camp.id, FakeChannel(reject={"m0@x.cn"}))
    with session() as s:
        sent = [e for e in s.repo(OutboxEvent).stream() if e.event_type == "campaign.sent"]
    assert [(e.aggregate_id, e.payload["recipients"]) for e in sent] == [(camp.id, rep.sent)]
