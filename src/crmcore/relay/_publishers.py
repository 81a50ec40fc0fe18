"""Publishers: in-process handlers, Redis Streams, NATS JetStream, and a fan-out of several.

Each publisher sends a batch in order and raises if any event may not have
arrived; the relay then retries one by one. Delivery is at least once: the
event id travels with every message (a Redis field, the JetStream
``Nats-Msg-Id`` header, which JetStream also de-duplicates on).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from crmcore.errors import ConfigurationError, DeliveryError
from crmcore.events import Event
from crmcore.relay._relay import Publisher

__all__ = [
    "FanOut",
    "InProcessBus",
    "NatsJetStreamPublisher",
    "RedisStreamPublisher",
    "Subscription",
    "matches_event_type",
]

Handler = Callable[[Event], Any]


def matches_event_type(patterns: Iterable[str], event_type: str) -> bool:
    """Whether ``event_type`` matches one of ``patterns`` (``"*"``, ``"ticket.*"``, exact)."""
    for p in patterns:
        if p == "*" or p == event_type or (p.endswith("*") and event_type.startswith(p[:-1])):
            return True
    return False


class Subscription:
    """One handler registered on an :class:`InProcessBus`; :meth:`close` removes it."""

    def __init__(self, bus: InProcessBus, handler: Handler, types: tuple[str, ...]) -> None:
        self.bus = bus
        self.handler = handler
        self.types = types

    def close(self) -> None:
        """Stop receiving events."""
        self.bus._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessBus:
    """Delivers events to handlers in this process (an embedder's own consumers).

    A handler that raises makes the relay retry the event later (for every
    handler: they must be idempotent on ``event.id``, as for any broker).
    """

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()

    def subscribe(self, handler: Handler, *, types: Iterable[str] = ("*",)) -> Subscription:
        """Call ``handler(event)`` for every event whose type matches ``types``."""
        sub = Subscription(self, handler, tuple(types))
        with self._lock:
            self._subs.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def publish(self, events: Sequence[Event]) -> None:
        with self._lock:
            subs = list(self._subs)
        for event in events:
            for sub in subs:
                if matches_event_type(sub.types, event.type):
                    try:
                        sub.handler(event)
                    except Exception as exc:
                        raise DeliveryError(
                            f"handler {getattr(sub.handler, '__name__', sub.handler)!r} failed: "
                            f"{type(exc).__name__}",
                            event_id=event.id,
                            target="in-process",
                        ) from exc


class FanOut:
    """Publishes every batch to several publishers (all must succeed)."""

    def __init__(self, *publishers: Publisher) -> None:
        self.publishers = publishers

    def publish(self, events: Sequence[Event]) -> None:
        for p in self.publishers:
            p.publish(events)


class RedisStreamPublisher:
    """Appends events to a Redis Stream with ``XADD`` (one pipeline per batch).

    Each entry has the fields ``id`` (the idempotency key), ``type``,
    ``tenant``, ``aggregate``, ``sequence`` and ``data`` (the JSON envelope).

    Args:
        url: a ``redis://`` URL (ignored when ``client`` is given).
        client: an existing ``redis.Redis``.
        stream: the stream key; ``{tenant}`` in it makes one stream per tenant.
        maxlen: trim the stream to about this many entries (``None``: keep all).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        client: Any = None,
        stream: str = "crmcore:events",
        maxlen: int | None = None,
    ) -> None:
        if client is None:
            try:
                import redis
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ConfigurationError(
                    f"RedisStreamPublisher needs redis-py ({exc.name}); install crmcore[events]"
                ) from None
            client = redis.Redis.from_url(url)
        self.client = client
        self.stream = stream
        self.maxlen = maxlen

    def publish(self, events: Sequence[Event]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for e in events:
            pipe.xadd(
                self.stream.format(tenant=e.tenant_id),
                {
                    "id": str(e.id),
                    "type": e.type,
                    "tenant": e.tenant_id,
                    "aggregate": str(e.aggregate_id),
                    "sequence": str(e.sequence),
                    "data": e.to_json(),
                },
                maxlen=self.maxlen,
                approximate=True,
            )
        try:
            results = pipe.execute(raise_on_error=True)
        except Exception as exc:
            raise DeliveryError(
                f"redis XADD failed: {type(exc).__name__}: {exc}", target=self.stream
            ) from exc
        if len(results) != len(events):  # pragma: no cover - defensive
            raise DeliveryError("redis acknowledged fewer entries than sent", target=self.stream)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


_SUBJECT_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _token(text: str) -> str:
    return _SUBJECT_UNSAFE.sub("_", text) or "_"


class NatsJetStreamPublisher:
    """Publishes events to NATS JetStream and waits for every acknowledgement.

    Subjects are ``<prefix>.<tenant>.<event type>`` (``crmcore.acme.customer.updated``);
    the stream ``stream`` (created if missing) captures ``<prefix>.>``. Each
    message carries ``Nats-Msg-Id: <event id>``, so JetStream drops a
    re-delivery inside its duplicate window.

    The nats client is asynchronous; this publisher runs it on an event loop
    in a thread of its own, so the relay stays synchronous.

    Args:
        url: the server (``nats://127.0.0.1:4222``).
        stream: the JetStream stream name.
        prefix: the subject prefix.
        timeout: seconds to wait for a batch's acknowledgements.
    """

    def __init__(
        self,
        url: str = "nats://127.0.0.1:4222",
        *,
        stream: str = "CRMCORE",
        prefix: str = "crmcore",
        timeout: float = 10.0,
        connect_timeout: float = 2.0,
    ) -> None:
        try:
            import nats
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigurationError(
                f"NatsJetStreamPublisher needs nats-py ({exc.name}); install crmcore[events]"
            ) from None
        self.stream = stream
        self.prefix = prefix
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="crmcore-nats", daemon=True
        )
        self._thread.start()

        async def start() -> tuple[Any, Any]:
            nc = await nats.connect(
                url, connect_timeout=connect_timeout, max_reconnect_attempts=2, allow_reconnect=True
            )
            js = nc.jetstream()
            try:
                await js.stream_info(stream)
            except Exception:
                await js.add_stream(name=stream, subjects=[f"{prefix}.>"])
            return nc, js

        try:
            self._nc, self._js = self._run(start(), connect_timeout + timeout)
        except BaseException:
            self._stop_loop()
            raise

    def _run(self, coro: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def subject(self, event: Event) -> str:
        """The subject ``event`` is published on."""
        return f"{self.prefix}.{_token(event.tenant_id)}.{event.type}"

    def publish(self, events: Sequence[Event]) -> None:
        js = self._js

        async def send() -> None:
            futures = [
                await js.publish_async(
                    self.subject(e), e.to_json(), headers={"Nats-Msg-Id": str(e.id)}
                )
                for e in events
            ]
            await asyncio.gather(*futures)

        async def send_each() -> None:
            for e in events:
                await js.publish(
                    self.subject(e),
                    e.to_json(),
                    stream=self.stream,
                    headers={"Nats-Msg-Id": str(e.id)},
                )

        try:
            self._run(send() if hasattr(js, "publish_async") else send_each(), self.timeout)
        except Exception as exc:
            raise DeliveryError(
                f"JetStream publish failed: {type(exc).__name__}: {exc}", target=self.stream
            ) from exc

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def close(self) -> None:
        """Drain the connection and stop the loop thread."""
        try:
            self._run(self._nc.drain(), 5)
        finally:
            self._stop_loop()
