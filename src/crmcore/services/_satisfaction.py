"""Satisfaction surveys: ask when a ticket resolves, record the answer, report CSAT/NPS/CES.

:func:`request_survey` stores a pending :class:`~crmcore.model.SurveyRequest`
crediting the ticket's agent, team and category *at resolution*, and returns
the event payload an integration sends on (mail, SMS, WeChat);
:func:`record_survey_answer` stores the customer's
:class:`~crmcore.model.SurveyResponse` and closes the request;
:func:`satisfaction_report` aggregates answers per agent, team, category
and/or period: mean score, CSAT (share of 4-5), NPS (% promoters 9-10 minus
% detractors 0-6), CES (share of 5-7).
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from crmcore.errors import QueryError, ValidationError
from crmcore.events import emit
from crmcore.model import SurveyKind, SurveyRequest, SurveyResponse, Ticket, replace_trusted
from crmcore.query import Filter, all_of, eq, ge, lt
from crmcore.services._transitions import atomic
from crmcore.storage.ports import UnitOfWorkContext

__all__ = [
    "SURVEY_REQUESTED",
    "SatisfactionRow",
    "SurveyInvitation",
    "nps_score",
    "record_survey_answer",
    "request_survey",
    "satisfaction_report",
]

#: the event type of a survey invitation's payload
SURVEY_REQUESTED = "survey.requested"
#: the payload fields the ``survey.requested`` domain event carries
_EVENT_FIELDS = ("survey_id", "kind", "customer_id", "agent_id", "team_id", "scale")
#: ticket states in which a survey may be requested
_DONE = ("resolved", "closed")
_SCALES = {SurveyKind.CSAT: (1, 5), SurveyKind.NPS: (0, 10), SurveyKind.CES: (1, 7)}
_DIMENSIONS = ("agent", "team", "category", "period")
_PERIODS = ("day", "week", "month", "quarter", "year")


@attrs.frozen
class SurveyInvitation:
    """A pending survey and the event payload to hand to the integration layer."""

    request: SurveyRequest
    payload: Mapping[str, Any]


def _payload(uow: UnitOfWorkContext, r: SurveyRequest) -> dict[str, Any]:
    low, high = _SCALES[SurveyKind(r.kind)]
    return {
        "type": SURVEY_REQUESTED,
        "tenant_id": uow.tenant_id,
        "survey_id": str(r.id),
        "ticket_id": str(r.ticket_id),
        "customer_id": None if r.customer_id is None else str(r.customer_id),
        "agent_id": r.agent_id,
        "team_id": r.team_id,
        "kind": SurveyKind(r.kind).value,
        "scale": [low, high],
        "requested_at": None if r.requested_at is None else r.requested_at.isoformat(),
        "correlation_id": uow.correlation_id,
    }


def request_survey(
    uow: UnitOfWorkContext, ticket: Ticket | uuid.UUID, kind: SurveyKind | str = SurveyKind.CSAT
) -> SurveyInvitation:
    """Record a pending survey about a resolved ticket (once per ticket and kind).

    Asking again while one is pending returns the pending one, so a retried
    job does not survey a customer twice.

    Args:
        uow: the unit of work.
        ticket: the ticket (or its id), resolved or closed.
        kind: CSAT (1-5), NPS (0-10) or CES (1-7).

    Returns:
        The request and the ``survey.requested`` payload (plain JSON data).

    Raises:
        ValidationError: the ticket is not resolved (``ticket_not_resolved``).
        NotFound: no such ticket in this tenant.
    """
    kind = SurveyKind(kind)
    tid = ticket if isinstance(ticket, uuid.UUID) else ticket.id
    current = uow.repo(Ticket).get(tid)
    if current.status not in _DONE:
        raise ValidationError.single(
            "$.status",
            "ticket_not_resolved",
            f"a survey is requested when the ticket resolves; it is {current.status!r}",
            entity="Ticket",
            id=tid,
        )
    repo = uow.repo(SurveyRequest)
    pending = repo.first(ticket_id=tid, kind=kind, status="pending")
    if pending is None:
        pending = repo.add(
            SurveyRequest(
                ticket_id=tid,
                kind=kind,
                customer_id=current.customer_id,
                agent_id=current.assignee_id,
                team_id=current.team_id,
                category=current.category,
                requested_at=uow.now(),
            )
        )
        payload = _payload(uow, pending)
        emit(  # for the integration layer: whoever sends surveys listens to it
            uow,
            "ticket.survey_requested",
            (Ticket, tid),
            {
                k: payload[k]
                for k in ("survey_id", "kind", "customer_id", "agent_id", "team_id", "scale")
            },
        )
    return SurveyInvitation(pending, _payload(uow, pending))


def record_survey_answer(
    uow: UnitOfWorkContext,
    survey_id: uuid.UUID,
    score: int,
    *,
    comment: str | None = None,
    responded_at: _dt.datetime | None = None,
) -> SurveyResponse:
    """Store the answer to a pending survey, linked to its ticket, customer and agent.

    Raises:
        ValidationError: the score is outside the kind's scale
            (``score_out_of_range``) or the survey was already answered
            (``survey_answered``).
        NotFound: no such survey in this tenant.
    """
    repo = uow.repo(SurveyRequest)
    request = repo.get(survey_id)
    if request.status != "pending":
        raise ValidationError.single(
            "$.status",
            "survey_answered",
            f"survey is {request.status}, not pending",
            entity="SurveyRequest",
            id=survey_id,
        )
    at = responded_at or uow.now()
    answer = SurveyResponse(  # checks the score against the kind's scale first
        kind=request.kind,
        score=score,
        customer_id=request.customer_id,
        ticket_id=request.ticket_id,
        comment=comment,
        responded_at=at,
    )
    with atomic(uow):
        response = uow.repo(SurveyResponse).add(answer)
        repo.update(
            replace_trusted(
                request, status="answered", answered_at=at, response_id=response.id, score=score
            )
        )
    return response


@attrs.frozen
class SatisfactionRow:
    """One group of a satisfaction report.

    ``key`` holds the group's value per dimension (``{"agent": "li"}``);
    ``scores`` counts answers per score.
    """

    key: Mapping[str, str | None]
    kind: SurveyKind
    scores: Mapping[int, int]

    @property
    def responses(self) -> int:
        """Answers in the group."""
        return sum(self.scores.values())

    @property
    def mean(self) -> float | None:
        """Mean score."""
        n = self.responses
        return sum(s * c for s, c in self.scores.items()) / n if n else None

    def _share(self, low: int) -> float | None:
        n = self.responses
        return 100.0 * sum(c for s, c in self.scores.items() if s >= low) / n if n else None

    @property
    def promoters(self) -> int:
        """NPS answers of 9-10."""
        return sum(c for s, c in self.scores.items() if s >= 9)

    @property
    def detractors(self) -> int:
        """NPS answers of 0-6."""
        return sum(c for s, c in self.scores.items() if s <= 6)

    @property
    def passives(self) -> int:
        """NPS answers of 7-8."""
        return sum(c for s, c in self.scores.items() if 7 <= s <= 8)

    @property
    def nps(self) -> float | None:
        """Net promoter score, -100..100 (NPS surveys only)."""
        if self.kind is not SurveyKind.NPS or not self.responses:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.responses

    @property
    def csat(self) -> float | None:
        """Share of satisfied answers (4-5), in percent (CSAT surveys only)."""
        return self._share(4) if self.kind is SurveyKind.CSAT else None

    @property
    def ces(self) -> float | None:
        """Share of "easy" answers (5-7), in percent (CES surveys only)."""
        return self._share(5) if self.kind is SurveyKind.CES else None

    def as_dict(self) -> dict[str, Any]:
        """The row as plain data (for a DataFrame or JSON)."""
        return {
            **self.key,
            "kind": self.kind.value,
            "responses": self.responses,
            "mean": self.mean,
            "csat": self.csat,
            "nps": self.nps,
            "ces": self.ces,
        }


def nps_score(scores: Sequence[int]) -> float | None:
    """Net promoter score of 0-10 answers: % promoters (9-10) minus % detractors (0-6)."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return 100.0 * (promoters - detractors) / len(scores)


