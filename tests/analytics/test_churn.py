"""Churn: our reports equal statsmodels and scikit-learn called directly; risk beats chance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight

from crmcore.analytics import (
    CHURN_FEATURES,
    ChurnRiskModel,
    churn_drivers,
    churn_labels,
    customer_features,
    survival_by_segment,
    survival_frame,
    synthetic_churn_customers,
)
from crmcore.errors import ConfigurationError, ValidationError


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    frame = synthetic_churn_customers(2500, seed=4)
    frame["duration_days"] = frame["tenure_days"]
    frame["segment"] = np.where(frame["frequency"] > 4, "frequent", "occasional")
    return frame


@pytest.fixture(scope="module")
def lifetimes() -> pd.DataFrame:
    """Fewer customers, lifetimes in whole days (so Efron's tie handling is exercised)."""
    frame = synthetic_churn_customers(900, seed=5)
    frame["duration_days"] = frame["tenure_days"].round()
    frame["segment"] = np.where(frame["frequency"] > 4, "frequent", "occasional")
    return frame


def test_kaplan_meier_by_hand() -> None:
    frame = pd.DataFrame({"duration_days": [1, 2, 2, 3, 5, 0], "churned": [1, 1, 0, 1, 0, 1]})
    curves = survival_by_segment(frame)
    assert curves.frame["time"].tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(curves.frame["survival"], [5 / 6, 4 / 6, 3 / 6, 3 / 6 * 1 / 2])
    assert curves.medians.loc["all", "median_days"] == 3
    assert curves.survival_at("all", 2.5) == pytest.approx(0.5)
    assert curves.survival_at("all", -1) == 1.0


def test_survival_curves_equal_statsmodels_directly(lifetimes: pd.DataFrame) -> None:
    customers = lifetimes
    curves = survival_by_segment(customers, segment="segment")
    assert set(curves.medians.index) == {"frequent", "occasional"}
    for name, group in customers.groupby("segment"):
        direct = SurvfuncRight(
            group["duration_days"].to_numpy(float), group["churned"].to_numpy(float)
        )
        ours = curves.frame[curves.frame["segment"] == name]
        np.testing.assert_array_equal(ours["time"].to_numpy(), direct.surv_times)
        np.testing.assert_array_equal(ours["survival"].to_numpy(), direct.surv_prob)
        np.testing.assert_array_equal(ours["se"].to_numpy(), direct.surv_prob_se)
        np.testing.assert_array_equal(ours["at_risk"].to_numpy(), direct.n_risk)
        assert curves.medians.loc[name, "median_days"] == direct.quantile(0.5)
        assert curves.medians.loc[name, "customers"] == len(group)
        assert ((ours["lower"] <= ours["survival"]) & (ours["survival"] <= ours["upper"])).all()


def test_cox_drivers_equal_statsmodels_directly(lifetimes: pd.DataFrame) -> None:
    customers = lifetimes
    assert customers["duration_days"].duplicated().any()  # ties
    covariates = ["tickets", "csat", "engagement"]
    drivers = churn_drivers(customers, covariates, segment="segment")
    for name, group in customers.groupby("segment"):
        direct = PHReg(
            group["duration_days"].to_numpy(float),
            group[covariates].to_numpy(float),
            status=group["churned"].to_numpy(float),
            ties="efron",
        ).fit()
        ours = drivers.frame[drivers.frame["segment"] == name].set_index("covariate")
        np.testing.assert_allclose(ours.loc[covariates, "coef"], direct.params, rtol=1e-10)
        np.testing.assert_allclose(ours.loc[covariates, "se"], direct.bse, rtol=1e-10)
        np.testing.assert_allclose(ours.loc[covariates, "p"], direct.pvalues, rtol=1e-10)
        np.testing.assert_allclose(ours.loc[covariates, "hazard_ratio"], np.exp(direct.params))
        assert drivers.log_likelihood[name] == pytest.approx(direct.llf)
    # the generator makes tickets raise churn and satisfaction lower it
    overall = churn_drivers(customers, covariates).frame.set_index("covariate")
    assert overall.loc["tickets", "coef"] > 0
    assert overall.loc["csat", "coef"] < 0


def test_risk_model_is_close_to_the_oracle_out_of_sample(customers: pd.DataFrame) -> None:
    features = customers[list(CHURN_FEATURES)]
    model = ChurnRiskModel(seed=1).fit(features, customers["churned"])
    test = model.test_index
    assert test is not None
    oracle = roc_auc_score(customers.loc[test, "churned"], customers.loc[test, "churn_probability"])
    assert model.auc > 0.7
    assert model.auc >= oracle - 0.03
    oracle_brier = brier_score_loss(
        customers.loc[test, "churned"], customers.loc[test, "churn_probability"]
    )
    assert model.brier <= oracle_brier + 0.02
    # calibrated: each populated risk bin's observed churn is near its predicted risk
    cal = model.calibration[model.calibration["customers"] >= 40]
    assert (cal["observed"] - cal["predicted"]).abs().max() < 0.15
    risk = model.predict_risk(features)
    assert risk.between(0, 1).all() and risk.index.equals(features.index)
    assert roc_auc_score(customers["churned"], risk) > 0.7


def test_risk_model_equals_sklearn_called_directly(customers: pd.DataFrame) -> None:
    features = customers[list(CHURN_FEATURES)]
    model = ChurnRiskModel(seed=2).fit(features, customers["churned"])
    x, y = features.to_numpy(float), customers["churned"].to_numpy(bool)
    train, test = train_test_split(np.arange(len(y)), test_size=0.3, random_state=2, stratify=y)
    direct = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        x[train], y[train]
    )
    p = direct.predict_proba(x[test])[:, 1]
    assert model.auc == roc_auc_score(y[test], p)
    assert model.brier == brier_score_loss(y[test], p)


