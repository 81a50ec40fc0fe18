"""Statistics, variant splits, tracking links and attribution (pure functions)."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.errors import ValidationError
from crmcore.marketing import (
    RevenueEvent,
    Touchpoint,
    assign_variant,
    attribute,
    chi_square_test,
    parse_event,
    two_proportion_test,
    utm_link,
    wilson_interval,
)


def test_two_proportion_reference() -> None:
    t = two_proportion_test(5, 83, 12, 99)
    assert round(t.z, 3) == -1.408
    assert round(t.p_value, 4) == 0.1592
    assert round(t.chi_square, 3) == 1.982
    assert not t.significant()
    chi = chi_square_test([(5, 83), (12, 99)])
    assert chi.dof == 1
    assert math.isclose(chi.p_value, t.p_value, rel_tol=1e-9)
    assert math.isclose(chi.statistic, t.chi_square, rel_tol=1e-9)
    lo, hi = t.ci
    assert lo < t.difference < hi and lo < 0 < hi


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 200)).map(lambda t: (min(t), max(t))),
        min_size=2,
        max_size=5,
    )
)
def test_chi_square_matches_scipy(groups: list[tuple[int, int]]) -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    ours = chi_square_test(groups)
    used = [(s, n) for s, n in groups if n > 0]
    total_s = sum(s for s, _ in used)
    total_n = sum(n for _, n in used)
    if len(used) < 2 or total_s in (0, total_n):
        assert ours.p_value == 1.0
        return
    table = [[s, n - s] for s, n in used]
    stat, p, dof, _ = scipy_stats.chi2_contingency(table, correction=False)
    assert ours.dof == dof
    assert math.isclose(ours.statistic, stat, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(ours.p_value, p, rel_tol=1e-7, abs_tol=1e-12)


def test_wilson_interval_reference() -> None:
    # statsmodels proportion_confint(5, 83, method="wilson")
    lo, hi = wilson_interval(5, 83)
    assert round(lo, 6) == 0.026003 and round(hi, 6) == 0.133384
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValidationError):
        two_proportion_test(5, 3, 1, 2)


def test_variant_assignment_is_deterministic_and_follows_weights() -> None:
    camp = uuid.UUID(int=42)
    people = [uuid.UUID(int=i * 7919 + 1) for i in range(6000)]
    weights = [("A", 1), ("B", 3)]
    first = [assign_variant(camp, p, weights) for p in people]
    assert first == [assign_variant(camp, p, weights) for p in people]
    share_b = first.count("B") / len(first)
    assert 0.72 < share_b < 0.78
    # a fixed answer: changing the hash would reassign live campaigns
    assert assign_variant(camp, uuid.UUID(int=1), weights) == assign_variant(
        camp, uuid.UUID(int=1), [("A", 1), ("B", 3)]
    )
    with pytest.raises(ValidationError):
        assign_variant(camp, people[0], [])
    with pytest.raises(ValidationError):
        assign_variant(camp, people[0], [("A", 0)])
    with pytest.raises(ValidationError):
        assign_variant(camp, people[0], [("A", 1), ("A", 2)])


def test_utm_link_keeps_other_parameters_and_fragment() -> None:
    url = utm_link(
        "https://shop.example.com/p?id=7&utm_source=old#top",
        source="crm",
        medium="email",
        campaign="spring",
        content="B",
    )
    parts = urlsplit(url)
    assert parts.fragment == "top"
    assert parse_qs(parts.query) == {
        "id": ["7"],
        "utm_source": ["crm"],
        "utm_medium": ["email"],
        "utm_campaign": ["spring"],
        "utm_content": ["B"],
    }
    with pytest.raises(ValidationError):
        utm_link("javascript:alert(1)", source="a", medium="b", campaign="c")


def test_attribution_models() -> None:
    who = uuid.uuid4()
    a, b, c = (uuid.UUID(int=i) for i in (1, 2, 3))
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    touches = [
        Touchpoint(who, a, t0),
        Touchpoint(who, b, t0 + dt.timedelta(days=2)),
        Touchpoint(who, c, t0 + dt.timedelta(days=40)),  # after the order: never credited
    ]
    order = RevenueEvent(who, Decimal("100"), "CNY", t0 + dt.timedelta(days=3))
    assert attribute(touches, [order], model="first_touch") == {(a, "CNY"): Decimal("100.00")}
    assert attribute(touches, [order], model="last_touch") == {(b, "CNY"): Decimal("100.00")}
    assert attribute(touches, [order], model="linear") == {
        (a, "CNY"): Decimal("50.00"),
        (b, "CNY"): Decimal("50.00"),
    }
    # a window of 2 days leaves only the touch 1 day before the order
    short = attribute(touches, [order], model="first_touch", window=dt.timedelta(days=2))
    assert short == {(b, "CNY"): Decimal("100.00")}
    # three-way split: exact shares, cents at the end
    three = [Touchpoint(who, x, t0) for x in (a, b, c)]
    out = attribute(three, [RevenueEvent(who, Decimal("100"), "CNY", t0)], model="linear")
    assert out == {(x, "CNY"): Decimal("33.33") for x in (a, b, c)}
    with pytest.raises(ValidationError):
        attribute(touches, [order], model="u_shaped")  # type: ignore[arg-type]


def test_parse_event_names_the_bad_field() -> None:
    ok = {
        "id": "e1",
        "kind": "opened",
        "campaign_id": str(uuid.uuid4()),
        "customer_id": str(uuid.uuid4()),
        "occurred_at": "2026-01-01T00:00:00+08:00",
    }
    e = parse_event(ok)
    assert e.occurred_at == dt.datetime(2025, 12, 31, 16, tzinfo=dt.timezone.utc)
    for key, bad, path in [
        ("kind", "read", "$[3].kind"),
        ("occurred_at", "2026-01-01T00:00:00", "$[3].occurred_at"),
        ("customer_id", "nope", "$[3].customer_id"),
        ("id", "", "$[3].provider_event_id"),
    ]:
        with pytest.raises(ValidationError) as exc:
            parse_event({**ok, key: bad}, 3)
        assert path in str(exc.value)
