"""The engine: definition checks, firing order, guards, records of every kind."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

import attrs
import pytest

from crmcore.errors import ConfigurationError, InvalidTransition, SchemaError
from crmcore.lifecycle import (
    START_EVENT,
    HistoryEntry,
    Machine,
    State,
    Transition,
    TransitionContext,
    TransitionResult,
    get_field,
    set_fields,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
CTX = TransitionContext(actor="u1", now=NOW, comment="why")


@attrs.frozen
class Doc:
    id: int
    status: str
    amount: int = 0
    log: tuple[str, ...] = ()
    probability: float | None = None


def note(text: str) -> Callable[[Any, TransitionContext], Any]:
    """An effect appending ``text`` to the record's log (to observe the order)."""

    def effect(record: Any, ctx: TransitionContext) -> Any:
        log = get_field(record, "log", ())
        return set_fields(record, log=(*log, f"{text}@{get_field(record, 'status')}"))

    effect.__name__ = f"note_{text}"
    return effect


def needs_amount(record: Any, ctx: TransitionContext) -> str | None:
    return None if get_field(record, "amount", 0) > 0 else "the amount must be positive"


def needs_actor(record: Any, ctx: TransitionContext) -> str | None:
    return None if ctx.actor else "an actor is required"


def refuse_silently(record: Any, ctx: TransitionContext) -> bool:
    return False


def door(**overrides: Any) -> Machine:
    """A small valid machine: draft -> review -> done, with back and reopen."""
    spec: dict[str, Any] = {
        "field": "status",
        "states": [
            State("draft", on_exit=note("exit_draft")),
            State("review", on_enter=note("enter_review"), data={"probability": 0.5}),
            State("done", final=True, data={"probability": 1.0}),
        ],
        "initial": "draft",
        "transitions": [
            Transition(
                "submit",
                "draft",
                "review",
                guards=needs_amount,
                effects=(note("effect1"), note("effect2")),
            ),
            Transition("back", "review", "draft"),
            Transition("finish", "review", "done", guards=(needs_amount, needs_actor)),
            Transition("reopen", "done", "review", from_final=True),
        ],
        "snapshot": ("probability",),
    }
    spec.update(overrides)
    return Machine("door", **spec)


# -- definition ---------------------------------------------------------------------


def test_compiled_table_maps_state_and_event_to_target() -> None:
    expected = {
        ("draft", "submit"): "review",
        ("review", "back"): "draft",
        ("review", "finish"): "done",
        ("done", "reopen"): "review",
    }
    assert expected == dict(door().table)


def test_introspection() -> None:
    m = door()
    assert m.events == ("submit", "back", "finish", "reopen")
    assert m.state_names == ("draft", "review", "done")
    assert m.events_from("review") == ("back", "finish")
    assert m.events_from("nowhere") == ()
    assert m.is_final("done")
    assert m.target("draft", "submit") == "review"
    assert m.target("draft", "finish") is None
    assert m.transition_for("draft", "submit") is m.transitions[0]
    assert m.state("review").data["probability"] == 0.5
    assert repr(m) == "Machine('door', field='status', states=3, events=4)"


def test_unknown_state_lookup_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no state 'nope'"):
        door().state("nope")


def test_wildcard_sources_are_every_non_final_state_but_the_target() -> None:
    m = Machine(
        "m",
        field="status",
        states=["a", "b", "c", State("x", final=True)],
        initial="a",
        transitions=[
            Transition("next", "a", "b"),
            Transition("again", "b", "c"),
            Transition("loop", "c", "a"),
            Transition("cancel", "*", "x"),
            Transition("to_b", "*", "b"),
        ],
    )
    assert {s: t for (s, e), t in m.table.items() if e == "cancel"} == {
        "a": "x",
        "b": "x",
        "c": "x",
    }
    assert {"a", "c"} == {s for (s, e) in m.table if e == "to_b"}