def _period_key(at: _dt.datetime, period: str) -> str:
    if period == "day":
        return at.date().isoformat()
    if period == "week":
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{at.year}-{at.month:02d}"
    if period == "quarter":
        return f"{at.year}-Q{(at.month - 1) // 3 + 1}"
    return str(at.year)


def satisfaction_report(
    uow: UnitOfWorkContext,
    kind: SurveyKind | str = SurveyKind.CSAT,
    *,
    by: str | Sequence[str] = "agent",
    period: str = "month",
    start: _dt.datetime | None = None,
    end: _dt.datetime | None = None,
) -> list[SatisfactionRow]:
    """Answered surveys of one kind grouped by agent, team, category and/or period.

    Args:
        uow: the unit of work (only surveys the principal may read count).
        kind: which survey.
        by: one dimension or several (``("team", "period")``); ``()`` for one total row.
        period: ``day``, ``week`` (ISO), ``month``, ``quarter`` or ``year`` (UTC).
        start / end: answered in ``[start, end)``.

    Returns:
        Rows sorted by key (None first).

    Raises:
        QueryError: an unknown dimension or period.
    """
    kind = SurveyKind(kind)
    dims = (by,) if isinstance(by, str) else tuple(by)
    unknown = [d for d in dims if d not in _DIMENSIONS]
    if unknown:
        raise QueryError(f"unknown report dimension {unknown[0]!r}; use one of {_DIMENSIONS}")
    if period not in _PERIODS:
        raise QueryError(f"unknown period {period!r}; use one of {_PERIODS}")
    terms: list[Filter] = [eq("status", "answered"), eq("kind", kind)]
    if start is not None:
        terms.append(ge("answered_at", start))
    if end is not None:
        terms.append(lt("answered_at", end))
    groups: dict[tuple[str | None, ...], dict[int, int]] = {}
    for r in uow.repo(SurveyRequest).stream(all_of(*terms)):
        if r.score is None:
            continue
        values = {
            "agent": r.agent_id,
            "team": r.team_id,
            "category": r.category,
            "period": _period_key(r.answered_at, period) if r.answered_at else None,
        }
        key = tuple(values[d] for d in dims)
        counts = groups.setdefault(key, {})
        counts[r.score] = counts.get(r.score, 0) + 1
    ordered = sorted(groups, key=lambda k: tuple((v is not None, v or "") for v in k))
    return [
        SatisfactionRow(dict(zip(dims, k, strict=True)), kind, dict(sorted(groups[k].items())))
        for k in ordered
    ]
