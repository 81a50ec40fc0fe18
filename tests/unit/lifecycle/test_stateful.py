"""Random walks over the built-in machines (hypothesis stateful testing).

Whatever events are fired, in whatever order, with whatever record data:
a successful fire appends exactly one history entry, replaying the history
always gives the record's current state, a refused event leaves the record as
it was, and the engine's answers (can_fire, allowed_events, the refusal's
allowed list) agree with what fire does.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from crmcore.errors import InvalidTransition
from crmcore.lifecycle import (
    CAMPAIGN,
    CUSTOMER_STAGE,
    LEAD,
    OPPORTUNITY,
    TICKET,
    HistoryEntry,
    Machine,
    TransitionContext,
    replay,
    set_fields,
    time_in_stage,
)

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
MACHINES = [LEAD, OPPORTUNITY, TICKET, CUSTOMER_STAGE, CAMPAIGN]
EVERY_EVENT = sorted({e for m in MACHINES for e in m.events} | {"fly"})


@attrs.frozen
class Rec:
    id: int = 1
    status: str | None = None
    stage: str | None = None
    lifecycle_stage: str | None = None
    amount: Decimal | None = None
    probability: float | None = None
    forecast_category: str | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None


class LifecycleWalk(RuleBasedStateMachine):
    machine: Machine
    record: Any
    history: list[HistoryEntry]
    now: datetime
    fired: int

    @initialize(
        machine=st.sampled_from(MACHINES),
        as_dict=st.booleans(),
        with_start=st.booleans(),
    )
    def begin(self, machine: Machine, as_dict: bool, with_start: bool) -> None:
        self.machine = machine
        self.now = T0
        self.fired = 0
        self.history = []
        state: dict[str, Any] = {machine.field: machine.initial}
        record: Any = Rec(**state)
        if as_dict:
            record = {"id": 1, machine.field: machine.initial, "amount": None}
        if with_start:
            result = machine.start(record, TransitionContext(now=T0))
            record = result.record
            self.history.append(result.history)
        self.record = record

    @rule(
        data=st.data(),
        comment=st.sampled_from([None, "", "  ", "customer asked"]),
        hours=st.integers(0, 24 * 10),
    )
    def fire(self, data: st.DataObject, comment: str | None, hours: int) -> None:
        m = self.machine
        event = data.draw(st.sampled_from(m.events) | st.sampled_from(EVERY_EVENT), "event")
        self.now += timedelta(hours=hours)
        ctx = TransitionContext(actor="u1", now=self.now, comment=comment)
        before = self.record
        snapshot = copy.deepcopy(before)
        state = m.state_of(before)
        predicted = m.can_fire(before, event, ctx)
        allowed_now = m.allowed_events(before, ctx)
        refusal: InvalidTransition | None
        try:
            result = m.fire(before, event, ctx)
        except InvalidTransition as err:
            refusal = err
        else:
            refusal = None
        if refusal is not None:
            assert not predicted
            assert event not in allowed_now
            assert (refusal.state, refusal.event) == (state, event)
            assert refusal.allowed == m.events_from(state)
            assert self.record == snapshot
            return
        assert predicted
        assert event in allowed_now
        assert snapshot == before  # the input record is never modified
        assert (state, m.target(state, event)) == (result.from_state, result.to_state)
        assert result.to_state == m.state_of(result.record)
        self.record = result.record
        self.history.append(result.history)
        self.fired += 1

    @rule(amount=st.sampled_from([None, Decimal(0), Decimal("250.50")]))
    def change_amount(self, amount: Decimal | None) -> None:
        self.record = set_fields(self.record, amount=amount)

    @rule(days=st.integers(-3, 3))
    def reschedule(self, days: int) -> None:
        if isinstance(self.record, Rec):
            self.record = set_fields(self.record, scheduled_at=self.now + timedelta(days=days))

    @invariant()
    def history_replays_to_the_current_state(self) -> None:
        if hasattr(self, "machine"):
            assert replay(self.machine, self.history) == self.machine.state_of(self.record)

    @invariant()
    def one_entry_per_successful_fire(self) -> None:
        if hasattr(self, "machine"):
            starts = sum(1 for h in self.history if h.from_state is None)
            assert self.fired == len(self.history) - starts

    @invariant()
    def time_in_stage_covers_the_whole_life(self) -> None:
        if hasattr(self, "machine") and self.history and self.history[0].from_state is None:
            spent = time_in_stage(self.history, now=self.now)
            assert self.now - T0 == sum(spent.values(), timedelta(0))


LifecycleWalk.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestLifecycleWalk = LifecycleWalk.TestCase
