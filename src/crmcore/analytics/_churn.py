"""Churn: survival curves and drivers per segment, and a churn-risk score per customer.

- :func:`customer_features` builds one row of behaviour per customer from
  the reader frames (orders, tickets, surveys, campaign events);
- :func:`survival_frame` turns an order history into (duration, churned) with
  a documented churn rule, for :func:`survival_by_segment` (Kaplan-Meier,
  statsmodels ``SurvfuncRight``) and :func:`churn_drivers` (Cox
  proportional hazards, statsmodels ``PHReg`` with Efron ties);
- :class:`ChurnRiskModel` scores churn risk with a scikit-learn classifier,
  evaluated out of sample (AUC, Brier score, calibration table) and
  explained by permutation importance; :func:`synthetic_churn_customers`
  makes data with a known churn probability to check it against.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from crmcore.analytics._result import AnalyticsResult, axes
from crmcore.analytics._rfm import _check_columns, _timestamp, rfm_table
from crmcore.errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = [
    "CHURN_FEATURES",
    "ChurnDrivers",
    "ChurnRiskModel",
    "SurvivalCurves",
    "churn_drivers",
    "churn_labels",
    "customer_features",
    "survival_by_segment",
    "survival_frame",
    "synthetic_churn_customers",
]

#: the behaviour columns of :func:`customer_features`, in order
CHURN_FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "tickets",
    "csat",
    "engagement",
)

#: campaign event kinds that count as engagement
ENGAGED_KINDS = ("opened", "clicked", "converted", "replied")


def _before(frame: pd.DataFrame, column: str, ref: pd.Timestamp) -> pd.DataFrame:
    import pandas as pd

    at = pd.to_datetime(frame[column], utc=True)
    return frame[at <= ref]


def customer_features(
    orders: pd.DataFrame,
    as_of: _dt.datetime | str | pd.Timestamp | None = None,
    *,
    tickets: pd.DataFrame | None = None,
    surveys: pd.DataFrame | None = None,
    campaign_events: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Behaviour per customer at ``as_of``, counting only what happened by then.

    Args:
        orders: ``customer_id``, ``ordered_at``, ``amount`` (as ``read_orders``).
        as_of: the reference time (default: the latest order).
        tickets: ``customer_id``, ``opened_at`` (as ``read_tickets``).
        surveys: ``customer_id``, ``score``, ``responded_at`` (as ``read_surveys``).
        campaign_events: ``customer_id``, ``kind``, ``occurred_at``.

    Returns:
        A frame indexed by ``customer_id`` (customers with an order by
        ``as_of``) with :data:`CHURN_FEATURES`: ``recency_days``,
        ``frequency``, ``monetary``, ``tenure_days`` (since the first order),
        ``tickets`` (count), ``csat`` (mean score; customers without an answer
        get the mean over everyone who answered, or 0 if nobody did) and
        ``engagement`` (campaign events of the kinds in ``ENGAGED_KINDS``).
    """
    import pandas as pd

    _check_columns(orders, ("customer_id", "ordered_at", "amount"), "customer_features")
    at = pd.to_datetime(orders["ordered_at"], utc=True)
    ref = _timestamp(as_of, at.max() if len(at) else pd.Timestamp.now(tz="UTC"))
    table = rfm_table(orders[at <= ref], ref)
    out = table[["recency_days", "frequency", "monetary"]].copy()
    out["tenure_days"] = (ref - table["first_order_at"]) / pd.Timedelta(days=1)
    out["tickets"] = 0.0
    out["csat"] = float("nan")
    out["engagement"] = 0.0
    if tickets is not None and len(tickets):
        _check_columns(tickets, ("customer_id", "opened_at"), "customer_features tickets")
        counts = _before(tickets, "opened_at", ref).groupby("customer_id").size()
        out["tickets"] = counts.reindex(out.index).fillna(0).astype("float64")
    if surveys is not None and len(surveys):
        _check_columns(surveys, ("customer_id", "score", "responded_at"), "customer_features")
        mean = _before(surveys, "responded_at", ref).groupby("customer_id")["score"].mean()
        out["csat"] = mean.reindex(out.index).astype("float64")
    fill = out["csat"].mean()
    out["csat"] = out["csat"].fillna(0.0 if fill != fill else fill)
    if campaign_events is not None and len(campaign_events):
        _check_columns(campaign_events, ("customer_id", "kind", "occurred_at"), "features")
        events = _before(campaign_events, "occurred_at", ref)
        events = events[events["kind"].isin(ENGAGED_KINDS)]
        counts = events.groupby("customer_id").size()
        out["engagement"] = counts.reindex(out.index).fillna(0).astype("float64")
    out["frequency"] = out["frequency"].astype("float64")
    return out[list(CHURN_FEATURES)]


