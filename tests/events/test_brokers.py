"""Publishing to the real brokers: Redis Streams (XADD) and NATS JetStream (skip if down)."""

from __future__ import annotations

import asyncio
import uuid

import attrs

import crmcore
from crmcore import Customer
from crmcore.events import Event
from crmcore.relay import NatsJetStreamPublisher, RedisStreamPublisher, Relay


def _changes(crm: crmcore.Crm, records: int = 3, updates: int = 3) -> list[uuid.UUID]:
    ids = []
    with crm.session() as s:
        for i in range(records):
            ids.append(s.customers.add(Customer(first_name=f"N{i}", last_name="Li")).id)
    for n in range(updates):
        with crm.session() as s:
            for i in ids:
                c = s.customers.get(i)
                s.customers.update(attrs.evolve(c, first_name=f"M{n}"))
    return ids


def test_redis_streams_get_every_event_in_order(redis_url: str) -> None:
    import redis

    crm = crmcore.connect("memory://", events=True)
    ids = _changes(crm)
    stream = f"crmcore-test:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(redis_url)
    try:
        relay = Relay(crm, RedisStreamPublisher(client=client, stream=stream), batch_size=5)
        assert relay.drain().delivered == 12
        entries = client.xrange(stream)
        assert len(entries) == 12
        events = [Event.from_json(fields[b"data"]) for _, fields in entries]
        assert [str(e.id).encode() for e in events] == [fields[b"id"] for _, fields in entries]
        for i in ids:
            assert [e.sequence for e in events if e.aggregate_id == i] == [1, 2, 3, 4]
        assert {e.type for e in events} == {"customer.created", "customer.updated"}
    finally:
        client.delete(stream)
        client.close()


def test_redis_unreachable_is_retried_not_lost() -> None:
    crm = crmcore.connect("memory://", events=True)
    _changes(crm, 1, 0)
    import redis

    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    relay = Relay(crm, RedisStreamPublisher(client=dead))
    report = relay.run_once()
    assert report.retried == 1 and relay.counts()["pending"] == 1
    with crm.session() as s:
        from crmcore.model import OutboxEvent

        row = s.repo(OutboxEvent).first()
        assert row is not None and "redis XADD failed" in (row.last_error or "")


def test_nats_jetstream_gets_every_event_once(nats_url: str) -> None:
    import nats

    crm = crmcore.connect("memory://", events=True)
    ids = _changes(crm)
    name = f"CRMTEST{uuid.uuid4().hex[:8].upper()}"
    prefix = f"crmtest{uuid.uuid4().hex[:8]}"
    publisher = NatsJetStreamPublisher(nats_url, stream=name, prefix=prefix)
    try:
        relay = Relay(crm, publisher, batch_size=5)
        assert relay.drain().delivered == 12
        # a re-delivery (a relay crashed before marking) is dropped by JetStream's Msg-Id
        with crm.session() as s:
            from crmcore.model import OutboxEvent

            again = Event.from_outbox(next(iter(s.repo(OutboxEvent).stream())))
        publisher.publish([again])

        async def read() -> tuple[int, list[Event]]:
            nc = await nats.connect(nats_url)
            try:
                js = nc.jetstream()
                info = await js.stream_info(name)
                sub = await js.pull_subscribe(f"{prefix}.>", durable=None, stream=name)
                msgs = await sub.fetch(12, timeout=5)
                for m in msgs:
                    await m.ack()
                return info.state.messages, [Event.from_json(m.data) for m in msgs]
            finally:
                try:
                    await nc.jetstream().delete_stream(name)
                finally:
                    await nc.close()

        count, events = asyncio.run(read())
        assert count == 12
        for i in ids:
            assert [e.sequence for e in events if e.aggregate_id == i] == [1, 2, 3, 4]
        assert publisher.subject(events[0]).startswith(f"{prefix}.default.customer.")
    finally:
        publisher.close()
