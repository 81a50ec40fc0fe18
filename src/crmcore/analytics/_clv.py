"""Customer lifetime value: BG/NBD purchases, Gamma-Gamma spend, discounted CLV.

Both models are fitted by maximum likelihood here (vectorised numpy, scipy's
``gammaln`` and ``hyp2f1``, ``scipy.optimize.minimize``): parameters are
optimised on the log scale, Nelder-Mead first and BFGS to polish, and the
log-likelihood is written in log space (``logaddexp``) so that heavy buyers
do not overflow. A fit reports ``log_likelihood`` and ``converged`` instead
of raising on a hard data set.

Inputs use the usual summary of a purchase history, in one time unit
(days or weeks, the caller's choice, see :func:`clv_summary`):

- ``frequency``: number of repeat purchase periods (purchases after the first);
- ``recency``: time from the first to the last purchase;
- ``T``: time from the first purchase to the end of observation;
- ``monetary_value``: mean value of the repeat purchases (0 without any).

References: Fader, Hardie and Lee (2005), "Counting your customers the
easy way"; Fader and Hardie (2013), "The Gamma-Gamma model of monetary value".
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from crmcore.analytics._result import AnalyticsResult, axes
from crmcore.analytics._rfm import (
    _check_columns,
    _one_currency,
    _refuse_mixed,
    _timestamp,
    is_frame,
)
from crmcore.errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    from matplotlib.axes import Axes

    from crmcore.query import Filter
    from crmcore.storage.ports import UnitOfWorkContext

    Array = npt.NDArray[np.float64]

__all__ = [
    "BetaGeoModel",
    "ClvResult",
    "GammaGammaModel",
    "clv",
    "clv_summary",
    "customer_lifetime_value",
]

_UNIT_DAYS = {"D": 1.0, "W": 7.0}


def _arr(values: Any) -> Array:
    import numpy as np

    return np.asarray(values, dtype="float64")


def _maximise(negll: Callable[[Array], float], start: Array) -> tuple[Array, float, bool, int]:
    """Minimise a negative log-likelihood over log-parameters: Nelder-Mead, then BFGS."""
    import numpy as np
    from scipy.optimize import minimize

    def bounded(logp: Array) -> float:
        # parameters far outside any real data (e^±15) mean a degenerate fit:
        # a wall there keeps the search from wandering off to the limit forever
        if np.any(np.abs(logp) > 15):
            return 1e300
        return negll(logp)

    first = minimize(
        bounded,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 2000, "maxfev": 4000},
    )
    second = minimize(bounded, first.x, method="BFGS", options={"gtol": 1e-6, "maxiter": 400})
    best = second if np.isfinite(second.fun) and second.fun <= first.fun else first
    converged = bool(first.success or second.success) and bool(np.isfinite(best.fun))
    return np.asarray(best.x), float(best.fun), converged, int(first.nit + second.nit)


def _standard_errors(loglik: Callable[[Array], float], theta: Array) -> Array:
    """Standard errors from the inverse of the observed information (numerical Hessian).

    Central differences with a relative step; NaN where the Hessian is not
    negative definite (a fit at a boundary).
    """
    import numpy as np

    k = len(theta)
    h = 1e-4 * np.maximum(np.abs(theta), 1e-8)
    hess = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            total = 0.0
            for si, sj, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                step = np.zeros(k)
                step[i] += si * h[i]
                step[j] += sj * h[j]
                total += sign * loglik(theta + step)
            hess[i, j] = hess[j, i] = total / (4 * h[i] * h[j])
    try:
        cov = np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    diag = np.diag(cov)
    out: Array = np.where(diag > 0, np.sqrt(np.abs(diag)), np.nan)
    return out


def _param_frame(params: dict[str, float], se: Array) -> pd.DataFrame:
    import pandas as pd

    values = list(params.values())
    return pd.DataFrame(
        {
            "value": values,
            "se": se,
            "lower": [v - 1.959963984540054 * e for v, e in zip(values, se, strict=True)],
            "upper": [v + 1.959963984540054 * e for v, e in zip(values, se, strict=True)],
        },
        index=pd.Index(list(params), name="param"),
    )


def _check_summary(frequency: Array, recency: Array, T: Array) -> None:
    import numpy as np

    if not (len(frequency) == len(recency) == len(T)) or len(T) == 0:
        raise ValidationError.single(
            "$.frequency", "bad_shape", "frequency, recency and T need the same, nonzero length"
        )
    problems: list[tuple[str, str, bool, str]] = [
        (
            "$.frequency",
            "not_a_count",
            bool(np.any(frequency < 0) or np.any(frequency % 1 != 0)),
            "frequency must be whole numbers >= 0",
        ),
        (
            "$.recency",
            "out_of_range",
            bool(np.any(recency < 0) or np.any(recency > T + 1e-9)),
            "recency must lie between 0 and T",
        ),
        (
            "$.recency",
            "inconsistent",
            bool(np.any((frequency == 0) & (recency != 0))),
            "recency must be 0 when frequency is 0",
        ),
        ("$.T", "no_observation", not bool(np.any(T > 0)), "some customer needs T > 0 to fit"),
    ]
    for path, code, bad, message in problems:
        if bad:
            raise ValidationError.single(path, code, message)


def _fit_columns(params: str) -> Mapping[str, str]:
    """The column notes of a fitted model's parameter frame."""
    return MappingProxyType(
        {
            "param": f"{params} (the frame's index)",
            "value": "maximum-likelihood estimate",
            "se": "standard error from the observed information",
            "lower": "lower end of the 95% interval",
            "upper": "upper end of the 95% interval",
        }
    )