def test_permutation_importance_finds_the_drivers_not_the_noise(customers: pd.DataFrame) -> None:
    features = customers[list(CHURN_FEATURES)].copy()
    features["noise"] = np.random.default_rng(0).normal(size=len(features))
    model = ChurnRiskModel(seed=0).fit(features, customers["churned"])
    imp = model.importance["importance"]
    assert imp.index[0] == "recency_days"  # the strongest effect in the generator
    assert imp["noise"] < 0.01
    assert imp["tenure_days"] < 0.01  # no effect in the generator
    assert imp["csat"] > imp["noise"] + 0.01


def test_boosting_model_also_beats_chance() -> None:
    small = synthetic_churn_customers(600, seed=9)
    model = ChurnRiskModel("boosting", seed=0).fit(small[list(CHURN_FEATURES)], small["churned"])
    assert model.auc > 0.65


def test_features_labels_and_lifetimes_follow_their_rules() -> None:
    at = pd.Timestamp("2024-06-30", tz="UTC")
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c"],
            "ordered_at": pd.to_datetime(
                ["2024-01-01", "2024-06-20", "2024-02-01", "2024-05-01", "2024-08-01"], utc=True
            ),
            "amount": [10.0, 20.0, 5.0, 7.0, 8.0],
        }
    )
    tickets = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "opened_at": pd.to_datetime(["2024-03-01"] * 3 + ["2024-12-01"], utc=True),
        }
    )
    surveys = pd.DataFrame(
        {
            "customer_id": ["a", "a"],
            "score": [4.0, 2.0],
            "responded_at": pd.to_datetime(["2024-03-01"] * 2, utc=True),
        }
    )
    events = pd.DataFrame(
        {
            "customer_id": ["b", "b", "b"],
            "kind": ["sent", "opened", "clicked"],
            "occurred_at": pd.to_datetime(["2024-03-01"] * 3, utc=True),
        }
    )
    f = customer_features(orders, at, tickets=tickets, surveys=surveys, campaign_events=events)
    assert list(f.columns) == list(CHURN_FEATURES)
    assert f.loc["a", "frequency"] == 2 and f.loc["a", "monetary"] == 30.0
    assert f.loc["a", "recency_days"] == 10 and f.loc["a", "tenure_days"] == 181
    assert (f.loc["a", "tickets"], f.loc["b", "tickets"], f.loc["c", "tickets"]) == (2, 1, 0)
    assert f.loc["a", "csat"] == 3.0 and f.loc["b", "csat"] == 3.0  # b gets the mean
    assert (f.loc["b", "engagement"], f.loc["a", "engagement"]) == (2, 0)
    assert f.loc["c", "frequency"] == 1  # the August order is after as_of
    labels = churn_labels(orders, at, horizon_days=60)
    assert labels.to_dict() == {"a": True, "b": True, "c": False}
    life = survival_frame(orders, at.isoformat(), churn_after_days=90)
    life = life.loc[["a", "b"]]  # c's later order makes it active at any as_of it shows in
    assert life["churned"].to_dict() == {"a": False, "b": True}
    assert life["duration_days"].to_dict() == {"a": 181.0, "b": 0.0}


def test_bad_churn_inputs_raise_typed_errors(customers: pd.DataFrame) -> None:
    with pytest.raises(ConfigurationError):
        ChurnRiskModel("forest")
    with pytest.raises(ValidationError):
        ChurnRiskModel().fit(customers[list(CHURN_FEATURES)], [True] * len(customers))
    with pytest.raises(ConfigurationError):
        ChurnRiskModel().predict_risk(customers)
    with pytest.raises(ConfigurationError):
        churn_drivers(customers, [])
    with pytest.raises(ValidationError):
        churn_drivers(customers, ["no_such_column"])


def test_a_covariate_constant_in_a_segment_gets_no_estimate_there(
    lifetimes: pd.DataFrame,
) -> None:
    frame = lifetimes.assign(segment=np.where(lifetimes["tickets"] > 0, "complained", "quiet"))
    drivers = churn_drivers(frame, ["tickets", "csat"], segment="segment").frame
    quiet = drivers[drivers["segment"] == "quiet"].set_index("covariate")
    assert np.isnan(quiet.loc["tickets", "coef"])
    assert not np.isnan(quiet.loc["csat", "coef"])
    complained = drivers[drivers["segment"] == "complained"].set_index("covariate")
    assert not complained[["coef", "se"]].isna().any().any()
