"""The pipeline forecast over real opportunities, on every backend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import Money, Opportunity, Principal
from crmcore.errors import ValidationError
from crmcore.query import field
from crmcore.services import forecast, transition

UTC = dt.timezone.utc


def _admin(tenant: str) -> Principal:
    return Principal(user_id="lead", tenant_id=tenant, roles={"admin"})


def _history(crm: crmcore.Crm, tenant: str) -> crmcore.Session:
    """A session that adds deals in any stage (restore mode: importing a pipeline's history)."""
    return crm.session(_admin(tenant), restore=True)


def _deal(stage: str, amount: str | None, **kw: object) -> Opportunity:
    money = Money(amount, kw.pop("currency", "CNY")) if amount is not None else None  # type: ignore[arg-type]
    return Opportunity(name=f"{stage} {amount}", stage=stage, amount=money, **kw)  # type: ignore[arg-type]


def test_views_by_category_hand_computed(crm: crmcore.Crm, tenant: str) -> None:
    with _history(crm, tenant) as s:
        s.opportunities.add_many(
            [
                _deal("prospecting", "1000"),  # pipeline, p=0.1
                _deal("proposal", "2000"),  # best_case, p=0.5
                _deal("negotiation", "4000"),  # commit, p=0.8
                _deal("closed_lost", "8000"),  # omitted: nowhere
                _deal("qualification", None),  # no amount: counted apart
            ]
        )
        won = s.opportunities.add(_deal("negotiation", "500"))
        transition(s, won, "win")
    with crm.session(_admin(tenant)) as s:
        f = forecast(s, by=())
    assert f.without_amount == 1
    (row,) = f.rows
    assert row.currency == "CNY" and row.deals == 4
    assert row.won == Decimal("500")
    assert row.commit == Decimal("4500")
    assert row.best_case == Decimal("6500")
    assert row.pipeline == Decimal("7000")
    assert row.weighted == Decimal("500") + Decimal("100") + Decimal("1000") + Decimal("3200")

    with crm.session(_admin(tenant)) as s:
        by_cat = forecast(s, by=["category"])
    assert {r.key: r.deals for r in by_cat.rows} == {
        ("pipeline",): 1,
        ("best_case",): 1,
        ("commit",): 1,
        ("closed",): 1,
    }


def test_stage_decides_category_even_when_set_by_hand(crm: crmcore.Crm, tenant: str) -> None:
    with _history(crm, tenant) as s:
        d = s.opportunities.add(_deal("proposal", "300"))
    with crm.session(_admin(tenant)) as s:
        s.opportunities.update(attrs.evolve(s.opportunities.get(d.id), forecast_category="commit"))
    with crm.session(_admin(tenant)) as s:
        assert s.opportunities.get(d.id).forecast_category == "best_case"
        (row,) = forecast(s, by=()).rows
    assert row.commit == 0 and row.best_case == Decimal("300")


def test_by_owner_period_and_currency(crm: crmcore.Crm, tenant: str) -> None:
    with _history(crm, tenant) as s:
        s.opportunities.add_many(
            [
                _deal("proposal", "100", owner_id="ann", expected_close_date=dt.date(2026, 1, 5)),
                _deal("proposal", "200", owner_id="ann", expected_close_date=dt.date(2026, 2, 5)),
                _deal("proposal", "400", owner_id="bob", expected_close_date=dt.date(2026, 4, 1)),
                _deal(
                    "proposal",
                    "50",
                    owner_id="bob",
                    currency="USD",
                    expected_close_date=dt.date(2026, 4, 2),
                ),
            ]
        )
    with crm.session(_admin(tenant)) as s:
        f = forecast(s, by=("owner", "period"), period="quarter")
        monthly = forecast(s, by=["period"], period="month", start=dt.date(2026, 2, 1))
        bob = forecast(s, by=(), where=field("owner_id") == "bob")
    got = {(r.key, r.currency): r.pipeline for r in f.rows}
    assert got == {
        (("ann", "2026-Q1"), "CNY"): Decimal("300"),
        (("bob", "2026-Q2"), "CNY"): Decimal("400"),
        (("bob", "2026-Q2"), "USD"): Decimal("50"),
    }
    assert f.currencies == ("CNY", "USD")
    assert f.total("CNY").pipeline == Decimal("700")
    assert {r.key for r in monthly.rows} == {("2026-02",), ("2026-04",)}
    assert {r.currency for r in bob.rows} == {"CNY", "USD"}


def test_policy_filter_applies(crm: crmcore.Crm, tenant: str) -> None:
    from crmcore.policy import P, Policy, R

    policy = (
        Policy.builder()
        .role("sales_rep")
        .role("admin")
        .allow("admin-all", roles="admin", entities="*", actions="*")
        .allow(
            "reps-own-deals",
            roles="sales_rep",
            entities="Opportunity",
            actions="read",
            when=R.owner_id == P.user_id,
        )
        .build()
    )
    from crmcore.policy import PolicyGuard

    guard = PolicyGuard(policy)
    guarded = crmcore.Crm(crm.store, layers=[guard], policy=policy, authorizer=guard.authorize)
    with guarded.session(_admin(tenant), restore=True) as s:
        s.opportunities.add_many(
            [_deal("proposal", "100", owner_id="ann"), _deal("proposal", "900", owner_id="bob")]
        )
    ann = Principal(user_id="ann", tenant_id=tenant, roles={"sales_rep"})
    with guarded.session(ann) as s:
        (row,) = forecast(s, by=()).rows
    assert row.pipeline == Decimal("100")


def test_bad_dimension_and_period_are_typed_errors(crm: crmcore.Crm, tenant: str) -> None:
    with crm.session(_admin(tenant)) as s:
        with pytest.raises(ValidationError) as e:
            forecast(s, by=["region"])
        assert e.value.errors[0].code == "unknown_dimension"
        with pytest.raises(ValidationError) as e:
            forecast(s, period="week")  # type: ignore[arg-type]
        assert e.value.errors[0].code == "unknown_period"


def test_repr_and_frame(crm: crmcore.Crm, tenant: str) -> None:
    with _history(crm, tenant) as s:
        s.opportunities.add(_deal("negotiation", "1234.50", owner_id="ann<b>"))
        f = forecast(s, by=["owner"])
    assert "Forecast by owner" in repr(f) and "1,234.50" in repr(f)
    assert "ann&lt;b&gt;" in f._repr_html_()
    frame = f.to_pandas()
    assert list(frame.columns) == [
        "owner",
        "currency",
        "deals",
        "won",
        "commit",
        "best_case",
        "pipeline",
        "weighted",
    ]
    assert frame.loc[0, "commit"] == Decimal("1234.50")


STAGES = ["prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"]
PROB = {"prospecting": "0.1", "qualification": "0.2", "proposal": "0.5", "negotiation": "0.8"}
CAT = {
    "prospecting": "pipeline",
    "qualification": "pipeline",
    "proposal": "best_case",
    "negotiation": "commit",
}


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    deals=st.lists(
        st.tuples(
            st.sampled_from(STAGES),
            st.integers(1, 10_000),
            st.sampled_from(["ann", "bob", None]),
        ),
        max_size=25,
    )
)
def test_forecast_equals_a_brute_force_sum(deals: list[tuple[str, int, str | None]]) -> None:
    crm = crmcore.connect("memory://")
    tenant = "t"
    now = dt.datetime(2026, 3, 1, tzinfo=UTC)
    with _history(crm, tenant) as s:
        s.opportunities.add_many(
            [
                _deal(
                    stage,
                    str(amount),
                    owner_id=owner,
                    closed_at=now if stage.startswith("closed") else None,
                )
                for stage, amount, owner in deals
            ]
        )
    with crm.session(_admin(tenant)) as s:
        f = forecast(s, by=["owner"])
    for owner in ("ann", "bob", None):
        mine = [(st_, Decimal(a)) for st_, a, o in deals if o == owner]
        won = sum((a for st_, a in mine if st_ == "closed_won"), Decimal(0))
        open_ = [(st_, a) for st_, a in mine if st_ in PROB]
        expect = {
            "won": won,
            "pipeline": sum((a for _, a in open_), Decimal(0)),
            "commit": won + sum((a for st_, a in open_ if CAT[st_] == "commit"), Decimal(0)),
            "best_case": won
            + sum((a for st_, a in open_ if CAT[st_] in ("commit", "best_case")), Decimal(0)),
            "weighted": won + sum((a * Decimal(PROB[st_]) for st_, a in open_), Decimal(0)),
        }
        rows = [r for r in f.rows if r.key == (owner,)]
        if not [1 for st_, _ in mine if st_ != "closed_lost"]:
            assert rows == []
            continue
        (row,) = rows
        assert {k: getattr(row, k) for k in expect} == expect
