"""Crash harness: a writer and a relay process, SIGKILLed at random points and restarted.

Run by ``tests/events/test_crash.py`` (2,000 changes) and as a script for
larger runs (``python tests/events/crash_harness.py run --url ... --changes 10000``).

The writer makes ``changes`` changes, one unit of work each (a customer
update plus an emitted ``test.change`` event carrying the change number);
every seventh is rolled back on purpose. The relay appends every event it
publishes to a sink file (fsync'd before it returns, so a published event is
on disk before it is marked delivered). The harness kills one of the two at
random, restarts it, and at the end checks that every committed change was
delivered at least once, in order per record, and none of a rolled-back one.
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


def writer(url: str, changes: int, records: int) -> None:
    import attrs

    import crmcore
    from crmcore.events import emit
    from crmcore.model import Customer, OutboxEvent
    from crmcore.query import eq

    crm = crmcore.connect(url, events=True, validation=False)
    ids = record_ids(records)
    with crm.session() as s:
        have = {c.id for c in s.customers.get_many(ids, include_deleted=True)}
        for k, rid in enumerate(ids):
            if rid not in have:
                s.customers.add(Customer(id=rid, first_name=f"R{k}", last_name="Crash"))
    with crm.session() as s:
        done = [
            int(e.payload["change"])
            for e in s.repo(OutboxEvent).stream(eq("event_type", "test.change"))
        ]
    start = max(done, default=-1) + 1
    for i in range(start, changes):
        try:
            with crm.session() as s:
                c = s.customers.get(ids[i % records])
                c = s.customers.update(attrs.evolve(c, custom={"change": i}))
                emit(s, "test.change", c, {"change": i})
                if rolled_back(i):
                    raise _Rollback
        except _Rollback:
            pass
    crm.close()


class FileSink:
    """A publisher appending one JSON line per event to a file, fsync'd before returning."""

    def __init__(self, path: str) -> None:
        self.path = path

    def publish(self, events: Sequence[Any]) -> None:
        lines = "".join(
            json.dumps(
                {
                    "id": str(e.id),
                    "agg": str(e.aggregate_id),
                    "seq": e.sequence,
                    "type": e.type,
                    "change": e.payload.get("change"),
                }
            )
            + "\n"
            for e in events
        )
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())


def relay(url: str, sink: str) -> None:
    import crmcore
    from crmcore.relay import Relay

    crm = crmcore.connect(url, events=True, validation=False)
    Relay(crm, FileSink(sink), batch_size=50).run(idle=0.05)


def _spawn(mode: str, url: str, changes: int, records: int, sink: str) -> subprocess.Popen[bytes]:
    args = [sys.executable, __file__, mode, "--url", url, "--sink", sink]
    args += ["--changes", str(changes), "--records", str(records)]
    return subprocess.Popen(args, env={**os.environ}, stderr=subprocess.DEVNULL)


def _pending(url: str) -> int:
    import crmcore
    from crmcore.relay import Relay

    crm = crmcore.connect(url, validation=False)
    try:
        return Relay(crm, FileSink(os.devnull)).counts()["pending"]
    finally:
        crm.close()


def run(
    url: str,
    changes: int,
    records: int,
    sink: str,
    *,
    seed: int = 0,
    kills: int = 6,
    gap: tuple[float, float] = (2.0, 6.0),
    timeout: float = 900,
) -> dict[str, Any]:
    """Write, relay, kill and restart; then check the sink against the outbox. Returns figures."""
    rnd = random.Random(seed)
    started = time.monotonic()
    killed = {"writer": 0, "relay": 0}
    procs = {
        "writer": _spawn("writer", url, changes, records, sink),
        "relay": _spawn("relay", url, changes, records, sink),
    }
    try:
        while procs["writer"].poll() != 0:
            if time.monotonic() - started > timeout:
                raise TimeoutError("the writer did not finish in time")
            if sum(killed.values()) >= kills:
                time.sleep(0.2)  # enough crashes: let the writer finish
                continue
            time.sleep(rnd.uniform(*gap))
            if procs["writer"].poll() == 0:
                break
            victim = rnd.choice(["writer", "relay"])
            proc = procs[victim]
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                killed[victim] += 1
            proc.wait()
            procs[victim] = _spawn(victim, url, changes, records, sink)
        # the writer is done: one more relay crash, then let it drain
        time.sleep(rnd.uniform(0.1, 0.5))
        os.kill(procs["relay"].pid, signal.SIGKILL)
        killed["relay"] += 1
        procs["relay"].wait()
        procs["relay"] = _spawn("relay", url, changes, records, sink)
        while _pending(url):
            if time.monotonic() - started > timeout:
                raise TimeoutError("the relay did not drain in time")
            if procs["relay"].poll() is not None:
                procs["relay"] = _spawn("relay", url, changes, records, sink)
            time.sleep(0.2)
    finally:
        for p in procs.values():
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
    return {**check(url, changes, sink), "kills": killed, "seconds": time.monotonic() - started}


def check(url: str, changes: int, sink: str) -> dict[str, Any]:
    """Every committed change delivered, in order per record, none rolled back; or AssertionError."""
    import crmcore
    from crmcore.model import OutboxEvent

    crm = crmcore.connect(url, validation=False)
    with crm.session() as s:
        rows = list(s.repo(OutboxEvent).stream())
    crm.close()
    committed = {int(r.payload["change"]) for r in rows if r.event_type == "test.change"}
    expected = {i for i in range(changes) if not rolled_back(i)}
    assert committed == expected, "the outbox does not hold exactly the committed changes"
    lines = Path(sink).read_text(encoding="utf-8").splitlines(keepends=True)
    got = [json.loads(line) for line in lines if line.endswith("\n")]  # a torn last line: unsent
    delivered_ids = {g["id"] for g in got}
    assert delivered_ids == {str(r.id) for r in rows}, "an event was lost (or made up)"
    changes_seen = {g["change"] for g in got if g["type"] == "test.change"}
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
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url or set CRMCORE_TEST_POSTGRES_URL (a PostgreSQL database)")
    if args.mode == "writer":
        writer(args.url, args.changes, args.records)
    elif args.mode == "relay":
        relay(args.url, args.sink)
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
