"""Sales reports from opportunities and their stage history, aggregated in the engine.

Each function takes a unit of work (a session), runs a few
:meth:`~crmcore.storage.ports.Repository.aggregate` queries (so the database
does the counting; the policy guard scopes them to what the principal may
read) and returns a :class:`~crmcore.analytics.ReportFrame` whose ``frame``
has the documented columns.

Stages come from the CRM's opportunity machine (``connect(machines=...)``,
else the built-in one): its open stages in order, then the won stage; the
lost stage is the one final stage that is not won. Money columns are in one
currency: ``currency=`` or, by default, the one most amounts are in.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
import pandas as pd

from crmcore.analytics._report import ReportFrame
from crmcore.lifecycle import OPPORTUNITY, Machine
from crmcore.model import Opportunity, TransitionRecord
from crmcore.query import Filter, all_of, eq, ge, in_, lt
from crmcore.storage.aggregate import bucket, count, count_distinct, sum_
from crmcore.storage.ports import UnitOfWorkContext

__all__ = [
    "FunnelReport",
    "PipelineCoverageReport",
    "SalesForecastReport",
    "SalesPerformanceReport",
    "SalesStages",
    "StageTimeReport",
    "WinRateReport",
    "forecast_vs_actual",
    "pipeline_coverage",
    "sales_funnel",
    "sales_performance",
    "sales_stages",
    "stage_times",
    "win_rate",
]

_DAY = 86400.0


@attrs.frozen
class SalesStages:
    """The stages of an opportunity machine as reports need them."""

    funnel: tuple[str, ...]  # open stages in order, then won
    open: tuple[str, ...]
    won: str
    lost: str | None
    probability: Mapping[str, float]
    category: Mapping[str, str]


def sales_stages(uow: UnitOfWorkContext) -> SalesStages:
    """The CRM's opportunity stages: open ones in order, the won and the lost stage."""
    configured = uow.machines.get(Opportunity)
    machine: Machine = OPPORTUNITY if configured is None else configured
    finals = [s for s in machine.states if s.final]
    won = next((s for s in finals if s.data.get("probability") == 1.0), None)
    won = won or (finals[0] if finals else machine.states[-1])
    lost = next((s.name for s in finals if s is not won), None)
    open_ = tuple(s.name for s in machine.states if not s.final)
    prob = {
        s.name: float(s.data.get("probability", 1.0 if s is won else 0.0)) for s in machine.states
    }
    cat = {s.name: str(s.data.get("forecast_category", "")) for s in machine.states}
    return SalesStages((*open_, won.name), open_, won.name, lost, prob, cat)


def _range(name: str, since: _dt.datetime | _dt.date | None, until: Any) -> list[Filter]:
    parts = []
    if since is not None:
        parts.append(ge(name, since))
    if until is not None:
        parts.append(lt(name, until))
    return parts


def _where(*parts: Filter | None) -> Filter | None:
    kept = [p for p in parts if p is not None]
    return all_of(*kept) if kept else None


def main_currency(uow: UnitOfWorkContext, currency: str | None) -> str | None:
    """``currency``, or the one most opportunity amounts are in (None: no amounts)."""
    if currency is not None:
        return currency
    rows = uow.repo(Opportunity).aggregate(group_by=["amount.currency"], measures={"n": count()})
    rows = [r for r in rows if r["amount.currency"] is not None]
    if not rows:
        return None
    return str(max(rows, key=lambda r: (r["n"], r["amount.currency"]))["amount.currency"])


def _in_currency(currency: str | None) -> Filter | None:
    return None if currency is None else eq("amount.currency", currency)


def _money(value: Any) -> float:
    return 0.0 if value is None else float(value)


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


# --------------------------------------------------------------------------- funnel


