"""One customer timeline: every source, newest first, stable cursor paging, policy filtering."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path

import pytest

import crmcore
from crmcore import Principal
from crmcore.errors import NotFound, QueryError
from crmcore.model import (
    Activity,
    ActivityType,
    Campaign,
    CampaignEvent,
    Customer,
    MergeRecord,
    Order,
    Ticket,
)
from crmcore.policy import Policy
from crmcore.services import (
    record_survey_answer,
    request_survey,
    service_history,
    transition,
)

Factory = Callable[[], crmcore.Session]
UTC = _dt.timezone.utc
T0 = _dt.datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def _fill(s: crmcore.Session) -> Customer:
    c = s.repo(Customer).add(Customer(first_name="伟", last_name="张"))
    other = s.repo(Customer).add(Customer(first_name="Other"))
    t = s.repo(Ticket).add(Ticket(subject="无法登录", customer_id=c.id, assignee_id="li"))
    t = transition(s, transition(s, t, "open"), "resolve")
    s.repo(Ticket).add(Ticket(subject="not theirs", customer_id=other.id))
    s.repo(Activity).add(
        Activity(type=ActivityType.CALL, subject="回访", customer_id=c.id, done_at=T0)
    )
    s.repo(Order).add(Order(customer_id=c.id, number="SO-1", ordered_at=T0 - _dt.timedelta(days=3)))
    camp = s.repo(Campaign).add(Campaign(name="618"))
    s.repo(CampaignEvent).add(
        CampaignEvent(campaign_id=camp.id, customer_id=c.id, kind="click", occurred_at=T0)
    )
    inv = request_survey(s, t)
    record_survey_answer(s, inv.request.id, 5, responded_at=T0 + _dt.timedelta(hours=1))
    s.repo(MergeRecord).add(
        MergeRecord(entity="Customer", survivor_id=c.id, merged_ids=(other.id,))
    )
    return c


def test_the_timeline_holds_every_source_newest_first(session: Factory) -> None:
    with session() as s:
        c = _fill(s)
    with session() as s:
        page = service_history(s, c.id)
        kinds = [e.kind for e in page]
        assert sorted(kinds) == sorted(
            [
                *("ticket", "ticket_transition", "ticket_transition", "activity", "order"),
                *("campaign_event", "survey_response", "merge"),
            ]
        )
        assert [e.at for e in page] == sorted((e.at for e in page), reverse=True)
        assert page.next_cursor is None
        assert "not theirs" not in " ".join(e.summary for e in page)
        assert any(e.summary == "ticket opened: 无法登录" for e in page)
        only = service_history(s, c.id, kinds=["order"])
        assert [e.summary for e in only] == ["order SO-1: placed"]


def test_paging_returns_every_event_once_even_when_new_ones_arrive(session: Factory) -> None:
    with session() as s:
        c = s.repo(Customer).add(Customer(first_name="Wei"))
        original = set()
        for i in range(7):
            a = s.repo(Activity).add(
                Activity(
                    type=ActivityType.NOTE,
                    subject=f"n{i}",
                    customer_id=c.id,
                    done_at=T0 + _dt.timedelta(minutes=i % 3),  # ties on time
                )
            )
            original.add(a.id)
    with session() as s:
        first = service_history(s, c.id, limit=3)
        s.repo(Activity).add(  # newer than everything: must not shift later pages
            Activity(
                type=ActivityType.NOTE,
                subject="late",
                customer_id=c.id,
                done_at=T0 + _dt.timedelta(days=1),
            )
        )
        seen = [e.record_id for e in first]
        cursor = first.next_cursor
        while cursor:
            page = service_history(s, c.id, limit=3, cursor=cursor)
            seen += [e.record_id for e in page]
            cursor = page.next_cursor
        all_now = [e.record_id for e in service_history(s, c.id, limit=100)]
        assert len(seen) == 7 and set(seen) == original
        assert len(all_now) == 8 and set(all_now) > original


def test_bad_arguments_are_refused(session: Factory) -> None:
    with session() as s:
        c = s.repo(Customer).add(Customer(first_name="Wei"))
        with pytest.raises(QueryError):
            service_history(s, c.id, limit=0)
        with pytest.raises(QueryError):
            service_history(s, c.id, cursor="not-a-cursor")
        with pytest.raises(QueryError):
            service_history(s, c.id, kinds=["gossip"])
        with pytest.raises(NotFound):
            service_history(s, Customer(first_name="x").id)


def _policy() -> Policy:
    return (
        Policy.builder()
        .allow(
            "support-reads",
            roles="support",
            entities=["Customer", "Ticket", "TransitionRecord", "Activity", "SurveyResponse"],
            actions="read",
        )
        .fields(roles="support", entities="Ticket", subject="hidden", all="read")
        .build()
    )


@pytest.mark.parametrize("url", ["memory://", "sqlite"])
def test_the_timeline_shows_only_what_the_principal_may_read(url: str, tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'h.db'}" if url == "sqlite" else url
    crm = crmcore.connect(target, policy=_policy())
    with crm.session(Principal.system_principal("acme")) as s:
        c = _fill(s)
        full = {e.kind for e in service_history(s, c.id)}
    support = Principal(user_id="s1", tenant_id="acme", roles="support")
    with crm.session(support) as s:
        page = service_history(s, c.id)
        kinds = {e.kind for e in page}
        assert "order" in full and "order" not in kinds
        assert "campaign_event" not in kinds and "merge" not in kinds
        assert kinds == {"ticket", "ticket_transition", "activity", "survey_response"}
        text = " ".join(e.summary for e in page)
        assert "无法登录" not in text  # the hidden subject does not leak into summaries
        assert all(e.record.subject is None for e in page if e.kind == "ticket")
    crm.close()
