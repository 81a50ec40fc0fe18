"""RFM: recency, frequency and monetary value per customer, scores and named segments.

Pure functions over an orders frame (the columns of
:func:`~crmcore.analytics.read_orders`: ``customer_id``, ``ordered_at``,
``amount``). :func:`rfm` computes everything; :func:`rfm_table` and
:func:`rfm_scores` are the steps, for a notebook that wants one of them.

Scores run from 1 (worst) to ``bins`` (best); a recent customer gets a high
recency score. Quantile scores are rank based and tie safe: a customer's
score is ``1 + floor(bins * below / n)`` where ``below`` counts the
customers with a strictly worse value, so equal values always share a score
and the score does not depend on row order.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from crmcore.analytics._result import AnalyticsResult, axes
from crmcore.errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from crmcore.query import Filter
    from crmcore.storage.ports import UnitOfWorkContext

__all__ = [
    "RFM_SEGMENTS",
    "RfmResult",
    "RfmSegmentRule",
    "rfm",
    "rfm_scores",
    "rfm_table",
]


@attrs.frozen
class RfmSegmentRule:
    """A named RFM segment: recency score in ``r``, FM score in ``fm`` (inclusive ranges).

    The FM score is the mean of the frequency and monetary scores, rounded
    half up. Rules are tried in order; the first that matches names the
    customer's segment.
    """

    name: str
    r: tuple[int, int]
    fm: tuple[int, int]
    description: str = ""

    def matches(self, r: int, fm: int) -> bool:
        """Whether scores ``(r, fm)`` fall in this segment."""
        return self.r[0] <= r <= self.r[1] and self.fm[0] <= fm <= self.fm[1]


#: the default segments over 5-level scores; every (R, FM) cell has exactly one first match
RFM_SEGMENTS: tuple[RfmSegmentRule, ...] = (
    RfmSegmentRule("champions", (4, 5), (4, 5), "bought recently, often and for a lot"),
    RfmSegmentRule("cant_lose", (1, 1), (4, 5), "were among the best, gone longest"),
    RfmSegmentRule("at_risk", (1, 2), (3, 5), "valuable once, not seen for a while"),
    RfmSegmentRule("loyal", (3, 5), (3, 5), "buy regularly for good amounts"),
    RfmSegmentRule("new", (5, 5), (1, 1), "first purchase very recently"),
    RfmSegmentRule("potential_loyalists", (4, 5), (1, 2), "recent, not yet frequent"),
    RfmSegmentRule("need_attention", (3, 3), (2, 2), "middling on every count"),
    RfmSegmentRule("about_to_sleep", (3, 3), (1, 1), "middling recency, low value"),
    RfmSegmentRule("hibernating", (2, 2), (1, 2), "low value, lapsing"),
    RfmSegmentRule("lost", (1, 1), (1, 2), "low value, gone longest"),
)

_NEED = ("customer_id", "ordered_at", "amount")


def _check_columns(frame: pd.DataFrame, need: Sequence[str], what: str) -> None:
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise ValidationError.single(
            f"$.{missing[0]}",
            "missing_column",
            f"{what} needs columns {', '.join(need)}; missing {', '.join(missing)}",
        )


def _one_currency(frame: pd.DataFrame, what: str) -> None:
    if "currency" not in frame.columns:
        return
    _refuse_mixed(sorted(str(c) for c in frame["currency"].dropna().unique()), what)


def _refuse_mixed(found: Sequence[str], what: str) -> None:
    if len(found) > 1:
        raise ValidationError.single(
            "$.currency",
            "mixed_currency",
            f"{what} adds amounts up: the orders are in {', '.join(found)}; read one currency "
            "at a time (where=field('currency') == ...) or convert first",
        )


def _timestamp(value: _dt.datetime | str | pd.Timestamp | None, default: Any) -> pd.Timestamp:
    import pandas as pd

    if value is None:
        return pd.Timestamp(default)
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def is_frame(source: object) -> bool:
    """Whether ``source`` is a DataFrame (else it is taken for a unit of work)."""
    import pandas as pd

    return isinstance(source, pd.DataFrame)


def rfm_table(
    orders: pd.DataFrame | UnitOfWorkContext,
    as_of: _dt.datetime | str | pd.Timestamp | None = None,
    *,
    where: Filter | None = None,
    exclude_statuses: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Raw recency, frequency and monetary value per customer.

    Args:
        orders: one row per order with ``customer_id``, ``ordered_at`` (aware
            or UTC-naive datetimes) and ``amount``; or a unit of work (a
            session), read with one ``GROUP BY customer_id`` in the engine
            (:func:`~crmcore.analytics.read_customer_orders`), never order by
            order.
        as_of: the reference time (default: the latest order).
        where, exclude_statuses: with a session, the orders read (as in
            :func:`~crmcore.analytics.read_orders`); not allowed with a frame.

    Returns:
        A frame indexed by ``customer_id`` with ``recency_days`` (days from the
        last order to ``as_of``), ``frequency`` (number of orders),
        ``monetary`` (sum of amounts), ``first_order_at``, ``last_order_at``.

    Raises:
        ValidationError: a column is missing, or the orders are in more than
            one currency.
        ConfigurationError: ``where``/``exclude_statuses`` given with a frame.
    """
    import pandas as pd

    if not is_frame(orders):
        from crmcore.analytics._read import (
            EXCLUDED_ORDER_STATUSES,
            order_currencies,
            read_customer_orders,
        )

        uow: UnitOfWorkContext = orders
        statuses = EXCLUDED_ORDER_STATUSES if exclude_statuses is None else exclude_statuses
        _refuse_mixed(order_currencies(uow, where, exclude_statuses=statuses), "rfm_table")
        groups = read_customer_orders(uow, where, exclude_statuses=statuses)
        table = groups.set_index("customer_id")
    else:
        frame: pd.DataFrame = orders
        if where is not None or exclude_statuses is not None:
            raise ConfigurationError("where and exclude_statuses apply to a session, not a frame")
        _check_columns(frame, _NEED, "rfm_table")
        _one_currency(frame, "rfm_table")
        at = pd.to_datetime(frame["ordered_at"], utc=True)
        data = pd.DataFrame(
            {"customer_id": frame["customer_id"], "at": at, "amount": frame["amount"]}
        ).dropna(subset=["customer_id", "at"])
        grouped = data.groupby("customer_id", sort=True)
        table = pd.DataFrame(
            {
                "frequency": grouped.size().astype("int64"),
                "monetary": grouped["amount"].sum().astype("float64"),
                "first_order_at": grouped["at"].min(),
                "last_order_at": grouped["at"].max(),
            }
        )
    last = table["last_order_at"]
    ref = _timestamp(as_of, last.max() if len(table) else pd.Timestamp.now(tz="UTC"))
    table.insert(0, "recency_days", (ref - last) / pd.Timedelta(days=1))
    table.index.name = "customer_id"
    return table


