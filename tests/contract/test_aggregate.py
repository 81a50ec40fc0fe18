"""``aggregate``: every backend (memory, SQLite, PostgreSQL, MariaDB) == a brute-force count.

The brute force below is written from scratch over plain dicts (it does not
use :func:`crmcore.storage.aggregate.aggregate_records`), so the adapters and
the reference are both checked against it.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import Money, Opportunity, Principal
from crmcore.errors import QueryError
from crmcore.query import field
from crmcore.storage.aggregate import (
    avg,
    bucket,
    count,
    count_distinct,
    max_,
    min_,
    sum_,
)

UTC = dt.timezone.utc
HYPO = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STAGES = ["prospecting", "qualification", "proposal", "closed_won", "closed_lost"]
OWNERS = ["王芳", "li", "Zoë", None]
QUARTER_START = {1: 1, 2: 1, 3: 1, 4: 4, 5: 4, 6: 4, 7: 7, 8: 7, 9: 7, 10: 10, 11: 10, 12: 10}

deal = st.fixed_dictionaries(
    {
        "stage": st.sampled_from(STAGES),
        "owner_id": st.sampled_from(OWNERS),
        "team_id": st.sampled_from(["north", "south", None]),
        "amount": st.none()
        | st.decimals(
            min_value=Decimal("-99999.999999"),
            max_value=Decimal("9999999.999999"),
            places=6,
            allow_nan=False,
        ),
        "currency": st.sampled_from(["CNY", "USD"]),
        "probability": st.none() | st.floats(0, 1, allow_nan=False),
        "expected_close_date": st.none() | st.dates(dt.date(2023, 1, 1), dt.date(2027, 12, 31)),
        "closed_at": st.none()
        | st.datetimes(dt.datetime(2023, 1, 1), dt.datetime(2027, 12, 31), timezones=st.just(UTC)),
    }
)


def _store(crm: crmcore.Crm, rows: list[dict[str, Any]]) -> Principal:
    principal = Principal.system_principal(f"t-{uuid.uuid4().hex[:12]}")
    with crm.session(principal) as s:
        s.opportunities.add_many(
            [
                Opportunity(
                    name=f"d{i}",
                    stage=r["stage"],
                    owner_id=r["owner_id"],
                    team_id=r["team_id"],
                    amount=None if r["amount"] is None else Money(r["amount"], r["currency"]),
                    probability=r["probability"],
                    expected_close_date=r["expected_close_date"],
                    closed_at=r["closed_at"],
                )
                for i, r in enumerate(rows)
            ]
        )
    return principal


def _plain(o: Opportunity) -> dict[str, Any]:
    return {
        "stage": o.stage,
        "owner_id": o.owner_id,
        "team_id": o.team_id,
        "amount": None if o.amount is None else o.amount.amount,
        "probability": o.probability,
        "expected_close_date": o.expected_close_date,
        "closed_at": o.closed_at,
    }


def _start(value: dt.date | dt.datetime | None, period: str) -> dt.date | None:
    if value is None:
        return None
    d = value.astimezone(UTC).date() if isinstance(value, dt.datetime) else value
    if period == "month":
        return dt.date(d.year, d.month, 1)
    if period == "quarter":
        return dt.date(d.year, QUARTER_START[d.month], 1)
    if period == "week":
        return dt.date.fromisocalendar(*d.isocalendar()[:2], 1)
    if period == "year":
        return dt.date(d.year, 1, 1)
    return d


def _brute(
    rows: list[dict[str, Any]], keys: list[str], period: str
) -> dict[tuple[Any, ...], dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        key = []
        for k in keys:
            if k == "close_month":
                key.append(_start(r["expected_close_date"], period))
            elif k == "closed_period":
                key.append(_start(r["closed_at"], period))
            else:
                key.append(r[k])
        groups[tuple(key)].append(r)
    out = {}
    for key, members in groups.items():
        amounts = [m["amount"] for m in members if m["amount"] is not None]
        probs = [m["probability"] for m in members if m["probability"] is not None]
        dates = [m["expected_close_date"] for m in members if m["expected_close_date"] is not None]
        out[key] = {
            "n": len(members),
            "with_amount": len(amounts),
            "owners": len({m["owner_id"] for m in members if m["owner_id"] is not None}),
            "revenue": sum(amounts) if amounts else None,
            "mean_amount": (sum(amounts) / len(amounts)) if amounts else None,
            "p": (sum(probs) / len(probs)) if probs else None,
            "first": min(dates) if dates else None,
            "last_closed": max(
                (m["closed_at"] for m in members if m["closed_at"] is not None), default=None
            ),
            "top_stage": max(m["stage"] for m in members),
        }
    return out


def _missing_first(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((False,) if v is None else (True, v) for v in key)


MEASURES = {
    "n": count(),
    "with_amount": count("amount.amount"),
    "owners": count_distinct("owner_id"),
    "revenue": sum_("amount.amount"),
    "mean_amount": avg("amount.amount"),
    "p": avg("probability"),
    "first": min_("expected_close_date"),
    "last_closed": max_("closed_at"),
    "top_stage": max_("stage"),
}


def _same(expected: dict[str, Any], actual: dict[str, Any]) -> None:
    for name, want in expected.items():
        got = actual[name]
        if isinstance(want, float):
            assert got is not None and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), name
        elif name == "mean_amount" and want is not None:
            assert abs(got - want) <= Decimal("1e-20") * max(1, abs(want)), name
        else:
            assert got == want, name


@HYPO
@given(rows=st.lists(deal, max_size=20), data=st.data())
def test_aggregate_equals_brute_force(
    crm: crmcore.Crm, rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    period = data.draw(st.sampled_from(["day", "week", "month", "quarter", "year"]))
    keys = data.draw(
        st.lists(
            st.sampled_from(["stage", "owner_id", "team_id", "close_month", "closed_period"]),
            unique=True,
            max_size=3,
        )
    )
    group_by = [
        bucket("expected_close_date", period, name="close_month")
        if k == "close_month"
        else bucket("closed_at", period, name="closed_period")
        if k == "closed_period"
        else k
        for k in keys
    ]
    principal = _store(crm, rows)
    with crm.session(principal) as s:
        got = s.opportunities.aggregate(group_by=group_by, measures=MEASURES)
        rows = [_plain(o) for o in s.opportunities.stream()]  # as stored (stages stamp odds)
    expected = _brute(rows, keys, period)
    if not keys and not rows:
        expected = {(): {**dict.fromkeys(MEASURES), "n": 0, "with_amount": 0, "owners": 0}}
    assert [tuple(r[k] for k in keys) for r in got] == sorted(expected, key=_missing_first)
    for r in got:
        _same(expected[tuple(r[k] for k in keys)], r)


def test_filters_tenant_and_soft_deletes_apply(crm: crmcore.Crm) -> None:
    rows = [
        {
            "stage": s,
            "owner_id": o,
            "team_id": None,
            "amount": Decimal(a),
            "currency": "CNY",
            "probability": None,
            "expected_close_date": None,
            "closed_at": None,
        }
        for s, o, a in [("proposal", "a", "10.5"), ("proposal", "b", "2"), ("closed_won", "a", "7")]
    ]
    principal = _store(crm, rows)
    _store(crm, rows)  # another tenant's identical data is never counted
    with crm.session(principal) as s:
        gone = s.opportunities.first(owner_id="b")
        assert gone is not None
        s.opportunities.delete(gone.id)
    with crm.session(principal) as s:
        got = s.opportunities.aggregate(
            field("amount.amount") > 5,
            group_by=["stage"],
            measures={"n": count(), "total": sum_("amount.amount")},
        )
        assert got == [
            {"stage": "closed_won", "n": 1, "total": Decimal("7")},
            {"stage": "proposal", "n": 1, "total": Decimal("10.5")},
        ]
        every = s.opportunities.aggregate(measures={"n": count()}, include_deleted=True)
        assert every == [{"n": 3}]
        assert s.opportunities.aggregate(owner_id="nobody", measures={"n": count()}) == [{"n": 0}]
        assert (
            s.opportunities.aggregate(
                group_by=["stage"], owner_id="nobody", measures={"n": count()}
            )
            == []
        )


def test_staged_writes_are_seen_by_their_own_unit(crm: crmcore.Crm) -> None:
    principal = _store(crm, [])
    with crm.session(principal) as s:
        s.opportunities.add(Opportunity(name="x", amount=Money("3.25", "CNY")))
        got = s.opportunities.aggregate(measures={"n": count(), "t": sum_("amount.amount")})
        assert got == [{"n": 1, "t": Decimal("3.25")}]
        s.rollback()
        assert s.opportunities.aggregate(measures={"n": count()}) == [{"n": 0}]


@pytest.mark.parametrize(
    ("group_by", "measures", "message"),
    [
        (["tags"], {"n": count()}, "scalar"),
        (["amount"], {"n": count()}, "whole value object"),
        (["nope"], {"n": count()}, "no such field"),
        ([bucket("stage", "month")], {"n": count()}, "date or datetime"),
        ([], {"s": sum_("stage")}, "number"),
        ([], {"s": min_("tags")}, "scalar"),
        (["stage"], {"stage": count()}, "unique"),
    ],
)
def test_bad_aggregates_are_query_errors(
    crm: crmcore.Crm, group_by: list[Any], measures: dict[str, Any], message: str
) -> None:
    with crm.session() as s, pytest.raises(QueryError, match=message):
        s.opportunities.aggregate(group_by=group_by, measures=measures)


def test_unknown_period_and_measure_are_refused() -> None:
    from crmcore.storage.aggregate import Measure

    with pytest.raises(QueryError, match="period"):
        bucket("created_at", "fortnight")
    with pytest.raises(QueryError, match="unknown aggregate"):
        Measure("median", "x")


answer = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["csat", "nps", "ces"]),
        "score": st.integers(1, 5),
        "ticket": st.sampled_from([0, 1, 2, None]),
        "at": st.none()
        | st.datetimes(dt.datetime(2024, 12, 20), dt.datetime(2025, 1, 12), timezones=st.just(UTC)),
    }
)


@HYPO
@given(rows=st.lists(answer, max_size=20), period=st.sampled_from(["week", "year", "day"]))
def test_int_enum_uuid_aggregates_equal_brute_force(
    crm: crmcore.Crm, rows: list[dict[str, Any]], period: str
) -> None:
    from crmcore import SurveyKind, SurveyResponse

    tickets = [uuid.uuid4() for _ in range(3)]
    principal = Principal.system_principal(f"t-{uuid.uuid4().hex[:12]}")
    with crm.session(principal) as s:
        s.survey_responses.add_many(
            [
                SurveyResponse(
                    kind=SurveyKind(r["kind"]),
                    score=r["score"],
                    ticket_id=None if r["ticket"] is None else tickets[r["ticket"]],
                    responded_at=r["at"],
                )
                for r in rows
            ]
        )
        got = s.survey_responses.aggregate(
            group_by=["kind", bucket("responded_at", period, name="p")],
            measures={
                "total": sum_("score"),
                "mean": avg("score"),
                "low": min_("score"),
                "tickets": count_distinct("ticket_id"),
                "first": min_("responded_at"),
            },
        )
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["kind"], _start(r["at"], period))].append(r)
    want = []
    for key in sorted(groups, key=_missing_first):
        members = groups[key]
        scores = [m["score"] for m in members]
        times = [m["at"] for m in members if m["at"] is not None]
        want.append(
            {
                "kind": key[0],
                "p": key[1],
                "total": sum(scores),
                "mean": sum(scores) / len(scores),
                "low": min(scores),
                "tickets": len({m["ticket"] for m in members if m["ticket"] is not None}),
                "first": min(times) if times else None,
            }
        )
    assert [type(r["total"]) for r in got] == [int] * len(got)
    assert got == [{**w, "mean": pytest.approx(w["mean"])} for w in want]
