"""RFM: the numbers equal a brute-force computation, on frames and through every store."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import Money, Order, OrderLine, Principal
from crmcore.analytics import RFM_SEGMENTS, read_order_lines, read_orders, rfm, rfm_scores
from crmcore.errors import ConfigurationError, ValidationError

AS_OF = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)

# the documented segment grid, written out by hand: GRID[r][fm]
GRID = {
    5: {5: "champions", 4: "champions", 3: "loyal", 2: "potential_loyalists", 1: "new"},
    4: {
        5: "champions",
        4: "champions",
        3: "loyal",
        2: "potential_loyalists",
        1: "potential_loyalists",
    },
    3: {5: "loyal", 4: "loyal", 3: "loyal", 2: "need_attention", 1: "about_to_sleep"},
    2: {5: "at_risk", 4: "at_risk", 3: "at_risk", 2: "hibernating", 1: "hibernating"},
    1: {5: "cant_lose", 4: "cant_lose", 3: "at_risk", 2: "lost", 1: "lost"},
}


def brute_force(rows: list[tuple[str, dt.datetime, float]], as_of: dt.datetime, bins: int = 5):
    """RFM by plain Python loops, independent of the implementation."""
    per: dict[str, list[tuple[dt.datetime, float]]] = {}
    for cid, at, amount in rows:
        per.setdefault(cid, []).append((at, amount))
    raw = {
        cid: (
            (as_of - max(a for a, _ in xs)).total_seconds() / 86400,
            len(xs),
            sum(m for _, m in xs),
        )
        for cid, xs in per.items()
    }
    n = len(raw)

    def score(values: dict[str, float], higher_is_better: bool) -> dict[str, int]:
        out = {}
        for cid, v in values.items():
            worse = sum(1 for w in values.values() if (w < v if higher_is_better else w > v))
            out[cid] = 1 + math.floor(bins * worse / n)
        return out

    r = score({c: v[0] for c, v in raw.items()}, higher_is_better=False)
    f = score({c: v[1] for c, v in raw.items()}, higher_is_better=True)
    m = score({c: v[2] for c, v in raw.items()}, higher_is_better=True)
    return {
        cid: {
            "recency_days": raw[cid][0],
            "frequency": raw[cid][1],
            "monetary": raw[cid][2],
            "r_score": r[cid],
            "f_score": f[cid],
            "m_score": m[cid],
            "segment": GRID[r[cid]][(f[cid] + m[cid] + 1) // 2] if bins == 5 else None,
        }
        for cid in raw
    }


def assert_matches(result: pd.DataFrame, expected: dict[str, dict[str, object]]) -> None:
    assert sorted(result.index) == sorted(expected)
    for cid, want in expected.items():
        got = result.loc[cid]
        assert got["recency_days"] == pytest.approx(want["recency_days"], abs=1e-6)
        assert got["frequency"] == want["frequency"]
        assert got["monetary"] == pytest.approx(want["monetary"], abs=1e-6)
        assert (got["r_score"], got["f_score"], got["m_score"]) == (
            want["r_score"],
            want["f_score"],
            want["m_score"],
        ), cid
        assert got["segment"] == want["segment"], cid


def random_rows(seed: int, customers: int, orders: int) -> list[tuple[str, dt.datetime, float]]:
    rng = np.random.default_rng(seed)
    ids = [f"cust-{i:03d}" for i in range(customers)]
    rows = []
    for i in range(orders):
        cid = ids[i] if i < customers else ids[int(rng.integers(customers))]
        at = AS_OF - dt.timedelta(seconds=int(rng.integers(0, 400 * 86400)))
        amount = float(Decimal(int(rng.integers(100, 50000))) / 100)  # cents: exact in floats
        rows.append((cid, at, amount))
    return rows


def frame_of(rows: list[tuple[str, dt.datetime, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])


def test_every_score_cell_has_exactly_one_named_segment() -> None:
    for r in range(1, 6):
        for fm in range(1, 6):
            first = next(rule.name for rule in RFM_SEGMENTS if rule.matches(r, fm))
            assert first == GRID[r][fm]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    customers=st.integers(1, 40),
    extra=st.integers(0, 80),
    bins=st.sampled_from([3, 4, 5]),
)
def test_rfm_equals_brute_force_on_random_frames(
    seed: int, customers: int, extra: int, bins: int
) -> None:
    rows = random_rows(seed, customers, customers + extra)
    result = rfm(frame_of(rows), AS_OF, bins=bins)
    assert_matches(result.frame, brute_force(rows, AS_OF, bins))
    assert result.frame[["r_score", "f_score", "m_score"]].isin(range(1, bins + 1)).all().all()


def test_ties_share_a_score_whatever_the_row_order() -> None:
    rows = [(f"c{i}", AS_OF - dt.timedelta(days=10 * (i % 3)), 50.0) for i in range(12)]
    forward = rfm(frame_of(rows), AS_OF).frame
    backward = rfm(frame_of(rows[::-1]), AS_OF).frame
    pd.testing.assert_frame_equal(forward, backward)
    assert forward.groupby("recency_days")["r_score"].nunique().eq(1).all()
    assert set(forward["m_score"]) == {1}


def test_fixed_bins_follow_the_edges() -> None:
    table = pd.DataFrame(
        {
            "recency_days": [0, 30, 31, 400],
            "frequency": [1, 2, 9, 20],
            "monetary": [10.0, 99.9, 100.0, 5000.0],
        },
        index=["a", "b", "c", "d"],
    )
    edges = {
        "recency": [30, 90, 180, 365],
        "frequency": [2, 4, 8, 16],
        "monetary": [50, 100, 500, 1000],
    }
    scored = rfm_scores(table, method="fixed", edges=edges)
    assert scored["r_score"].tolist() == [5, 5, 4, 1]
    assert scored["f_score"].tolist() == [1, 2, 4, 5]
    assert scored["m_score"].tolist() == [1, 2, 3, 5]
    assert scored["rfm_code"].tolist() == ["511", "522", "443", "155"]
    with pytest.raises(ConfigurationError):
        rfm_scores(table, method="fixed", edges={"recency": [1, 2]})


def test_segment_summary_adds_up() -> None:
    result = rfm(frame_of(random_rows(7, 60, 200)), AS_OF)
    seg = result.segments
    assert seg["customers"].sum() == 60
    assert seg["share"].sum() == pytest.approx(1.0)
    assert seg["revenue_share"].sum() == pytest.approx(1.0)
    one = result.frame.index[0]
    assert result.segment_of(one) == result.frame.loc[one, "segment"]
    assert result.segment_of("nobody") is None


def test_mixed_currencies_are_refused_not_added_up() -> None:
    frame = frame_of(random_rows(1, 4, 6)).assign(currency=["CNY"] * 5 + ["USD"])
    with pytest.raises(ValidationError) as exc:
        rfm(frame, AS_OF)
    assert exc.value.codes == ("mixed_currency",)
    assert "CNY, USD" in str(exc.value)
    assert len(rfm(frame[frame["currency"] == "CNY"], AS_OF).frame) > 0


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValidationError) as exc:
        rfm(pd.DataFrame({"customer_id": ["a"], "amount": [1.0]}))
    assert exc.value.codes == ("missing_column",)
    assert "ordered_at" in str(exc.value)


def _orders(rows: list[tuple[str, dt.datetime, float]]) -> tuple[list[Order], dict[str, str]]:
    ids = {cid: uuid.uuid4() for cid, _, _ in rows}
    orders = []
    for cid, at, amount in rows:
        cents = Decimal(str(amount))
        # two lines per order whose total is the amount: RFM must read the order total
        half = (cents / 2).quantize(Decimal("0.01"))
        orders.append(
            Order(
                customer_id=ids[cid],
                ordered_at=at,
                currency="CNY",
                lines=(
                    OrderLine(sku="A", quantity=1, unit_price=Money(half, "CNY")),
                    OrderLine(sku="B", quantity=2, unit_price=Money((cents - half) / 2, "CNY")),
                ),
            )
        )
    return orders, {str(v): k for k, v in ids.items()}


def test_rfm_from_the_store_equals_brute_force(
    crm: crmcore.Crm, session: Callable[[], crmcore.Session], tenant: str
) -> None:
    rows = random_rows(11, 30, 90)
    orders, names = _orders(rows)
    cancelled = Order(
        customer_id=orders[0].customer_id,
        status="cancelled",
        ordered_at=AS_OF,
        lines=(OrderLine(sku="Z", unit_price=Money("9999", "CNY")),),
    )
    with session() as s:
        s.orders.add_many([*orders, cancelled])
    with crm.session(Principal.system_principal(f"{tenant}-other")) as other:
        other.orders.add(
            Order(
                customer_id=uuid.uuid4(),
                ordered_at=AS_OF,
                lines=(OrderLine(sku="A", unit_price=Money("1", "CNY")),),
            )
        )
    with session() as s:
        frame = read_orders(s, page_size=7)  # several pages
        lines = read_order_lines(s, page_size=50)
    assert len(frame) == 90
    assert len(lines) == 180
    assert lines.groupby("order_id")["amount"].sum().sum() == pytest.approx(frame["amount"].sum())
    frame["customer_id"] = frame["customer_id"].map(names)
    assert_matches(rfm(frame, AS_OF).frame, brute_force(rows, AS_OF))


def test_empty_orders_and_other_bin_counts_give_empty_segments() -> None:
    empty = rfm(frame_of([]), AS_OF)
    assert len(empty.frame) == 0 and empty.segments.empty
    assert repr(empty) == "<RfmResult: 0 customers, 5 bins (quantile)>"
    four = rfm(frame_of(random_rows(2, 10, 20)), AS_OF, bins=4)
    assert four.frame["segment"].isna().all()


def test_rfm_through_the_aggregate_port_equals_brute_force(
    crm: crmcore.Crm, session: Callable[[], crmcore.Session], tenant: str
) -> None:
    rows = random_rows(12, 25, 80)
    orders, names = _orders(rows)
    # an order without ordered_at is dated by its creation, as read_orders does
    undated = Order(
        customer_id=orders[0].customer_id,
        currency="CNY",
        lines=(OrderLine(sku="U", unit_price=Money("12.5", "CNY")),),
    )
    cancelled = Order(
        customer_id=orders[1].customer_id,
        status="cancelled",
        ordered_at=AS_OF,
        lines=(OrderLine(sku="Z", unit_price=Money("9999", "CNY")),),
    )
    with session() as s:
        s.orders.add_many([*orders, undated, cancelled])
    with crm.session(Principal.system_principal(f"{tenant}-other")) as other:
        other.orders.add(
            Order(
                customer_id=uuid.uuid4(),
                ordered_at=AS_OF,
                lines=(OrderLine(sku="A", unit_price=Money("1", "CNY")),),
            )
        )
    with session() as s:
        created = s.orders.get(undated.id).created_at
        pushed = rfm(s, AS_OF + dt.timedelta(days=400)).frame
        streamed = rfm(read_orders(s), AS_OF + dt.timedelta(days=400)).frame
    pd.testing.assert_frame_equal(pushed, streamed, check_exact=False, rtol=1e-12)
    undated_owner = names[str(orders[0].customer_id)]
    pushed.index = pushed.index.map(names)
    want = brute_force([*rows, (undated_owner, created, 12.5)], AS_OF + dt.timedelta(days=400))
    assert_matches(pushed, want)


def test_rfm_through_a_session_refuses_mixed_currencies_and_frames_refuse_where(
    session: Callable[[], crmcore.Session],
) -> None:
    cid = uuid.uuid4()
    with session() as s:
        for cur in ("CNY", "USD"):
            s.orders.add(
                Order(
                    customer_id=cid,
                    currency=cur,
                    ordered_at=AS_OF,
                    lines=(OrderLine(sku="A", unit_price=Money("1", cur)),),
                )
            )
    with session() as s:
        with pytest.raises(ValidationError) as exc:
            rfm(s, AS_OF)
        assert exc.value.codes == ("mixed_currency",)
        one = rfm(s, AS_OF, where=crmcore.field("currency") == "USD").frame
    assert one["monetary"].tolist() == [1.0]
    with pytest.raises(ConfigurationError):
        rfm(frame_of(random_rows(1, 2, 2)), AS_OF, where=crmcore.field("currency") == "USD")


def test_rfm_html_shows_the_segments_before_the_first_customers() -> None:
    """A report reader sees the segments first, then only the first 50 of many customers."""
    result = rfm(frame_of(random_rows(11, 300, 900)), AS_OF)
    body = result.html_body()
    assert body.index("Per segment") < body.index("Per customer")
    for name, row in result.segments.iterrows():
        assert f">{name}<" in body and f">{int(row['customers']):,}<" in body
    assert f"first 50 of {len(result.frame):,} rows" in body
    shown = body[body.index("Per customer") :]
    assert shown.count("<tr>") == 51  # the header and 50 customers
