"""Where a relay claims outbox events: a lease on any store, or row locks on PostgreSQL / MariaDB.

Both sources hand out only events that may go out now without breaking the
per-record order: an event is deliverable when every earlier event of its
record has been delivered (or dead-lettered), or is claimed in the same batch
right before it.

- :class:`LockingOutboxSource` (PostgreSQL, MariaDB): ``SELECT ... FOR UPDATE
  SKIP LOCKED`` in a transaction held while the batch is published and
  marked; a relay that dies drops its locks with its connection.
- :class:`SqliteLeaseOutboxSource` (a SQLite file): a lease column set by a
  conditional ``UPDATE`` under the write lock (``BEGIN IMMEDIATE``).
- :class:`LeaseOutboxSource` (memory, any store): the same lease through the
  store's version-checked updates.

An expired lease can be taken over, so a dead relay's events come back after
``lease`` seconds.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from crmcore.errors import Conflict
from crmcore.model import OutboxEvent, replace_trusted
from crmcore.query import all_of, eq, in_, is_null
from crmcore.storage.ports import Store

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = [
    "LeaseOutboxSource",
    "LockingOutboxSource",
    "OutboxSource",
    "SqliteLeaseOutboxSource",
    "deliverable",
    "outbox_source_for",
]

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
_Key = tuple[str, uuid.UUID]


def _key(e: OutboxEvent) -> _Key:
    return (e.tenant_id, e.aggregate_id)


def deliverable(
    claimed: Sequence[OutboxEvent], first_pending: dict[_Key, int]
) -> list[OutboxEvent]:
    """The claimed events that may go out now, in delivery order.

    Per record, a run of consecutive sequence numbers starting at the record's
    lowest pending number; records whose lowest pending event is held
    elsewhere are left for later.
    """
    by_key: dict[_Key, list[OutboxEvent]] = {}
    for e in claimed:
        by_key.setdefault(_key(e), []).append(e)
    out: list[OutboxEvent] = []
    for key, events in by_key.items():
        events.sort(key=lambda e: e.sequence)
        expect = first_pending.get(key)
        for e in events:
            if e.sequence != expect:
                break
            out.append(e)
            expect += 1
    out.sort(key=lambda e: (e.occurred_at, e.tenant_id, str(e.aggregate_id), e.sequence))
    return out


class OutboxSource(Protocol):
    """Claims deliverable outbox events for one relay and records what became of them."""

    def claim(
        self, owner: str, limit: int, now: _dt.datetime, lease: _dt.timedelta
    ) -> list[OutboxEvent]:
        """Up to ``limit`` deliverable events, held for ``owner`` until :meth:`settle`."""
        ...

    def settle(
        self,
        owner: str,
        delivered: Sequence[OutboxEvent],
        retried: Sequence[OutboxEvent],
        now: _dt.datetime,
    ) -> None:
        """Mark ``delivered``, store ``retried`` (attempts, next time, dead), release the rest."""
        ...

    def abandon(self) -> None:
        """Release a claim without recording anything (the relay failed)."""
        ...

    def dead(self, limit: int) -> list[OutboxEvent]:
        """Dead-lettered events, oldest first."""
        ...

    def requeue(self, ids: Iterable[uuid.UUID], now: _dt.datetime) -> int:
        """Put dead-lettered events back in line (attempts reset); returns how many."""
        ...

    def counts(self) -> dict[str, int]:
        """How many events are pending, delivered and dead."""
        ...


def _write_outcome(
    conn: Any,
    t: Any,
    delivered: Sequence[OutboxEvent],
    retried: Sequence[OutboxEvent],
    now: _dt.datetime,
    *also: Any,
) -> None:
    """Mark ``delivered`` delivered and ``retried`` due again (``also``: e.g. a lease test)."""
    import sqlalchemy as sa

    ids = [e.id for e in delivered]
    for start in range(0, len(ids), 500):
        conn.execute(
            sa.update(t)
            .where(t.c.id.in_(ids[start : start + 500]), *also)
            .values(
                status=DELIVERED,
                delivered_at=now,
                updated_at=now,
                version=t.c.version + 1,
                lease_owner=None,
                lease_until=None,
            )
        )
    for e in retried:
        conn.execute(
            sa.update(t)
            .where(t.c.id == e.id, *also)
            .values(updated_at=now, version=t.c.version + 1, **_retry_values(e))
        )


def _retry_values(e: OutboxEvent) -> dict[str, Any]:
    return {
        "status": e.status,
        "attempts": e.attempts,
        "next_attempt_at": e.next_attempt_at,
        "last_error": e.last_error,
        "lease_owner": None,
        "lease_until": None,
    }


class LeaseOutboxSource:
    """Claims through a store's repositories with a lease column and version-checked updates.

    Works on every store (memory, SQLite, and the server databases too);
    several relays may share it: a lost race for a lease means an empty round.

    Args:
        store: the store the outbox lives in.
        scan: how many pending events to look at per claim, at most.
    """

    def __init__(self, store: Store, *, scan: int = 2000) -> None:
        self._store = store
        self._scan = scan

    def claim(
        self, owner: str, limit: int, now: _dt.datetime, lease: _dt.timedelta
    ) -> list[OutboxEvent]:
        uow = self._store.begin()
        try:
            repo = uow.repository(OutboxEvent)
            pending = eq("status", PENDING)
            candidates: list[OutboxEvent] = []
            blocked: set[_Key] = set()
            ordered = repo.stream(pending, order_by=["occurred_at", "sequence"], batch_size=500)
            try:
                for seen, e in enumerate(ordered, 1):
                    key = _key(e)
                    held = (
                        e.lease_until is not None and e.lease_until > now and e.lease_owner != owner
                    )
                    waiting = e.next_attempt_at is not None and e.next_attempt_at > now
                    if held or waiting:
                        blocked.add(key)
                    elif key not in blocked:
                        candidates.append(e)
                    if len(candidates) >= limit or seen >= self._scan:
                        break
            finally:
                close = getattr(ordered, "close", None)
                if close is not None:
                    close()  # a stream left open would keep the unit from committing
            if not candidates:
                return []
            first = _first_pending(repo, candidates)
            chosen = deliverable(candidates, first)
            until = now + lease
            leased = [
                repo.update(
                    replace_trusted(e, lease_owner=owner, lease_until=until, updated_at=now)
                )
                for e in chosen
            ]
            uow.commit()
            return leased
        except Conflict:
            return []  # another relay leased one of them first: try again next round
        finally:
            uow.close()

    def settle(
        self,
        owner: str,
        delivered: Sequence[OutboxEvent],
        retried: Sequence[OutboxEvent],
        now: _dt.datetime,
    ) -> None:
        changes: list[tuple[uuid.UUID, dict[str, Any]]] = [
            (
                e.id,
                {
                    "status": DELIVERED,
                    "delivered_at": now,
                    "lease_owner": None,
                    "lease_until": None,
                },
            )
            for e in delivered
        ]
        changes += [(e.id, _retry_values(e)) for e in retried]
        for attempt in range(3):
            uow = self._store.begin()
            try:
                repo = uow.repository(OutboxEvent)
                current = {e.id: e for e in repo.get_many([c[0] for c in changes])}
                for id, values in changes:
                    row = current.get(id)
                    if row is None or row.lease_owner != owner or row.status != PENDING:
                        continue  # the lease was taken over: the new holder decides
                    repo.update(replace_trusted(row, updated_at=now, **values))
                uow.commit()
                return
            except Conflict:
                if attempt == 2:
                    raise
            finally:
                uow.close()

    def abandon(self) -> None:
        return None  # leases expire by themselves

    def dead(self, limit: int) -> list[OutboxEvent]:
        uow = self._store.begin()
        try:
            repo = uow.repository(OutboxEvent)
            return list(repo.find(eq("status", DEAD), order_by="occurred_at", limit=limit).items)
        finally:
            uow.close()

    def requeue(self, ids: Iterable[uuid.UUID], now: _dt.datetime) -> int:
        uow = self._store.begin()
        try:
            repo = uow.repository(OutboxEvent)
            done = 0
            for row in repo.get_many(list(ids)):
                if row.status == DEAD:
                    repo.update(
                        replace_trusted(
                            row, status=PENDING, attempts=0, next_attempt_at=None, updated_at=now
                        )
                    )
                    done += 1
            uow.commit()
            return done
        finally:
            uow.close()

    def counts(self) -> dict[str, int]:
        uow = self._store.begin()
        try:
            repo = uow.repository(OutboxEvent)
            return {s: repo.count(eq("status", s)) for s in (PENDING, DELIVERED, DEAD)}
        finally:
            uow.close()


def _first_pending(repo: Any, events: Sequence[OutboxEvent]) -> dict[_Key, int]:
    first: dict[_Key, int] = {}
    ids = sorted({e.aggregate_id for e in events})
    for start in range(0, len(ids), 500):
        where = all_of(
            eq("status", PENDING),
            in_("aggregate_id", ids[start : start + 500]),
            is_null("deleted_at"),
        )
        for e in repo.stream(where, batch_size=1000):
            key = _key(e)
            if key not in first or e.sequence < first[key]:
                first[key] = e.sequence
    return first


_FIELDS = [a.name for a in attrs.fields(OutboxEvent)]


def _row_event(row: Any) -> OutboxEvent:
    data = row._mapping
    values = {name: data[name] for name in _FIELDS}
    values["custom"] = values["custom"] or {}
    values["payload"] = values["payload"] or {}
    return OutboxEvent(**values)


class LockingOutboxSource:
    """Claims with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL, MariaDB 10.6+).

    The claim's transaction stays open while the relay publishes; settling
    updates the rows and commits, which releases the locks. Several relays
    skip each other's rows instead of waiting for them.

    On PostgreSQL one statement selects, orders and locks (the lock is taken
    on the rows the ``LIMIT`` returns). InnoDB would lock every row its sort
    reads, so on MariaDB a plain read picks a window of candidates first and
    the locking read takes them by primary key, skipping locked ones, moving
    to the next window while another relay holds the whole window.

    Args:
        engine: the SQLAlchemy engine of the store (``crm.store.engine``).
    """

    def __init__(self, engine: sa.Engine) -> None:
        from crmcore.storage.sql import metadata

        self._engine = engine
        self._table = metadata().tables["outbox_events"]
        self._conn: sa.Connection | None = None

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
        return self._conn

    def claim(
        self, owner: str, limit: int, now: _dt.datetime, lease: _dt.timedelta
    ) -> list[OutboxEvent]:
        import sqlalchemy as sa

        t = self._table
        prior = t.alias("prior")
        # records with an event waiting for its retry: their later events wait too
        # (an uncorrelated set, computed once: planners misjudge a correlated one)
        waiting = sa.select(prior.c.aggregate_id).where(
            prior.c.status == PENDING, prior.c.next_attempt_at > now
        )
        due = sa.and_(
            t.c.status == PENDING,
            t.c.deleted_at.is_(None),
            sa.or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now),
            t.c.aggregate_id.not_in(waiting),
        )
        order = (t.c.occurred_at, t.c.sequence, t.c.id)
        conn = self._connection()
        try:
            if self._engine.dialect.name == "postgresql":
                select = sa.select(t).where(due).order_by(*order).limit(limit)
                rows = conn.execute(select.with_for_update(skip_locked=True)).all()
            else:
                rows = []
                for window in range(4):
                    ids = (
                        conn.execute(
                            sa.select(t.c.id)
                            .where(due)
                            .order_by(*order)
                            .limit(limit)
                            .offset(window * limit)
                        )
                        .scalars()
                        .all()
                    )
                    if not ids:
                        break
                    rows = conn.execute(
                        sa.select(t)
                        .where(t.c.id.in_(ids), t.c.status == PENDING)
                        .order_by(*order)
                        .with_for_update(skip_locked=True)
                    ).all()
                    if rows:
                        break
            if not rows:
                conn.rollback()
                return []
            claimed = [_row_event(r) for r in rows]
            first = self._first_pending(conn, rows)
            chosen = deliverable(claimed, first)
            if not chosen:
                conn.rollback()
            return chosen
        except BaseException:
            self.abandon()
            raise

    def _first_pending(self, conn: sa.Connection, rows: Sequence[Any]) -> dict[_Key, int]:
        """The lowest pending sequence of each record among ``rows`` (a plain read)."""
        import sqlalchemy as sa

        t = self._table
        ids = sorted({r._mapping["aggregate_id"] for r in rows})
        first: dict[_Key, int] = {}
        stmt = (
            sa.select(t.c.tenant_id, t.c.aggregate_id, sa.func.min(t.c.sequence))
            .where(t.c.status == PENDING, t.c.aggregate_id.in_(sa.bindparam("ids", expanding=True)))
            .group_by(t.c.tenant_id, t.c.aggregate_id)
        )
        for start in range(0, len(ids), 500):
            for tenant, agg, seq in conn.execute(stmt, {"ids": ids[start : start + 500]}):
                first[(tenant, agg)] = int(seq)
        return first

    def settle(
        self,
        owner: str,
        delivered: Sequence[OutboxEvent],
        retried: Sequence[OutboxEvent],
        now: _dt.datetime,
    ) -> None:
        t = self._table
        conn = self._connection()
        try:
            _write_outcome(conn, t, delivered, retried, now)
            conn.commit()
        except BaseException:
            self.abandon()
            raise

    def abandon(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.rollback()
            finally:
                conn.close()

    def dead(self, limit: int) -> list[OutboxEvent]:
        import sqlalchemy as sa

        t = self._table
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.status == DEAD).order_by(t.c.occurred_at).limit(limit)
            ).all()
        return [_row_event(r) for r in rows]

    def requeue(self, ids: Iterable[uuid.UUID], now: _dt.datetime) -> int:
        import sqlalchemy as sa

        t = self._table
        with self._engine.begin() as conn:
            result = conn.execute(
                sa.update(t)
                .where(t.c.id.in_(list(ids)), t.c.status == DEAD)
                .values(
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=None,
                    updated_at=now,
                    version=t.c.version + 1,
                )
            )
            return int(result.rowcount)

    def counts(self) -> dict[str, int]:
        import sqlalchemy as sa

        t = self._table
        out = {PENDING: 0, DELIVERED: 0, DEAD: 0}
        with self._engine.connect() as conn:
            for status, n in conn.execute(
                sa.select(t.c.status, sa.func.count()).group_by(t.c.status)
            ):
                out[str(status)] = int(n)
        return out


class SqliteLeaseOutboxSource(LockingOutboxSource):
    """Claims on a SQLite file with a lease column and conditional ``UPDATE`` statements.

    SQLite has no row locks: a claim takes the database's write lock
    (``BEGIN IMMEDIATE``), picks the deliverable events whose lease is free
    and sets ``lease_owner`` / ``lease_until`` on them in one conditional
    ``UPDATE``, then commits; the relay publishes outside any transaction.
    Settling updates only rows still leased to this relay. A relay that dies
    leaves leases that expire after ``lease``; another relay then takes over.
    """

    def _begin(self) -> sa.Connection:
        conn = self._connection()
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return conn

    def claim(
        self, owner: str, limit: int, now: _dt.datetime, lease: _dt.timedelta
    ) -> list[OutboxEvent]:
        import sqlalchemy as sa

        t = self._table
        prior = t.alias("prior")
        free = sa.or_(t.c.lease_until.is_(None), t.c.lease_until <= now, t.c.lease_owner == owner)
        # records with an event waiting for a retry or leased by another relay
        blocked = sa.select(prior.c.aggregate_id).where(
            prior.c.status == PENDING,
            sa.or_(
                prior.c.next_attempt_at > now,
                sa.and_(prior.c.lease_until > now, prior.c.lease_owner != owner),
            ),
        )
        due = sa.and_(
            t.c.status == PENDING,
            t.c.deleted_at.is_(None),
            sa.or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now),
            free,
            t.c.aggregate_id.not_in(blocked),
        )
        conn = self._begin()
        try:
            rows = conn.execute(
                sa.select(t).where(due).order_by(t.c.occurred_at, t.c.sequence, t.c.id).limit(limit)
            ).all()
            chosen = deliverable([_row_event(r) for r in rows], self._first_pending(conn, rows))
            if chosen:
                until = now + lease
                ids = [e.id for e in chosen]
                result = conn.execute(
                    sa.update(t)
                    .where(t.c.id.in_(ids), t.c.status == PENDING, free)
                    .values(
                        lease_owner=owner,
                        lease_until=until,
                        updated_at=now,
                        version=t.c.version + 1,
                    )
                )
                if result.rowcount != len(ids):  # pragma: no cover - the write lock forbids it
                    conn.rollback()
                    return []
                chosen = [
                    replace_trusted(
                        e,
                        lease_owner=owner,
                        lease_until=until,
                        updated_at=now,
                        version=e.version + 1,
                    )
                    for e in chosen
                ]
            conn.commit()
            return chosen
        except BaseException:
            self.abandon()
            raise

    def settle(
        self,
        owner: str,
        delivered: Sequence[OutboxEvent],
        retried: Sequence[OutboxEvent],
        now: _dt.datetime,
    ) -> None:
        import sqlalchemy as sa

        t = self._table
        mine = sa.and_(t.c.lease_owner == owner, t.c.status == PENDING)
        conn = self._begin()
        try:
            _write_outcome(conn, t, delivered, retried, now, mine)
            conn.commit()
        except BaseException:
            self.abandon()
            raise


def outbox_source_for(store: Store) -> OutboxSource:
    """Row locks on PostgreSQL / MariaDB, SQL leases on a SQLite file, store leases elsewhere."""
    engine = getattr(store, "engine", None)
    backend = getattr(getattr(store, "backend", None), "name", None)
    if engine is not None and backend in ("postgresql", "mariadb"):
        return LockingOutboxSource(engine)
    if engine is not None and backend == "sqlite" and not getattr(store, "shared", True):
        return SqliteLeaseOutboxSource(engine)
    return LeaseOutboxSource(store)
