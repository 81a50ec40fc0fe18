"""Functions over transition history: replay, time in stage, stage durations.

History is a sequence of :class:`~crmcore.lifecycle.HistoryEntry` for one
record, oldest first. :func:`replay` checks it against a machine;
:func:`time_in_stage` measures one record; :func:`stage_durations` aggregates
many records for reports (mean and median per stage).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from crmcore.errors import ConfigurationError, InvalidTransition
from crmcore.lifecycle._context import START_EVENT, HistoryEntry, utc
from crmcore.lifecycle._machine import Machine

__all__ = ["StageStats", "group_history", "replay", "stage_durations", "time_in_stage"]


def replay(machine: Machine, history: Iterable[HistoryEntry], *, start: str | None = None) -> str:
    """The state a record ends in after ``history``, checking every step is legal.

    Guards are not re-evaluated (they depended on the record at the time); each
    step must be a declared transition of ``machine`` from the state the
    previous step left.

    Args:
        machine: the machine the history was written by.
        history: the record's entries, oldest first. A first entry with
            ``from_state=None`` (from :meth:`Machine.start`) sets the start state.
        start: the state before the first entry, if there is no start entry
            (defaults to ``machine.initial``).

    Returns:
        The final state name (``start`` for an empty history).

    Raises:
        InvalidTransition: an entry belongs to another machine, starts from a
            state the record was not in, or is not a transition of the machine;
            the reason names the entry's position.
        ConfigurationError: ``start`` is not a state of the machine.
    """
    state = machine.initial if start is None else start
    machine.state(state)
    for i, entry in enumerate(history):
        if entry.machine != machine.name:
            raise InvalidTransition(
                machine.name,
                state,
                entry.event,
                machine.events_from(state),
                entity=entry.entity,
                id=entry.record_id,
                reason=f"history entry {i} was written by machine {entry.machine!r}",
            )
        if entry.from_state is None:
            if i != 0 or entry.event != START_EVENT or entry.to_state not in machine.state_names:
                raise InvalidTransition(
                    machine.name,
                    state,
                    entry.event,
                    machine.events_from(state),
                    entity=entry.entity,
                    id=entry.record_id,
                    reason=f"history entry {i} is not a valid start entry",
                )
            state = entry.to_state
            continue
        if entry.from_state != state:
            raise InvalidTransition(
                machine.name,
                entry.from_state,
                entry.event,
                machine.events_from(entry.from_state),
                entity=entry.entity,
                id=entry.record_id,
                reason=f"history entry {i} starts from {entry.from_state!r}"
                f" but the record was in {state!r}",
            )
        target = machine.target(state, entry.event)
        if target is None or target != entry.to_state:
            why = (
                f"the event does not fire from {state!r}"
                if target is None
                else f"the event leads to {target!r}, not {entry.to_state!r}"
            )
            raise InvalidTransition(
                machine.name,
                state,
                entry.event,
                machine.events_from(state),
                entity=entry.entity,
                id=entry.record_id,
                reason=f"history entry {i} is not a transition of the machine: {why}",
            )
        state = target
    return state


def time_in_stage(
    history: Iterable[HistoryEntry],
    *,
    now: datetime,
    since: datetime | None = None,
    machine: Machine | None = None,
    include_current: bool = True,
) -> dict[str, timedelta]:
    """How long one record spent in each state, summed over every visit.

    Args:
        history: the record's entries (sorted by ``at`` here; ties keep order).
        now: the end of the current stay (aware).
        since: when the record entered the first entry's ``from_state`` (its
            creation time) if the history has no start entry; without it that
            first stay is not counted.
        machine: if given, final states are not timed (the clock stops there).
        include_current: count the current stay up to ``now``.

    Returns:
        ``{state: total time}`` for the states that were timed, in first-seen order.

    Raises:
        ConfigurationError: ``now`` or ``since`` is naive.
    """
    end = utc(now)
    entries = sorted(history, key=lambda e: e.at)
    totals: dict[str, timedelta] = {}
    if not entries:
        return totals
    finals = {s.name for s in machine.states if s.final} if machine is not None else set()

    def add(state: str | None, start: datetime | None, stop: datetime) -> None:
        if state is None or start is None or state in finals:
            return
        totals[state] = totals.get(state, timedelta(0)) + max(stop - start, timedelta(0))

    entered: datetime | None = utc(since) if since is not None else None
    for entry in entries:
        add(entry.from_state, entered, entry.at)
        entered = entry.at
    if include_current:
        add(entries[-1].to_state, entered, end)
    return totals


@attrs.frozen
class StageStats:
    """Time spent in one stage across records.

    Attributes:
        state: the stage.
        count: how many records were timed in it.
        total: the sum over those records.
        mean: the mean per record.
        median: the median per record.
    """

    state: str
    count: int
    total: timedelta
    mean: timedelta
    median: timedelta


def stage_durations(
    histories: Iterable[Iterable[HistoryEntry]],
    *,
    now: datetime,
    machine: Machine | None = None,
    include_current: bool = True,
) -> dict[str, StageStats]:
    """Mean and median time per stage over many records (one history per record).

    Args:
        histories: one entry sequence per record (see :func:`group_history`).
        now: the end of current stays (aware).
        machine: if given, final states are not timed and the result follows
            its state order.
        include_current: count stays still in progress up to ``now``; pass
            ``False`` to measure completed stays only.

    Returns:
        ``{state: StageStats}``; a record counts once per stage (its visits summed).

    Raises:
        ConfigurationError: ``now`` is naive.
    """
    per_state: dict[str, list[timedelta]] = defaultdict(list)
    for history in histories:
        spent = time_in_stage(history, now=now, machine=machine, include_current=include_current)
        for state, duration in spent.items():
            per_state[state].append(duration)
    order: Sequence[str] = (
        [s for s in machine.state_names if s in per_state] if machine else sorted(per_state)
    )
    out: dict[str, StageStats] = {}
    for state in order:
        values = per_state[state]
        seconds = [v.total_seconds() for v in values]
        total = sum(values, timedelta(0))
        out[state] = StageStats(
            state,
            len(values),
            total,
            timedelta(seconds=statistics.fmean(seconds)),
            timedelta(seconds=statistics.median(seconds)),
        )
    return out


def group_history(entries: Iterable[HistoryEntry]) -> dict[tuple[Any, Any], list[HistoryEntry]]:
    """Split a flat stream of entries into one list per ``(entity, record_id)``, oldest first.

    Args:
        entries: entries of many records, in any order.

    Returns:
        ``{(entity, record_id): [entries sorted by at]}``.

    Raises:
        ConfigurationError: an entry has no record id.
    """
    groups: dict[tuple[Any, Any], list[HistoryEntry]] = defaultdict(list)
    for entry in entries:
        if entry.record_id is None:
            raise ConfigurationError(
                f"history entry {entry.event!r} at {entry.at.isoformat()} has no record_id"
            )
        groups[(entry.entity, entry.record_id)].append(entry)
    for group in groups.values():
        group.sort(key=lambda e: e.at)
    return dict(groups)
