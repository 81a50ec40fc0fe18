"""The relay on PostgreSQL and MariaDB: SKIP LOCKED claims, several relays, order per record."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator, Sequence

import pytest

import crmcore
from crmcore.events import Event, emit
from crmcore.model import Ticket
from crmcore.relay import LockingOutboxSource, Relay


@pytest.fixture(scope="module")
def server_crm(server_url: str) -> Iterator[crmcore.Crm]:
    crm = crmcore.connect(server_url, events=True)
    yield crm
    crm.close()


class Recorder:
    def __init__(self) -> None:
        self.got: list[Event] = []
        self.lock = threading.Lock()

    def publish(self, events: Sequence[Event]) -> None:
        with self.lock:
            self.got.extend(events)


def _seed(crm: crmcore.Crm, records: int, per_record: int) -> list[uuid.UUID]:
    with crm.session() as s:
        ids = [s.tickets.add(Ticket(subject=f"t{i}")).id for i in range(records)]
    for n in range(per_record - 1):
        with crm.session() as s:
            for i in ids:
                emit(s, "ticket.breached", (Ticket, i), {"n": n})
    return ids


def test_claims_skip_rows_locked_by_another_relay(server_crm: crmcore.Crm) -> None:
    relay_any = Relay(server_crm, Recorder())
    relay_any.drain()  # start from an empty line
    ids = _seed(server_crm, 4, 3)
    engine = server_crm.store.engine  # type: ignore[attr-defined]
    holder, other = LockingOutboxSource(engine), LockingOutboxSource(engine)
    now = dt.datetime.now(dt.timezone.utc)
    held = holder.claim("a", 3, now, dt.timedelta(seconds=30))  # oldest first: 3 creations
    assert sorted(e.sequence for e in held) == [1, 1, 1]
    held_records = {e.aggregate_id for e in held}
    (free,) = set(ids) - held_records
    # returns at once (SKIP LOCKED, no waiting on the holder) with the one free record only:
    # the held records' later events would overtake their first ones
    taken = other.claim("b", 100, now, dt.timedelta(seconds=30))
    assert [(e.aggregate_id, e.sequence) for e in taken] == [(free, 1), (free, 2), (free, 3)]
    other.settle("b", taken, [], now)
    holder.settle("a", held, [], now)
    assert Relay(server_crm, Recorder()).drain().delivered == 6


def test_several_relays_deliver_all_in_order(server_crm: crmcore.Crm) -> None:
    Relay(server_crm, Recorder()).drain()
    ids = _seed(server_crm, 10, 6)
    rec = Recorder()
    relays = [Relay(server_crm, rec, batch_size=7) for _ in range(3)]
    stop = threading.Event()
    threads = [threading.Thread(target=r.run, args=(stop,), kwargs={"idle": 0.01}) for r in relays]
    for t in threads:
        t.start()
    deadline = dt.datetime.now() + dt.timedelta(seconds=30)
    while relays[0].counts()["pending"] and dt.datetime.now() < deadline:
        stop.wait(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert relays[0].counts()["pending"] == 0
    seen: set[uuid.UUID] = set()
    order: dict[uuid.UUID, list[int]] = {}
    for e in rec.got:
        if e.id not in seen:
            seen.add(e.id)
            order.setdefault(e.aggregate_id, []).append(e.sequence)
    assert {i: order.get(i) for i in ids} == {i: list(range(1, 7)) for i in ids}


def test_dead_letters_and_redelivery_on_the_server(server_crm: crmcore.Crm) -> None:
    Relay(server_crm, Recorder()).drain()
    (rid,) = _seed(server_crm, 1, 2)

    class Refuses:
        def publish(self, events: Sequence[Event]) -> None:
            if any(e.aggregate_id == rid and e.sequence == 1 for e in events):
                raise RuntimeError("no")

    from crmcore.testing import FrozenClock

    clock = FrozenClock(dt.datetime.now(dt.timezone.utc))
    relay = Relay(server_crm, Refuses(), clock=clock, max_attempts=2)
    for _ in range(3):
        relay.drain()
        clock.advance(dt.timedelta(hours=1))
    dead = [d for d in relay.dead_letters() if d.aggregate_id == rid]
    assert [(d.sequence, d.attempts) for d in dead] == [(1, 2)]
    assert relay.redeliver([dead[0].id]) == 1
    assert Relay(server_crm, Recorder()).drain().delivered == 1
