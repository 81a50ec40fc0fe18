"""Outbox to broker throughput against the client publishing directly, in the same run.

    python benchmarks/bench_events.py [--n 5000] [--batch 200] [--url sqlite:///...]
                                      [--redis redis://127.0.0.1:6379/0] [--nats nats://127.0.0.1:4222]
    python benchmarks/bench_events.py --crash 10000 --url postgresql+psycopg://...

- write: N customer adds with the outbox on (``add_many`` per ``--batch``,
  one commit each), events written in the same units of work;
- relay -> Redis: ``Relay(...).drain()`` claiming, publishing (XADD pipeline)
  and marking every event, in events/s, against redis-py XADDing the same
  envelopes in pipelines of the same size (the floor: nothing but the client);
- relay -> NATS: the same with JetStream (async publishes, acks awaited per
  batch) against nats-py publishing the same messages directly;
- ``--crash N``: the SIGKILL crash harness of ``tests/events/crash_harness.py``
  with N changes on PostgreSQL (prints its figures).

Brokers that cannot be reached are skipped with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import crmcore
from crmcore import Customer
from crmcore.events import Event
from crmcore.model import OutboxEvent

ROOT = Path(__file__).resolve().parents[1]


def fill(url: str, n: int, batch: int) -> tuple[crmcore.Crm, float]:
    crm = crmcore.connect(url, events=True, validation=False)
    started = time.perf_counter()
    for start in range(0, n, batch):
        with crm.session() as s:
            s.customers.add_many(
                Customer(first_name=f"F{i}", last_name="Bench", email=f"u{i}@example.com")
                for i in range(start, min(n, start + batch))
            )
    return crm, time.perf_counter() - started


def envelopes(crm: crmcore.Crm) -> list[Event]:
    with crm.session() as s:
        return [Event.from_outbox(e) for e in s.repo(OutboxEvent).stream()]


def reset(crm: crmcore.Crm) -> None:
    """Mark every event pending again (to relay the same events once more)."""
    import attrs

    with crm.session() as s:
        repo = s.inner(OutboxEvent)
        for e in list(repo.stream()):
            repo.update(attrs.evolve(e, status="pending", delivered_at=None, attempts=0))


def bench_redis(crm: crmcore.Crm, url: str, batch: int, events: list[Event]) -> None:
    import redis

    from crmcore.relay import RedisStreamPublisher, Relay

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        print(f"redis: skipped ({exc})")
        return
    stream = f"crmcore-bench:{uuid.uuid4().hex}"
    try:
        started = time.perf_counter()
        report = Relay(
            crm, RedisStreamPublisher(client=client, stream=stream), batch_size=batch
        ).drain()
        relayed = time.perf_counter() - started
        started = time.perf_counter()
        for start in range(0, len(events), batch):
            pipe = client.pipeline(transaction=False)
            for e in events[start : start + batch]:
                pipe.xadd(
                    stream + ":direct", {"id": str(e.id), "type": e.type, "data": e.to_json()}
                )
            pipe.execute()
        direct = time.perf_counter() - started
    finally:
        client.delete(stream, stream + ":direct")
        client.close()
    n = report.delivered
    print(
        f"relay -> redis : {n / relayed:9.0f} events/s ({n} in {relayed:.2f} s); "
        f"redis-py direct {len(events) / direct:9.0f} events/s; ratio {relayed / direct:.1f}x"
    )


def bench_nats(crm: crmcore.Crm, url: str, batch: int, events: list[Event]) -> None:
    try:
        import nats

        from crmcore.relay import NatsJetStreamPublisher, Relay

        name = f"BENCH{uuid.uuid4().hex[:8].upper()}"
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        publisher = NatsJetStreamPublisher(url, stream=name, prefix=prefix, connect_timeout=1)
    except Exception as exc:
        print(f"nats: skipped ({type(exc).__name__}: {exc})")
        return
    try:
        started = time.perf_counter()
        report = Relay(crm, publisher, batch_size=batch).drain()
        relayed = time.perf_counter() - started

        async def direct() -> float:
            nc = await nats.connect(url)
            js = nc.jetstream()
            t0 = time.perf_counter()
            for start in range(0, len(events), batch):
                futures = [
                    await js.publish_async(
                        f"{prefix}.direct", e.to_json(), headers={"Nats-Msg-Id": f"d{e.id}"}
                    )
                    for e in events[start : start + batch]
                ]
                await asyncio.gather(*futures)
            took = time.perf_counter() - t0
            await js.delete_stream(name)
            await nc.close()
            return took

        floor = asyncio.run(direct())
    finally:
        publisher.close()
    n = report.delivered
    print(
        f"relay -> nats  : {n / relayed:9.0f} events/s ({n} in {relayed:.2f} s); "
        f"nats-py direct {len(events) / floor:9.0f} events/s; ratio {relayed / floor:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="events (customer adds)")
    parser.add_argument("--batch", type=int, default=200, help="writes per unit and relay batch")
    parser.add_argument("--url", default=None, help="database (default: a temp SQLite file)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--crash", type=int, default=0, help="run the crash harness instead")
    args = parser.parse_args()
    if args.crash:
        harness = ROOT / "tests" / "events" / "crash_harness.py"
        sink = Path(tempfile.mkdtemp()) / "sink.jsonl"
        cmd = [
            sys.executable,
            str(harness),
            "run",
            "--changes",
            str(args.crash),
            "--sink",
            str(sink),
        ]
        if args.url:
            cmd += ["--url", args.url]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        print("crash harness:", json.loads(out.strip().splitlines()[-1]))
        return
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    if not url.startswith(("sqlite", "memory")):
        from crmcore.storage.sql import drop_schema

        drop_schema(url)
    crm, wrote = fill(url, args.n, args.batch)
    print(
        f"backend {crm.store.url}: wrote {args.n} customers + events in {wrote:.2f} s "
        f"({args.n / wrote:.0f}/s, one commit per {args.batch})"
    )
    events = envelopes(crm)
    bench_redis(crm, args.redis, args.batch, events)
    reset(crm)
    bench_nats(crm, args.nats, args.batch, events)
    crm.close()


if __name__ == "__main__":
    main()
