"""The built-in machines: every path, every refusal, their guards and effects."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import pairwise
from typing import Any

import attrs
import pytest

from crmcore.errors import ConfigurationError, InvalidTransition
from crmcore.lifecycle import (
    CAMPAIGN,
    CUSTOMER_STAGE,
    LEAD,
    OPPORTUNITY,
    TICKET,
    Machine,
    TransitionContext,
    forecast_category,
    opportunity_machine,
    probability,
    ticket_machine,
    weighted_amount,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
OK = TransitionContext(actor="u1", now=NOW, comment="ok")
BARE = TransitionContext(actor="u1", now=NOW)


@attrs.frozen
class Rec:
    """A record with every field the built-in machines look at."""

    id: int = 1
    status: str | None = None
    stage: str | None = None
    lifecycle_stage: str | None = None
    amount: Decimal | None = Decimal("100")
    probability: float | None = None
    forecast_category: str | None = None
    resolved_at: datetime | None = NOW - timedelta(days=2)
    closed_at: datetime | None = NOW - timedelta(days=1)
    scheduled_at: datetime | None = NOW + timedelta(days=1)
    started_at: datetime | None = None
    completed_at: datetime | None = None


def rec(machine: Machine, state: str, **fields: Any) -> Rec:
    values: dict[str, Any] = {machine.field: state, **fields}
    return Rec(**values)


def _pairs(event: str, sources: str, target: str) -> dict[tuple[str, str], str]:
    return {(s, event): target for s in sources.split()}


OPEN = ["prospecting", "qualification", "proposal", "negotiation"]
LIFECYCLE = [
    "subscriber",
    "lead",
    "marketing_qualified",
    "sales_qualified",
    "opportunity",
    "customer",
    "evangelist",
]

EXPECTED: dict[str, dict[tuple[str, str], str]] = {
    "lead": {
        **_pairs("contact", "new", "contacted"),
        **_pairs("qualify", "new contacted", "qualified"),
        **_pairs("convert", "qualified", "converted"),
        **_pairs("disqualify", "new contacted qualified", "disqualified"),
        **_pairs("recycle", "contacted qualified disqualified", "new"),
    },
    "ticket": {
        **_pairs("open", "new", "open"),
        **_pairs("wait", "open", "pending"),
        **_pairs("resume", "pending", "open"),
        **_pairs("resolve", "new open pending", "resolved"),
        **_pairs("close", "resolved", "closed"),
        **_pairs("reopen", "resolved closed", "open"),
    },
    "campaign": {
        **_pairs("schedule", "draft", "scheduled"),
        **_pairs("unschedule", "scheduled", "draft"),
        **_pairs("start", "draft scheduled", "running"),
        **_pairs("pause", "running", "paused"),
        **_pairs("resume", "paused", "running"),
        **_pairs("complete", "running paused", "completed"),
        **_pairs("cancel", "draft scheduled running paused", "cancelled"),
    },
    "customer_stage": {
        **{(a, "advance"): b for a, b in pairwise(LIFECYCLE)},
        **{
            (src, f"move_to_{stage}"): stage
            for i, stage in enumerate(LIFECYCLE[1:6], start=1)
            for src in LIFECYCLE[:i]
        },
        **_pairs("churn", "customer evangelist", "churned"),
        **_pairs("win_back", "churned", "customer"),
    },
    "opportunity": {
        **{(a, "advance"): b for a, b in pairwise(OPEN)},
        **{(src, f"move_to_{dst}"): dst for dst in OPEN for src in OPEN if src != dst},
        **{(src, "win"): "closed_won" for src in OPEN},
        **{(src, "lose"): "closed_lost" for src in OPEN},
        **_pairs("reopen", "closed_won closed_lost", "prospecting"),
    },
}

BUILTINS = [LEAD, TICKET, CAMPAIGN, CUSTOMER_STAGE, OPPORTUNITY]
ALL_PAIRS = [
    pytest.param(m, state, event, target, id=f"{m.name}:{state}-{event}")
    for m in BUILTINS
    for (state, event), target in EXPECTED[m.name].items()
]
REFUSED_PAIRS = [
    pytest.param(m, state, event, id=f"{m.name}:{state}-{event}")
    for m in BUILTINS
    for state in m.state_names
    for event in m.events
    if (state, event) not in EXPECTED[m.name]
]


@pytest.mark.parametrize("machine", BUILTINS, ids=lambda m: m.name)
def test_compiled_table_is_the_documented_one(machine: Machine) -> None:
    assert EXPECTED[machine.name] == dict(machine.table)


@pytest.mark.parametrize(("machine", "state", "event", "target"), ALL_PAIRS)
def test_every_allowed_path_fires(machine: Machine, state: str, event: str, target: str) -> None:
    result = machine.fire(rec(machine, state), event, OK)
    assert target == getattr(result.record, machine.field)
    assert (machine.name, event, state, target) == (
        result.history.machine,
        result.history.event,
        result.history.from_state,
        result.history.to_state,
    )


@pytest.mark.parametrize(("machine", "state", "event"), REFUSED_PAIRS)
def test_every_other_event_is_refused_with_the_allowed_list(
    machine: Machine, state: str, event: str
) -> None:
    with pytest.raises(InvalidTransition) as info:
        machine.fire(rec(machine, state), event, OK)
    allowed = [e for (s, e) in EXPECTED[machine.name] if s == state]
    assert sorted(allowed) == sorted(info.value.allowed)
    assert (machine.name, state, event) == (info.value.machine, info.value.state, info.value.event)


@pytest.mark.parametrize("machine", BUILTINS, ids=lambda m: m.name)
def test_allowed_events_from_every_state_with_guards_passing(machine: Machine) -> None:
    for state in machine.state_names:
        expected = {e for (s, e) in EXPECTED[machine.name] if s == state}
        assert expected == set(machine.allowed_events(rec(machine, state), OK))


@pytest.mark.parametrize(
    ("machine", "state", "event", "record", "reason"),
    [
        (LEAD, "contacted", "disqualify", {}, "a comment giving the reason is required"),
        (OPPORTUNITY, "proposal", "win", {"amount": None}, "the amount must be set and positive"),
        (OPPORTUNITY, "proposal", "win", {"amount": Decimal(0)}, "must be positive (it is 0)"),
        (OPPORTUNITY, "closed_lost", "reopen", {}, "a comment giving the reason is required"),
        (CAMPAIGN, "draft", "schedule", {"scheduled_at": None}, "scheduled_at must be set"),
        (
            CAMPAIGN,
            "draft",
            "schedule",
            {"scheduled_at": NOW},
            "scheduled_at must be in the future",
        ),
    ],
)
def test_guards_refuse_with_a_reason(
    machine: Machine, state: str, event: str, record: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidTransition) as info:
        machine.fire(rec(machine, state, **record), event, BARE)
    assert info.value.reason is not None
    assert reason in info.value.reason
    assert event in info.value.allowed
    assert event not in machine.allowed_events(rec(machine, state, **record), BARE)


@pytest.mark.parametrize(
    ("machine", "state", "event"),
    [(OPPORTUNITY, "proposal", "win"), (CAMPAIGN, "draft", "schedule")],
)
def test_field_guards_pass_records_without_the_field(
    machine: Machine, state: str, event: str
) -> None:
    assert machine.can_fire({machine.field: state}, event, BARE)


# -- ticket --------------------------------------------------------------------------


def test_ticket_resolve_and_close_stamp_times_and_reopen_clears_them() -> None:
    t = rec(TICKET, "open", resolved_at=None, closed_at=None)
    t = TICKET.fire(t, "resolve", OK).record
    assert (t.resolved_at, t.closed_at) == (NOW, None)
    later = TransitionContext(now=NOW + timedelta(hours=1))
    t = TICKET.fire(t, "close", later).record
    assert (NOW, NOW + timedelta(hours=1)) == (t.resolved_at, t.closed_at)
    t = TICKET.fire(t, "reopen", later).record
    assert (t.status, t.resolved_at, t.closed_at) == ("open", None, None)


def test_ticket_stamps_only_fields_the_record_has() -> None:
    result = TICKET.fire({"id": 9, "status": "open"}, "resolve", OK)
    assert result.record == {"id": 9, "status": "resolved"}


@pytest.mark.parametrize(
    ("closed_days_ago", "allowed"),
    [(0, True), (6.9, True), (7, True), (7.01, False), (30, False)],
)
def test_ticket_reopen_from_closed_only_within_seven_days(
    closed_days_ago: float, allowed: bool
) -> None:
    t = rec(TICKET, "closed", closed_at=NOW - timedelta(days=closed_days_ago))
    assert allowed == TICKET.can_fire(t, "reopen", BARE)


def test_ticket_reopen_refusal_names_the_window() -> None:
    t = rec(TICKET, "closed", closed_at=datetime(2024, 4, 1, tzinfo=timezone.utc))
    with pytest.raises(InvalidTransition) as info:
        TICKET.fire(t, "reopen", BARE)
    assert info.value.reason == "the 7 days window after closed_at (2024-04-01) has passed"


def test_ticket_reopen_window_falls_back_to_resolved_at() -> None:
    old = rec(TICKET, "closed", closed_at=None, resolved_at=NOW - timedelta(days=8))
    recent = rec(TICKET, "closed", closed_at=None, resolved_at=NOW - timedelta(days=1))
    assert not TICKET.can_fire(old, "reopen", BARE)
    assert TICKET.can_fire(recent, "reopen", BARE)


def test_ticket_reopen_needs_a_close_time() -> None:
    t = rec(TICKET, "closed", closed_at=None, resolved_at=None)
    assert "none of closed_at, resolved_at is set" in str(TICKET.check(t, "reopen", BARE))


def test_ticket_reopen_from_resolved_is_always_allowed() -> None:
    t = rec(TICKET, "resolved", resolved_at=NOW - timedelta(days=365))
    assert TICKET.fire(t, "reopen", BARE).to_state == "open"


def test_ticket_window_is_configurable() -> None:
    machine = ticket_machine(reopen_days=1)
    t = rec(machine, "closed", closed_at=NOW - timedelta(days=2))
    assert "the 1 day window after closed_at" in str(machine.check(t, "reopen", BARE))
    assert TICKET.can_fire(t, "reopen", BARE)


def test_ticket_window_accepts_other_time_zones() -> None:
    beijing = timezone(timedelta(hours=8))
    t = rec(TICKET, "closed", closed_at=(NOW - timedelta(days=3)).astimezone(beijing))
    assert TICKET.can_fire(t, "reopen", BARE)


# -- opportunity ----------------------------------------------------------------------

STAGE_DATA = {
    "prospecting": (0.1, "pipeline"),
    "qualification": (0.2, "pipeline"),
    "proposal": (0.5, "best_case"),
    "negotiation": (0.8, "commit"),
    "closed_won": (1.0, "closed"),
    "closed_lost": (0.0, "omitted"),
}


@pytest.mark.parametrize(("stage", "data"), STAGE_DATA.items())
def test_opportunity_stage_data(stage: str, data: tuple[float, str]) -> None:
    assert data == (probability(OPPORTUNITY, stage), forecast_category(OPPORTUNITY, stage))


@pytest.mark.parametrize(("event", "target"), [(f"move_to_{s}", s) for s in OPEN[1:]])
def test_entering_a_stage_snapshots_its_probability(event: str, target: str) -> None:
    result = OPPORTUNITY.fire(rec(OPPORTUNITY, "prospecting", probability=0.1), event, OK)
    p, category = STAGE_DATA[target]
    assert (p, category) == (result.record.probability, result.record.forecast_category)
    assert {"probability": p, "forecast_category": category} == result.history.snapshot


def test_win_and_lose_snapshot_closed_probabilities() -> None:
    won = OPPORTUNITY.fire(rec(OPPORTUNITY, "negotiation"), "win", OK).record
    lost = OPPORTUNITY.fire(rec(OPPORTUNITY, "negotiation"), "lose", OK).record
    assert (
        won.probability,
        won.forecast_category,
        lost.probability,
        lost.forecast_category,
    ) == (1.0, "closed", 0.0, "omitted")


def test_opportunity_without_probability_field_only_changes_stage() -> None:
    result = OPPORTUNITY.fire({"id": 3, "stage": "proposal"}, "advance", OK)
    assert result.record == {"id": 3, "stage": "negotiation"}
    assert result.history.snapshot["probability"] == 0.8


def test_reopen_goes_back_to_the_first_stage_with_its_probability() -> None:
    result = OPPORTUNITY.fire(rec(OPPORTUNITY, "closed_won", probability=1.0), "reopen", OK)
    assert (result.record.stage, result.record.probability) == ("prospecting", 0.1)


def test_opportunity_machine_from_tenant_stages() -> None:
    m = opportunity_machine(
        [
            ("discovery", 0.15, "pipeline"),
            {"name": "demo", "probability": 0.6, "forecast_category": "best_case"},
        ],
        reopen_to="demo",
    )
    assert m.state_names == ("discovery", "demo", "closed_won", "closed_lost")
    assert tuple(s.name for s in m.states if s.final) == ("closed_won", "closed_lost")
    assert m.target("discovery", "advance") == "demo"
    assert m.target("closed_lost", "reopen") == "demo"
    assert m.fire(rec(m, "discovery"), "advance", OK).record.probability == 0.6


def test_opportunity_machine_with_explicit_closed_stages() -> None:
    m = opportunity_machine(
        [("open", 0.3, "pipeline"), ("signed", 1.0, "closed"), ("dead", 0.0, "omitted")],
        won="signed",
        lost="dead",
    )
    assert m.state_names == ("open", "signed", "dead")
    assert {k: v for k, v in m.table.items() if k[1] in ("win", "lose")} == {
        ("open", "win"): "signed",
        ("open", "lose"): "dead",
    }


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([("a", 1.5, "pipeline")], "probability must be a number from 0 to 1, got 1.5"),
        ([("a", True, "pipeline")], "probability must be a number from 0 to 1"),
        ([("a", 0.5, "maybe")], "forecast category must be one of"),
        ([("a", 0.5)], "expected (name, probability, forecast_category)"),
        (["a"], "expected (name, probability, forecast_category)"),
        ([{"name": "a", "prob": 0.1}], "expected keys name, probability, forecast_category"),
        ([(1, 0.5, "pipeline")], "the name must be a string"),
        ([], "needs an open stage"),
        ([("a", 0.5, "pipeline"), ("a", 0.6, "pipeline")], "state 'a' is declared twice"),
        ([("bad name", 0.5, "pipeline")], "is not an identifier"),
    ],
)
def test_opportunity_machine_refuses_bad_stages(stages: list[Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        opportunity_machine(stages)
    assert message in str(info.value)


def test_weighted_amount() -> None:
    assert Decimal("4000.0") == weighted_amount(Decimal("8000"), "proposal", OPPORTUNITY)
    assert pytest.approx(800.0) == weighted_amount(1000, "negotiation", OPPORTUNITY)


def test_forecast_helpers_refuse_stages_without_data() -> None:
    with pytest.raises(ConfigurationError, match="has no probability"):
        probability(LEAD, "new")
    with pytest.raises(ConfigurationError, match="has no forecast category"):
        forecast_category(LEAD, "new")


# -- campaign and customer stage -------------------------------------------------------


def test_campaign_start_and_complete_stamp_times() -> None:
    c = CAMPAIGN.fire(rec(CAMPAIGN, "scheduled"), "start", OK).record
    assert c.started_at == NOW
    c = CAMPAIGN.fire(c, "complete", TransitionContext(now=NOW + timedelta(days=3))).record
    assert (NOW + timedelta(days=3), "completed") == (c.completed_at, c.status)


def test_customer_stage_churn_and_win_back() -> None:
    c = rec(CUSTOMER_STAGE, "evangelist")
    c = CUSTOMER_STAGE.fire(c, "churn", OK).record
    c = CUSTOMER_STAGE.fire(c, "win_back", OK).record
    assert c.lifecycle_stage == "customer"
    assert not CUSTOMER_STAGE.can_fire(c, "move_to_lead", OK)


def test_builtin_entities_and_fields() -> None:
    assert [(m.name, m.entity, m.field) for m in BUILTINS] == [
        ("lead", "lead", "status"),
        ("ticket", "ticket", "status"),
        ("campaign", "campaign", "status"),
        ("customer_stage", "customer", "lifecycle_stage"),
        ("opportunity", "opportunity", "stage"),
    ]
