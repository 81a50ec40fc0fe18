"""Every built-in machine's every transition, fired on the real entities (not dicts)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from crmcore.errors import InvalidTransition
from crmcore.lifecycle import (
    CAMPAIGN,
    CUSTOMER_STAGE,
    LEAD,
    OPPORTUNITY,
    TICKET,
    Machine,
    TransitionContext,
)
from crmcore.model import Campaign, Customer, Lead, Money, Opportunity, Ticket

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
OK = TransitionContext(actor="u1", now=NOW, comment="ok")


def entity(machine: Machine, state: str) -> Any:
    """A real entity of the machine's kind in ``state``, with fields every guard passes on."""
    if machine is OPPORTUNITY:
        return Opportunity(name="deal", stage=state, amount=Money("1200.50", "CNY"))
    if machine is LEAD:
        return Lead(status=state)
    if machine is TICKET:
        return Ticket(
            subject="help",
            status=state,
            resolved_at=NOW - timedelta(days=1),
            closed_at=NOW - timedelta(hours=1),
        )
    if machine is CAMPAIGN:
        return Campaign(name="spring", status=state, scheduled_at=NOW + timedelta(days=3))
    assert machine is CUSTOMER_STAGE
    return Customer(first_name="伟", last_name="张", lifecycle_stage=state)


MACHINES = [LEAD, TICKET, CAMPAIGN, CUSTOMER_STAGE, OPPORTUNITY]
PATHS = [
    pytest.param(m, state, event, target, id=f"{m.name}:{state}-{event}")
    for m in MACHINES
    for (state, event), target in m.table.items()
]


@pytest.mark.parametrize(("machine", "state", "event", "target"), PATHS)
def test_every_transition_fires_on_the_real_entity(
    machine: Machine, state: str, event: str, target: str
) -> None:
    before = entity(machine, state)
    result = machine.fire(before, event, OK)
    assert type(before) is type(result.record)
    assert target == getattr(result.record, machine.field)
    assert (state, target) == (result.history.from_state, result.history.to_state)


def test_an_opportunity_with_a_money_amount_is_won() -> None:
    deal = Opportunity(name="deal", stage="negotiation", amount=Money("5000", "CNY"))
    won = OPPORTUNITY.fire(deal, "win", OK).record
    assert (won.stage, won.probability, won.forecast_category) == ("closed_won", 1.0, "closed")
    assert Money("5000", "CNY") == won.amount


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (None, "the amount must be set and positive"),
        (Money("0", "CNY"), "the amount must be positive (it is 0)"),
        (Money("-3.5", "USD"), "the amount must be positive (it is -3.5)"),
    ],
)
def test_winning_refuses_an_unset_or_non_positive_money_amount(
    amount: Money | None, reason: str
) -> None:
    deal = Opportunity(name="deal", stage="proposal", amount=amount)
    with pytest.raises(InvalidTransition) as info:
        OPPORTUNITY.fire(deal, "win", OK)
    assert reason == info.value.reason
    assert "win" not in OPPORTUNITY.allowed_events(deal, OK)


@pytest.mark.parametrize(
    "amount",
    [{"amount": "10", "currency": "CNY"}, Decimal("10"), 10, 10.5, "10"],
    ids=["money-data", "decimal", "int", "float", "str"],
)
def test_winning_accepts_a_positive_amount_in_plain_data(amount: Any) -> None:
    row = {"stage": "proposal", "amount": amount}
    assert OPPORTUNITY.fire(row, "win", OK).record["stage"] == "closed_won"


def test_winning_refuses_plain_data_with_a_zero_money_mapping() -> None:
    row = {"stage": "proposal", "amount": {"amount": "0", "currency": "CNY"}}
    with pytest.raises(InvalidTransition) as info:
        OPPORTUNITY.fire(row, "win", OK)
    assert info.value.reason == "the amount must be positive (it is 0)"


def test_entities_keep_their_other_fields_through_a_transition() -> None:
    lead = Lead(status="qualified", email="a@example.com", company="ACME")
    converted = LEAD.fire(lead, "convert", OK).record
    assert attrs.evolve(lead, status="converted") == attrs.evolve(
        converted, converted_at=lead.converted_at
    )