def churn_labels(
    orders: pd.DataFrame,
    cutoff: _dt.datetime | str | pd.Timestamp,
    *,
    horizon_days: float = 90.0,
) -> pd.Series:
    """Whether each customer active by ``cutoff`` churned: no order in the next ``horizon_days``.

    Returns:
        A boolean Series ``churned`` indexed by ``customer_id`` (customers
        with an order at or before ``cutoff``).
    """
    import pandas as pd

    _check_columns(orders, ("customer_id", "ordered_at"), "churn_labels")
    ref = _timestamp(cutoff, None)
    at = pd.to_datetime(orders["ordered_at"], utc=True)
    before = set(orders.loc[at <= ref, "customer_id"])
    window = (at > ref) & (at <= ref + pd.Timedelta(days=horizon_days))
    came_back = set(orders.loc[window, "customer_id"])
    ids = sorted(before)
    labels = pd.Series([c not in came_back for c in ids], index=ids, name="churned", dtype=bool)
    labels.index.name = "customer_id"
    return labels


def survival_frame(
    orders: pd.DataFrame,
    as_of: _dt.datetime | str | pd.Timestamp | None = None,
    *,
    churn_after_days: float = 90.0,
) -> pd.DataFrame:
    """Customer lifetimes for survival analysis, under an explicit churn rule.

    A customer whose last order is more than ``churn_after_days`` before
    ``as_of`` has churned, at the time of that last order
    (``duration_days`` = last order - first order); any other customer is
    still active, censored at ``as_of`` (``duration_days`` = ``as_of`` -
    first order).

    Returns:
        The :func:`rfm_table` columns plus ``duration_days`` and ``churned`` (bool).
    """
    import pandas as pd

    table = rfm_table(orders, as_of)
    day = pd.Timedelta(days=1)
    churned = table["recency_days"] > churn_after_days
    lived = (table["last_order_at"] - table["first_order_at"]) / day
    observed = lived + table["recency_days"]
    out = table.copy()
    out["duration_days"] = lived.where(churned, observed).astype("float64")
    out["churned"] = churned.astype(bool)
    return out


def _groups(frame: pd.DataFrame, segment: str | None) -> list[tuple[str, pd.DataFrame]]:
    if segment is None:
        return [("all", frame)]
    _check_columns(frame, (segment,), "survival by segment")
    return [(str(k), g) for k, g in frame.groupby(segment, sort=True)]