def _quantile_score(values: pd.Series, bins: int, higher_is_better: bool) -> pd.Series:
    import numpy as np
    import pandas as pd

    ranked = (values if higher_is_better else -values).rank(method="min")
    below = ranked.to_numpy() - 1.0
    scores = 1 + np.floor(bins * below / len(values)).astype("int64")
    return pd.Series(scores, index=values.index)


def _fixed_score(
    values: pd.Series, edges: Sequence[float], bins: int, higher_is_better: bool
) -> pd.Series:
    import numpy as np
    import pandas as pd

    cuts = np.asarray(edges, dtype="float64")
    if higher_is_better:
        scores = 1 + np.searchsorted(cuts, values.to_numpy(), side="right")
    else:
        scores = bins - np.searchsorted(cuts, values.to_numpy(), side="left")
    return pd.Series(scores.astype("int64"), index=values.index)


def rfm_scores(
    table: pd.DataFrame,
    *,
    bins: int = 5,
    method: str = "quantile",
    edges: Mapping[str, Sequence[float]] | None = None,
) -> pd.DataFrame:
    """Score ``recency_days``, ``frequency`` and ``monetary`` from 1 to ``bins``.

    Args:
        table: the output of :func:`rfm_table` (or any frame with those columns).
        bins: number of score levels.
        method: ``"quantile"`` (rank based, see the module docs) or ``"fixed"``.
        edges: for ``"fixed"``: ``{"recency": [...], "frequency": [...],
            "monetary": [...]}``, each ``bins - 1`` ascending cut points. A
            frequency or monetary value at or above the k-th cut scores
            ``k + 1``; a recency at or below the first cut scores ``bins``,
            above the last cut 1.

    Returns:
        ``table`` plus ``r_score``, ``f_score``, ``m_score``, ``fm_score``
        (mean of F and M rounded half up) and ``rfm_code`` (``"545"``;
        ``"10-3-12"`` with more than 9 bins).

    Raises:
        ConfigurationError: bad ``bins``, ``method`` or ``edges``.
        ValidationError: a column is missing.
    """
    _check_columns(table, ("recency_days", "frequency", "monetary"), "rfm_scores")
    if bins < 2:
        raise ConfigurationError(f"rfm_scores needs at least 2 bins, got {bins}")
    out = table.copy()
    specs = (
        ("r_score", "recency_days", "recency", False),
        ("f_score", "frequency", "frequency", True),
        ("m_score", "monetary", "monetary", True),
    )
    if method == "quantile":
        for score, column, _, better in specs:
            out[score] = _quantile_score(out[column].astype("float64"), bins, better)
    elif method == "fixed":
        for score, column, key, better in specs:
            cuts = (edges or {}).get(key)
            if cuts is None or len(cuts) != bins - 1 or list(cuts) != sorted(cuts):
                raise ConfigurationError(
                    f"fixed RFM scores need {bins - 1} ascending edges for {key!r}"
                )
            out[score] = _fixed_score(out[column].astype("float64"), cuts, bins, better)
    else:
        raise ConfigurationError(f"unknown RFM method {method!r}: use 'quantile' or 'fixed'")
    out["fm_score"] = (out["f_score"] + out["m_score"] + 1) // 2
    if bins <= 9:
        code = out["r_score"] * 100 + out["f_score"] * 10 + out["m_score"]
        out["rfm_code"] = code.astype(str)
    else:
        out["rfm_code"] = (
            out["r_score"].astype(str)
            + "-"
            + out["f_score"].astype(str)
            + "-"
            + out["m_score"].astype(str)
        )
    return out


