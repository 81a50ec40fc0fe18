"""Audiences: nobody without consent for the channel is ever in its audience, and the rest."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore import services as sv
from crmcore.errors import ValidationError
from crmcore.marketing import (
    EXCLUSION_REASONS,
    AudienceCandidate,
    AudienceRules,
    consent_verdict,
    plan_audience,
)
from crmcore.model import (
    CampaignMember,
    Channel,
    ChannelSuppression,
    Consent,
    ConsentStatus,
    Customer,
)

NOW = dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.timezone.utc)  # 11:00 in Shanghai
CHANNELS = [Channel.EMAIL, Channel.SMS]


def _reference_allowed(consents: list[Consent], channel: Channel) -> bool:
    """Written apart from the library: sort the applicable statements, take the last."""
    applicable = [
        c
        for c in consents
        if c.purpose == "marketing" and c.deleted_at is None and c.channel in (None, channel)
    ]
    if not applicable:
        return False
    applicable.sort(key=lambda c: ((c.recorded_at or c.created_at), c.id.int))
    return applicable[-1].status is ConsentStatus.GRANTED


@st.composite
def histories(draw: st.DrawFn, customer_id: uuid.UUID) -> list[Consent]:
    out = []
    for _ in range(draw(st.integers(0, 4))):
        out.append(
            Consent(
                customer_id=customer_id,
                purpose=draw(st.sampled_from(["marketing", "marketing", "analytics"])),
                status=draw(st.sampled_from(list(ConsentStatus))),
                channel=draw(st.sampled_from([None, Channel.EMAIL, Channel.SMS])),
                recorded_at=NOW - dt.timedelta(days=draw(st.integers(0, 5))),
            )
        )
    return out


@st.composite
def candidate_sets(draw: st.DrawFn) -> list[AudienceCandidate]:
    n = draw(st.integers(0, 12))
    out = []
    persons = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    for i in range(n):
        c = Customer(first_name=f"a{i}", email=f"p{persons[i]}@x.cn", phone=None)
        out.append(
            AudienceCandidate(
                customer=c,
                address=draw(st.sampled_from([c.email, None, c.email])),
                consents=tuple(draw(histories(c.id))),
                person_key=persons[i] if draw(st.booleans()) else None,
                suppressed=draw(st.sampled_from([None, None, "bounced"])),
                recent_messages=draw(st.integers(0, 3)),
                timezone=draw(st.sampled_from([None, "Asia/Shanghai", "America/New_York"])),
            )
        )
    return out


@st.composite
def rules_strategy(draw: st.DrawFn) -> AudienceRules:
    quiet = draw(st.sampled_from([None, (dt.time(21), dt.time(8)), (dt.time(9), dt.time(12))]))
    return AudienceRules(
        channel=draw(st.sampled_from(CHANNELS)),
        max_messages=draw(st.sampled_from([None, 1, 2, 3])),
        quiet_start=None if quiet is None else quiet[0],
        quiet_end=None if quiet is None else quiet[1],
    )


@settings(max_examples=120, deadline=None)
@given(cands=candidate_sets(), rules=rules_strategy())
def test_nobody_without_consent_is_in_the_audience(
    cands: list[AudienceCandidate], rules: AudienceRules
) -> None:
    audience = plan_audience(cands, rules, NOW)
    for c in audience.included:
        assert _reference_allowed(list(c.consents), rules.channel)
        assert c.address and not c.suppressed
    # everyone is accounted for exactly once
    ids = [c.customer.id for c in audience.included] + [e.customer_id for e in audience.excluded]
    assert sorted(ids, key=lambda u: u.int) == sorted(
        (c.customer.id for c in cands), key=lambda u: u.int
    )
    assert {e.reason for e in audience.excluded} <= set(EXCLUSION_REASONS)
    # at most one message per person
    keys = [c.person_key if c.person_key is not None else c.customer.id for c in audience.included]
    assert len(keys) == len(set(keys))
    # the frequency cap holds
    if rules.max_messages is not None:
        assert all(c.recent_messages < rules.max_messages for c in audience.included)
    for c in cands:
        v = consent_verdict(c.consents, rules.channel)
        assert v.allowed == _reference_allowed(list(c.consents), rules.channel)


def test_consent_latest_statement_wins() -> None:
    cid = uuid.uuid4()
    t = NOW - dt.timedelta(days=3)

    def stmt(status: ConsentStatus, days: int, channel: Channel | None = Channel.EMAIL) -> Consent:
        return Consent(
            customer_id=cid,
            purpose="marketing",
            status=status,
            channel=channel,
            recorded_at=t + dt.timedelta(days=days),
        )

    g, w = ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN
    assert consent_verdict([], Channel.EMAIL).reason == "no_consent"
    assert consent_verdict([stmt(g, 0)], Channel.EMAIL).allowed
    assert consent_verdict([stmt(g, 0), stmt(w, 1)], Channel.EMAIL).reason == "withdrawn"
    assert consent_verdict([stmt(w, 1), stmt(g, 2)], Channel.EMAIL).allowed  # re-subscribed
    assert not consent_verdict([stmt(g, 0)], Channel.SMS).allowed  # another channel
    assert not consent_verdict(
        [stmt(g, 0), stmt(w, 1, None)], Channel.EMAIL
    ).allowed  # all channels


def _cand(c: Customer, **kw: Any) -> AudienceCandidate:
    granted = Consent(
        customer_id=c.id,
        purpose="marketing",
        status=ConsentStatus.GRANTED,
        recorded_at=NOW - dt.timedelta(days=9),
    )
    return AudienceCandidate(customer=c, address=c.email, consents=(granted,), **kw)


def test_quiet_hours_in_the_recipients_time_zone() -> None:
    rules = AudienceRules(
        channel=Channel.EMAIL,
        quiet_start=dt.time(21),
        quiet_end=dt.time(8),
        timezone="Asia/Shanghai",
    )
    sh = Customer(email="a@x.cn")
    ny = Customer(email="b@x.cn")
    # 03:00 UTC is 11:00 in Shanghai, 23:00 (the day before) in New York
    aud = plan_audience([_cand(sh), _cand(ny, timezone="America/New_York")], rules, NOW)
    assert aud.customer_ids == [sh.id]
    (ex,) = aud.excluded
    assert ex.reason == "quiet_hours"
    assert ex.retry_at == dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)  # 08:00 EDT


def test_duplicates_get_one_message_and_a_withdrawal_on_a_duplicate_counts() -> None:
    rules = AudienceRules(channel=Channel.EMAIL)
    old = Customer(email="w@x.cn", created_at=NOW - dt.timedelta(days=30))
    new = Customer(email="W@x.cn", created_at=NOW - dt.timedelta(days=1))
    aud = plan_audience([_cand(new, person_key="p"), _cand(old, person_key="p")], rules, NOW)
    assert aud.customer_ids == [old.id]
    assert [(e.customer_id, e.reason) for e in aud.excluded] == [(new.id, "duplicate")]
    withdrew = Consent(
        customer_id=new.id,
        purpose="marketing",
        status=ConsentStatus.WITHDRAWN,
        recorded_at=NOW - dt.timedelta(days=1),
    )
    aud = plan_audience(
        [
            AudienceCandidate(
                customer=new, address=new.email, consents=(withdrew,), person_key="p"
            ),
            _cand(old, person_key="p"),
        ],
        rules,
        NOW,
    )
    assert aud.included == ()
    assert aud.reasons() == {"withdrawn": 1, "withdrawn_on_duplicate": 1}


def test_rules_are_checked() -> None:
    with pytest.raises(ValidationError):
        AudienceRules(channel=Channel.EMAIL, max_messages=0)
    with pytest.raises(ValidationError):
        AudienceRules(channel=Channel.EMAIL, quiet_start=dt.time(1))
    with pytest.raises(ValidationError):
        AudienceRules(channel=Channel.EMAIL, timezone="Mars/Olympus")


def test_build_audience_reads_consent_suppressions_and_sends(
    crm: Any, examples: int, fresh: Any
) -> None:
    """On every backend: the stored consent history decides, never anything else."""

    @settings(
        max_examples=max(5, examples // 2),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        session = fresh()
        n = data.draw(st.integers(1, 8))
        customers = [
            Customer(
                first_name=f"b{i}",
                email=f"u{data.draw(st.integers(0, 5))}@x.cn",
                phone="13800138000",
            )
            for i in range(n)
        ]
        consents = [c for cust in customers for c in data.draw(histories(cust.id))]
        channel = data.draw(st.sampled_from(CHANNELS))
        suppressed = data.draw(st.sets(st.sampled_from([c.email for c in customers])))
        with session() as s:
            s.customers.add_many(customers)
            s.repo(Consent).add_many(consents)
            s.repo(ChannelSuppression).add_many(
                ChannelSuppression(channel=Channel.EMAIL, address=str(a), reason="complained")
                for a in suppressed
            )
        with session() as s:
            aud = sv.build_audience(s, customers, AudienceRules(channel=channel), now=NOW)
        by_id = {c.id: c for c in customers}
        for c in aud.included:
            history = [x for x in consents if x.customer_id == c.customer.id]
            assert _reference_allowed(history, channel)
            if channel is Channel.EMAIL:
                assert by_id[c.customer.id].email not in suppressed
        # one message per mailbox / phone: the dedupe keys join records of one person
        assert len({c.address for c in aud.included}) == len(aud.included)

    check()


def test_frequency_cap_counts_recent_sends(session: Any) -> None:
    with session() as s:
        c = s.customers.add(Customer(email="f@x.cn"))
        s.repo(Consent).add(
            Consent(customer_id=c.id, purpose="marketing", status=ConsentStatus.GRANTED)
        )
        for _ in range(2):
            s.repo(CampaignMember).add(
                CampaignMember(campaign_id=uuid.uuid4(), customer_id=c.id, status="sent")
            )
    with session() as s:
        capped = AudienceRules(channel=Channel.EMAIL, max_messages=2)
        assert sv.build_audience(s, [c], capped).reasons() == {"frequency_cap": 1}
        loose = AudienceRules(channel=Channel.EMAIL, max_messages=3)
        assert sv.build_audience(s, [c], loose).customer_ids == [c.id]
