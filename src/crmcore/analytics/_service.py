"""Service reports: satisfaction (CSAT, NPS, CES) and SLA attainment, per agent, team, category.

Survey responses are counted in the engine (per period, kind and score);
when a breakdown by a ticket field is asked for (``assignee_id``,
``team_id``, ``category``), responses are joined to their tickets through
two projections (``aggregate`` grouped by the ids), never whole records.

Definitions (as the service-desk tools use them):

- **CSAT**: percent of CSAT responses scoring 4 or 5 (of 1-5); ``csat_mean``
  the mean score;
- **NPS**: percent promoters (9-10) minus percent detractors (0-6) of NPS
  responses, from -100 to 100;
- **CES**: the mean customer-effort score (1-7, lower is easier);
- **SLA attainment**: of tickets with a due time whose outcome is known, the
  share answered (first response) or resolved by it; a ticket still open
  past its due time is breached, one open before it pending.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import pandas as pd

from crmcore.analytics._report import ReportFrame
from crmcore.model import SurveyResponse, Ticket
from crmcore.query import Filter, all_of, ge, lt
from crmcore.storage.aggregate import bucket, bucket_start, count
from crmcore.storage.ports import UnitOfWorkContext

__all__ = [
    "SatisfactionReport",
    "SlaReport",
    "satisfaction",
    "satisfaction_scores",
    "sla_attainment",
]


def satisfaction_scores(scores: pd.DataFrame) -> dict[str, float]:
    """CSAT, NPS and CES of a table with columns ``kind``, ``score``, ``n`` (responses).

    Returns:
        ``csat_responses``, ``csat`` (percent 4-5), ``csat_mean``,
        ``nps_responses``, ``nps`` (promoters - detractors, percent),
        ``ces_responses``, ``ces_mean``; NaN where there are no responses.
    """
    out: dict[str, float] = {}
    for kind in ("csat", "nps", "ces"):
        part = scores[scores["kind"] == kind]
        n = float(part["n"].sum())
        out[f"{kind}_responses"] = n
        mean = float((part["score"] * part["n"]).sum() / n) if n else math.nan
        if kind == "csat":
            happy = float(part.loc[part["score"] >= 4, "n"].sum())
            out["csat"] = 100.0 * happy / n if n else math.nan
            out["csat_mean"] = mean
        elif kind == "nps":
            promoters = float(part.loc[part["score"] >= 9, "n"].sum())
            detractors = float(part.loc[part["score"] <= 6, "n"].sum())
            out["nps"] = 100.0 * (promoters - detractors) / n if n else math.nan
        else:
            out["ces_mean"] = mean
    return out


class SatisfactionReport(ReportFrame):
    """CSAT, NPS and CES per period and/or per agent, team or category."""

    y = ("csat", "nps")
    chart = "line"


_SCORE_COLUMNS = (
    "csat_responses",
    "csat",
    "csat_mean",
    "nps_responses",
    "nps",
    "ces_responses",
    "ces_mean",
)


def _range(name: str, since: Any, until: Any) -> Filter | None:
    parts = [
        p
        for p in (
            None if since is None else ge(name, since),
            None if until is None else lt(name, until),
        )
        if p is not None
    ]
    return all_of(*parts) if parts else None


def satisfaction(
    uow: UnitOfWorkContext,
    *,
    by: str | None = None,
    period: str | None = "month",
    since: _dt.datetime | None = None,
    until: _dt.datetime | None = None,
) -> SatisfactionReport:
    """Satisfaction trends: CSAT, NPS and CES per response period and ``by``.

    Args:
        uow: the unit of work.
        by: a ticket field to break down by (``"assignee_id"`` for agents,
            ``"team_id"``, ``"category"``), or None.
        period: the bucket of ``responded_at`` (responses without one fall
            in a ``None`` period), or None.
        since: responses at or after this instant.
        until: responses before this instant.

    Returns:
        Columns [``by``], [``period``], then ``csat_responses``, ``csat``,
        ``csat_mean``, ``nps_responses``, ``nps``, ``ces_responses``, ``ces_mean``.
    """
    keys: list[Any] = [bucket("responded_at", period, name="period")] if period else []
    if by:
        keys.append("ticket_id")
    rows = uow.repo(SurveyResponse).aggregate(
        _range("responded_at", since, until),
        group_by=[*keys, "kind", "score"],
        measures={"n": count()},
    )
    df = pd.DataFrame(
        rows, columns=[*(k if isinstance(k, str) else k.label for k in keys), "kind", "score", "n"]
    )
    dims: list[str] = ["period"] if period else []
    if by:
        tickets = uow.repo(Ticket).aggregate(group_by=["id", by], measures={"n": count()})
        owner = {t["id"]: t[by] for t in tickets}
        df[by] = [owner.get(t) for t in df["ticket_id"]]
        dims = [by, *dims]
    out = []
    if df.empty:
        frame = pd.DataFrame(columns=[*dims, *_SCORE_COLUMNS])
    elif dims:
        for key, part in df.groupby(dims, dropna=False, sort=True):
            values = key if isinstance(key, tuple) else (key,)
            out.append({**dict(zip(dims, values, strict=True)), **satisfaction_scores(part)})
        frame = pd.DataFrame(out, columns=[*dims, *_SCORE_COLUMNS])
    else:
        frame = pd.DataFrame([satisfaction_scores(df)], columns=list(_SCORE_COLUMNS))
    for c in ("csat_responses", "nps_responses", "ces_responses"):
        frame[c] = frame[c].astype(int)
    report = SatisfactionReport(
        "Customer satisfaction" + (f" by {by}" if by else ""),
        frame,
        {
            "csat": "percent of CSAT responses scoring 4-5 (of 5)",
            "csat_mean": "mean CSAT score",
            "nps": "percent promoters (9-10) - percent detractors (0-6)",
            "ces_mean": "mean customer effort score (1-7, lower is easier)",
        },
        "CSAT, NPS and CES from survey responses.",
    )
    report.x = "period" if period else (by or None)
    if not period:
        report.chart = "bar"
    return report


# --------------------------------------------------------------------------- SLA


class SlaReport(ReportFrame):
    """First-response and resolution SLA attainment."""

    y = ("response_attainment", "resolution_attainment")
    chart = "line"


def _outcome(done: Any, due: Any, now: _dt.datetime) -> str | None:
    if due is None:
        return None
    if done is not None:
        return "met" if done <= due else "breached"
    return "breached" if now > due else "pending"


def sla_attainment(
    uow: UnitOfWorkContext,
    *,
    by: str | None = None,
    period: str | None = "month",
    since: _dt.datetime | None = None,
    until: _dt.datetime | None = None,
) -> SlaReport:
    """SLA attainment of tickets (by creation period and ``by``) from their due and done times.

    Args:
        uow: the unit of work.
        by: ``"assignee_id"``, ``"team_id"``, ``"category"``, ``"priority"``... or None.
        period: the bucket of ``created_at``, or None.
        since: tickets created at or after this instant.
        until: tickets created before this instant.

    Returns:
        Columns [``by``], [``period``], ``tickets``, ``response_met``,
        ``response_breached``, ``response_pending``, ``response_attainment``,
        ``resolution_met``, ``resolution_breached``, ``resolution_pending``,
        ``resolution_attainment`` (met / (met + breached)) and
        ``mean_resolution_hours`` (created to resolved, resolved tickets).
    """
    now = uow.now()
    fields = [
        "created_at",
        "first_response_due_at",
        "first_response_at",
        "resolution_due_at",
        "resolved_at",
    ]
    rows = uow.repo(Ticket).aggregate(
        _range("created_at", since, until),
        group_by=[*([by] if by else []), "id", *fields],
        measures={"n": count()},
    )
    table: dict[tuple[Any, ...], dict[str, float]] = {}
    hours: dict[tuple[Any, ...], list[float]] = {}
    for r in rows:
        key = ((r[by],) if by else ()) + (
            (bucket_start(r["created_at"], period),) if period else ()
        )
        e = table.setdefault(
            key,
            {
                "tickets": 0.0,
                **{
                    f"{w}_{o}": 0.0
                    for w in ("response", "resolution")
                    for o in ("met", "breached", "pending")
                },
            },
        )
        e["tickets"] += 1
        for what, done, due in (
            ("response", r["first_response_at"], r["first_response_due_at"]),
            ("resolution", r["resolved_at"], r["resolution_due_at"]),
        ):
            outcome = _outcome(done, due, now)
            if outcome:
                e[f"{what}_{outcome}"] += 1
        if r["resolved_at"] is not None and r["created_at"] is not None:
            hours.setdefault(key, []).append(
                (r["resolved_at"] - r["created_at"]).total_seconds() / 3600
            )
    dims = ([by] if by else []) + (["period"] if period else [])
    out = []
    for key in sorted(
        table, key=lambda k: tuple((v is not None, v) if v is not None else (False,) for v in k)
    ):
        e = table[key]
        row: dict[str, Any] = dict(zip(dims, key, strict=True))
        row.update({k: int(v) for k, v in e.items()})
        for what in ("response", "resolution"):
            met, breached = e[f"{what}_met"], e[f"{what}_breached"]
            row[f"{what}_attainment"] = met / (met + breached) if met + breached else math.nan
        spent = hours.get(key, [])
        row["mean_resolution_hours"] = sum(spent) / len(spent) if spent else math.nan
        out.append(row)
    columns = [
        *dims,
        "tickets",
        "response_met",
        "response_breached",
        "response_pending",
        "response_attainment",
        "resolution_met",
        "resolution_breached",
        "resolution_pending",
        "resolution_attainment",
        "mean_resolution_hours",
    ]
    report = SlaReport(
        "SLA attainment" + (f" by {by}" if by else ""),
        pd.DataFrame(out, columns=columns),
        {
            "response_attainment": "first responses on time / (on time + late or overdue)",
            "resolution_attainment": "resolutions on time / (on time + late or overdue)",
            "response_pending": "not answered yet, not yet due",
            "mean_resolution_hours": "hours from creation to resolution",
        },
        "Share of tickets answered and resolved within their due times.",
    )
    report.x = "period" if period else by
    if not period:
        report.chart = "bar"
    return report
