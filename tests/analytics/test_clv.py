"""CLV: BG/NBD and Gamma-Gamma fits reproduce the published CDNOW numbers."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import crmcore
from crmcore import Money, Order, OrderLine
from crmcore.analytics import (
    BetaGeoModel,
    GammaGammaModel,
    clv,
    clv_summary,
    customer_lifetime_value,
    read_orders,
)
from crmcore.errors import ConfigurationError, ValidationError


def sig3(x: float) -> float:
    return float(f"{x:.3g}")


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(Path(__file__).parent / "data" / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def cdnow_value() -> pd.DataFrame:
    frame = pd.read_csv(
        Path(__file__).parent / "data" / "cdnow_customers_summary_with_transactions.csv"
    )
    return frame.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def bgnbd(cdnow: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def gamma_gamma(cdnow_value: pd.DataFrame) -> GammaGammaModel:
    repeat = cdnow_value[cdnow_value["frequency"] > 0]
    return GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])


def test_bgnbd_reproduces_fader_hardie_lee_on_cdnow(bgnbd: BetaGeoModel) -> None:
    p = bgnbd.params
    assert (sig3(p["r"]), sig3(p["alpha"]), sig3(p["a"]), sig3(p["b"])) == (
        0.243,
        4.41,
        0.793,
        2.43,
    )
    assert p["r"] == pytest.approx(0.2426, abs=5e-4)
    assert p["alpha"] == pytest.approx(4.414, abs=5e-3)
    assert p["a"] == pytest.approx(0.793, abs=5e-4)
    assert p["b"] == pytest.approx(2.426, abs=5e-3)
    assert bgnbd.log_likelihood == pytest.approx(-9582.43, abs=0.01)
    assert bgnbd.converged
    assert bgnbd.n_customers == 2357


def test_bgnbd_standard_errors_match_the_published_summary(bgnbd: BetaGeoModel) -> None:
    # lifetimes' Quickstart `bgf.summary` on CDNOW: se 0.012557, 0.378221, 0.185719, 0.705345
    np.testing.assert_allclose(
        bgnbd.frame.loc[["r", "alpha", "a", "b"], "se"],
        [0.012557, 0.378221, 0.185719, 0.705345],
        rtol=2e-3,
    )
    frame = bgnbd.frame
    assert ((frame["lower"] < frame["value"]) & (frame["value"] < frame["upper"])).all()


def test_bgnbd_predictions_match_the_published_values(bgnbd: BetaGeoModel) -> None:
    assert float(bgnbd.conditional_expected_purchases(39, 2, 30.43, 38.86)) == pytest.approx(
        1.226, abs=1e-3
    )
    expected = bgnbd.expected_purchases([0.1429, 1, 3, 31.8571, 32, 78])
    np.testing.assert_allclose(
        expected, [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576], atol=1e-3
    )
    assert float(bgnbd.probability_alive(2, 30.43, 38.86)) == pytest.approx(0.7266, abs=1e-4)
    assert float(bgnbd.probability_alive(0, 0, 38.86)) == 1.0


def test_bgnbd_log_likelihood_is_stable_for_heavy_buyers() -> None:
    ll = BetaGeoModel.log_likelihood_terms((0.25, 4.0, 0.80, 2.50), [0, 200], [0, 38], [40, 40])
    np.testing.assert_allclose(ll, [-0.59947382, 100.7957], atol=1e-4)


def test_bgnbd_grouped_weights_give_the_same_fit(cdnow: pd.DataFrame) -> None:
    grouped = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    model = BetaGeoModel().fit(
        grouped["frequency"], grouped["recency"], grouped["T"], weights=grouped["n"]
    )
    assert model.log_likelihood == pytest.approx(-9582.43, abs=0.01)
    assert model.params["r"] == pytest.approx(0.2426, abs=5e-4)


def test_gamma_gamma_reproduces_fader_hardie_on_cdnow(gamma_gamma: GammaGammaModel) -> None:
    p = gamma_gamma.params
    assert (sig3(p["p"]), sig3(p["q"]), sig3(p["v"])) == (6.25, 3.74, 15.4)
    assert p["p"] == pytest.approx(6.25, abs=5e-3)
    assert p["q"] == pytest.approx(3.74, abs=6e-3)
    assert p["v"] == pytest.approx(15.44, abs=1e-2)
    assert gamma_gamma.log_likelihood == pytest.approx(-4055.92, abs=0.01)
    assert gamma_gamma.population_mean == pytest.approx(35.17, abs=0.01)


def test_gamma_gamma_conditional_spend_of_the_first_ten_customers(
    gamma_gamma: GammaGammaModel, cdnow_value: pd.DataFrame
) -> None:
    head = cdnow_value.head(10)
    spend = gamma_gamma.conditional_expected_value(head["frequency"], head["monetary_value"])
    np.testing.assert_allclose(
        spend, [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17], atol=0.1
    )


def test_clv_matches_the_lifetimes_quickstart_semantics(
    gamma_gamma: GammaGammaModel, cdnow_value: pd.DataFrame
) -> None:
    purchases = BetaGeoModel().fit(
        cdnow_value["frequency"], cdnow_value["recency"], cdnow_value["T"]
    )
    # 12 steps of 30 weeks at 1% per step: lifetimes' "time=12, freq='D'" on weekly data
    value = customer_lifetime_value(
        purchases, gamma_gamma, cdnow_value, periods=12, period_length=30, discount_rate=0.01
    )
    expected = [
        140.096211,
        18.943467,
        38.180574,
        38.180574,
        38.180574,
        1003.868107,
        28.109683,
        38.180574,
        167.418216,
        38.180574,
    ]
    np.testing.assert_allclose(value.head(10).to_numpy(), expected, atol=1e-3)


def test_discounting_lowers_value_and_zero_rate_sums_expected_purchases(
    bgnbd: BetaGeoModel, gamma_gamma: GammaGammaModel, cdnow_value: pd.DataFrame
) -> None:
    head = cdnow_value.head(20)
    flat = customer_lifetime_value(
        bgnbd, gamma_gamma, head, periods=4, period_length=10, discount_rate=0.0
    )
    spend = gamma_gamma.conditional_expected_value(head["frequency"], head["monetary_value"])
    purchases = bgnbd.conditional_expected_purchases(
        40, head["frequency"], head["recency"], head["T"]
    )
    np.testing.assert_allclose(flat.to_numpy(), spend * purchases, rtol=1e-12)
    discounted = customer_lifetime_value(
        bgnbd, gamma_gamma, head, periods=4, period_length=10, discount_rate=0.05
    )
    assert (discounted < flat).all()


def test_summary_from_orders_follows_the_definitions() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b"],
            "ordered_at": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 17:00",
                    "2024-01-15 00:00",
                    "2024-01-29 12:00",
                    "2024-01-08 08:00",
                ],
                utc=True,
            ),
            "amount": [10.0, 5.0, 30.0, 50.0, 99.0],
        }
    )
    summary = clv_summary(orders, "2024-02-05", time_unit="W")
    a, b = summary.loc["a"], summary.loc["b"]
    # a: days 01-01 (10+5, one purchase), 01-15, 01-29 -> 2 repeats, 4 weeks apart
    assert (a["frequency"], a["recency"], a["T"], a["monetary_value"]) == (2, 4.0, 5.0, 40.0)
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0.0, 4.0, 0.0)
    days = clv_summary(orders, "2024-02-05", time_unit="D")
    assert days.loc["a", "T"] == 35.0


def test_clv_pipeline_on_simulated_orders_values_active_buyers_higher() -> None:
    rng = np.random.default_rng(3)
    rows = []
    start = pd.Timestamp("2023-01-01", tz="UTC")
    for c in range(400):
        rate = rng.gamma(0.8, 1 / 20)  # purchases per day
        alive = rng.exponential(300)
        t = rng.uniform(0, 60)
        spend = rng.gamma(6, 8)
        while t < min(alive, 365):
            rows.append((f"c{c}", start + pd.Timedelta(days=float(t)), spend * rng.gamma(4, 0.25)))
            t += rng.exponential(1 / rate)
    orders = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])
    result = clv(orders, "2024-01-01", time_unit="D", periods=6, period_length=30)
    f = result.frame
    assert result.purchases.converged and result.spend.converged
    assert ((f["p_alive"] >= 0) & (f["p_alive"] <= 1)).all()
    assert (f["clv"] >= 0).all()
    busy = f[f["frequency"] >= f["frequency"].quantile(0.8)]
    idle = f[f["frequency"] == 0]
    assert busy["clv"].mean() > idle["clv"].mean()


def test_bad_inputs_raise_typed_errors(bgnbd: BetaGeoModel) -> None:
    with pytest.raises(ValidationError) as exc:
        BetaGeoModel().fit([1, 2], [5, 1], [4, 6])
    assert exc.value.codes == ("out_of_range",)
    with pytest.raises(ValidationError) as count_exc:
        BetaGeoModel().fit([1.5], [1], [4])
    assert count_exc.value.codes == ("not_a_count",)
    with pytest.raises(ValidationError) as t_exc:
        BetaGeoModel().fit([0, 0], [0, 0], [0, 0])
    assert t_exc.value.codes == ("no_observation",)
    with pytest.raises(ValidationError):
        GammaGammaModel().fit([0, 2], [10.0, 5.0])
    with pytest.raises(ConfigurationError):
        BetaGeoModel().expected_purchases(1.0)
    heavy = GammaGammaModel()
    heavy.params = {"p": 1.0, "q": 0.9, "v": 2.0}
    with pytest.raises(ValidationError) as q_exc:
        heavy.conditional_expected_value([1], [10.0])
    assert q_exc.value.codes == ("q_not_above_one",)
    with pytest.raises(ConfigurationError):
        clv_summary(pd.DataFrame(columns=["customer_id", "ordered_at", "amount"]), time_unit="M")
    assert math.isfinite(bgnbd.log_likelihood)


def test_clv_without_repeat_customers_says_so() -> None:
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "ordered_at": pd.to_datetime(["2024-01-01", "2024-02-01"], utc=True),
            "amount": [1.0, 2.0],
        }
    )
    with pytest.raises(ValidationError) as exc:
        clv(orders)
    assert exc.value.codes == ("too_few_repeat_customers",)


def test_bgnbd_recovers_the_parameters_it_simulated() -> None:
    rng = np.random.default_rng(12)
    r, alpha, a, b = 0.6, 5.0, 0.8, 2.5
    n = 4000
    freq, rec, big_t = np.zeros(n), np.zeros(n), rng.uniform(30, 40, n)
    for i in range(n):
        lam, p = rng.gamma(r, 1 / alpha), rng.beta(a, b)
        t, x, last = 0.0, 0, 0.0
        while True:
            t += rng.exponential(1 / lam)
            if t > big_t[i]:
                break
            x, last = x + 1, t
            if rng.random() < p:  # drops out right after this purchase
                break
        freq[i], rec[i] = x, last
    model = BetaGeoModel().fit(freq, rec, big_t)
    assert model.converged
    got = model.frame
    for name, true in {"r": r, "alpha": alpha, "a": a, "b": b}.items():
        assert got.loc[name, "lower"] - 0.5 * got.loc[name, "se"] < true, name
        assert true < got.loc[name, "upper"] + 0.5 * got.loc[name, "se"], name
    assert model.params["r"] == pytest.approx(r, rel=0.2)


def test_summary_through_the_aggregate_port_equals_the_frame_path(
    session: Callable[[], crmcore.Session],
) -> None:
    rng = np.random.default_rng(5)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    ids = [uuid.uuid4() for _ in range(30)]
    orders = []
    for i in range(150):
        cid = ids[i % 30] if i < 30 else ids[int(rng.integers(30))]
        # whole hours over 60 days: several orders of a customer share a UTC day
        at = start + dt.timedelta(hours=int(rng.integers(0, 60 * 24)))
        cents = Decimal(int(rng.integers(100, 30000))) / 100
        orders.append(
            Order(
                customer_id=cid,
                ordered_at=at,
                lines=(OrderLine(sku="A", unit_price=Money(cents, "CNY")),),
            )
        )
    with session() as s:
        s.orders.add_many(orders)
    with session() as s:
        pushed = clv_summary(s, "2024-03-15", time_unit="W")
        frame = read_orders(s)
        streamed = clv_summary(frame, "2024-03-15", time_unit="W")
        value = clv(s, "2024-03-15", periods=2)
    assert len(pushed) == 30
    assert (pushed["frequency"] > 0).any()
    pd.testing.assert_frame_equal(pushed, streamed, check_exact=False, rtol=1e-12)
    by_hand = clv(frame, "2024-03-15", periods=2)
    pd.testing.assert_frame_equal(value.frame, by_hand.frame, check_exact=False, rtol=1e-9)