def _name_segments(scores: pd.DataFrame, rules: Sequence[RfmSegmentRule]) -> Any:
    import numpy as np

    r = scores["r_score"].to_numpy()
    fm = scores["fm_score"].to_numpy()
    names = np.full(len(scores), None, dtype=object)
    open_ = np.ones(len(scores), dtype=bool)
    for rule in rules:
        hit = open_ & (r >= rule.r[0]) & (r <= rule.r[1]) & (fm >= rule.fm[0]) & (fm <= rule.fm[1])
        names[hit] = rule.name
        open_ &= ~hit
    return names


class RfmResult(AnalyticsResult):
    """RFM per customer (``frame``) and per segment (``segments``).

    ``frame`` is indexed by ``customer_id`` with the columns of
    :func:`rfm_scores` plus ``segment``. ``segments`` has one row per segment
    with ``customers``, ``share``, mean ``recency_days``, ``frequency``,
    ``monetary`` and ``revenue_share``.
    """

    title = "RFM segments"
    description = (
        "Recency, frequency and monetary value per customer, scored by rank, with named segments."
    )
    columns = MappingProxyType(
        {
            "customer_id": "the customer (the frame's index)",
            "recency_days": "days from the customer's last order to as_of",
            "frequency": "number of orders",
            "monetary": "sum of the order amounts",
            "first_order_at": "time of the first order (UTC)",
            "last_order_at": "time of the last order (UTC)",
            "r_score": "recency score, 1 (longest ago) to bins (most recent)",
            "f_score": "frequency score, 1 to bins",
            "m_score": "monetary score, 1 to bins",
            "fm_score": "mean of f_score and m_score, rounded half up",
            "rfm_code": "the three scores side by side ('545')",
            "segment": "the named segment of the (r_score, fm_score) cell",
        }
    )

    detail_caption = "Per customer"

    def __init__(self, frame: pd.DataFrame, as_of: pd.Timestamp, bins: int, method: str) -> None:
        self.frame = frame
        self.as_of = as_of
        self.bins = bins
        self.method = method
        self.segments = self._segment_summary()

    def summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        """The segment summary, shown before the per-customer rows."""
        return [("Per segment", self.segments)]

    def _segment_summary(self) -> pd.DataFrame:
        import pandas as pd

        f = self.frame
        if f.empty or f["segment"].isna().all():
            return pd.DataFrame(
                columns=[
                    "customers",
                    "share",
                    "recency_days",
                    "frequency",
                    "monetary",
                    "revenue_share",
                ]
            )
        total = float(f["monetary"].sum()) or 1.0
        g = f.groupby("segment")
        summary = pd.DataFrame(
            {
                "customers": g.size(),
                "recency_days": g["recency_days"].mean(),
                "frequency": g["frequency"].mean(),
                "monetary": g["monetary"].mean(),
                "revenue_share": g["monetary"].sum() / total,
            }
        )
        summary.insert(1, "share", summary["customers"] / len(f))
        return summary.sort_values("customers", ascending=False)

    def segment_of(self, customer_id: object) -> str | None:
        """The segment of one customer (None if unknown or unnamed)."""
        key = str(customer_id)
        if key not in self.frame.index:
            return None
        value = self.frame.at[key, "segment"]
        return None if value is None or value != value else str(value)

    def _summary(self) -> str:
        top = ", ".join(f"{k} {v}" for k, v in self.segments["customers"].head(3).items())
        head = f"{len(self.frame)} customers, {self.bins} bins ({self.method})"
        return f"{head}; {top}" if top else head

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Bar chart of customers per segment."""
        ax = axes(ax)
        counts = self.segments["customers"]
        ax.bar([str(i) for i in counts.index], counts.to_numpy(), **kwargs)
        ax.set_ylabel("customers")
        ax.set_title("RFM segments")
        ax.tick_params(axis="x", labelrotation=45)
        return ax


def rfm(
    orders: pd.DataFrame | UnitOfWorkContext,
    as_of: _dt.datetime | str | pd.Timestamp | None = None,
    *,
    where: Filter | None = None,
    exclude_statuses: Sequence[str] | None = None,
    bins: int = 5,
    method: str = "quantile",
    edges: Mapping[str, Sequence[float]] | None = None,
    segments: Sequence[RfmSegmentRule] | None = RFM_SEGMENTS,
) -> RfmResult:
    """RFM table, scores and named segments in one call.

    Args:
        orders: one row per order (``customer_id``, ``ordered_at``, ``amount``),
            or a session: then the engine aggregates the orders per customer
            (:func:`rfm_table`) and no order record is read.
        as_of: the reference time (default: the latest order).
        where, exclude_statuses: with a session, as in :func:`rfm_table`.
        bins, method, edges: as in :func:`rfm_scores`.
        segments: the segment rules (default :data:`RFM_SEGMENTS`, which need
            5 bins; with another ``bins`` the default leaves ``segment`` empty).
            None leaves ``segment`` empty.

    Returns:
        An :class:`RfmResult`.
    """
    import pandas as pd

    table = rfm_table(orders, as_of, where=where, exclude_statuses=exclude_statuses)
    scores = rfm_scores(table, bins=bins, method=method, edges=edges)
    rules = segments
    if segments is RFM_SEGMENTS and bins != 5:
        rules = None
    scores["segment"] = _name_segments(scores, rules) if rules else None
    ref = _timestamp(
        as_of, table["last_order_at"].max() if len(table) else pd.Timestamp.now(tz="UTC")
    )
    return RfmResult(scores, ref, bins, method)