def test_machines_are_immutable_values() -> None:
    m = door()
    assert m == attrs.evolve(m)
    assert m != attrs.evolve(m, description="other")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        m.name = "other"  # type: ignore[misc]
    assert hash(State("a")) == hash(State("a", data={"k": 1}))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"initial": ""}, "the initial state is missing"),
        ({"initial": "ghost"}, "initial state 'ghost' is not one of its states"),
        ({"states": []}, "it has no states"),
        (
            {"transitions": [Transition("go", "draft", "revue")]},
            "event 'go' targets unknown state 'revue'",
        ),
        (
            {
                "transitions": [
                    Transition("go", "draft", "review"),
                    Transition("go", "drift", "done"),
                ]
            },
            "event 'go' leaves unknown state 'drift'",
        ),
        (
            {
                "transitions": [
                    Transition("go", "draft", "review"),
                    Transition("end", "review", "done"),
                    Transition("go", "draft", "done"),
                ]
            },
            "event 'go' is declared twice from state 'draft'",
        ),
        (
            {
                "transitions": [
                    Transition("go", "draft", "review"),
                    Transition("end", "review", "done"),
                    Transition("reopen", "done", "review"),
                ]
            },
            "event 'reopen' leaves final state 'done' (set from_final=True",
        ),
        (
            {"transitions": [Transition("go", "draft", "review")]},
            "state 'review' is a dead end",
        ),
        (
            {
                "transitions": [
                    Transition("go", "draft", "draft"),
                    Transition("end", "review", "done"),
                ]
            },
            "state 'review', 'done' cannot be reached from the initial state 'draft'".replace(
                "state 'review'", "states 'review'"
            ),
        ),
        ({"states": ["draft", "draft", "review"]}, "state 'draft' is declared twice"),
        ({"states": ["draft", "not a name"]}, "state name 'not a name' is not an identifier"),
        ({"field": "my-field"}, "field 'my-field' is not an identifier"),
        (
            {"transitions": [Transition("go!", "draft", "review")]},
            "event name 'go!' is not an identifier",
        ),
        ({"snapshot": ("bad key",)}, "snapshot key 'bad key' is not an identifier"),
        (
            {"transitions": [Transition("go", (), "review")]},
            "event 'go' has no source states",
        ),
    ],
)
def test_invalid_definitions_are_refused_with_a_clear_message(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        door(**overrides)
    assert message in str(info.value)
    assert str(info.value).startswith("machine 'door': ")


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as info:
        door(transitions=[Transition("go", "draft", "nowhere"), Transition("x", "nope", "draft")])
    assert "targets unknown state 'nowhere'" in str(info.value)
    assert "leaves unknown state 'nope'" in str(info.value)


def test_transitions_must_be_transition_objects() -> None:
    with pytest.raises(ConfigurationError, match="is not a Transition"):
        door(transitions=[("go", "draft", "review")])


# -- firing ---------------------------------------------------------------------------


def test_fire_runs_exit_hooks_effects_state_change_then_entry_hooks() -> None:
    doc = Doc(7, "draft", amount=5)
    result = door().fire(doc, "submit", CTX)
    assert result.record.log == (
        "exit_draft@draft",
        "effect1@draft",
        "effect2@draft",
        "enter_review@review",
    )
    assert result.record.status == "review"
    assert Doc(7, "draft", amount=5) == doc  # the input is untouched


def test_fire_returns_the_history_entry() -> None:
    result = door().fire(Doc(7, "draft", amount=5), "submit", CTX)
    expected = HistoryEntry(
        machine="door",
        event="submit",
        from_state="draft",
        to_state="review",
        at=NOW,
        entity="door",
        record_id=7,
        actor="u1",
        comment="why",
        snapshot={"probability": 0.5},
    )
    assert expected == result.history
    assert (result.event, result.from_state, result.to_state) == ("submit", "draft", "review")


def test_entering_a_state_snapshots_its_data_onto_existing_fields() -> None:
    result = door().fire(Doc(1, "draft", amount=5), "submit", CTX)
    assert result.record.probability == 0.5


def test_snapshot_is_skipped_for_records_without_the_field() -> None:
    result = door().fire({"id": 1, "status": "review", "amount": 5}, "finish", CTX)
    assert result.record == {"id": 1, "status": "done", "amount": 5}
    assert result.history.snapshot == {"probability": 1.0}


def test_unknown_event_is_refused_with_the_allowed_events() -> None:
    with pytest.raises(InvalidTransition) as info:
        door().fire(Doc(3, "review", amount=5), "submit", CTX)
    err = info.value
    assert (
        err.machine,
        err.state,
        err.event,
        err.allowed,
    ) == ("door", "review", "submit", ("back", "finish"))
    assert (err.entity, err.id) == ("door", 3)
    assert (
        str(err)
        == "door 3: door: event 'submit' not allowed in state 'review' (allowed: back, finish)"
    )


def test_event_the_machine_does_not_know_says_so() -> None:
    with pytest.raises(InvalidTransition, match="unknown event 'fly'"):
        door().fire(Doc(3, "review"), "fly", CTX)


def test_state_the_machine_does_not_know_says_so() -> None:
    with pytest.raises(InvalidTransition) as info:
        door().fire(Doc(3, "limbo"), "submit", CTX)
    assert info.value.reason == "'limbo' is not a state of this machine"
    assert info.value.allowed == ()


def test_guard_reasons_are_collected_into_the_refusal() -> None:
    with pytest.raises(InvalidTransition) as info:
        door().fire(Doc(3, "review", amount=0), "finish", TransitionContext(now=NOW))
    assert info.value.reason == "the amount must be positive; an actor is required"
    assert info.value.allowed == ("back", "finish")


def test_a_false_guard_refuses_with_its_name() -> None:
    m = door(
        transitions=[
            *door().transitions[1:],
            Transition("submit", "draft", "review", guards=refuse_silently),
        ]
    )
    with pytest.raises(InvalidTransition, match="refused by refuse_silently"):
        m.fire(Doc(1, "draft"), "submit", CTX)


def test_a_guard_returning_nonsense_is_a_configuration_error() -> None:
    def odd(record: Any, ctx: TransitionContext) -> Any:
        return 42

    m = door(
        transitions=[*door().transitions[1:], Transition("submit", "draft", "review", guards=odd)]
    )
    with pytest.raises(ConfigurationError, match="returned 42"):
        m.fire(Doc(1, "draft"), "submit", CTX)


def test_true_allows() -> None:
    m = door(
        transitions=[
            *door().transitions[1:],
            Transition("submit", "draft", "review", guards=lambda r, c: True),
        ]
    )
    assert m.fire(Doc(1, "draft"), "submit", CTX).to_state == "review"


def test_record_without_state_field_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="no state field 'status'"):
        door().fire({"id": 1}, "submit", CTX)


