"""Every transition of every built-in machine fires on real entities through a session.

The guards read what the entities hold (``Money`` amounts, aware timestamps),
not dicts shaped for them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import attrs
import pytest

import crmcore
from crmcore import Campaign, Customer, Lead, Money, Opportunity, Principal, Ticket
from crmcore.lifecycle import Machine
from crmcore.model import Entity
from crmcore.services import DEFAULT_MACHINES, transition

NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.timezone.utc)


def _record(entity_type: type[Entity], machine: Machine, state: str) -> Entity:
    """A real entity in ``state`` holding what every guard of the machine asks for."""
    base: dict[str, object] = {
        Opportunity: {"name": "Deal", "amount": Money("12000.00", "CNY")},
        Ticket: {"subject": "Refund", "closed_at": NOW, "resolved_at": NOW},
        Campaign: {"name": "Spring", "scheduled_at": NOW + dt.timedelta(days=3)},
        Lead: {"first_name": "Wei"},
        Customer: {"first_name": "Wei"},
    }[entity_type]
    return entity_type(**{**base, machine.field: state})  # type: ignore[arg-type]


CASES = [
    (entity_type, machine, state, event)
    for entity_type, machine in DEFAULT_MACHINES.items()
    for state in machine.state_names
    for event in machine.events_from(state)
]


@pytest.mark.parametrize(
    ("entity_type", "machine", "state", "event"),
    CASES,
    ids=[f"{m.name}:{s}-{e}" for _, m, s, e in CASES],
)
def test_every_transition_fires_on_a_real_entity(
    entity_type: type[Entity], machine: Machine, state: str, event: str
) -> None:
    crm = crmcore.connect("memory://", validation=False, clock=lambda: NOW)
    me = Principal.system_principal(f"t-{uuid.uuid4().hex[:8]}")
    with crm.session(me) as s:
        stored = s.repo(entity_type).add(_record(entity_type, machine, state))
        moved = transition(s, stored, event, comment="agreed with the customer")
    target = machine.transition_for(state, event)
    assert target is not None
    assert target.target == getattr(moved, machine.field)


def test_every_built_in_machine_has_cases() -> None:
    assert {m.name for _, m, _, _ in CASES} == {m.name for m in DEFAULT_MACHINES.values()}


def test_a_deal_with_money_is_won() -> None:
    crm = crmcore.connect("memory://")
    with crm.session() as s:
        deal = s.opportunities.add(Opportunity(name="Deal", amount=Money(Decimal("99.50"), "CNY")))
        won = transition(s, attrs.evolve(deal), "win")
    assert (won.stage, won.amount) == ("closed_won", Money("99.50", "CNY"))
    assert won.closed_at is not None


def test_a_state_the_machine_lacks_is_refused_at_write() -> None:
    from crmcore import ValidationError

    crm = crmcore.connect("memory://")
    with crm.session() as s:
        with pytest.raises(ValidationError) as refused:
            s.opportunities.add(Opportunity(name="Deal", stage="won"))
        (problem,) = refused.value.errors
        assert (problem.path, problem.code) == ("$.stage", "unknown_state")
        assert "closed_won" in problem.message
        deal = s.opportunities.add(Opportunity(name="Deal"))
        with pytest.raises(ValidationError):
            s.opportunities.update(attrs.evolve(deal, stage="done"))
        with pytest.raises(ValidationError):
            s.tickets.add(Ticket(subject="Help", status="bogus"))
    unchecked = crmcore.connect("memory://", validation=False)
    with unchecked.session() as s:
        assert s.opportunities.add(Opportunity(name="Deal", stage="won")).stage == "won"