class _FittedModel(AnalyticsResult):
    """A model fitted by maximum likelihood: its parameters, fit statistics and parameter frame."""

    def __init__(self) -> None:
        import pandas as pd

        self.params: dict[str, float] = {}
        self.log_likelihood: float = float("nan")
        self.converged: bool = False
        self.n_customers: int = 0
        self.iterations: int = 0
        self.frame = pd.DataFrame(columns=["value", "se", "lower", "upper"])

    def _summary(self) -> str:
        if not self.params:
            return "not fitted"
        p = ", ".join(f"{k}={v:.3f}" for k, v in self.params.items())
        return f"{p}; LL {self.log_likelihood:.2f} over {self.n_customers} customers"


class BetaGeoModel(_FittedModel):
    """The BG/NBD model of repeat purchases (parameters ``r``, ``alpha``, ``a``, ``b``).

    ``fit(frequency, recency, T)`` estimates the parameters by maximum
    likelihood and returns the model; ``frame`` holds them with ``se``
    (from the observed information) and a 95% ``lower``/``upper``. Predictions take
    any customers' (frequency, recency, T), in the time unit of the fit.
    """

    title = "BG/NBD model"
    description = (
        "Repeat purchases: a Poisson rate (Gamma across customers) and a chance to drop out "
        "after each purchase (Beta across customers)."
    )
    columns = _fit_columns("r, alpha (purchase rate), a, b (dropout)")

    @staticmethod
    def log_likelihood_terms(
        params: tuple[float, float, float, float], frequency: Any, recency: Any, T: Any
    ) -> Array:
        """Per-customer log-likelihood at ``params = (r, alpha, a, b)``."""
        import numpy as np
        from scipy.special import gammaln

        r, alpha, a, b = params
        x, tx, t_ = _arr(frequency), _arr(recency), _arr(T)
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
        a3 = -(r + x) * np.log(alpha + t_)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where(
                x > 0,
                np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + tx),
                -np.inf,
            )
        out: Array = a1 + a2 + np.logaddexp(a3, a4)
        return out

    def fit(self, frequency: Any, recency: Any, T: Any, *, weights: Any = None) -> BetaGeoModel:
        """Estimate ``r, alpha, a, b`` by maximum likelihood.

        Args:
            frequency, recency, T: one value per customer (see the module docs).
            weights: optional count of customers per row (to fit grouped data).

        Returns:
            The model itself, with ``params``, ``log_likelihood``, ``converged``.

        Raises:
            ValidationError: the summary is inconsistent (recency > T, ...).
        """
        import numpy as np

        x, tx, t_ = _arr(frequency), _arr(recency), _arr(T)
        _check_summary(x, tx, t_)
        w = np.ones_like(x) if weights is None else _arr(weights)
        n_rows = float(np.sum(w))
        # identical (frequency, recency, T) rows share one likelihood term
        rows, inverse = np.unique(np.column_stack([x, tx, t_]), axis=0, return_inverse=True)
        w = _arr(np.bincount(inverse.ravel(), weights=w, minlength=len(rows)))
        x, tx, t_ = rows[:, 0], rows[:, 1], rows[:, 2]
        scale = 10.0 / float(np.max(t_))  # fit on a rescaled clock for conditioning

        def negll(logp: Array) -> float:
            p = np.exp(logp)
            ll = self.log_likelihood_terms((p[0], p[1], p[2], p[3]), x, tx * scale, t_ * scale)
            value = -float(np.sum(w * ll))
            return value if np.isfinite(value) else 1e300

        best, _, self.converged, self.iterations = _maximise(negll, np.zeros(4))
        r, alpha, a, b = np.exp(best)
        self.params = {"r": float(r), "alpha": float(alpha / scale), "a": float(a), "b": float(b)}
        self.log_likelihood = float(np.sum(w * self.log_likelihood_terms(self._p(), x, tx, t_)))
        self.n_customers = int(n_rows)

        def loglik(theta: Array) -> float:
            terms = self.log_likelihood_terms((theta[0], theta[1], theta[2], theta[3]), x, tx, t_)
            return float(np.sum(w * terms))

        se = _standard_errors(loglik, np.array(list(self.params.values())))
        self.frame = _param_frame(self.params, se)
        return self

    def _p(self) -> tuple[float, float, float, float]:
        if not self.params:
            raise ConfigurationError("BetaGeoModel is not fitted: call fit() first")
        p = self.params
        return p["r"], p["alpha"], p["a"], p["b"]

    def expected_purchases(self, t: Any) -> Array:
        """E[X(t)]: expected purchases of a new customer in a period of length ``t``."""
        import numpy as np
        from scipy.special import hyp2f1

        r, alpha, a, b = self._p()
        t_ = _arr(t)
        z = t_ / (alpha + t_)
        out: Array = (
            (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t_)) ** r * hyp2f1(r, b, a + b - 1, z))
        )
        return np.asarray(out, dtype="float64")

    def _log_dead_odds(self, x: Array, tx: Array, t_: Array) -> Array:
        import numpy as np

        r, alpha, a, b = self._p()
        with np.errstate(divide="ignore", invalid="ignore"):
            term = (
                np.log(a)
                - np.log(np.maximum(b + x - 1, 1e-300))
                + (r + x) * (np.log(alpha + t_) - np.log(alpha + tx))
            )
        out: Array = np.where(x > 0, term, -np.inf)
        return out

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> Array:
        """P(alive at T | frequency, recency, T); 1 for a customer with no repeat purchase."""
        from scipy.special import expit

        odds = self._log_dead_odds(_arr(frequency), _arr(recency), _arr(T))
        out: Array = expit(-odds)
        return out

    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Array:
        """E[X(T, T + t) | frequency, recency, T]: expected purchases in the next ``t``."""
        import numpy as np
        from scipy.special import expit, hyp2f1

        r, alpha, a, b = self._p()
        x, tx, t_, h = _arr(frequency), _arr(recency), _arr(T), _arr(t)
        z = h / (alpha + t_ + h)
        head = (a + b + x - 1) / (a - 1)
        body = 1 - ((alpha + t_) / (alpha + t_ + h)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        out: Array = np.asarray(head * body * expit(-self._log_dead_odds(x, tx, t_)))
        return out

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Expected cumulative purchases of a new customer over time."""
        import numpy as np

        ax = axes(ax)
        horizon = max(self.params.get("alpha", 1.0) * 4, 1.0)
        grid = np.linspace(0, horizon, 100)
        ax.plot(grid, self.expected_purchases(grid), **kwargs)
        ax.set_xlabel("time")
        ax.set_ylabel("expected purchases")
        ax.set_title("BG/NBD: expected purchases of a new customer")
        return ax


class GammaGammaModel(_FittedModel):
    """The Gamma-Gamma model of spend per purchase (parameters ``p``, ``q``, ``v``).

    Fit it on repeat customers only (``frequency > 0``, ``monetary_value > 0``);
    ``frame`` holds the parameters with ``se``, ``lower`` and ``upper``.
    """

    title = "Gamma-Gamma spend model"
    description = (
        "Spend per purchase: Gamma around each customer's mean, the means Gamma across customers."
    )
    columns = _fit_columns("p, q, v")

    @staticmethod
    def log_likelihood_terms(
        params: tuple[float, float, float], frequency: Any, monetary_value: Any
    ) -> Array:
        """Per-customer log-likelihood at ``params = (p, q, v)``."""
        import numpy as np
        from scipy.special import gammaln

        p, q, v = params
        x, z = _arr(frequency), _arr(monetary_value)
        px = p * x
        out: Array = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + (px - 1) * np.log(z)
            + px * np.log(x)
            - (px + q) * np.log(x * z + v)
        )
        return out

    def fit(self, frequency: Any, monetary_value: Any, *, weights: Any = None) -> GammaGammaModel:
        """Estimate ``p, q, v`` by maximum likelihood.

        Raises:
            ValidationError: a row has ``frequency <= 0`` or ``monetary_value <= 0``.
        """
        import numpy as np

        x, z = _arr(frequency), _arr(monetary_value)
        if len(x) == 0 or len(x) != len(z):
            raise ValidationError.single(
                "$.frequency", "bad_shape", "frequency and monetary_value need the same length"
            )
        if np.any(x <= 0) or np.any(z <= 0):
            raise ValidationError.single(
                "$.monetary_value",
                "not_positive",
                "Gamma-Gamma is fitted on repeat customers: frequency and monetary_value > 0",
            )
        w = np.ones_like(x) if weights is None else _arr(weights)
        scale = 1.0 / float(np.mean(z))  # fit in units of the mean spend

        def negll(logp: Array) -> float:
            p = np.exp(logp)
            value = -float(np.sum(w * self.log_likelihood_terms((p[0], p[1], p[2]), x, z * scale)))
            return value if np.isfinite(value) else 1e300

        best, _, self.converged, self.iterations = _maximise(negll, np.zeros(3))
        p, q, v = np.exp(best)
        self.params = {"p": float(p), "q": float(q), "v": float(v / scale)}
        self.log_likelihood = float(np.sum(w * self.log_likelihood_terms(self._p(), x, z)))
        self.n_customers = int(np.sum(w))

        def loglik(theta: Array) -> float:
            terms = self.log_likelihood_terms((theta[0], theta[1], theta[2]), x, z)
            return float(np.sum(w * terms))

        se = _standard_errors(loglik, np.array(list(self.params.values())))
        self.frame = _param_frame(self.params, se)
        return self

    def _p(self) -> tuple[float, float, float]:
        if not self.params:
            raise ConfigurationError("GammaGammaModel is not fitted: call fit() first")
        return self.params["p"], self.params["q"], self.params["v"]

    def _q_above_one(self) -> tuple[float, float, float]:
        p, q, v = self._p()
        if q <= 1:
            raise ValidationError.single(
                "$.q",
                "q_not_above_one",
                f"fitted q = {q:.3f} <= 1: expected spend is undefined (heavy-tailed spend; "
                "rescale or cap monetary values)",
            )
        return p, q, v

    @property
    def population_mean(self) -> float:
        """Expected spend per purchase of a customer picked at random: ``p v / (q - 1)``."""
        p, q, v = self._q_above_one()
        return p * v / (q - 1)

    def conditional_expected_value(self, frequency: Any, monetary_value: Any) -> Array:
        """E[spend per purchase | frequency, mean spend]; the population mean when frequency 0."""
        import numpy as np

        p, q, v = self._q_above_one()
        x, z = _arr(frequency), _arr(monetary_value)
        z = np.where(x > 0, z, 0.0)
        out: Array = p * (v + x * z) / (p * x + q - 1)
        return out

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Density of the mean spend per purchase implied by the fit."""
        import numpy as np
        from scipy.stats import invgamma

        p, q, v = self._p()
        ax = axes(ax)
        # the mean spend nu^-1 * p, with nu ~ Gamma(q, v): p / nu ~ InvGamma(q, scale=p v)
        dist = invgamma(q, scale=p * v)
        grid = np.linspace(dist.ppf(0.01), dist.ppf(0.95), 200)
        ax.plot(grid, dist.pdf(grid), **kwargs)
        ax.set_xlabel("mean spend per purchase")
        ax.set_ylabel("density")
        ax.set_title("Gamma-Gamma: spread of customers' mean spend")
        return ax


def clv_summary(
    orders: pd.DataFrame | UnitOfWorkContext,
    as_of: _dt.datetime | str | pd.Timestamp | None = None,
    *,
    time_unit: str = "D",
    where: Filter | None = None,
    exclude_statuses: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Turn an orders frame into (frequency, recency, T, monetary_value) per customer.

    Purchases of one customer on the same UTC calendar day count as one
    purchase (their amounts add up). Times are in ``time_unit``: ``"D"``
    (days) or ``"W"`` (weeks of 7 days).

    Args:
        orders: one row per order (``customer_id``, ``ordered_at``, ``amount``),
            or a session: then the engine sums the orders per customer and
            day (:func:`~crmcore.analytics.read_customer_days`) and no order
            record is read.
        as_of: the end of observation (default: the day of the latest order).
        time_unit: ``"D"`` or ``"W"``.
        where, exclude_statuses: with a session, the orders read (as in
            :func:`~crmcore.analytics.read_orders`); not allowed with a frame.

    Returns:
        A frame indexed by ``customer_id`` with ``frequency``, ``recency``,
        ``T``, ``monetary_value`` (mean amount of the repeat purchases).
    """
    import pandas as pd

    if time_unit not in _UNIT_DAYS:
        raise ConfigurationError(f"unknown time_unit {time_unit!r}: use 'D' or 'W'")
    if not is_frame(orders):
        from crmcore.analytics._read import (
            EXCLUDED_ORDER_STATUSES,
            order_currencies,
            read_customer_days,
        )

        uow: UnitOfWorkContext = orders
        statuses = EXCLUDED_ORDER_STATUSES if exclude_statuses is None else exclude_statuses
        _refuse_mixed(order_currencies(uow, where, exclude_statuses=statuses), "clv_summary")
        per_day = read_customer_days(uow, where, exclude_statuses=statuses)
    else:
        if where is not None or exclude_statuses is not None:
            raise ConfigurationError("where and exclude_statuses apply to a session, not a frame")
        frame: pd.DataFrame = orders
        _check_columns(frame, ("customer_id", "ordered_at", "amount"), "clv_summary")
        _one_currency(frame, "clv_summary")
        day = pd.to_datetime(frame["ordered_at"], utc=True).dt.floor("D")
        data = pd.DataFrame(
            {
                "customer_id": frame["customer_id"],
                "day": day,
                "amount": frame["amount"].astype("float64"),
            }
        ).dropna()
        per_day = data.groupby(["customer_id", "day"], sort=True)["amount"].sum().reset_index()
    latest = per_day["day"].max() if len(per_day) else pd.Timestamp.now(tz="UTC")
    ref = _timestamp(as_of, latest).floor("D")
    g = per_day.groupby("customer_id", sort=True)
    first, last, n = g["day"].min(), g["day"].max(), g.size()
    total, first_amount = g["amount"].sum(), g["amount"].first()
    unit = pd.Timedelta(days=_UNIT_DAYS[time_unit])
    frequency = (n - 1).astype("int64")
    repeat = (total - first_amount).where(frequency > 0, 0.0)
    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last - first) / unit,
            "T": (ref - first) / unit,
            "monetary_value": (repeat / frequency.where(frequency > 0, 1)).astype("float64"),
        }
    )
    out.index.name = "customer_id"
    return out[out["T"] >= 0]


def customer_lifetime_value(
    purchases: BetaGeoModel,
    spend: GammaGammaModel,
    summary: pd.DataFrame,
    *,
    periods: int = 12,
    period_length: float = 30.0,
    discount_rate: float = 0.01,
) -> pd.Series:
    """Discounted value of each customer's expected future purchases.

    ``CLV = sum over k = 1..periods of E[spend] * (E[X(k L)] - E[X((k-1) L)]) / (1 + d)^k``
    where ``L = period_length`` (in the models' time unit), ``d`` the
    discount rate per period and ``E[X(t)]`` the BG/NBD conditional
    expectation. With weekly data, ``period_length=30`` means 30 weeks, not
    a month: pick ``period_length`` in the unit of the summary.

    Args:
        purchases: a fitted :class:`BetaGeoModel`.
        spend: a fitted :class:`GammaGammaModel`.
        summary: ``frequency``, ``recency``, ``T``, ``monetary_value`` per customer.
        periods: number of discount periods.
        period_length: length of one period in the summary's time unit.
        discount_rate: per period (0.01 = 1%).

    Returns:
        A Series of CLV, indexed like ``summary``.
    """
    import numpy as np
    import pandas as pd

    _check_columns(summary, ("frequency", "recency", "T", "monetary_value"), "clv")
    if periods < 1 or period_length <= 0 or discount_rate <= -1:
        raise ConfigurationError("clv needs periods >= 1, period_length > 0 and discount_rate > -1")
    x, tx, t_ = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    value = spend.conditional_expected_value(x, summary["monetary_value"].to_numpy("float64"))
    total = np.zeros(len(summary))
    previous = np.zeros(len(summary))
    for k in range(1, periods + 1):
        cumulative = purchases.conditional_expected_purchases(k * period_length, x, tx, t_)
        total += value * (cumulative - previous) / (1 + discount_rate) ** k
        previous = cumulative
    return pd.Series(total, index=summary.index, name="clv")


class ClvResult(AnalyticsResult):
    """Per-customer value: ``frame`` indexed by ``customer_id``.

    Columns: ``frequency``, ``recency``, ``T``, ``monetary_value``,
    ``p_alive``, ``expected_purchases`` (over ``horizon``),
    ``expected_value`` (spend per purchase), ``clv``. ``purchases`` and
    ``spend`` are the fitted models.
    """

    title = "Customer lifetime value"
    description = (
        "BG/NBD purchases and Gamma-Gamma spend per customer (Fader, Hardie and Lee 2005)."
    )
    columns = MappingProxyType(
        {
            "customer_id": "the customer (the frame's index)",
            "frequency": "repeat purchase days (distinct UTC days with orders, minus one)",
            "recency": "time from the first to the last purchase day",
            "T": "time from the first purchase day to the end of observation",
            "monetary_value": "mean amount of the repeat purchase days",
            "p_alive": "BG/NBD probability that the customer is still active",
            "expected_purchases": "BG/NBD expected purchases over the horizon",
            "expected_value": "Gamma-Gamma expected spend per purchase",
            "clv": "discounted value of the expected purchases",
        }
    )

    def __init__(
        self,
        frame: pd.DataFrame,
        purchases: BetaGeoModel,
        spend: GammaGammaModel,
        horizon: float,
        time_unit: str,
    ) -> None:
        self.frame = frame
        self.purchases = purchases
        self.spend = spend
        self.horizon = horizon
        self.time_unit = time_unit

    def _summary(self) -> str:
        return (
            f"{len(self.frame)} customers, total CLV {self.frame['clv'].sum():,.2f}, "
            f"mean P(alive) {self.frame['p_alive'].mean():.2f}"
        )

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Histogram of CLV per customer."""
        ax = axes(ax)
        ax.hist(self.frame["clv"].to_numpy(), bins=kwargs.pop("bins", 40), **kwargs)
        ax.set_xlabel("CLV")
        ax.set_ylabel("customers")
        ax.set_title("Customer lifetime value")
        return ax


def clv(
    orders: pd.DataFrame | UnitOfWorkContext,
    as_of: _dt.datetime | str | pd.Timestamp | None = None,
    *,
    where: Filter | None = None,
    exclude_statuses: Sequence[str] | None = None,
    time_unit: str = "D",
    periods: int = 12,
    period_length: float = 30.0,
    discount_rate: float = 0.01,
) -> ClvResult:
    """Fit BG/NBD and Gamma-Gamma on an orders frame and value every customer.

    Args:
        orders: one row per order (``customer_id``, ``ordered_at``, ``amount``),
            or a session (aggregated in the engine, see :func:`clv_summary`).
        as_of: end of observation (default: the latest order's day).
        where, exclude_statuses: with a session, as in :func:`clv_summary`.
        time_unit: ``"D"`` or ``"W"`` for the summary and the models.
        periods, period_length, discount_rate: as in :func:`customer_lifetime_value`
            (the default is 12 periods of 30 days at 1% per period).

    Returns:
        A :class:`ClvResult`.

    Raises:
        ValidationError: fewer than two customers bought more than once.
    """
    summary = clv_summary(
        orders, as_of, time_unit=time_unit, where=where, exclude_statuses=exclude_statuses
    )
    purchases = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) < 2:
        raise ValidationError.single(
            "$.frequency",
            "too_few_repeat_customers",
            f"clv needs repeat customers to fit spend; found {len(repeat)}",
        )
    spend = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
    horizon = periods * period_length
    frame = summary.copy()
    x, tx, t_ = (frame[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    frame["p_alive"] = purchases.probability_alive(x, tx, t_)
    frame["expected_purchases"] = purchases.conditional_expected_purchases(horizon, x, tx, t_)
    frame["expected_value"] = spend.conditional_expected_value(
        x, frame["monetary_value"].to_numpy("float64")
    )
    frame["clv"] = customer_lifetime_value(
        purchases,
        spend,
        summary,
        periods=periods,
        period_length=period_length,
        discount_rate=discount_rate,
    )
    return ClvResult(frame, purchases, spend, horizon, time_unit)
