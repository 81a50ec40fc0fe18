"""Surveys on resolution, answers linked to ticket/agent/customer, CSAT/NPS/CES reports."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmcore
from crmcore.errors import QueryError, ValidationError
from crmcore.model import Customer, SurveyKind, SurveyRequest, SurveyResponse, Ticket
from crmcore.services import (
    SURVEY_REQUESTED,
    nps_score,
    record_survey_answer,
    request_survey,
    satisfaction_report,
    transition,
)

Factory = Callable[[], crmcore.Session]
UTC = _dt.timezone.utc


def _resolved(s: crmcore.Session, **kw: object) -> Ticket:
    t = s.repo(Ticket).add(Ticket(subject="help", **kw))  # type: ignore[arg-type]
    return transition(s, transition(s, t, "open"), "resolve")


def test_a_resolved_ticket_gets_one_pending_survey_and_a_payload(session: Factory) -> None:
    with session() as s:
        c = s.repo(Customer).add(Customer(first_name="伟", last_name="张"))
        t = _resolved(s, customer_id=c.id, assignee_id="li", team_id="t1", category="billing")
        inv = request_survey(s, t, SurveyKind.NPS)
        again = request_survey(s, t.id, "nps")
        assert again.request.id == inv.request.id
        assert inv.payload["type"] == SURVEY_REQUESTED
        assert inv.payload["ticket_id"] == str(t.id)
        assert inv.payload["customer_id"] == str(c.id)
        assert inv.payload["agent_id"] == "li"
        assert inv.payload["scale"] == [0, 10]
        assert inv.request.status == "pending"
        assert (inv.request.team_id, inv.request.category) == ("t1", "billing")


def test_no_survey_before_the_ticket_resolves(session: Factory) -> None:
    with session() as s:
        t = s.repo(Ticket).add(Ticket(subject="open"))
        with pytest.raises(ValidationError) as err:
            request_survey(s, t)
        assert err.value.codes == ("ticket_not_resolved",)


def test_an_answer_links_ticket_customer_and_agent_once(session: Factory) -> None:
    with session() as s:
        c = s.repo(Customer).add(Customer(first_name="Wei"))
        t = _resolved(s, customer_id=c.id, assignee_id="li")
        req = request_survey(s, t).request
    with session() as s:
        with pytest.raises(ValidationError) as err:
            record_survey_answer(s, req.id, 6)  # CSAT runs 1-5
        assert err.value.codes == ("score_out_of_range",)
        answer = record_survey_answer(s, req.id, 4, comment="快")
        assert (answer.ticket_id, answer.customer_id, answer.kind) == (t.id, c.id, SurveyKind.CSAT)
    with session() as s:
        stored = s.repo(SurveyRequest).get(req.id)
        assert (stored.status, stored.score, stored.response_id) == ("answered", 4, answer.id)
        assert stored.agent_id == "li"
        assert s.repo(SurveyResponse).count(ticket_id=t.id) == 1
        with pytest.raises(ValidationError) as err:
            record_survey_answer(s, req.id, 5)
        assert err.value.codes == ("survey_answered",)


def _answered(
    s: crmcore.Session, kind: SurveyKind, score: int, at: _dt.datetime, **kw: object
) -> None:
    t = _resolved(s, **kw)
    record_survey_answer(s, request_survey(s, t, kind).request.id, score, responded_at=at)


def test_reports_group_by_agent_team_category_and_period(session: Factory) -> None:
    jan = _dt.datetime(2026, 1, 15, tzinfo=UTC)
    feb = _dt.datetime(2026, 2, 3, tzinfo=UTC)
    with session() as s:
        for score, agent, team, when in [
            (10, "li", "a", jan),
            (9, "li", "a", feb),
            (3, "li", "a", feb),
            (8, "wang", "b", jan),
            (0, "wang", "b", feb),
        ]:
            _answered(s, SurveyKind.NPS, score, when, assignee_id=agent, team_id=team)
        _answered(s, SurveyKind.CSAT, 5, jan, assignee_id="li", category="billing")
        _answered(s, SurveyKind.CSAT, 2, jan, assignee_id="li", category="billing")
        _answered(s, SurveyKind.CSAT, 4, jan, assignee_id="li", category="tech")
    with session() as s:
        by_agent = {r.key["agent"]: r for r in satisfaction_report(s, "nps", by="agent")}
        assert by_agent["li"].nps == pytest.approx(100 * (2 - 1) / 3)
        assert (by_agent["wang"].passives, by_agent["wang"].detractors) == (1, 1)
        assert by_agent["wang"].nps == pytest.approx(-50.0)
        rows = satisfaction_report(s, SurveyKind.NPS, by=("team", "period"))
        assert [(r.key["team"], r.key["period"], r.responses) for r in rows] == [
            ("a", "2026-01", 1),
            ("a", "2026-02", 2),
            ("b", "2026-01", 1),
            ("b", "2026-02", 1),
        ]
        total = satisfaction_report(s, "nps", by=())
        assert total[0].nps == pytest.approx(100 * (2 - 2) / 5)
        feb_only = satisfaction_report(s, "nps", by=(), start=feb)
        assert feb_only[0].responses == 3
        csat = {r.key["category"]: r for r in satisfaction_report(s, "csat", by="category")}
        assert csat["billing"].csat == pytest.approx(50.0)
        assert csat["billing"].mean == pytest.approx(3.5)
        assert csat["tech"].as_dict()["csat"] == pytest.approx(100.0)
        assert satisfaction_report(s, "ces") == []
        with pytest.raises(QueryError):
            satisfaction_report(s, "nps", by="colour")
        with pytest.raises(QueryError):
            satisfaction_report(s, "nps", by="period", period="fortnight")


def _reference_nps(scores: list[int]) -> float:
    promoters = len([s for s in scores if s in (9, 10)])
    detractors = len([s for s in scores if s in range(7)])
    return (promoters / len(scores) - detractors / len(scores)) * 100


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=1, max_size=40))
def test_nps_is_percent_promoters_minus_percent_detractors(scores: list[int]) -> None:
    assert nps_score(scores) == pytest.approx(_reference_nps(scores))


@settings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10), st.sampled_from(["li", "wang"])), max_size=12))
def test_the_report_agrees_with_the_reference_per_agent(scores: list[tuple[int, str]]) -> None:
    crm = crmcore.connect("memory://")
    at = _dt.datetime(2026, 3, 1, tzinfo=UTC)
    with crm.session() as s:
        for score, agent in scores:
            _answered(s, SurveyKind.NPS, score, at, assignee_id=agent)
        rows = {r.key["agent"]: r for r in satisfaction_report(s, "nps")}
    for agent in ("li", "wang"):
        mine = [sc for sc, a in scores if a == agent]
        if mine:
            assert rows[agent].nps == pytest.approx(_reference_nps(mine))
            assert rows[agent].responses == len(mine)
        else:
            assert agent not in rows


def test_a_survey_request_is_a_domain_event_once() -> None:
    from crmcore.model import OutboxEvent

    crm = crmcore.connect("memory://", events=True)
    with crm.session() as s:
        t = _resolved(s, assignee_id="li")
        request_survey(s, t, SurveyKind.CSAT)
        request_survey(s, t, SurveyKind.CSAT)  # pending already: no second event
    with crm.session() as s:
        events = [
            e for e in s.repo(OutboxEvent).stream() if e.event_type == "ticket.survey_requested"
        ]
    assert [(e.aggregate_id, e.payload["kind"], e.payload["agent_id"]) for e in events] == [
        (t.id, "csat", "li")
    ]
