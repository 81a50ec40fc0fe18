"""History: entries, replay, time in stage and stage durations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crmcore.errors import ConfigurationError, InvalidTransition
from crmcore.lifecycle import (
    LEAD,
    OPPORTUNITY,
    START_EVENT,
    TICKET,
    HistoryEntry,
    StageStats,
    TransitionContext,
    group_history,
    replay,
    stage_durations,
    time_in_stage,
)

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
H = timedelta(hours=1)


def entry(
    event: str, src: str | None, dst: str, hours: float, record_id: object = 1
) -> HistoryEntry:
    return HistoryEntry(
        "opportunity", event, src, dst, T0 + timedelta(hours=hours), "opportunity", record_id
    )


DEAL = [
    entry(START_EVENT, None, "prospecting", 0),
    entry("advance", "prospecting", "qualification", 2),
    entry("advance", "qualification", "proposal", 5),
    entry("move_to_qualification", "proposal", "qualification", 6),
    entry("win", "qualification", "closed_won", 10),
]


def test_history_of_fired_events_replays_to_the_current_state() -> None:
    record: dict[str, object] = {"id": 1, "status": "x"}
    history = []
    result = LEAD.start(record, TransitionContext(now=T0))
    history.append(result.history)
    for event in ("contact", "qualify", "recycle", "qualify", "convert"):
        result = LEAD.fire(result.record, event, TransitionContext(now=T0))
        history.append(result.history)
    assert "converted" == replay(LEAD, history) == result.record["status"]


def test_replay_of_an_empty_history_is_the_start_state() -> None:
    assert replay(LEAD, []) == "new"
    assert replay(TICKET, [], start="open") == "open"


def test_replay_without_start_entry_begins_at_initial_or_start() -> None:
    assert replay(OPPORTUNITY, DEAL[1:]) == "closed_won"
    assert replay(OPPORTUNITY, DEAL[3:], start="proposal") == "closed_won"


@pytest.mark.parametrize(
    ("history", "reason"),
    [
        ([DEAL[0], DEAL[2]], "history entry 1 starts from 'qualification' but the record was in"),
        (
            [entry("advance", "prospecting", "proposal", 1)],
            "history entry 0 is not a transition of the machine: the event leads to"
            " 'qualification', not 'proposal'",
        ),
        (
            [entry("win", "closed_won", "closed_won", 1)],
            "starts from 'closed_won' but the record was in 'prospecting'",
        ),
        (
            [DEAL[0], entry("reopen", "prospecting", "prospecting", 1)],
            "the event does not fire from 'prospecting'",
        ),
        ([DEAL[1], DEAL[0]], "history entry 1 is not a valid start entry"),
        ([entry(START_EVENT, None, "limbo", 0)], "history entry 0 is not a valid start entry"),
        (
            [HistoryEntry("lead", "contact", "new", "contacted", T0)],
            "history entry 0 was written by machine 'lead'",
        ),
    ],
)
def test_replay_refuses_illegal_steps(history: list[HistoryEntry], reason: str) -> None:
    with pytest.raises(InvalidTransition) as info:
        replay(OPPORTUNITY, history)
    assert info.value.reason is not None
    assert reason in info.value.reason


def test_replay_from_unknown_start_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        replay(LEAD, [], start="limbo")


def test_time_in_stage_sums_every_visit_and_the_current_stay() -> None:
    spent = time_in_stage(DEAL, now=T0 + 12 * H)
    assert spent == {
        "prospecting": 2 * H,
        "qualification": 3 * H + 4 * H,
        "proposal": 1 * H,
        "closed_won": 2 * H,
    }


def test_time_in_stage_stops_the_clock_in_final_states_with_a_machine() -> None:
    spent = time_in_stage(DEAL, now=T0 + 12 * H, machine=OPPORTUNITY)
    assert "closed_won" not in spent


def test_time_in_stage_without_current_stay() -> None:
    spent = time_in_stage(DEAL[:3], now=T0 + 100 * H, include_current=False)
    assert spent == {"prospecting": 2 * H, "qualification": 3 * H}


def test_time_in_stage_without_start_entry_uses_since() -> None:
    assert "prospecting" not in time_in_stage(DEAL[1:], now=T0 + 12 * H)
    spent = time_in_stage(DEAL[1:], now=T0 + 12 * H, since=T0 + 1 * H)
    assert spent["prospecting"] == 1 * H


def test_time_in_stage_sorts_entries_by_time() -> None:
    assert time_in_stage(DEAL, now=T0 + 12 * H) == time_in_stage(DEAL[::-1], now=T0 + 12 * H)


def test_time_in_stage_of_no_history_is_empty() -> None:
    assert time_in_stage([], now=T0) == {}


def test_time_in_stage_refuses_naive_now() -> None:
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        time_in_stage(DEAL, now=datetime(2024, 1, 2))


def test_stage_durations_give_mean_and_median_per_stage() -> None:
    fast = [
        entry(START_EVENT, None, "prospecting", 0, 2),
        entry("lose", "prospecting", "closed_lost", 1, 2),
    ]
    slow = [
        entry(START_EVENT, None, "prospecting", 0, 3),
        entry("lose", "prospecting", "closed_lost", 9, 3),
    ]
    stats = stage_durations([DEAL, fast, slow], now=T0 + 12 * H, machine=OPPORTUNITY)
    assert list(stats) == ["prospecting", "qualification", "proposal"]
    assert StageStats("prospecting", 3, 12 * H, 4 * H, 2 * H) == stats["prospecting"]
    assert StageStats("qualification", 1, 7 * H, 7 * H, 7 * H) == stats["qualification"]


def test_stage_durations_without_machine_are_sorted_by_name() -> None:
    stats = stage_durations([DEAL], now=T0 + 12 * H, include_current=False)
    assert list(stats) == ["proposal", "prospecting", "qualification"]


def test_group_history_splits_by_record_in_time_order() -> None:
    a = entry("advance", "prospecting", "qualification", 3, "a")
    b = entry("advance", "prospecting", "qualification", 1, "b")
    a0 = entry(START_EVENT, None, "prospecting", 0, "a")
    groups = group_history([a, b, a0])
    assert {("opportunity", "a"): [a0, a], ("opportunity", "b"): [b]} == groups


def test_group_history_needs_record_ids() -> None:
    with pytest.raises(ConfigurationError, match="has no record_id"):
        group_history([HistoryEntry("lead", "contact", "new", "contacted", T0)])


def test_history_entry_round_trips_through_plain_data() -> None:
    e = HistoryEntry(
        "opportunity",
        "advance",
        "proposal",
        "negotiation",
        T0,
        "opportunity",
        "r1",
        "u1",
        "call went well",
        {"probability": 0.8},
    )
    data = e.to_dict()
    assert data["at"] == "2024-01-01T00:00:00+00:00"
    assert e == HistoryEntry.from_dict(data)
    assert hash(e) == hash(HistoryEntry.from_dict(data))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"machine": "m", "event": "e", "to_state": "s"}, "missing 'at'"),
        ({"machine": "m", "event": "e", "to_state": "s", "at": "yesterday"}, "history entry"),
        ({"machine": "m", "event": "e", "to_state": "s", "at": "2024-01-01T00:00:00"}, "aware"),
    ],
)
def test_history_entry_from_bad_data(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        HistoryEntry.from_dict(data)
