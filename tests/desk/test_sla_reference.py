"""SLA calendars and clocks against a brute-force, minute-by-minute reference."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.errors import ValidationError
from crmcore.sla import (
    BusinessCalendar,
    SlaFacts,
    SlaMetric,
    SlaPolicy,
    SlaState,
    SlaTarget,
    add_business_time,
    business_time_between,
    parse_hours,
    sla_clocks,
)

UTC = dt.timezone.utc
MIN = dt.timedelta(minutes=1)
ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe"]
BASE = dt.datetime(2025, 3, 1, tzinfo=UTC)  # the window covers spring DST changes


def ref_working(cal: BusinessCalendar, t: dt.datetime) -> bool:
    """Is the minute starting at ``t`` working time? Read straight from the definition."""
    local = t.astimezone(ZoneInfo(cal.timezone))
    wall = local.hour * 60 + local.minute

    def day_hours(day: dt.date) -> tuple[tuple[int, int], ...]:
        if day in cal.workdays:
            return cal.workday_hours if cal.workday_hours is not None else cal.hours.get(0, ())
        if day in cal.holidays:
            return ()
        return cal.hours.get(day.weekday(), ())

    today = local.date()
    yesterday = today - dt.timedelta(days=1)
    return any(s <= wall < e for s, e in day_hours(today)) or any(
        s <= wall + 1440 < e for s, e in day_hours(yesterday)
    )


def ref_paused(pauses: list[tuple[dt.datetime, dt.datetime]], t: dt.datetime) -> bool:
    return any(a <= t < b for a, b in pauses)


def ref_due(cal, start, minutes, pauses, cap_days=70):
    if minutes == 0:
        return start
    t, count = start, 0
    end = start + dt.timedelta(days=cap_days)
    while t < end:
        if ref_working(cal, t) and not ref_paused(pauses, t):
            count += 1
            if count == minutes:
                return t + MIN
        t += MIN
    return None


def ref_between(cal, start, end, pauses):
    t, count = start, 0
    while t < end:
        if ref_working(cal, t) and not ref_paused(pauses, t):
            count += 1
        t += MIN
    return dt.timedelta(minutes=count)


interval = st.tuples(st.integers(0, 1439), st.integers(15, 900)).map(
    lambda p: (p[0], min(p[0] + p[1], p[0] + 1440))
)


@st.composite
def calendars(draw):
    zone = draw(st.sampled_from(ZONES))
    hours = {}
    for d in range(7):
        spans = draw(st.lists(interval, max_size=2))
        if spans:
            hours[d] = tuple(spans)
    if not hours:
        hours[draw(st.integers(0, 6))] = (draw(interval),)
    days = st.integers(0, 40).map(lambda n: (BASE + dt.timedelta(days=n)).date())
    holidays = draw(st.frozensets(days, max_size=6))
    workdays = draw(st.frozensets(days, max_size=3))
    workday_hours = draw(st.none() | st.lists(interval, min_size=1, max_size=2).map(tuple))
    return BusinessCalendar(
        timezone=zone,
        hours=hours,
        holidays=holidays,
        workdays=workdays,
        workday_hours=workday_hours,
    )


minute = st.integers(0, 30 * 1440).map(lambda n: BASE + n * MIN)


@st.composite
def pause_lists(draw, start):
    out = []
    for _ in range(draw(st.integers(0, 3))):
        a = start + draw(st.integers(0, 6000)) * MIN
        out.append((a, a + draw(st.integers(1, 3000)) * MIN))
    return out


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_due_time_agrees_with_minute_by_minute_reference(data):
    cal = data.draw(calendars())
    start = data.draw(minute)
    pauses = data.draw(pause_lists(start))
    minutes = data.draw(st.integers(0, 900))
    expected = ref_due(cal, start, minutes, pauses)
    if expected is None:  # the reference gave up: the clock must at least not be earlier
        got = add_business_time(cal, start, minutes * MIN, pauses)
        assert got is None or got > start + dt.timedelta(days=70)
        return
    assert expected == add_business_time(cal, start, minutes * MIN, pauses)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_elapsed_time_agrees_with_reference(data):
    cal = data.draw(calendars())
    start = data.draw(minute)
    end = start + data.draw(st.integers(0, 4 * 1440)) * MIN
    pauses = data.draw(pause_lists(start))
    assert ref_between(cal, start, end, pauses) == business_time_between(cal, start, end, pauses)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_clock_at_any_instant_agrees_with_reference(data):
    cal = data.draw(calendars())
    created = data.draw(minute)
    wait = data.draw(st.integers(0, 3000))
    pending_for = data.draw(st.none() | st.integers(1, 2000))
    pauses = (
        []
        if pending_for is None
        else [(created + wait * MIN, created + (wait + pending_for) * MIN)]
    )
    resolved = data.draw(st.none() | st.integers(1, 6000).map(lambda n: created + n * MIN))
    now = created + data.draw(st.integers(0, 8000)) * MIN
    target = 2 * data.draw(st.integers(1, 300))
    policy = SlaPolicy(
        name="p",
        targets=[SlaTarget(metric="resolution", minutes=target)],
        calendar=cal,
        at_risk=0.5,
    )
    facts = SlaFacts(created_at=created, resolved_at=resolved, pauses=pauses)
    (clock,) = sla_clocks(policy, facts, now)
    stop = resolved if resolved is not None and resolved <= now else None
    end = stop or now
    known = [(a, min(b, end)) for a, b in pauses if a < end]
    due = ref_due(cal, created, target, known)
    if due is None:
        return
    assert due == clock.due_at
    assert ref_between(cal, created, end, known) == clock.elapsed
    assert target * MIN - clock.elapsed == clock.left
    if stop is not None:
        assert (SlaState.MET if stop <= due else SlaState.MISSED) is clock.state
    else:
        assert (now >= due) == clock.breached
        risk = ref_due(cal, created, target // 2, known)
        assert risk == clock.at_risk_at
        assert (risk <= now < due) == clock.at_risk
        assert clock.paused == any(a <= now < b for a, b in pauses)


def t(s: str) -> dt.datetime:
    return (
        dt.datetime.fromisoformat(s).replace(tzinfo=UTC)
        if "+" not in s
        else dt.datetime.fromisoformat(s)
    )


SH = "Asia/Shanghai"


def test_overnight_interval_belongs_to_the_day_it_starts():
    cal = BusinessCalendar(timezone="UTC", hours={"fri": "22:00-06:00"})
    assert t("2025-01-04T05:00:00") == add_business_time(
        cal, t("2025-01-03T12:00:00"), 7 * 60 * MIN
    )
    holiday = BusinessCalendar(
        timezone="UTC", hours={"fri": "22:00-06:00"}, holidays=[dt.date(2025, 1, 3)]
    )
    assert dt.timedelta(0) == business_time_between(
        holiday, t("2025-01-03T00:00:00"), t("2025-01-04T12:00:00")
    )


def test_china_calendar_uses_holidays_and_adjusted_workdays():
    cal = BusinessCalendar.for_country("CN", [2025])
    assert cal.timezone == SH
    assert dt.date(2025, 1, 26) in cal.workdays  # Sunday worked before Spring Festival
    assert dt.date(2025, 1, 29) in cal.holidays
    sunday_9am = dt.datetime(2025, 1, 26, 9, tzinfo=ZoneInfo(SH))
    assert cal.is_working(sunday_9am)
    # Friday 24 Jan 17:00 + 2h of work: Sunday 26 Jan (a workday) 10:00 local
    due = add_business_time(cal, dt.datetime(2025, 1, 24, 17, tzinfo=ZoneInfo(SH)), 120 * MIN)
    assert dt.datetime(2025, 1, 26, 10, tzinfo=ZoneInfo(SH)) == due
    # 27 Jan (Mon) 09:00 + 10h: the festival runs 28 Jan - 4 Feb, so 5 Feb 10:00
    due = add_business_time(cal, dt.datetime(2025, 1, 27, 9, tzinfo=ZoneInfo(SH)), 600 * MIN)
    assert dt.datetime(2025, 2, 5, 10, tzinfo=ZoneInfo(SH)) == due


def test_dst_skipped_and_repeated_hours():
    ny = BusinessCalendar(timezone="America/New_York", hours={"sun": "01:00-04:00"})
    day = dt.timedelta(days=1)
    spring = t("2025-03-09T00:00:00")
    autumn = t("2025-11-02T00:00:00")
    assert business_time_between(ny, spring, spring + day) == 120 * MIN
    assert business_time_between(ny, autumn, autumn + day) == 240 * MIN


def test_open_pause_stops_the_clock():
    cal = BusinessCalendar.always()
    start = t("2025-01-01T00:00:00")
    assert add_business_time(cal, start, 60 * MIN, [(start + 30 * MIN, None)]) is None
    policy = SlaPolicy(name="p", targets=[SlaTarget(metric="resolution", minutes=60)], calendar=cal)
    facts = SlaFacts(created_at=start, pauses=[(start + 30 * MIN, None)])
    (clock,) = sla_clocks(policy, facts, start + 5 * 60 * MIN)
    assert clock.paused and SlaState.PAUSED is clock.state
    assert clock.left == 30 * MIN
    assert start + 5 * 60 * MIN + 30 * MIN == clock.due_at  # if it resumed now


def test_targets_most_specific_wins_and_states_progress():
    cal = BusinessCalendar.always()
    policy = SlaPolicy(
        name="std",
        calendar=cal,
        targets=[
            SlaTarget(metric="first_response", minutes=240),
            SlaTarget(metric="first_response", minutes=60, priority="urgent"),
            SlaTarget(metric="first_response", minutes=30, priority="urgent", tier="gold"),
            SlaTarget(metric="next_response", minutes=120),
        ],
    )
    start = t("2025-01-01T00:00:00")
    gold = SlaFacts(created_at=start, priority="urgent", tier="gold")
    (frt,) = sla_clocks(policy, gold, start + 10 * MIN)
    assert frt.target_minutes == 30 and SlaState.RUNNING is frt.state
    (frt,) = sla_clocks(policy, gold, start + 25 * MIN)
    assert frt.at_risk and SlaState.AT_RISK is frt.state
    (frt,) = sla_clocks(policy, gold, start + 30 * MIN)
    assert frt.breached and SlaState.BREACHED is frt.state
    answered = SlaFacts(
        created_at=start,
        priority="low",
        first_response_at=start + 100 * MIN,
        customer_messages=[start + 200 * MIN, start + 210 * MIN],
        agent_replies=[start + 100 * MIN],
    )
    frt, nrt = sla_clocks(policy, answered, start + 400 * MIN)
    assert SlaState.MET is frt.state and frt.target_minutes == 240
    assert start + 200 * MIN == nrt.started_at  # the oldest unanswered message
    assert SlaState.BREACHED is nrt.state and start + 320 * MIN == nrt.due_at


def test_bad_calendar_input_is_refused_with_the_field():
    with pytest.raises(ValidationError) as e:
        BusinessCalendar(timezone="Mars/Olympus")
    assert "$.timezone" in str(e.value)
    with pytest.raises(ValidationError):
        parse_hours("9-17")
    with pytest.raises(ValidationError):
        SlaTarget(metric=SlaMetric.RESOLUTION, minutes=0)