class SurvivalCurves(AnalyticsResult):
    """Kaplan-Meier curves per segment.

    ``frame`` (long form): ``segment``, ``time``, ``survival``, ``se``,
    ``lower``, ``upper`` (pointwise 95% band, log-log transform), ``at_risk``,
    ``events``. ``medians``: per segment ``customers``, ``churned`` and
    ``median_days`` (NaN when the curve never reaches one half). ``fits``
    holds the statsmodels ``SurvfuncRight`` objects.
    """

    title = "Survival (Kaplan-Meier)"
    description = "Share of customers still active after a number of days, per segment."
    columns = MappingProxyType(
        {
            "segment": "the group the curve is for",
            "time": "days since the customer's start",
            "survival": "share of customers not yet churned",
            "se": "standard error of survival",
            "lower": "lower end of the pointwise 95% band (log-log)",
            "upper": "upper end of the pointwise 95% band (log-log)",
            "at_risk": "customers still observed at that time",
            "events": "churns at that time",
        }
    )

    def __init__(self, frame: pd.DataFrame, medians: pd.DataFrame, fits: dict[str, Any]) -> None:
        self.frame = frame
        self.medians = medians
        self.fits = fits

    def survival_at(self, segment: str, days: float) -> float:
        """S(days) of a segment's curve (1 before the first event)."""
        rows = self.frame[(self.frame["segment"] == segment) & (self.frame["time"] <= days)]
        return 1.0 if rows.empty else float(rows["survival"].iloc[-1])

    def _summary(self) -> str:
        parts = [
            f"{seg}: median {row['median_days']:.0f}d"
            if row["median_days"] == row["median_days"]
            else f"{seg}: median not reached"
            for seg, row in self.medians.iterrows()
        ]
        return f"{len(self.medians)} segments; " + "; ".join(parts[:4])

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Step curves of survival per segment."""
        ax = axes(ax)
        for seg, rows in self.frame.groupby("segment", sort=True):
            times = [0.0, *rows["time"].tolist()]
            surv = [1.0, *rows["survival"].tolist()]
            ax.step(times, surv, where="post", label=str(seg), **kwargs)
        ax.set_xlabel("days since first order")
        ax.set_ylabel("share not churned")
        ax.set_ylim(0, 1.02)
        ax.set_title("Customer survival (Kaplan-Meier)")
        ax.legend()
        return ax


def survival_by_segment(
    frame: pd.DataFrame,
    *,
    duration: str = "duration_days",
    event: str = "churned",
    segment: str | None = None,
) -> SurvivalCurves:
    """Kaplan-Meier survival curves, one per value of ``segment`` (or one overall).

    Args:
        frame: one row per customer, e.g. :func:`survival_frame` joined with an
            RFM segment.
        duration, event: the columns of time to churn or censoring, and churned.
        segment: a column to split by (None: one curve ``"all"``).

    Returns:
        :class:`SurvivalCurves`.
    """
    import numpy as np
    import pandas as pd
    from statsmodels.duration.survfunc import SurvfuncRight

    _check_columns(frame, (duration, event), "survival_by_segment")
    rows, medians, fits = [], [], {}
    for name, group in _groups(frame, segment):
        times = group[duration].to_numpy(dtype="float64")
        status = group[event].to_numpy(dtype="float64")
        fit = SurvfuncRight(times, status)
        fits[name] = fit
        s, se = np.asarray(fit.surv_prob), np.asarray(fit.surv_prob_se)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_s = np.log(s)
            half = 1.959963984540054 * se / np.abs(s * log_s)
            lower = np.exp(-np.exp(np.log(-log_s) + half))
            upper = np.exp(-np.exp(np.log(-log_s) - half))
        lower = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, lower))
        upper = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, upper))
        rows.append(
            pd.DataFrame(
                {
                    "segment": name,
                    "time": fit.surv_times,
                    "survival": s,
                    "se": se,
                    "lower": lower,
                    "upper": upper,
                    "at_risk": fit.n_risk,
                    "events": fit.n_events,
                }
            )
        )
        median = fit.quantile(0.5) if s.size and s.min() <= 0.5 else float("nan")
        medians.append(
            {
                "segment": name,
                "customers": len(group),
                "churned": int(status.sum()),
                "median_days": float(median),
            }
        )
    columns = ["segment", "time", "survival", "se", "lower", "upper", "at_risk", "events"]
    curves = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)
    return SurvivalCurves(curves, pd.DataFrame(medians).set_index("segment"), fits)


class ChurnDrivers(AnalyticsResult):
    """Cox proportional-hazards drivers of churn, per segment.

    ``frame``: one row per (``segment``, ``covariate``) with ``coef``,
    ``hazard_ratio``, ``se``, ``z``, ``p``, ``lower``, ``upper`` (95% on the
    coefficient); NaN where a covariate is constant within the segment or the
    segment has no churn. ``fits`` holds the statsmodels results per segment,
    and ``log_likelihood`` their partial log-likelihoods.
    """

    title = "Churn drivers (Cox)"
    description = "Cox proportional hazards: how much each feature speeds up or slows down churn."
    columns = MappingProxyType(
        {
            "segment": "the group the model is fitted on",
            "covariate": "the feature",
            "coef": "log hazard ratio",
            "hazard_ratio": "exp(coef): above 1 speeds churn up",
            "se": "standard error of coef",
            "z": "coef / se",
            "p": "two-sided p-value",
            "lower": "lower end of the 95% interval of the hazard ratio",
            "upper": "upper end of the 95% interval of the hazard ratio",
        }
    )

    def __init__(self, frame: pd.DataFrame, fits: dict[str, Any]) -> None:
        self.frame = frame
        self.fits = fits
        self.log_likelihood = {k: float(v.llf) for k, v in fits.items()}

    def _summary(self) -> str:
        top = self.frame.dropna(subset=["p"]).sort_values("p").head(3)
        parts = [f"{r.covariate} HR {r.hazard_ratio:.2f} (p={r.p:.3g})" for r in top.itertuples()]
        return f"{len(self.fits)} segments; strongest: " + ", ".join(parts)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Forest plot: hazard ratio and 95% interval per covariate (and segment)."""
        import numpy as np

        ax = axes(ax)
        f = self.frame
        labels = [
            f"{s}: {c}" if len(self.fits) > 1 else c
            for s, c in zip(f["segment"], f["covariate"], strict=True)
        ]
        y = np.arange(len(f))
        hr = f["hazard_ratio"].to_numpy()
        err = np.vstack([hr - np.exp(f["lower"].to_numpy()), np.exp(f["upper"].to_numpy()) - hr])
        ax.errorbar(hr, y, xerr=err, fmt="o", **kwargs)
        ax.axvline(1.0, color="grey", linewidth=1)
        ax.set_yticks(y, labels)
        ax.set_xscale("log")
        ax.set_xlabel("hazard ratio of churn")
        ax.set_title("Churn drivers (Cox)")
        return ax


