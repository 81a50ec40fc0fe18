"""Sales reports: the funnel equals a brute-force pandas count on random data, on every backend;
win rate, coverage, performance, forecast and time in stage on data worked out by hand."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import Money, Opportunity, Principal
from crmcore.analytics import (
    forecast_vs_actual,
    pipeline_coverage,
    sales_funnel,
    sales_performance,
    stage_times,
    win_rate,
)
from crmcore.model import TransitionRecord
from crmcore.testing.contract import stamp

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 1, 1, tzinfo=UTC)
FUNNEL = ["prospecting", "qualification", "proposal", "negotiation", "closed_won"]
HYPO = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _tenant() -> Principal:
    return Principal.system_principal(f"t-{uuid.uuid4().hex[:12]}")


def _load(
    crm: crmcore.Crm,
    deals: list[tuple[dt.datetime, dict[str, Any]]],
    moves: list[tuple[int, str, dt.datetime]],
) -> tuple[Principal, list[Opportunity]]:
    """Store opportunities created at given times and history rows (record index, to, at)."""
    who = _tenant()
    with crm.session(who) as s:
        opps = [
            stamp(Opportunity(name=f"d{i}", **fields), who.tenant_id, at=at)
            for i, (at, fields) in enumerate(deals)
        ]
        s.inner(Opportunity).add_many(opps)
        rows = [
            stamp(
                TransitionRecord(
                    entity="Opportunity",
                    record_id=opps[i].id,
                    machine="opportunity",
                    event="move",
                    from_state="prospecting",
                    to_state=to,
                    at=at,
                ),
                who.tenant_id,
                at=at,
            )
            for i, to, at in moves
            if i < len(opps)
        ]
        s.inner(TransitionRecord).add_many(rows)
    return who, opps


def _period(ts: pd.Series, period: str) -> pd.Series:
    """Pandas' own period starts (independent of crmcore's bucketing)."""
    plain = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    freq = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}[period]
    return plain.dt.to_period(freq).dt.start_time.dt.date


when = st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2026, 6, 30), timezones=st.just(UTC))


@HYPO
@given(
    created=st.lists(when, min_size=0, max_size=15),
    moves=st.lists(
        st.tuples(st.integers(0, 14), st.sampled_from([*FUNNEL[1:], "closed_lost"]), when),
        max_size=40,
    ),
    period=st.sampled_from(["day", "week", "month", "quarter", "year", None]),
)
def test_funnel_equals_pandas_brute_force(
    crm: crmcore.Crm,
    created: list[dt.datetime],
    moves: list[tuple[int, str, dt.datetime]],
    period: str | None,
) -> None:
    who, opps = _load(crm, [(at, {}) for at in created], moves)
    with crm.session(who) as s:
        got = sales_funnel(s, period=period).frame
    o = pd.DataFrame({"id": [x.id for x in opps], "created_at": pd.to_datetime(created, utc=True)})
    t = pd.DataFrame(
        [(opps[i].id, to, at) for i, to, at in moves if i < len(opps)],
        columns=["record_id", "to_state", "at"],
    )
    t["at"] = pd.to_datetime(t["at"], utc=True)
    t = t[t["to_state"].isin(FUNNEL[1:])]
    if period:
        o["p"] = _period(o["created_at"], period)
        t["p"] = _period(t["at"], period)
    else:
        o["p"] = None
        t["p"] = None
    expected: dict[tuple[Any, str], int] = {}
    for p, n in o.groupby("p", dropna=False).size().items():
        expected[(p if period else None, FUNNEL[0])] = int(n)
    for (p, stage), n in t.groupby(["p", "to_state"], dropna=False)["record_id"].nunique().items():
        expected[(p if period else None, stage)] = int(n)
    periods = sorted({p for p, _ in expected}) if period else [None]
    want = [(p, stage, expected.get((p, stage), 0)) for p in periods for stage in FUNNEL]
    have = [(r.get("period"), r["stage"], r["entered"]) for r in got.to_dict("records")]
    assert have == want
    for p in periods:
        part = got[got["period"] == p] if period else got
        top = expected.get((p, FUNNEL[0]), 0)
        for k, stage in enumerate(FUNNEL):
            row = part[part["stage"] == stage].iloc[0]
            n = expected.get((p, stage), 0)
            prev = expected.get((p, FUNNEL[k - 1]), 0) if k else None
            _close(row["from_top"], n / top if top else math.nan)
            _close(row["conversion"], math.nan if prev is None or not prev else n / prev)


def _close(a: float, b: float) -> None:
    assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b), (a, b)


def _day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def _deals() -> list[tuple[dt.datetime, dict[str, Any]]]:
    cny = lambda v: Money(Decimal(v), "CNY")  # noqa: E731
    return [
        # owner li: won 1000 (Feb), won 500 (Feb), lost (Mar); open proposal 2000 due Q2
        (
            _day(0),
            dict(
                owner_id="li",
                team_id="n",
                stage="closed_won",
                amount=cny(1000),
                closed_at=_day(40),
                expected_close_date=dt.date(2025, 2, 10),
            ),
        ),
        (
            _day(1),
            dict(
                owner_id="li",
                team_id="n",
                stage="closed_won",
                amount=cny(500),
                closed_at=_day(45),
                expected_close_date=dt.date(2025, 3, 1),
            ),
        ),
        (
            _day(2),
            dict(
                owner_id="li", team_id="n", stage="closed_lost", amount=cny(700), closed_at=_day(70)
            ),
        ),
        (
            _day(3),
            dict(
                owner_id="li",
                team_id="n",
                stage="proposal",
                probability=0.5,
                amount=cny(2000),
                expected_close_date=dt.date(2025, 5, 5),
            ),
        ),
        # owner wang: lost (Feb); open negotiation 1000 due Q2; open prospecting 300 due Q1
        (
            _day(4),
            dict(
                owner_id="wang",
                team_id="s",
                stage="closed_lost",
                amount=cny(100),
                closed_at=_day(35),
            ),
        ),
        (
            _day(5),
            dict(
                owner_id="wang",
                team_id="s",
                stage="negotiation",
                amount=cny(1000),
                expected_close_date=dt.date(2025, 4, 20),
            ),
        ),
        (
            _day(6),
            dict(
                owner_id="wang",
                team_id="s",
                stage="prospecting",
                amount=cny(300),
                expected_close_date=dt.date(2025, 3, 20),
            ),
        ),
        # a USD deal never mixes into CNY sums
        (
            _day(7),
            dict(
                owner_id="wang",
                team_id="s",
                stage="closed_won",
                amount=Money("9999", "USD"),
                closed_at=_day(41),
            ),
        ),
    ]


def test_win_rate_by_owner_and_month(crm: crmcore.Crm) -> None:
    who, _ = _load(crm, _deals(), [])
    with crm.session(who) as s:
        by_owner = win_rate(s, by="owner_id", period=None).frame
        by_month = win_rate(s, period="month").frame
    assert by_owner.to_dict("records") == [
        {
            "owner_id": "li",
            "won": 2,
            "lost": 1,
            "closed": 3,
            "win_rate": 2 / 3,
            "won_amount": 1500.0,
        },
        {"owner_id": "wang", "won": 1, "lost": 1, "closed": 2, "win_rate": 0.5, "won_amount": 0.0},
    ]
    assert [(r["period"], r["won"], r["lost"]) for r in by_month.to_dict("records")] == [
        (dt.date(2025, 2, 1), 3, 1),
        (dt.date(2025, 3, 1), 0, 1),
    ]
    with crm.session(who) as s:
        usd = win_rate(s, period=None, currency="USD").frame
    assert usd["won_amount"].tolist() == [9999.0]


def test_pipeline_coverage_and_forecast(crm: crmcore.Crm) -> None:
    who, _ = _load(crm, _deals(), [])
    with crm.session(who) as s:
        cov = pipeline_coverage(s, {dt.date(2025, 1, 1): 2000, dt.date(2025, 4, 1): 1500}).frame
        fc = forecast_vs_actual(s, period="quarter").frame
    q1, q2 = cov.to_dict("records")
    # Q1: open 300 (prospecting, p=0.1), won 1500 (Feb) of quota 2000 -> remaining 500
    assert (q1["pipeline"], q1["weighted"], q1["won"], q1["remaining"]) == (300, 30, 1500, 500)
    assert q1["coverage"] == pytest.approx(0.6)
    # Q2: open 2000 (proposal 0.5) + 1000 (negotiation 0.8), nothing won, quota 1500
    assert (q2["pipeline"], q2["weighted"], q2["won"]) == (3000, 1800, 0)
    assert q2["coverage"] == pytest.approx(2.0)
    f1, f2 = fc.to_dict("records")
    assert (f1["pipeline"], f1["best_case"], f1["commit"]) == (300, 0, 0)
    assert f1["weighted"] == pytest.approx(30 + 1500)  # won deals expected in Q1 count fully
    assert f1["won"] == 1500 and f1["attainment"] == pytest.approx(1500 / 1530)
    assert (f2["pipeline"], f2["best_case"], f2["commit"]) == (3000, 3000, 1000)


def test_performance_per_owner_and_team(crm: crmcore.Crm) -> None:
    who, _ = _load(crm, _deals(), [])
    with crm.session(who) as s:
        owners = sales_performance(s).frame.set_index("owner_id")
        teams = sales_performance(s, by="team_id").frame
    assert owners.loc["li"].to_dict() == {
        "open_deals": 1,
        "open_amount": 2000.0,
        "weighted": 1000.0,
        "won_deals": 2,
        "won_amount": 1500.0,
        "lost_deals": 1,
        "win_rate": 2 / 3,
        "avg_won_amount": 750.0,
    }
    assert owners.loc["wang", "open_deals"] == 2 and owners.loc["wang", "won_deals"] == 1
    assert owners.loc["wang", "won_amount"] == 0.0  # its win was in USD
    assert list(teams["team_id"]) == ["n", "s"]  # largest won amount first


def test_time_in_stage_from_history(crm: crmcore.Crm) -> None:
    deals = [(_day(0), {"stage": "proposal"}), (_day(0), {"stage": "qualification"})]
    moves = [
        (0, "qualification", _day(2)),  # 2 days in prospecting
        (0, "proposal", _day(7)),  # 5 days in qualification
        (1, "qualification", _day(4)),  # 4 days in prospecting
    ]
    who, _ = _load(crm, deals, moves)
    # the history rows all say from prospecting; time in stage reads from_state per row
    with crm.session(who) as s:
        frame = stage_times(s).frame.set_index("stage")
    assert frame.loc["prospecting", "exits"] == 3
    assert frame.loc["prospecting", "mean_days"] == pytest.approx((2 + 5 + 4) / 3)
    assert frame.loc["prospecting", "median_days"] == pytest.approx(4)
    assert frame.loc["proposal", "open_now"] == 1
    assert frame.loc["qualification", "open_now"] == 1


def test_reports_render_repr_html_and_plot(crm: crmcore.Crm) -> None:
    import matplotlib

    matplotlib.use("Agg")
    who, _ = _load(crm, _deals(), [(0, "qualification", _day(3))])
    with crm.session(who) as s:
        reports = [
            sales_funnel(s),
            stage_times(s),
            win_rate(s),
            sales_performance(s),
            forecast_vs_actual(s),
            pipeline_coverage(s, 1000),
        ]
    for r in reports:
        assert repr(r).startswith(f"<{type(r).__name__} ")
        assert len(repr(r)) < 200
        page = r._repr_html_()
        assert r.title in page and "<table" in page
        ax = r.plot()
        assert ax.get_title() == r.title
        assert r.to_pandas().equals(r.frame) and r.to_pandas() is not r.frame
    import matplotlib.pyplot as plt

    plt.close("all")
