"""Lifecycle transitions with history and lead conversion, on every backend."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import Customer, Lead, Money, Opportunity, Principal, Ticket
from crmcore.errors import Conflict, InvalidTransition
from crmcore.lifecycle import LEAD, HistoryEntry, replay
from crmcore.services import (
    allowed_events,
    convert_lead,
    time_in_stages,
    transition,
    transition_history,
)
from crmcore.testing import FrozenClock

UTC = dt.timezone.utc


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(dt.datetime(2024, 5, 1, 9, tzinfo=UTC))


@pytest.fixture
def crm2(crm: crmcore.Crm, clock: FrozenClock) -> crmcore.Crm:
    return crmcore.Crm(crm.store, clock=clock)


@pytest.fixture
def session(crm2: crmcore.Crm, tenant: str) -> Callable[[], crmcore.Session]:
    rep = Principal(user_id="rep", tenant_id=tenant, roles={"sales_rep"})
    return lambda: crm2.session(rep)


Factory = Callable[[], crmcore.Session]


def new_lead(session: Factory, **fields: object) -> Lead:
    with session() as s:
        return s.leads.add(
            Lead(
                first_name="伟",
                last_name="张",
                company="星辰科技",
                email="wei@example.cn",
                phone="+8613800138000",
                **fields,
            )
        )  # type: ignore[arg-type]


def test_transitions_are_stored_with_history(session: Factory, clock: FrozenClock) -> None:
    lead = new_lead(session)
    with session() as s:
        lead = transition(s, lead, "contact")
    clock.advance(dt.timedelta(hours=5))
    with session() as s:
        lead = transition(s, lead, "qualify", comment="budget confirmed")
    clock.advance(dt.timedelta(hours=1))
    with session() as s:
        assert s.leads.get(lead.id).status == "qualified"
        rows = transition_history(s, Lead, lead.id)
        assert [(r.from_state, r.to_state, r.event) for r in rows] == [
            ("new", "contacted", "contact"),
            ("contacted", "qualified", "qualify"),
        ]
        assert rows[1].comment == "budget confirmed"
        assert rows[0].actor == "rep"
        spent = time_in_stages(s, Lead, lead.id)
        assert spent["contacted"] == dt.timedelta(hours=5)
        assert spent["qualified"] == dt.timedelta(hours=1)


def test_refused_event_names_state_and_allowed_events(session: Factory) -> None:
    lead = new_lead(session)
    with session() as s, pytest.raises(InvalidTransition) as err:
        transition(s, lead, "convert")
    assert err.value.state == "new"
    assert "qualify" in err.value.allowed
    assert err.value.id == lead.id
    with session() as s:
        assert s.leads.get(lead.id).status == "new"
        assert transition_history(s, Lead, lead.id) == []


def test_guard_refusal_carries_its_reason(session: Factory) -> None:
    lead = new_lead(session)
    with session() as s, pytest.raises(InvalidTransition) as err:
        transition(s, lead, "disqualify")
    assert err.value.reason
    with session() as s:
        done = transition(s, lead, "disqualify", comment="no budget")
    assert done.status == "disqualified"


def test_stale_record_is_a_conflict(session: Factory) -> None:
    lead = new_lead(session)
    with session() as s:
        transition(s, lead, "contact")
    with session() as s, pytest.raises(Conflict):
        transition(s, lead, "qualify")


def test_failed_unit_of_work_rolls_the_transition_back(session: Factory) -> None:
    lead = new_lead(session)
    with pytest.raises(RuntimeError), session() as s:
        transition(s, lead, "contact")
        raise RuntimeError("later step failed")
    with session() as s:
        assert s.leads.get(lead.id).status == "new"
        assert transition_history(s, Lead, lead.id) == []


def test_opportunity_probability_is_snapshotted_on_entry(session: Factory) -> None:
    with session() as s:
        opp = s.opportunities.add(Opportunity(name="deal", amount=Money(1000, "CNY")))
    with session() as s:
        opp = transition(s, opp, "advance")
        assert (opp.stage, opp.probability) == ("qualification", 0.2)
        opp = transition(s, opp, "advance")
        assert (opp.stage, opp.probability) == ("proposal", 0.5)
        rows = transition_history(s, Opportunity, opp.id)
        assert rows[-1].data.get("probability") == 0.5


def test_ticket_reopen_window(session: Factory, clock: FrozenClock) -> None:
    with session() as s:
        t = s.tickets.add(Ticket(subject="printer"))
        for event in ("open", "resolve", "close"):
            t = transition(s, t, event)
        assert t.closed_at == clock()
    clock.advance(dt.timedelta(days=8))
    with session() as s, pytest.raises(InvalidTransition) as err:
        transition(s, t, "reopen")
    assert err.value.reason


def test_allowed_events_lists_what_guards_let_through(session: Factory) -> None:
    lead = new_lead(session)
    with session() as s:
        events = allowed_events(s, lead)
    assert "qualify" in events
    assert "convert" not in events


def test_conversion_creates_everything_and_links_the_lead(session: Factory) -> None:
    lead = new_lead(session, status="qualified", title="CTO", owner_id="rep")
    with session() as s:
        conv = convert_lead(s, lead, opportunity=True, amount=Money(50000, "CNY"))
    with session() as s:
        stored = s.leads.get(lead.id)
        assert stored.status == "converted"
        assert stored.converted_customer_id == conv.customer.id
        assert stored.converted_account_id == conv.account.id  # type: ignore[union-attr]
        assert stored.converted_opportunity_id == conv.opportunity.id  # type: ignore[union-attr]
        assert s.customers.get(conv.customer.id).email == "wei@example.cn"
        assert s.accounts.get(conv.account.id).name == "星辰科技"  # type: ignore[union-attr]
        role = s.contact_roles.first(customer_id=conv.customer.id)
        assert role is not None and role.title == "CTO"
        assert s.opportunities.get(conv.opportunity.id).customer_id == conv.customer.id  # type: ignore[union-attr]
        assert [r.event for r in transition_history(s, Lead, lead.id)] == ["convert"]


def test_conversion_reuses_an_existing_customer_and_account(session: Factory) -> None:
    with session() as s:
        existing = s.customers.add(
            Customer(first_name="Wei", last_name="Zhang", email="wei@example.cn")
        )
        s.accounts.add(crmcore.Account(name="星辰科技"))
    lead = new_lead(session, status="qualified")
    with session() as s:
        conv = convert_lead(s, lead)
    assert conv.reused_customer and conv.reused_account
    assert conv.customer.id == existing.id
    with session() as s:
        assert s.customers.count() == 1
        assert s.accounts.count() == 1


def test_failed_conversion_writes_nothing(session: Factory) -> None:
    lead = new_lead(session)  # still "new": the convert event is refused at the last step
    with session() as s, pytest.raises(InvalidTransition):
        convert_lead(s, lead, opportunity="Big deal")
    with session() as s:
        assert (s.customers.count(), s.accounts.count(), s.opportunities.count()) == (0, 0, 0)
        assert s.contact_roles.count() == 0
        assert s.leads.get(lead.id).status == "new"


HYPO = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_random_event_sequences_replay_to_the_stored_state(session: Factory) -> None:
    events = st.lists(
        st.sampled_from(["contact", "qualify", "convert", "disqualify", "recycle"]), max_size=8
    )

    @HYPO
    @given(seq=events)
    def check(seq: list[str]) -> None:
        lead = new_lead(session)
        for event in seq:
            try:
                with session() as s:
                    lead = transition(s, lead, event, comment="why not")
            except InvalidTransition:
                pass
        with session() as s:
            rows = transition_history(s, Lead, lead.id)
            entries = [
                HistoryEntry(
                    machine=r.machine,
                    event=r.event,
                    from_state=r.from_state,
                    to_state=r.to_state,
                    at=r.at or r.created_at,
                )
                for r in rows
            ]
            assert replay(LEAD, entries, start="new") == s.leads.get(lead.id).status

    check()


def test_lead_field_changes_ride_along_with_a_transition(session: Factory) -> None:
    lead = new_lead(session)
    with session() as s:
        moved = transition(s, attrs.evolve(lead, score=80), "contact")
    assert (moved.status, moved.score) == ("contacted", 80)


def test_a_tenant_configured_machine_replaces_the_built_in_one(
    crm: crmcore.Crm, tenant: str
) -> None:
    from crmcore.lifecycle import opportunity_machine

    stages = [("discovery", 0.15, "pipeline"), ("demo", 0.4, "best_case")]
    mine = crmcore.Crm(crm.store, machines={Opportunity: opportunity_machine(stages)})
    with mine.session(Principal.system_principal(tenant)) as s:
        opp = s.opportunities.add(Opportunity(name="deal", stage="discovery"))
        opp = transition(s, opp, "advance")
    assert (opp.stage, opp.probability) == ("demo", 0.4)


def test_allowed_events_respect_the_policy(crm: crmcore.Crm, tenant: str) -> None:
    from crmcore.policy import Policy, PolicyGuard

    policy = Policy.from_dict(
        {
            "rules": [
                {
                    "name": "reps",
                    "roles": ["rep"],
                    "entities": ["Lead"],
                    "actions": ["read", "create", "update", "transition:contact"],
                },
                {
                    "name": "history",
                    "roles": ["rep"],
                    "entities": ["TransitionRecord"],
                    "actions": ["read"],
                },
            ]
        }
    )
    guarded = crmcore.Crm(crm.store, layers=[PolicyGuard(policy)], policy=policy)
    rep = Principal(user_id="rep", tenant_id=tenant, roles={"rep"})
    with guarded.session(rep) as s:
        lead = s.leads.add(Lead(first_name="A"))
        assert allowed_events(s, lead) == ("contact",)
        with pytest.raises(crmcore.PermissionDenied):
            transition(s, lead, "qualify")
        assert transition(s, lead, "contact").status == "contacted"
        assert [r.event for r in transition_history(s, Lead, lead.id)] == ["contact"]
    nobody = Principal(user_id="x", tenant_id=tenant, roles={"rep-without-history"})
    with guarded.session(nobody) as s:  # history is data too: no read rule, no rows
        assert transition_history(s, Lead, lead.id) == []