def churn_drivers(
    frame: pd.DataFrame,
    covariates: Sequence[str],
    *,
    duration: str = "duration_days",
    event: str = "churned",
    segment: str | None = None,
    ties: str = "efron",
) -> ChurnDrivers:
    """Cox proportional-hazards regression of churn on ``covariates``, per segment.

    Args:
        frame: one row per customer with the duration, event and covariates.
        covariates: numeric columns; coefficients are per unit of each column.
        duration, event: the time and churned columns.
        segment: fit one model per value of this column (None: one model ``"all"``).
        ties: ``"efron"`` (default) or ``"breslow"``.

    Returns:
        :class:`ChurnDrivers`.

    Raises:
        ValidationError: a column is missing.
        ConfigurationError: no covariates, or a bad ``ties``.
    """
    import numpy as np
    import pandas as pd
    from statsmodels.duration.hazard_regression import PHReg

    names = list(covariates)
    if not names:
        raise ConfigurationError("churn_drivers needs at least one covariate")
    if ties not in ("efron", "breslow"):
        raise ConfigurationError(f"unknown ties method {ties!r}: use 'efron' or 'breslow'")
    _check_columns(frame, (duration, event, *names), "churn_drivers")
    rows: list[dict[str, Any]] = []
    fits: dict[str, Any] = {}
    for name, group in _groups(frame, segment):
        # a covariate constant within a segment has no effect to estimate there
        used = [c for c in names if group[c].nunique(dropna=False) > 1]
        events = int(group[event].astype(bool).sum())
        if not used or events == 0:
            rows += [_no_estimate(name, c) for c in names]
            continue
        model = PHReg(
            group[duration].to_numpy(dtype="float64"),
            group[used].to_numpy(dtype="float64"),
            status=group[event].to_numpy(dtype="float64"),
            ties=ties,
        )
        try:
            result = model.fit()
        except np.linalg.LinAlgError:
            raise ValidationError.single(
                f"$.{segment or 'all'}",
                "collinear",
                f"segment {name!r}: covariates {', '.join(used)} are collinear; drop one",
            ) from None
        fits[name] = result
        ci = np.asarray(result.conf_int())
        at = {c: i for i, c in enumerate(used)}
        for cov in names:
            i = at.get(cov, -1)
            if i < 0:
                rows.append(_no_estimate(name, cov))
                continue
            rows.append(
                {
                    "segment": name,
                    "covariate": cov,
                    "coef": float(result.params[i]),
                    "hazard_ratio": float(np.exp(result.params[i])),
                    "se": float(result.bse[i]),
                    "z": float(result.tvalues[i]),
                    "p": float(result.pvalues[i]),
                    "lower": float(ci[i, 0]),
                    "upper": float(ci[i, 1]),
                }
            )
    return ChurnDrivers(pd.DataFrame(rows), fits)


