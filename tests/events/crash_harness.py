"""Crash harness: a writer and a relay process, SIGKILLed at random points and restarted.

Run by ``tests/events/test_crash.py`` (2,000 changes) and as a script for
larger runs (``python tests/events/crash_harness.py run --url ... --changes 10000``).

The writer makes ``changes`` changes, one unit of work each: change ``i``
assigns ticket ``i % records`` to ``agent-<i>``, which the outbox layer turns
into a ``ticket.assigned`` event; every seventh is rolled back on purpose.
The relay appends every event it publishes to a sink file (fsync'd before it
returns, so a published event is on disk before it is marked delivered).
The harness SIGKILLs one of the two at random points and restarts it; the
relay also SIGKILLs itself now and then right after publishing a batch and
before marking it (the window that makes duplicates), and the writer while
committing. At the end it checks that every committed change was delivered
at least once, in order per record, and none of a rolled-back one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

NS = uuid.UUID("0e3b0e55-9f61-4c55-b1a6-3f0cbd0f3a11")


def rolled_back(i: int) -> bool:
    """Whether change ``i`` is rolled back on purpose."""
    return i % 7 == 3


def record_ids(records: int) -> list[uuid.UUID]:
    return [uuid.uuid5(NS, f"record-{k}") for k in range(records)]


class _Rollback(Exception):
    pass


def _die(chance: float) -> None:
    if chance and random.random() < chance:
        os.kill(os.getpid(), signal.SIGKILL)


def writer(url: str, changes: int, records: int, die: float = 0.0) -> None:
    import attrs

    import crmcore
    from crmcore.model import OutboxEvent, Ticket
    from crmcore.query import eq

    crm = crmcore.connect(url, events=True, validation=False)
    ids = record_ids(records)
    with crm.session() as s:
        have = {t.id for t in s.tickets.get_many(ids, include_deleted=True)}
        for k, rid in enumerate(ids):
            if rid not in have:
                s.tickets.add(Ticket(id=rid, subject=f"crash {k}"))
    with crm.session() as s:
        current = {t.id: t for t in s.tickets.get_many(ids)}
        done = [
            int(str(e.payload["to"]).removeprefix("agent-"))
            for e in s.repo(OutboxEvent).stream(eq("event_type", "ticket.assigned"))
        ]
    start = max(done, default=-1) + 1
    for i in range(start, changes):
        rid = ids[i % records]
        try:
            with crm.session() as s:
                stored = s.tickets.update(attrs.evolve(current[rid], assignee_id=f"agent-{i}"))
                s.before_commit(lambda: _die(die))  # runs after the outbox hook, before COMMIT
                if rolled_back(i):
                    raise _Rollback
            current[rid] = stored
        except _Rollback:
            pass
    crm.close()


class FileSink:
    """A publisher appending one JSON line per event to a file, fsync'd before returning."""

    def __init__(self, path: str, die: float = 0.0) -> None:
        self.path = path
        self.die = die

    def publish(self, events: Sequence[Any]) -> None:
        lines = "".join(
            json.dumps(
                {
                    "id": str(e.id),
                    "agg": str(e.aggregate_id),
                    "seq": e.sequence,
                    "type": e.type,
                    "to": e.payload.get("to"),
                }
            )
            + "\n"
            for e in events
        )
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())
        _die(self.die)  # published, not yet marked delivered: the relay will send it again


def relay(url: str, sink: str, die: float = 0.0) -> None:
    import crmcore
    from crmcore.relay import Relay

    crm = crmcore.connect(url, events=True, validation=False)
    Relay(crm, FileSink(sink, die), batch_size=20).run(idle=0.2)


def _spawn(
    mode: str, url: str, changes: int, records: int, sink: str, die: float = 0.0
) -> subprocess.Popen[bytes]:
    args = [sys.executable, __file__, mode, "--url", url, "--sink", sink, "--die", str(die)]
    args += ["--changes", str(changes), "--records", str(records)]
    return subprocess.Popen(args, env={**os.environ}, stderr=subprocess.DEVNULL)


class _Pending:
    """Counts the pending events through one CRM (connecting is slow: once only)."""

    def __init__(self, url: str) -> None:
        import crmcore
        from crmcore.relay import Relay

        self.crm = crmcore.connect(url, validation=False)
        self.relay = Relay(self.crm, FileSink(os.devnull))

    def __call__(self) -> int:
        return self.relay.counts()["pending"]


