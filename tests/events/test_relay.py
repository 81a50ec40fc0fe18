"""The relay on memory and SQLite: order per record, at least once, backoff, dead letters."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
from crmcore.errors import ConfigurationError, DeliveryError
from crmcore.events import Event, emit
from crmcore.model import OutboxEvent, Ticket, replace_trusted
from crmcore.relay import (
    Backoff,
    FanOut,
    InProcessBus,
    LeaseOutboxSource,
    Relay,
    SqliteLeaseOutboxSource,
    deliverable,
    outbox_source_for,
)
from crmcore.testing import FrozenClock

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)


def seed(crm: crmcore.Crm, records: int, per_record: int) -> list[uuid.UUID]:
    """``records`` tickets, each with ``per_record`` events (created + breaches), interleaved."""
    with crm.session() as s:
        ids = [s.tickets.add(Ticket(subject=f"t{i}")).id for i in range(records)]
    for n in range(per_record - 1):
        with crm.session() as s:
            for i in ids:
                emit(s, "ticket.breached", (Ticket, i), {"n": n})
    return ids


class Recorder:
    """A publisher that keeps what it got and can be told to fail."""

    def __init__(self) -> None:
        self.got: list[Event] = []
        self.fail: set[tuple[uuid.UUID, int]] = set()
        self.lock = threading.Lock()

    def publish(self, events: Sequence[Event]) -> None:
        for e in events:
            if (e.aggregate_id, e.sequence) in self.fail:
                raise DeliveryError("told to fail", event_id=e.id)
        with self.lock:
            self.got.extend(events)


def first_deliveries(got: Sequence[Event]) -> dict[uuid.UUID, list[int]]:
    seen: set[uuid.UUID] = set()
    out: dict[uuid.UUID, list[int]] = {}
    for e in got:
        if e.id not in seen:
            seen.add(e.id)
            out.setdefault(e.aggregate_id, []).append(e.sequence)
    return out


def test_delivers_everything_in_order_and_marks_it(crm: crmcore.Crm) -> None:
    ids = seed(crm, 5, 4)
    rec = Recorder()
    relay = Relay(crm, rec, batch_size=7)
    report = relay.drain()
    assert report.delivered == 20 and report.retried == 0
    assert relay.counts() == {"pending": 0, "delivered": 20, "dead": 0}
    assert first_deliveries(rec.got) == {i: [1, 2, 3, 4] for i in ids}
    assert len({e.id for e in rec.got}) == len(rec.got)  # no duplicates without failures
    assert relay.drain().delivered == 0
    with crm.session() as s:
        assert all(e.delivered_at is not None for e in s.repo(OutboxEvent).stream())


def test_failure_backs_off_and_holds_back_later_events_of_that_record(crm: crmcore.Crm) -> None:
    ids = seed(crm, 3, 3)
    clock = FrozenClock(T0)
    rec = Recorder()
    rec.fail.add((ids[0], 2))
    relay = Relay(crm, rec, clock=clock, backoff=Backoff(base=10, factor=2, jitter=0))
    relay.drain()
    got = first_deliveries(rec.got)
    assert got[ids[0]] == [1]  # 2 failed, 3 waits behind it
    assert got[ids[1]] == [1, 2, 3] and got[ids[2]] == [1, 2, 3]
    with crm.session() as s:
        row = s.repo(OutboxEvent).first(aggregate_id=ids[0], sequence=2)
    assert row is not None and row.attempts == 1 and row.status == "pending"
    assert row.next_attempt_at == T0 + dt.timedelta(seconds=10)
    assert row.last_error is not None and "told to fail" in row.last_error
    clock.advance(dt.timedelta(seconds=11))
    relay.drain()  # fails again: the wait doubles
    with crm.session() as s:
        row = s.repo(OutboxEvent).first(aggregate_id=ids[0], sequence=2)
    assert row is not None and row.attempts == 2
    assert row.next_attempt_at == clock() + dt.timedelta(seconds=20)
    rec.fail.clear()
    relay.drain()
    assert first_deliveries(rec.got)[ids[0]] == [1]  # not due yet
    clock.advance(dt.timedelta(seconds=21))
    relay.drain()
    assert first_deliveries(rec.got)[ids[0]] == [1, 2, 3]


def test_dead_letter_after_max_attempts_then_redeliver(crm: crmcore.Crm) -> None:
    ids = seed(crm, 1, 3)
    clock = FrozenClock(T0)
    rec = Recorder()
    rec.fail.add((ids[0], 2))
    relay = Relay(crm, rec, clock=clock, max_attempts=3, backoff=Backoff(base=1, jitter=0))
    for _ in range(4):
        relay.drain()
        clock.advance(dt.timedelta(seconds=60))
    dead = relay.dead_letters()
    assert [(d.sequence, d.attempts, d.status) for d in dead] == [(2, 3, "dead")]
    # the record's later events went on once the bad one was set aside
    assert first_deliveries(rec.got)[ids[0]] == [1, 3]
    assert relay.counts() == {"pending": 0, "delivered": 2, "dead": 1}
    rec.fail.clear()
    assert relay.redeliver([dead[0].id]) == 1
    relay.drain()
    assert first_deliveries(rec.got)[ids[0]] == [1, 3, 2]
    assert relay.counts() == {"pending": 0, "delivered": 3, "dead": 0}


def test_an_expired_lease_is_taken_over(crm: crmcore.Crm) -> None:
    seed(crm, 2, 2)
    clock = FrozenClock(T0)
    source = outbox_source_for(crm.store)
    kind = LeaseOutboxSource if crm.store.url.startswith("memory") else SqliteLeaseOutboxSource
    assert isinstance(source, kind)
    held = source.claim("crashed-relay", 100, clock(), dt.timedelta(seconds=30))
    assert len(held) == 4
    assert all(e.lease_owner == "crashed-relay" for e in held)
    rec = Recorder()
    relay = Relay(crm, rec, clock=clock)
    assert relay.drain().delivered == 0  # leased by a relay that never came back
    clock.advance(dt.timedelta(seconds=31))
    assert relay.drain().delivered == 4
    # the crashed relay wakes up and settles: the new holder already decided
    source.settle("crashed-relay", [], [replace_trusted(held[0], attempts=9)], clock())
    with crm.session() as s:
        assert s.repo(OutboxEvent).get(held[0].id).attempts == 0
    assert relay.counts()["delivered"] == 4


def test_the_store_lease_source_works_on_sqlite_too(crm: crmcore.Crm) -> None:
    ids = seed(crm, 3, 3)
    rec = Recorder()
    assert Relay(crm, rec, source=LeaseOutboxSource(crm.store), batch_size=4).drain().delivered == 9
    assert first_deliveries(rec.got) == {i: [1, 2, 3] for i in ids}


def test_several_relays_share_the_outbox(crm: crmcore.Crm) -> None:
    ids = seed(crm, 12, 8)
    rec = Recorder()
    relays = [Relay(crm, rec, batch_size=10) for _ in range(3)]
    stop = threading.Event()
    threads = [threading.Thread(target=r.run, args=(stop,), kwargs={"idle": 0.01}) for r in relays]
    for t in threads:
        t.start()
    deadline = dt.datetime.now() + dt.timedelta(seconds=20)
    while relays[0].counts()["pending"] and dt.datetime.now() < deadline:
        stop.wait(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert relays[0].counts() == {"pending": 0, "delivered": 96, "dead": 0}
    assert first_deliveries(rec.got) == {i: list(range(1, 9)) for i in ids}


def test_in_process_bus_filters_and_retries_a_failing_handler(crm: crmcore.Crm) -> None:
    seed(crm, 2, 2)
    bus = InProcessBus()
    everything: list[uuid.UUID] = []
    created: list[str] = []
    calls = {"n": 0}

    def flaky(event: Event) -> None:
        calls["n"] += 1
        if calls["n"] <= 2:  # the batch, then the one-by-one retry
            raise RuntimeError("consumer down")

    bus.subscribe(lambda e: everything.append(e.id))
    bus.subscribe(lambda e: created.append(e.type), types=["ticket.created"])
    sub = bus.subscribe(flaky, types=["ticket.breached"])
    clock = FrozenClock(T0)
    relay = Relay(crm, FanOut(bus), clock=clock, backoff=Backoff(base=1, jitter=0))
    relay.drain()
    assert relay.counts()["pending"] == 1
    clock.advance(dt.timedelta(seconds=5))
    relay.drain()
    assert relay.counts() == {"pending": 0, "delivered": 4, "dead": 0}
    assert set(created) == {"ticket.created"} and len(created) >= 2
    with crm.session() as s:
        assert set(everything) == {e.id for e in s.repo(OutboxEvent).stream()}
    assert calls["n"] == 4
    sub.close()
    with crm.session() as s:
        emit(s, "ticket.breached", s.tickets.first(), {})
    relay.drain()
    assert calls["n"] == 4 and len(set(everything)) == 5


def test_deliverable_keeps_runs_from_the_first_pending() -> None:
    a, b = uuid.UUID(int=1), uuid.UUID(int=2)

    def ev(agg: uuid.UUID, seq: int) -> OutboxEvent:
        return OutboxEvent(
            tenant_id="t",
            event_type="x",
            aggregate_type="Ticket",
            aggregate_id=agg,
            sequence=seq,
            occurred_at=T0,
        )

    claimed = [ev(a, 3), ev(a, 1), ev(a, 2), ev(b, 5), ev(b, 6), ev(a, 5)]
    out = deliverable(claimed, {("t", a): 1, ("t", b): 4})
    assert [(e.aggregate_id, e.sequence) for e in out] == [(a, 1), (a, 2), (a, 3)]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plan=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4)), max_size=30),
    fails=st.lists(st.booleans(), min_size=1, max_size=40),
    batch=st.integers(1, 6),
)
def test_any_failure_pattern_delivers_all_in_order(
    plan: list[tuple[int, int]], fails: list[bool], batch: int
) -> None:
    """Against a brute-force reference: per record, first deliveries are 1..n in order."""
    crm = crmcore.connect("memory://", events=True, validation=False)
    with crm.session() as s:
        ids = [s.tickets.add(Ticket(subject=f"t{i}")).id for i in range(4)]
    expected = dict.fromkeys(ids, 1)
    for record, count in plan:  # the reference: how many events each record has
        with crm.session() as s:
            for _ in range(count):
                emit(s, "ticket.breached", (Ticket, ids[record]), {})
                expected[ids[record]] += 1
    got: list[Event] = []
    calls = iter(fails * 100)

    class Flaky:
        def publish(self, events: Sequence[Event]) -> None:
            for e in events:
                if next(calls, False):
                    raise DeliveryError("flaky")
                got.append(e)  # delivered before a later one failed: sent twice later

    clock = FrozenClock(T0)
    relay = Relay(crm, Flaky(), batch_size=batch, clock=clock, max_attempts=1000)
    for _ in range(500):
        relay.run_once()
        clock.advance(dt.timedelta(hours=1))
        if relay.counts()["pending"] == 0:
            break
    assert relay.counts()["pending"] == 0
    assert first_deliveries(got) == {i: list(range(1, n + 1)) for i, n in expected.items()}


def test_run_survives_a_failing_round(crm: crmcore.Crm) -> None:
    seed(crm, 1, 1)

    class Broken:
        def claim(self, *a: object) -> list[OutboxEvent]:
            raise RuntimeError("database down")

    relay = Relay(crm, Recorder(), source=Broken())  # type: ignore[arg-type]
    stop = threading.Event()
    t = threading.Timer(0.2, stop.set)
    t.start()
    assert relay.run(stop, error_pause=0.05).delivered == 0
    t.join()


def test_relay_accepts_a_store_or_a_crm(crm: crmcore.Crm) -> None:
    seed(crm, 1, 1)
    assert Relay(crm.store, Recorder()).drain().delivered == 1
    with pytest.raises(ConfigurationError, match="needs a Crm"):
        Relay(object(), Recorder())