def _no_estimate(segment: str, covariate: str) -> dict[str, Any]:
    nan = float("nan")
    return {
        "segment": segment,
        "covariate": covariate,
        "coef": nan,
        "hazard_ratio": nan,
        "se": nan,
        "z": nan,
        "p": nan,
        "lower": nan,
        "upper": nan,
    }


class ChurnRiskModel(AnalyticsResult):
    """Churn-risk scores from behaviour features, checked out of sample.

    ``fit(features, churned)`` holds out ``test_size`` of the customers
    (stratified, seeded), fits the classifier on the rest and measures on the
    hold-out: ``auc`` (ROC AUC), ``brier`` (Brier score), ``calibration``
    (per bin of predicted risk: mean predicted vs observed churn) and
    ``importance`` (permutation importance, drop in AUC when a feature is
    shuffled). Then it refits on everything; :meth:`predict_risk` scores
    any customers. ``frame`` is the importance table.

    Args:
        kind: ``"logistic"`` (scaled logistic regression, the default) or
            ``"boosting"`` (histogram gradient boosting).
        test_size: share of customers held out.
        seed: seeds the split, the model and the permutations.
    """

    title = "Churn risk model"
    description = (
        "A scikit-learn churn classifier checked on a hold-out, explained by permutation "
        "importance."
    )
    columns = MappingProxyType(
        {
            "feature": "the feature (the frame's index)",
            "importance": "permutation importance: drop in hold-out AUC when it is shuffled",
            "std": "standard deviation of that drop over the repeats",
        }
    )

    def __init__(self, kind: str = "logistic", *, test_size: float = 0.3, seed: int = 0) -> None:
        import pandas as pd

        if kind not in ("logistic", "boosting"):
            raise ConfigurationError(f"unknown churn model {kind!r}: 'logistic' or 'boosting'")
        if not 0 < test_size < 1:
            raise ConfigurationError("test_size must lie strictly between 0 and 1")
        self.kind = kind
        self.test_size = test_size
        self.seed = seed
        self.features: list[str] = []
        self.auc = float("nan")
        self.brier = float("nan")
        self.calibration = pd.DataFrame(columns=["predicted", "observed", "customers"])
        self.importance = pd.DataFrame(columns=["importance", "std"])
        self.frame = self.importance
        self.test_index: pd.Index | None = None
        self._estimator: Any = None

    def _make(self) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.kind == "boosting":
            return HistGradientBoostingClassifier(random_state=self.seed, max_iter=200)
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))

    def fit(self, features: pd.DataFrame, churned: pd.Series | Sequence[bool]) -> ChurnRiskModel:
        """Evaluate on a hold-out, explain, then refit on all rows.

        Raises:
            ValidationError: lengths differ, or only one class is present.
        """
        import numpy as np
        import pandas as pd
        from sklearn.inspection import permutation_importance
        from sklearn.metrics import brier_score_loss, roc_auc_score
        from sklearn.model_selection import train_test_split

        y = np.asarray(churned, dtype=bool)
        if len(y) != len(features):
            raise ValidationError.single(
                "$.churned", "bad_shape", "one churn label per feature row is needed"
            )
        if y.all() or not y.any():
            raise ValidationError.single(
                "$.churned", "one_class", "churn labels need both churned and retained customers"
            )
        self.features = [str(c) for c in features.columns]
        x = features.to_numpy(dtype="float64")
        idx = np.arange(len(y))
        train, test = train_test_split(
            idx, test_size=self.test_size, random_state=self.seed, stratify=y
        )
        est = self._make().fit(x[train], y[train])
        p = est.predict_proba(x[test])[:, 1]
        self.auc = float(roc_auc_score(y[test], p))
        self.brier = float(brier_score_loss(y[test], p))
        self.test_index = features.index[test]
        bins = np.clip((p * 10).astype(int), 0, 9)
        cal = pd.DataFrame({"risk_decile": bins, "p": p, "y": y[test].astype(float)})
        cal = cal.groupby("risk_decile")
        self.calibration = pd.DataFrame(
            {"predicted": cal["p"].mean(), "observed": cal["y"].mean(), "customers": cal.size()}
        )
        perm = permutation_importance(
            est, x[test], y[test], scoring="roc_auc", n_repeats=5, random_state=self.seed
        )
        self.importance = pd.DataFrame(
            {"importance": perm.importances_mean, "std": perm.importances_std},
            index=pd.Index(self.features, name="feature"),
        ).sort_values("importance", ascending=False)
        self.frame = self.importance
        self._estimator = self._make().fit(x, y)
        return self

    def predict_risk(self, features: pd.DataFrame) -> pd.Series:
        """Probability of churn per row of ``features`` (same columns as the fit)."""
        import pandas as pd

        if self._estimator is None:
            raise ConfigurationError("ChurnRiskModel is not fitted: call fit() first")
        _check_columns(features, self.features, "predict_risk")
        x = features[self.features].to_numpy(dtype="float64")
        return pd.Series(
            self._estimator.predict_proba(x)[:, 1], index=features.index, name="churn_risk"
        )

    def _summary(self) -> str:
        if self._estimator is None:
            return f"{self.kind}, not fitted"
        top = ", ".join(self.importance.index[:3])
        return f"{self.kind}; hold-out AUC {self.auc:.3f}, Brier {self.brier:.3f}; top: {top}"

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Permutation importance per feature (drop in hold-out AUC)."""
        ax = axes(ax)
        imp = self.importance.iloc[::-1]
        ax.barh(list(imp.index), imp["importance"].to_numpy(), xerr=imp["std"].to_numpy(), **kwargs)
        ax.set_xlabel("drop in AUC when shuffled")
        ax.set_title(f"Churn risk drivers (AUC {self.auc:.2f})")
        return ax


def synthetic_churn_customers(n: int = 2000, *, seed: int = 0) -> pd.DataFrame:
    """Made-up customers whose churn probability is known (for tests and demos).

    Features follow :data:`CHURN_FEATURES`; the log-odds of churn are
    ``-0.4 + 0.025 (recency - 45) - 0.35 (frequency - 4) - 0.6 (log monetary - 6)
    + 0.5 tickets - 0.7 (csat - 3.5) - 0.25 (engagement - 2)``.

    Returns:
        A frame with the features, ``churn_probability`` (the truth) and
        ``churned`` (a draw from it), indexed ``c00000``...
    """
    import numpy as np
    import pandas as pd

    if n < 10:
        raise ConfigurationError("synthetic_churn_customers needs n >= 10")
    rng = np.random.default_rng(seed)
    frequency = 1 + rng.poisson(3.0, n)
    recency = rng.exponential(45.0, n)
    monetary = frequency * rng.lognormal(5.0, 0.6, n)
    tenure = recency + rng.gamma(2.0, 120.0, n)
    tickets = rng.poisson(0.8, n).astype(float)
    csat = np.clip(np.round(rng.normal(3.8, 0.9, n) - 0.3 * tickets), 1, 5)
    engagement = rng.poisson(2.0, n).astype(float)
    logit = (
        -0.4
        + 0.025 * (recency - 45)
        - 0.35 * (frequency - 4)
        - 0.6 * (np.log(monetary) - 6)
        + 0.5 * tickets
        - 0.7 * (csat - 3.5)
        - 0.25 * (engagement - 2)
    )
    prob = 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "recency_days": recency,
            "frequency": frequency.astype(float),
            "monetary": monetary,
            "tenure_days": tenure,
            "tickets": tickets,
            "csat": csat,
            "engagement": engagement,
            "churn_probability": prob,
            "churned": rng.random(n) < prob,
        },
        index=pd.Index([f"c{i:05d}" for i in range(n)], name="customer_id"),
    )