def test_unsupported_record_type_is_a_schema_error() -> None:
    class Plain:
        status = "draft"

    with pytest.raises(SchemaError, match="use an attrs class, a dataclass or a mapping"):
        door().fire(Plain(), "submit", CTX)


def test_default_context_is_stamped_now() -> None:
    before = datetime.now(timezone.utc)
    result = door().fire({"status": "review"}, "back")
    assert before <= result.history.at <= datetime.now(timezone.utc)
    assert result.history.actor is None


def test_dict_records_are_copied() -> None:
    row = {"id": "r1", "status": "draft", "amount": 3, "log": (), "probability": None}
    result = door().fire(row, "submit", CTX)
    assert row["status"] == "draft"
    assert result.record["status"] == "review"
    assert result.record["probability"] == 0.5
    assert result.history.record_id == "r1"


def test_dataclass_records() -> None:
    @dataclasses.dataclass(frozen=True)
    class Row:
        status: str
        amount: int = 1
        log: tuple[str, ...] = ()

    result = door().fire(Row("draft"), "submit", CTX)
    assert result.record.status == "review"
    assert result.history.record_id is None


class Status(str, Enum):
    DRAFT = "draft"
    REVIEW = "review"
    DONE = "done"


class Plain(Enum):
    DRAFT = "draft"
    REVIEW = "review"
    DONE = "done"


@pytest.mark.parametrize("kind", [Status, Plain])
def test_enum_states_keep_their_type(kind: type[Enum]) -> None:
    @attrs.frozen
    class Item:
        status: Enum
        amount: int = 1
        log: tuple[str, ...] = ()

    result = door().fire(Item(kind("draft")), "submit", CTX)
    assert kind("review") == result.record.status
    assert (result.from_state, result.to_state) == ("draft", "review")
    assert result.history.from_state == "draft"
    assert door().state_of(result.record) == "review"
    assert door().allowed_events(result.record, CTX) == ("back", "finish")


def test_attrs_private_and_keyword_only_fields_survive_the_copy() -> None:
    @attrs.frozen
    class Odd:
        status: str
        _secret: str = "s"
        tag: str = attrs.field(default="t", kw_only=True)
        amount: int = 1

    result = door().fire(Odd("review", secret="x", tag="y"), "back", CTX)
    assert Odd("draft", secret="x", tag="y") == result.record


