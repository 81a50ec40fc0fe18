"""Deals get their stage's probability and forecast category on every write."""

from __future__ import annotations

from typing import Any

import attrs

import crmcore
from crmcore.lifecycle import OPPORTUNITY, opportunity_machine, stamp_stage
from crmcore.model import Money, Opportunity


def test_stamp_stage_sets_the_stage_values() -> None:
    deal = stamp_stage(Opportunity(name="d", stage="proposal"), OPPORTUNITY)
    state = OPPORTUNITY.state("proposal").data
    assert (deal.probability, deal.forecast_category) == (
        state["probability"],
        state["forecast_category"],
    )


def test_stamp_stage_leaves_unknown_stages_and_plain_rows_without_the_fields() -> None:
    odd = Opportunity(name="d", stage="nowhere")
    assert stamp_stage(odd, OPPORTUNITY) is odd
    row: dict[str, Any] = {"stage": "proposal"}
    assert stamp_stage(row, OPPORTUNITY) == {"stage": "proposal"}


def test_a_deal_added_or_updated_directly_gets_its_stage_values() -> None:
    stages = [("discovery", 0.2, "pipeline"), ("commit", 0.9, "commit")]
    machine = opportunity_machine(stages)
    crm = crmcore.connect("memory://", machines={Opportunity: machine})
    with crm.session() as s:
        deal = s.opportunities.add(
            Opportunity(name="d", stage="discovery", amount=Money("10", "CNY"))
        )
        assert (deal.probability, deal.forecast_category) == (0.2, "pipeline")
        moved = s.opportunities.update(attrs.evolve(deal, stage="commit"))
        assert (moved.probability, moved.forecast_category) == (0.9, "commit")
    with crm.session() as s:
        stored = s.opportunities.get(deal.id)
        assert (stored.probability, stored.forecast_category) == (0.9, "commit")