def run(
    url: str,
    changes: int,
    records: int,
    sink: str,
    *,
    seed: int = 0,
    kills: int = 6,
    gap: tuple[float, float] = (2.0, 6.0),
    die: tuple[float, float] = (0.001, 0.02),
    timeout: float = 900,
) -> dict[str, Any]:
    """Write, relay, kill and restart; then check the sink against the outbox. Returns figures."""
    rnd = random.Random(seed)
    started = time.monotonic()
    killed = {"writer": 0, "relay": 0}
    rates = {"writer": die[0], "relay": die[1]}
    restarts = {"writer": 0, "relay": 0}

    def spawn(mode: str) -> subprocess.Popen[bytes]:
        return _spawn(mode, url, changes, records, sink, rates[mode])

    def revive() -> None:
        for mode, proc in procs.items():
            code = proc.poll()
            if code is not None and not (mode == "writer" and code == 0):
                restarts[mode] += 1  # it killed itself (or failed): start it again
                procs[mode] = spawn(mode)

    procs = {"writer": spawn("writer"), "relay": spawn("relay")}
    try:
        while procs["writer"].poll() != 0:
            if time.monotonic() - started > timeout:
                raise TimeoutError("the writer did not finish in time")
            revive()
            if sum(killed.values()) >= kills:
                time.sleep(0.2)  # enough crashes from outside: let the writer finish
                continue
            time.sleep(rnd.uniform(*gap))
            revive()
            if procs["writer"].poll() == 0:
                break
            victim = rnd.choice(["writer", "relay"])
            proc = procs[victim]
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                killed[victim] += 1
            proc.wait()
            procs[victim] = spawn(victim)
        # the writer is done: one more relay crash, then let it drain
        time.sleep(rnd.uniform(0.1, 0.5))
        os.kill(procs["relay"].pid, signal.SIGKILL)
        killed["relay"] += 1
        procs["relay"].wait()
        procs["relay"] = spawn("relay")
        pending = _Pending(url)
        while pending():
            if time.monotonic() - started > timeout:
                raise TimeoutError("the relay did not drain in time")
            revive()
            time.sleep(0.2)
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
    figures = check(url, changes, sink)
    return {
        **figures,
        "kills": killed,
        "self_kills": restarts,
        "seconds": time.monotonic() - started,
    }


def check(url: str, changes: int, sink: str) -> dict[str, Any]:
    """Each committed change delivered, in order per record, none rolled back, or AssertionError."""
    import crmcore
    from crmcore.model import OutboxEvent

    crm = crmcore.connect(url, validation=False)
    with crm.session() as s:
        rows = list(s.repo(OutboxEvent).stream())
    crm.close()

    def change(to: object) -> int:
        return int(str(to).removeprefix("agent-"))

    committed = {change(r.payload["to"]) for r in rows if r.event_type == "ticket.assigned"}
    expected = {i for i in range(changes) if not rolled_back(i)}
    assert committed == expected, "the outbox does not hold exactly the committed changes"
    lines = Path(sink).read_text(encoding="utf-8").splitlines(keepends=True)
    got = [json.loads(line) for line in lines if line.endswith("\n")]  # a torn last line: unsent
    delivered_ids = {g["id"] for g in got}
    assert delivered_ids == {str(r.id) for r in rows}, "an event was lost (or made up)"
    changes_seen = {change(g["to"]) for g in got if g["type"] == "ticket.assigned"}
    assert changes_seen == expected, "a committed change is missing or a rolled-back one leaked"
    assert not any(rolled_back(c) for c in changes_seen)
    first: dict[str, list[int]] = {}
    seen: set[str] = set()
    for g in got:
        if g["id"] not in seen:
            seen.add(g["id"])
            first.setdefault(g["agg"], []).append(g["seq"])
    for agg, seqs in first.items():
        assert seqs == list(range(1, len(seqs) + 1)), f"record {agg} was delivered out of order"
    assert all(r.status == "delivered" for r in rows)
    return {
        "events": len(rows),
        "deliveries": len(got),
        "duplicates": len(got) - len(delivered_ids),
        "committed_changes": len(committed),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["writer", "relay", "run"])
    parser.add_argument("--url", default=os.environ.get("CRMCORE_TEST_POSTGRES_URL"))
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--sink", default="crash-sink.jsonl")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--die", type=float, default=0.0, help="self-SIGKILL chance (workers)")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url or set CRMCORE_TEST_POSTGRES_URL (a PostgreSQL database)")
    if args.mode == "writer":
        writer(args.url, args.changes, args.records, args.die)
    elif args.mode == "relay":
        relay(args.url, args.sink, args.die)
    else:
        from crmcore.storage.sql import drop_schema

        drop_schema(args.url)
        import crmcore

        crmcore.connect(args.url, events=True).close()
        Path(args.sink).unlink(missing_ok=True)
        print(
            json.dumps(
                run(
                    args.url,
                    args.changes,
                    args.records,
                    args.sink,
                    seed=args.seed,
                    kills=args.kills,
                )
            )
        )


if __name__ == "__main__":
    main()