def test_attrs_validators_run_on_the_copy() -> None:
    @attrs.frozen
    class Strict:
        status: str = attrs.field(validator=attrs.validators.in_(["draft", "review"]))
        amount: int = 1

    with pytest.raises(ValueError, match="'status' must be in"):
        door().fire(Strict("review"), "finish", CTX)


def test_sink_persists_and_may_replace_the_record() -> None:
    saved: list[TransitionResult[Any]] = []

    def sink(result: TransitionResult[Doc]) -> Doc:
        saved.append(result)
        return attrs.evolve(result.record, amount=99)

    result = door().fire(Doc(1, "draft", amount=5), "submit", CTX, sink=sink)
    assert len(saved) == 1
    assert result.record.amount == 99
    assert saved[0].history == result.history


def test_sink_returning_none_keeps_the_record() -> None:
    result = door().fire(Doc(1, "review", amount=5), "back", CTX, sink=lambda r: None)
    assert result.record.status == "draft"


def test_sink_errors_propagate() -> None:
    def sink(result: TransitionResult[Any]) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        door().fire(Doc(1, "review"), "back", CTX, sink=sink)


def test_start_enters_the_initial_state_with_a_start_entry() -> None:
    result = door().start(Doc(4, "anything"), CTX)
    assert result.record.status == "draft"
    assert (result.from_state, result.to_state, result.event) == (None, "draft", START_EVENT)


def test_start_elsewhere_runs_entry_hooks_and_snapshot() -> None:
    seen: list[Any] = []
    result = door().start(Doc(4, "x"), CTX, state="review", sink=seen.append)
    assert result.record.log == ("enter_review@review",)
    assert result.record.probability == 0.5
    assert [result] == seen


def test_start_in_an_unknown_state_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        door().start(Doc(4, "x"), CTX, state="limbo")


# -- asking -----------------------------------------------------------------------------


def test_allowed_events_evaluate_guards() -> None:
    m = door()
    assert m.allowed_events(Doc(1, "review", amount=1), CTX) == ("back", "finish")
    assert m.allowed_events(Doc(1, "review", amount=0), CTX) == ("back",)
    assert m.allowed_events(Doc(1, "review", amount=1), TransitionContext(now=NOW)) == ("back",)


def test_allowed_events_ask_the_permission_callback() -> None:
    asked: list[str] = []

    def can(event: str) -> bool:
        asked.append(event)
        return event != "finish"

    assert door().allowed_events(Doc(1, "review", amount=1), CTX, can=can) == ("back",)
    assert asked == ["back", "finish"]


def test_check_and_can_fire() -> None:
    m = door()
    doc = Doc(1, "review", amount=0)
    assert m.check(doc, "finish", CTX) == "the amount must be positive"
    assert m.check(doc, "back", CTX) is None
    assert m.check(doc, "back", CTX, can=lambda e: False) == "not permitted"
    assert m.check(doc, "fly", CTX) == "unknown event 'fly'"
    assert m.check(doc, "submit", CTX) == "not allowed"
    assert m.can_fire(doc, "back")
    assert not m.can_fire(doc, "finish", CTX)


# -- context ----------------------------------------------------------------------------


def test_context_times_are_stored_in_utc() -> None:
    plus8 = timezone(timedelta(hours=8))
    ctx = TransitionContext(now=datetime(2024, 5, 1, 20, 0, tzinfo=plus8))
    assert ctx.now == NOW
    assert ctx.now.tzinfo is timezone.utc


def test_context_refuses_naive_times() -> None:
    with pytest.raises(ConfigurationError, match="must be timezone-aware"):
        TransitionContext(now=datetime(2024, 5, 1))


def test_context_extra_is_read_only() -> None:
    ctx = TransitionContext(extra={"tenant": "t1"})
    assert ctx.extra["tenant"] == "t1"
    with pytest.raises(TypeError):
        ctx.extra["tenant"] = "t2"  # type: ignore[index]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "the record has no state yet (start it first)"),
        (3, "3 is not a state of this machine"),
        (["draft"], "['draft'] is not a state of this machine"),
    ],
)
def test_non_string_states_are_refused_not_crashed(value: Any, reason: str) -> None:
    with pytest.raises(InvalidTransition) as info:
        door().fire({"status": value}, "submit", CTX)
    assert info.value.state == repr(value)
    assert info.value.reason == reason
    assert door().allowed_events({"status": value}, CTX) == ()
    assert door().check({"status": value}, "submit", CTX) == reason