class FunnelReport(ReportFrame):
    """Records entering each stage, per period, and the conversion between stages."""

    x = "stage"
    y = ("entered",)

    def display_frame(self) -> pd.DataFrame:
        """Per period, the entries of each stage side by side and the overall conversion."""
        df = self.frame
        if "period" not in df.columns or df.empty:
            return df
        stages = list(dict.fromkeys(df["stage"]))
        wide = df.pivot(index="period", columns="stage", values="entered")[stages]
        wide["first_to_last"] = df[df["stage"] == stages[-1]].set_index("period")["from_top"]
        return wide.reset_index()

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """A horizontal funnel of entries per stage (summed over periods)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _fig, ax = plt.subplots(figsize=(8, 3.6))
        df = self.frame
        if df.empty:
            return super().plot(ax=ax)
        totals = df.groupby("stage", sort=False)["entered"].sum()
        ax.barh(list(totals.index)[::-1], list(totals.values)[::-1], color="#3b6ea5")
        top = float(totals.iloc[0]) or 1.0
        for i, v in enumerate(list(totals.values)[::-1]):
            ax.text(v, i, f" {int(v)} ({v / top:.0%})", va="center", fontsize=8)
        ax.set_xlabel("records entering the stage")
        ax.set_title(self.title)
        return ax


def sales_funnel(
    uow: UnitOfWorkContext,
    *,
    period: str | None = "month",
    since: _dt.datetime | None = None,
    until: _dt.datetime | None = None,
) -> FunnelReport:
    """The sales funnel: how many opportunities entered each stage, and the step conversion.

    The first stage's entries are the opportunities created; every later
    stage's are the distinct opportunities whose history has a transition
    into it (counted once per stage and period, so a deal moved back and
    forth within a month counts once). Two aggregates, both in the engine.

    Args:
        uow: the unit of work.
        period: ``day``, ``week``, ``month``, ``quarter``, ``year`` (of the
            creation or the transition time), or None for one row per stage.
        since: only entries at or after this instant.
        until: only entries before this instant.

    Returns:
        Columns ``period`` (when grouped), ``stage`` (funnel order),
        ``entered``, ``conversion`` (entered / entered of the stage before,
        same period; NaN for the first) and ``from_top`` (entered / entered of
        the first stage, same period).
    """
    stages = sales_stages(uow)
    first = stages.funnel[0]
    later = list(stages.funnel[1:])
    keys_c: list[Any] = [bucket("created_at", period, name="period")] if period else []
    keys_t: list[Any] = [bucket("at", period, name="period")] if period else []
    created = uow.repo(Opportunity).aggregate(
        _where(*_range("created_at", since, until)),
        group_by=keys_c,
        measures={"entered": count()},
    )
    moved = uow.repo(TransitionRecord).aggregate(
        _where(
            eq("entity", Opportunity.entity_name()),
            in_("to_state", later) if later else None,
            *_range("at", since, until),
        ),
        group_by=[*keys_t, "to_state"],
        measures={"entered": count_distinct("record_id")},
    )
    counts: dict[tuple[Any, str], int] = {}
    for r in created:
        counts[(r.get("period"), first)] = int(r["entered"])
    for r in moved:
        counts[(r.get("period"), r["to_state"])] = int(r["entered"])
    periods = sorted({p for p, _ in counts}, key=lambda p: (p is not None, p or _dt.date.min))
    if not period:
        periods = [None]
    rows = []
    for p in periods:
        top = counts.get((p, first), 0)
        before: int | None = None
        for stage in stages.funnel:
            n = counts.get((p, stage), 0)
            rows.append(
                {
                    **({"period": p} if period else {}),
                    "stage": stage,
                    "entered": n,
                    "conversion": math.nan if before is None else _ratio(n, before),
                    "from_top": _ratio(n, top),
                }
            )
            before = n
    cols = ["period"] if period else []
    frame = pd.DataFrame(rows, columns=[*cols, "stage", "entered", "conversion", "from_top"])
    return FunnelReport(
        "Sales funnel",
        frame,
        {
            "period": f"the {period} of creation (first stage) or of the transition",
            "stage": "pipeline stage, in funnel order",
            "entered": "opportunities entering the stage in the period",
            "conversion": "entered / entered of the previous stage",
            "from_top": "entered / entered of the first stage",
        },
        "Opportunities entering each stage; conversion compares a stage with the one before.",
    )


# --------------------------------------------------------------------------- time in stage


class StageTimeReport(ReportFrame):
    """How long opportunities stay in each stage (from their history)."""

    x = "stage"
    y = ("mean_days", "median_days")


def stage_times(
    uow: UnitOfWorkContext,
    *,
    since: _dt.datetime | None = None,
    until: _dt.datetime | None = None,
) -> StageTimeReport:
    """Time in stage and stage velocity from the transition history.

    A stay in a stage runs from entering it (creation, or a transition into
    it) to the next transition out; stays still open are reported separately
    as ``open_now`` with their mean age. Reads two projections through
    ``aggregate`` (creation times, and transition times per record), not whole records.

    Args:
        uow: the unit of work.
        since: only stays that ended at or after this instant.
        until: only stays that ended before this instant.

    Returns:
        Columns ``stage``, ``exits`` (finished stays), ``mean_days``,
        ``median_days``, ``p90_days`` (of finished stays), ``open_now``
        (opportunities in the stage now) and ``open_mean_age_days``.
    """
    stages = sales_stages(uow)
    now = uow.now()
    opps = uow.repo(Opportunity).aggregate(
        group_by=["id", "created_at", "stage"], measures={"n": count()}
    )
    moves = uow.repo(TransitionRecord).aggregate(
        eq("entity", Opportunity.entity_name()),
        group_by=["record_id", "at", "id", "from_state", "to_state"],
        measures={"n": count()},
    )
    born = {r["id"]: r["created_at"] for r in opps}
    current = {r["id"]: r["stage"] for r in opps}
    by_record: dict[Any, list[dict[str, Any]]] = {}
    for m in moves:
        if m["record_id"] in born and m["at"] is not None:
            by_record.setdefault(m["record_id"], []).append(m)
    stays: dict[str, list[float]] = {}
    ages: dict[str, list[float]] = {}
    for rid, start in born.items():
        entered = start
        for m in sorted(by_record.get(rid, ()), key=lambda m: (m["at"], m["id"])):
            left = m["at"]
            if (since is None or left >= since) and (until is None or left < until):
                stays.setdefault(m["from_state"], []).append(
                    (left - entered).total_seconds() / _DAY
                )
            entered = left
        ages.setdefault(current[rid], []).append((now - entered).total_seconds() / _DAY)
    order = [*stages.funnel, *(s for s in sorted(set(stays) | set(ages)) if s not in stages.funnel)]
    rows = []
    for stage in order:
        done = pd.Series(stays.get(stage, []), dtype=float)
        live = ages.get(stage, []) if stage in stages.open else []
        rows.append(
            {
                "stage": stage,
                "exits": len(done),
                "mean_days": done.mean() if len(done) else math.nan,
                "median_days": done.median() if len(done) else math.nan,
                "p90_days": done.quantile(0.9) if len(done) else math.nan,
                "open_now": len(live),
                "open_mean_age_days": sum(live) / len(live) if live else math.nan,
            }
        )
    frame = pd.DataFrame(rows)
    return StageTimeReport(
        "Time in stage",
        frame,
        {
            "exits": "finished stays in the stage",
            "mean_days": "mean days a finished stay lasted (stage velocity)",
            "median_days": "median days of a finished stay",
            "p90_days": "90th percentile of the days of a finished stay",
            "open_now": "open opportunities in the stage now",
            "open_mean_age_days": "mean days those have been in it",
        },
        "How long deals stay in each stage before moving on (won/lost stays never end).",
    )


# --------------------------------------------------------------------------- win rate


class WinRateReport(ReportFrame):
    """Won against lost deals, per period and/or owner or team."""

    y = ("win_rate",)
    chart = "line"


def win_rate(
    uow: UnitOfWorkContext,
    *,
    by: str | None = None,
    period: str | None = "month",
    currency: str | None = None,
    since: _dt.datetime | None = None,
    until: _dt.datetime | None = None,
) -> WinRateReport:
    """The win rate of closed deals: won / (won + lost), by close period and ``by``.

    Args:
        uow: the unit of work.
        by: ``"owner_id"``, ``"team_id"`` (or another opportunity field), or None.
        period: the bucket of ``closed_at``, or None.
        currency: the currency of ``won_amount`` (default: the main one).
        since: deals closed at or after this instant.
        until: deals closed before this instant.

    Returns:
        Columns [``by``], [``period``], ``won``, ``lost``, ``closed``,
        ``win_rate`` and ``won_amount`` (in ``currency``).
    """
    stages = sales_stages(uow)
    closing = [s for s in (stages.won, stages.lost) if s is not None]
    cur = main_currency(uow, currency)
    keys: list[Any] = ([by] if by else []) + (
        [bucket("closed_at", period, name="period")] if period else []
    )
    repo = uow.repo(Opportunity)
    base = _where(in_("stage", closing), *_range("closed_at", since, until))
    rows = repo.aggregate(base, group_by=[*keys, "stage"], measures={"n": count()})
    money = repo.aggregate(
        _where(base, eq("stage", stages.won), _in_currency(cur)),
        group_by=keys,
        measures={"amount": sum_("amount.amount")},
    )
    labels = [k if isinstance(k, str) else k.label for k in keys]
    table: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        key = tuple(r[k] for k in labels)
        entry = table.setdefault(key, {**dict(zip(labels, key, strict=True)), "won": 0, "lost": 0})
        entry["won" if r["stage"] == stages.won else "lost"] += int(r["n"])
    for r in money:
        key = tuple(r[k] for k in labels)
        if key in table:
            table[key]["won_amount"] = _money(r["amount"])
    out = []
    for entry in table.values():
        closed = entry["won"] + entry["lost"]
        out.append(
            {
                **entry,
                "closed": closed,
                "win_rate": _ratio(entry["won"], closed),
                "won_amount": entry.get("won_amount", 0.0),
            }
        )
    columns = [*labels, "won", "lost", "closed", "win_rate", "won_amount"]
    frame = pd.DataFrame(out, columns=columns)
    report = WinRateReport(
        "Win rate",
        frame,
        {
            "won": "deals won",
            "lost": "deals lost",
            "closed": "won + lost",
            "win_rate": "won / closed",
            "won_amount": f"amount won ({cur or 'no currency'})",
        },
        "Share of closed deals that were won.",
    )
    if period is None:
        report.chart = "bar"
    if by and period:
        report.x = "period"
    return report


# --------------------------------------------------------------------------- pipeline, owners


def _stage_sums(
    uow: UnitOfWorkContext, keys: Sequence[Any], where: Filter | None, currency: str | None
) -> list[dict[str, Any]]:
    return uow.repo(Opportunity).aggregate(
        _where(where, _in_currency(currency)),
        group_by=[*keys, "stage"],
        measures={"n": count(), "amount": sum_("amount.amount")},
    )


class PipelineCoverageReport(ReportFrame):
    """Open pipeline against what is left of the quota, per period."""

    x = "period"
    y = ("pipeline", "weighted", "won", "quota")


def pipeline_coverage(
    uow: UnitOfWorkContext,
    quota: Mapping[_dt.date, float | Decimal] | float | Decimal,
    *,
    period: str = "quarter",
    currency: str | None = None,
) -> PipelineCoverageReport:
    """Pipeline coverage: open pipeline expected to close in a period over the quota left.

    Args:
        uow: the unit of work.
        quota: the target per period (keyed by the period's first day) or one
            number for every period.
        period: the bucket of ``expected_close_date`` / ``closed_at``.
        currency: the currency of the amounts (default: the main one).

    Returns:
        Columns ``period``, ``pipeline`` (open amount expected to close in it),
        ``weighted`` (each stage's amount times its win probability), ``won``
        (amount won, by close date), ``quota``, ``remaining`` (quota − won, not
        below 0) and ``coverage`` (pipeline / remaining; NaN when nothing remains).
    """
    stages = sales_stages(uow)
    cur = main_currency(uow, currency)
    key = bucket("expected_close_date", period, name="period")
    open_rows = _stage_sums(uow, [key], in_("stage", list(stages.open)), cur)
    won_rows = uow.repo(Opportunity).aggregate(
        _where(eq("stage", stages.won), _in_currency(cur)),
        group_by=[bucket("closed_at", period, name="period")],
        measures={"amount": sum_("amount.amount")},
    )
    table: dict[Any, dict[str, float]] = {}
    for r in open_rows:
        if r["period"] is None:
            continue
        e = table.setdefault(r["period"], {"pipeline": 0.0, "weighted": 0.0, "won": 0.0})
        e["pipeline"] += _money(r["amount"])
        e["weighted"] += _money(r["amount"]) * stages.probability.get(r["stage"], 0.0)
    for r in won_rows:
        if r["period"] is not None:
            e = table.setdefault(r["period"], {"pipeline": 0.0, "weighted": 0.0, "won": 0.0})
            e["won"] += _money(r["amount"])
    if isinstance(quota, Mapping):
        for p in quota:
            table.setdefault(p, {"pipeline": 0.0, "weighted": 0.0, "won": 0.0})
    rows = []
    for p in sorted(table):
        target = float(quota.get(p, math.nan)) if isinstance(quota, Mapping) else float(quota)
        remaining = max(target - table[p]["won"], 0.0) if not math.isnan(target) else math.nan
        rows.append(
            {
                "period": p,
                **table[p],
                "quota": target,
                "remaining": remaining,
                "coverage": _ratio(table[p]["pipeline"], remaining)
                if remaining == remaining
                else math.nan,
            }
        )
    frame = pd.DataFrame(
        rows, columns=["period", "pipeline", "weighted", "won", "quota", "remaining", "coverage"]
    )
    return PipelineCoverageReport(
        "Pipeline coverage",
        frame,
        {
            "pipeline": f"open amount expected to close in the period ({cur})",
            "weighted": "open amount times each stage's win probability",
            "won": "amount won in the period",
            "quota": "the target",
            "remaining": "quota - won (not below 0)",
            "coverage": "pipeline / remaining (3x is a common rule of thumb)",
        },
        "Is there enough open pipeline to reach the rest of the quota?",
    )


class SalesPerformanceReport(ReportFrame):
    """Deals and amounts per owner or team."""

    y = ("won_amount", "open_amount")


def sales_performance(
    uow: UnitOfWorkContext,
    *,
    by: str = "owner_id",
    currency: str | None = None,
    since: _dt.datetime | None = None,
    until: _dt.datetime | None = None,
) -> SalesPerformanceReport:
    """Per owner (or team): open pipeline, deals won and lost, amounts, win rate.

    Args:
        uow: the unit of work.
        by: ``"owner_id"`` or ``"team_id"`` (any opportunity field).
        currency: the currency of the amounts (default: the main one).
        since: only opportunities created at or after this instant.
        until: only opportunities created before this instant.

    Returns:
        Columns ``by``, ``open_deals``, ``open_amount``, ``weighted``,
        ``won_deals``, ``won_amount``, ``lost_deals``, ``win_rate``,
        ``avg_won_amount``; sorted by ``won_amount``, largest first.
    """
    stages = sales_stages(uow)
    cur = main_currency(uow, currency)
    scope = _where(*_range("created_at", since, until))
    counts = uow.repo(Opportunity).aggregate(scope, group_by=[by, "stage"], measures={"n": count()})
    sums = _stage_sums(uow, [by], scope, cur)
    table: dict[Any, dict[str, float]] = {}
    zero = dict.fromkeys(
        ("open_deals", "open_amount", "weighted", "won_deals", "won_amount", "lost_deals"), 0.0
    )
    for r in counts:
        e = table.setdefault(r[by], dict(zero))
        if r["stage"] == stages.won:
            e["won_deals"] += r["n"]
        elif r["stage"] == stages.lost:
            e["lost_deals"] += r["n"]
        elif r["stage"] in stages.open:
            e["open_deals"] += r["n"]
    for r in sums:
        e = table.setdefault(r[by], dict(zero))
        amount = _money(r["amount"])
        if r["stage"] == stages.won:
            e["won_amount"] += amount
        elif r["stage"] in stages.open:
            e["open_amount"] += amount
            e["weighted"] += amount * stages.probability.get(r["stage"], 0.0)
    rows = []
    for who, e in table.items():
        rows.append(
            {
                by: who,
                **e,
                "win_rate": _ratio(e["won_deals"], e["won_deals"] + e["lost_deals"]),
                "avg_won_amount": _ratio(e["won_amount"], e["won_deals"]),
            }
        )
    frame = pd.DataFrame(rows, columns=[by, *zero, "win_rate", "avg_won_amount"])
    for c in ("open_deals", "won_deals", "lost_deals"):
        frame[c] = frame[c].astype(int)
    frame = frame.sort_values("won_amount", ascending=False, kind="stable").reset_index(drop=True)
    report = SalesPerformanceReport(
        f"Sales performance by {by}",
        frame,
        {
            "open_deals": "open opportunities",
            "open_amount": f"their amount ({cur})",
            "weighted": "open amount times stage probability",
            "won_deals": "deals won",
            "won_amount": "amount won",
            "lost_deals": "deals lost",
            "win_rate": "won / (won + lost)",
            "avg_won_amount": "won_amount / won_deals",
        },
        "Who carries the pipeline and who closes it.",
    )
    report.x = by
    return report


# --------------------------------------------------------------------------- forecast


class SalesForecastReport(ReportFrame):
    """Forecast categories per period against the amount actually won."""

    x = "period"
    y = ("weighted", "commit", "won")


def forecast_vs_actual(
    uow: UnitOfWorkContext, *, period: str = "month", currency: str | None = None
) -> SalesForecastReport:
    """The forecast of each period (by expected close date) against what was won in it.

    A stage's forecast category (``pipeline``, ``best_case``, ``commit``,
    ``closed``) comes from the machine; won deals count as ``closed`` in the
    period they were expected to close for the forecast, and in the period
    they closed for ``won``.

    Args:
        uow: the unit of work.
        period: the bucket of the dates.
        currency: the currency of the amounts (default: the main one).

    Returns:
        Columns ``period``, ``pipeline``, ``best_case``, ``commit`` (amounts
        of the open stages in each category, cumulative: best case includes
        commit, pipeline includes both), ``weighted`` (open amount × stage
        probability + closed-won amount expected), ``won`` (amount won, by close
        date), ``attainment`` (won / weighted).
    """
    stages = sales_stages(uow)
    cur = main_currency(uow, currency)
    key = bucket("expected_close_date", period, name="period")
    live = [*stages.open, stages.won]
    rows = _stage_sums(uow, [key], in_("stage", live), cur)
    won_rows = uow.repo(Opportunity).aggregate(
        _where(eq("stage", stages.won), _in_currency(cur)),
        group_by=[bucket("closed_at", period, name="period")],
        measures={"amount": sum_("amount.amount")},
    )
    names = ("pipeline", "best_case", "commit", "weighted", "won")
    table: dict[Any, dict[str, float]] = {}
    rank = {"pipeline": 0, "best_case": 1, "commit": 2, "closed": 3}
    for r in rows:
        if r["period"] is None:
            continue
        e = table.setdefault(r["period"], dict.fromkeys(names, 0.0))
        amount = _money(r["amount"])
        e["weighted"] += amount * stages.probability.get(r["stage"], 0.0)
        if r["stage"] == stages.won:
            continue
        level = rank.get(stages.category.get(r["stage"], "pipeline"), 0)
        e["pipeline"] += amount
        if level >= 1:
            e["best_case"] += amount
        if level >= 2:
            e["commit"] += amount
    for r in won_rows:
        if r["period"] is not None:
            table.setdefault(r["period"], dict.fromkeys(names, 0.0))["won"] += _money(r["amount"])
    out = [
        {"period": p, **table[p], "attainment": _ratio(table[p]["won"], table[p]["weighted"])}
        for p in sorted(table)
    ]
    frame = pd.DataFrame(out, columns=["period", *names, "attainment"])
    return SalesForecastReport(
        "Forecast against actuals",
        frame,
        {
            "pipeline": f"open amount expected to close in the period ({cur})",
            "best_case": "open amount in best-case or commit stages",
            "commit": "open amount in commit stages",
            "weighted": "open amount x stage probability + won deals expected in the period",
            "won": "amount won in the period (by close date)",
            "attainment": "won / weighted",
        },
        "What the pipeline said each period would bring, and what it brought.",
    )
