"""The relay: claims outbox events in order, publishes them at least once, marks them delivered.

::

    from crmcore.relay import InProcessBus, Relay

    bus = InProcessBus()
    bus.subscribe(print, types=["customer.*"])
    Relay(crm, bus).drain()          # deliver everything pending, then return

A publish that fails is retried with exponential backoff; after
``max_attempts`` the event is dead-lettered (``status="dead"``, see
:meth:`Relay.dead_letters` / :meth:`Relay.redeliver`) and the record's later
events go on. Later events of a record wait while an earlier one is retried,
so consumers see each record's events in sequence order; a crash between
publishing and marking means a second delivery, never a lost one: consumers
de-duplicate on :attr:`crmcore.events.Event.id`.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs

from crmcore.errors import ConfigurationError
from crmcore.events import Event
from crmcore.model import OutboxEvent, replace_trusted, utcnow
from crmcore.relay._sources import DEAD, OutboxSource, outbox_source_for
from crmcore.storage.ports import Store

__all__ = ["Backoff", "Publisher", "Relay", "RelayReport"]

log = logging.getLogger("crmcore.relay")


class Publisher(Protocol):
    """Sends events somewhere (a broker, webhooks, in-process handlers)."""

    def publish(self, events: Sequence[Event]) -> None:
        """Send every event, in order; raise if any of them may not have arrived."""
        ...


@attrs.frozen
class Backoff:
    """Exponential backoff with jitter: ``base * factor**(attempt-1)``, at most ``cap`` seconds.

    Args:
        base: the first delay in seconds.
        factor: the growth per attempt.
        cap: the longest delay.
        jitter: a random share (0..1) taken off each delay, so relays spread out.
    """

    base: float = 1.0
    factor: float = 2.0
    cap: float = 300.0
    jitter: float = 0.1

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` >= 1)."""
        raw = min(self.cap, self.base * self.factor ** max(0, attempt - 1))
        return raw * (1.0 - self.jitter * rand())


@attrs.frozen
class RelayReport:
    """What one or more relay rounds did."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    rounds: int = 0

    def __add__(self, other: RelayReport) -> RelayReport:
        return RelayReport(
            self.claimed + other.claimed,
            self.delivered + other.delivered,
            self.retried + other.retried,
            self.dead + other.dead,
            self.rounds + other.rounds,
        )


def _store_of(target: Any) -> Store:
    store = getattr(target, "store", target)
    if not hasattr(store, "begin"):
        raise ConfigurationError(
            f"a relay needs a Crm (crmcore.connect(...)) or its store, not {type(target).__name__}"
        )
    return store  # type: ignore[no-any-return]


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


class Relay:
    """Moves outbox events to a publisher: claim, publish, mark; safe to run several at once.

    Args:
        target: a ``Crm`` (``crmcore.connect(...)``) or its store.
        publisher: where events go (:class:`InProcessBus`, :class:`RedisStreamPublisher`,
            :class:`NatsJetStreamPublisher`, :class:`WebhookPublisher`, or several via
            :class:`FanOut`).
        batch_size: events claimed per round.
        max_attempts: failed publishes before an event is dead-lettered.
        backoff: the delays between attempts.
        lease: seconds a claim is held on SQLite / memory before another relay may take it.
        clock: the time source (aware UTC).
        owner: this relay's name in leases (default: host, pid and a random part).
        source: how events are claimed (default: row locks on PostgreSQL and
            MariaDB, a lease elsewhere).
    """

    def __init__(
        self,
        target: Any,
        publisher: Publisher,
        *,
        batch_size: int = 100,
        max_attempts: int = 8,
        backoff: Backoff | None = None,
        lease: float = 30.0,
        clock: Callable[[], _dt.datetime] | None = None,
        owner: str | None = None,
        source: OutboxSource | None = None,
    ) -> None:
        self.source = source if source is not None else outbox_source_for(_store_of(target))
        self.publisher = publisher
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.lease = _dt.timedelta(seconds=lease)
        self.clock = clock or utcnow
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def _failed(self, row: OutboxEvent, exc: BaseException, now: _dt.datetime) -> OutboxEvent:
        attempts = row.attempts + 1
        if attempts >= self.max_attempts:
            log.warning("dead-lettering event %s after %d attempts: %s", row.id, attempts, exc)
            return replace_trusted(
                row,
                attempts=attempts,
                status=DEAD,
                next_attempt_at=None,
                last_error=_error_text(exc),
            )
        wait = _dt.timedelta(seconds=self.backoff.delay(attempts))
        return replace_trusted(
            row, attempts=attempts, next_attempt_at=now + wait, last_error=_error_text(exc)
        )

    def run_once(self) -> RelayReport:
        """Claim one batch, publish it, record the outcome."""
        now = self.clock()
        rows = self.source.claim(self.owner, self.batch_size, now, self.lease)
        if not rows:
            return RelayReport(rounds=1)
        try:
            delivered, retried = self._publish(rows, now)
        except BaseException:
            self.source.abandon()
            raise
        self.source.settle(self.owner, delivered, retried, self.clock())
        dead = sum(1 for r in retried if r.status == DEAD)
        return RelayReport(len(rows), len(delivered), len(retried) - dead, dead, 1)

    def _publish(
        self, rows: Sequence[OutboxEvent], now: _dt.datetime
    ) -> tuple[list[OutboxEvent], list[OutboxEvent]]:
        events = [Event.from_outbox(r) for r in rows]
        try:
            self.publisher.publish(events)
            return list(rows), []
        except Exception as exc:  # isolate the failing events, keeping per-record order
            log.info("batch publish failed (%s); publishing one by one", exc)
        delivered: list[OutboxEvent] = []
        retried: list[OutboxEvent] = []
        stuck: set[tuple[str, uuid.UUID]] = set()
        for row, event in zip(rows, events, strict=True):
            key = (row.tenant_id, row.aggregate_id)
            if key in stuck:
                continue  # an earlier event of this record failed: it waits its turn
            try:
                self.publisher.publish([event])
            except Exception as exc:
                stuck.add(key)
                retried.append(self._failed(row, exc, now))
            else:
                delivered.append(row)
        return delivered, retried

    def drain(self, *, max_rounds: int = 1_000_000) -> RelayReport:
        """Run rounds until a round finds nothing to deliver (or only events that wait)."""
        total = RelayReport()
        for _ in range(max_rounds):
            report = self.run_once()
            total = total + report
            if report.delivered == 0:
                break
        return total

    def run(
        self,
        stop: threading.Event | None = None,
        *,
        idle: float = 0.2,
        error_pause: float = 1.0,
    ) -> RelayReport:
        """Run until ``stop`` is set: deliver, sleep ``idle`` seconds when nothing is due.

        Errors of the store or the publisher are logged and retried after
        ``error_pause`` seconds; the relay keeps going.
        """
        stop = stop or threading.Event()
        total = RelayReport()
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception:
                log.exception("relay round failed; retrying in %.1f s", error_pause)
                stop.wait(error_pause)
                continue
            total = total + report
            if report.claimed == 0:
                stop.wait(idle)
        return total

    def dead_letters(self, limit: int = 100) -> list[OutboxEvent]:
        """Events the relay gave up on, oldest first."""
        return self.source.dead(limit)

    def redeliver(self, ids: Sequence[uuid.UUID]) -> int:
        """Put dead-lettered events back in line; returns how many were requeued."""
        return self.source.requeue(ids, self.clock())

    def counts(self) -> dict[str, int]:
        """How many outbox events are pending, delivered and dead."""
        return self.source.counts()
