"""Machines as plain data: to_dict/from_dict and the registry of named callables."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from crmcore.errors import ConfigurationError
from crmcore.lifecycle import (
    BUILTINS,
    CAMPAIGN,
    CUSTOMER_STAGE,
    LEAD,
    OPPORTUNITY,
    TICKET,
    Machine,
    Registry,
    State,
    Transition,
    TransitionContext,
    opportunity_machine,
    requires_comment,
    ticket_machine,
    within,
)

NOW = datetime(2024, 5, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "machine",
    [LEAD, OPPORTUNITY, TICKET, CUSTOMER_STAGE, CAMPAIGN, ticket_machine(3)],
    ids=lambda m: m.name,
)
def test_builtin_machines_round_trip_through_json(machine: Machine) -> None:
    data = json.loads(json.dumps(machine.to_dict()))
    again = Machine.from_dict(data)
    assert machine == again
    assert machine.to_dict() == again.to_dict()
    assert dict(machine.table) == dict(again.table)


def test_to_dict_leaves_defaults_out() -> None:
    m = Machine(
        "door",
        field="status",
        states=["open", State("shut", final=True, label="Shut", data={"k": 1})],
        initial="open",
        transitions=[Transition("close", "open", "shut", guards=requires_comment)],
    )
    assert m.to_dict() == {
        "name": "door",
        "field": "status",
        "initial": "open",
        "states": ["open", {"name": "shut", "final": True, "label": "Shut", "data": {"k": 1}}],
        "transitions": [
            {
                "event": "close",
                "sources": ["open"],
                "target": "shut",
                "guards": ["requires_comment"],
            }
        ],
    }


def test_ticket_window_is_stored_with_its_parameters() -> None:
    reopen = TICKET.to_dict()["transitions"][-1]
    assert reopen["guards"] == [
        {"name": "within", "days": 7, "fields": ["closed_at", "resolved_at"]}
    ]
    assert within(7) is within(7, ["closed_at", "resolved_at"])


def test_tenant_configured_pipeline_from_data() -> None:
    data = opportunity_machine(
        [("discovery", 0.2, "pipeline"), ("demo", 0.6, "best_case")]
    ).to_dict()
    m = Machine.from_dict(data)
    result = m.fire({"stage": "discovery", "probability": None}, "advance")
    assert {k: v for k, v in result.record.items() if k != "forecast_category"} == {
        "stage": "demo",
        "probability": 0.6,
    }


def test_custom_callables_resolve_through_a_registry() -> None:
    reg = Registry()
    calls: list[str] = []

    @reg.register("vip_only")
    def vip_only(record: Any, ctx: TransitionContext) -> str | None:
        calls.append("guard")
        return None if record.get("vip") else "only VIP records"

    def audit(record: Any, ctx: TransitionContext) -> Any:
        return {**record, "audited": True}

    reg.register("audit", audit)
    data = {
        "name": "door",
        "field": "status",
        "initial": "open",
        "states": ["open", {"name": "shut", "final": True, "on_enter": ["audit"]}],
        "transitions": [
            {
                "event": "close",
                "sources": "open",
                "target": "shut",
                "guards": "vip_only",
                "effects": [{"name": "stamp", "field": "closed_at"}],
            }
        ],
    }
    m = Machine.from_dict(data, reg)
    result = m.fire(
        {"status": "open", "vip": True, "closed_at": None}, "close", TransitionContext(now=NOW)
    )
    assert result.record == {"status": "shut", "vip": True, "closed_at": NOW, "audited": True}
    assert m.check({"status": "open"}, "close") == "only VIP records"
    assert m == Machine.from_dict(m.to_dict(reg), reg)
    assert "vip_only" in reg
    assert "requires_comment" in reg


def test_unregistered_callables_cannot_be_stored() -> None:
    m = Machine(
        "door",
        field="status",
        states=["open", State("shut", final=True)],
        initial="open",
        transitions=[Transition("close", "open", "shut", guards=lambda r, c: None)],
    )
    with pytest.raises(ConfigurationError, match="is not registered"):
        m.to_dict()


def _base(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "door",
        "field": "status",
        "initial": "open",
        "states": ["open", {"name": "shut", "final": True}],
        "transitions": [{"event": "close", "sources": ["open"], "target": "shut"}],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "machine: expected a mapping"),
        (_base(colour="red"), "machine: unknown key 'colour'"),
        (_base(states=None), "machine: missing 'states'"),
        (_base(name=3), "machine.name: expected a string, got 3"),
        (_base(states="open"), "machine 'door'.states: expected a list"),
        (_base(states=["open", {"final": True}]), "states[1]: missing 'name'"),
        (_base(states=["open", {"name": "shut", "final": "yes"}]), "states[1].final: expected"),
        (_base(states=["open", 5]), "states[1]: expected a state name or mapping"),
        (_base(transitions=[{"event": "close", "target": "shut"}]), "missing 'sources'"),
        (
            _base(transitions=[{"event": "close", "sources": [1], "target": "shut"}]),
            "transitions[0].sources[0]: expected a state name",
        ),
        (
            _base(transitions=[{"event": "close", "sources": "open", "target": "shut", "x": 1}]),
            "transitions[0]: unknown key 'x'",
        ),
        (
            _base(
                transitions=[
                    {"event": "close", "sources": "open", "target": "shut", "guards": ["nope"]}
                ]
            ),
            "transitions[0].guards[0]: lifecycle: unknown guard/effect 'nope'",
        ),
        (
            _base(
                transitions=[{"event": "close", "sources": "open", "target": "shut", "guards": [3]}]
            ),
            "a guard/effect reference must be a name",
        ),
        (
            _base(
                transitions=[
                    {
                        "event": "close",
                        "sources": "open",
                        "target": "shut",
                        "guards": [{"name": "within", "weeks": 2}],
                    }
                ]
            ),
            "bad parameters for 'within'",
        ),
        (_base(initial=None), "the initial state is missing"),
        (_base(snapshot="probability"), "snapshot: expected a list of keys"),
        (
            _base(transitions=[{"event": "close", "sources": "open", "target": "ajar"}]),
            "targets unknown state 'ajar'",
        ),
    ],
)
def test_malformed_data_names_the_path(data: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Machine.from_dict(data)
    assert message in str(info.value)


def test_builtin_registry_is_read_only() -> None:
    with pytest.raises(ConfigurationError, match="read-only"):
        BUILTINS.register("x", requires_comment)


def test_registry_names_are_unique() -> None:
    reg = Registry()
    reg.register("a", requires_comment)
    with pytest.raises(ConfigurationError, match="already registered"):
        reg.register("a", requires_comment)
    with pytest.raises(ConfigurationError, match="invalid name"):
        reg.register("", requires_comment)


def test_registry_factories_are_cached_per_parameters() -> None:
    reg = Registry()
    reg.register_factory("older_than", lambda days: lambda r, c: None)
    one = reg.resolve({"name": "older_than", "days": 3})
    assert one is reg.build("older_than", days=3)
    assert one is not reg.build("older_than", days=4)
    assert reg.ref_of(one) == {"name": "older_than", "days": 3}
    with pytest.raises(ConfigurationError, match="no factory named 'nope'"):
        reg.build("nope")


def test_factory_guards_work_from_data() -> None:
    m = Machine.from_dict(
        _base(
            transitions=[
                {
                    "event": "close",
                    "sources": "open",
                    "target": "shut",
                    "guards": [{"name": "within", "days": 1, "fields": ["opened_at"]}],
                }
            ]
        )
    )
    fresh = {"status": "open", "opened_at": NOW - timedelta(hours=1)}
    old = {"status": "open", "opened_at": NOW - timedelta(days=2)}
    ctx = TransitionContext(now=NOW)
    assert m.can_fire(fresh, "close", ctx)
    assert "the 1 day window after opened_at" in str(m.check(old, "close", ctx))


def test_from_dict_needs_a_registry_object() -> None:
    with pytest.raises(ConfigurationError, match="registry must be a Registry"):
        Machine.from_dict(_base(), registry={"a": 1})
