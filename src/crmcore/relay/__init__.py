"""The relay: moves outbox events to brokers, webhooks and in-process subscribers.

::

    import crmcore
    from crmcore.relay import InProcessBus, Relay, RedisStreamPublisher

    crm = crmcore.connect("sqlite:///crm.db", events=True)
    Relay(crm, RedisStreamPublisher("redis://127.0.0.1:6379")).run()   # until stopped

Events go out at least once, in sequence order per record; consumers
de-duplicate on the event id. Claims use ``SELECT ... FOR UPDATE SKIP
LOCKED`` on PostgreSQL and MariaDB and a lease column elsewhere, so several relays
may run side by side.
"""

from __future__ import annotations

from crmcore.relay._publishers import (
    FanOut,
    InProcessBus,
    NatsJetStreamPublisher,
    RedisStreamPublisher,
    Subscription,
    matches_event_type,
)
from crmcore.relay._relay import Backoff, Publisher, Relay, RelayReport
from crmcore.relay._sources import (
    LeaseOutboxSource,
    LockingOutboxSource,
    OutboxSource,
    SqliteLeaseOutboxSource,
    deliverable,
    outbox_source_for,
)
from crmcore.relay._webhooks import WebhookPublisher, WebhookResponse, webhook_sessions

__all__ = [
    "Backoff",
    "FanOut",
    "InProcessBus",
    "LeaseOutboxSource",
    "LockingOutboxSource",
    "NatsJetStreamPublisher",
    "OutboxSource",
    "Publisher",
    "RedisStreamPublisher",
    "Relay",
    "RelayReport",
    "SqliteLeaseOutboxSource",
    "Subscription",
    "WebhookPublisher",
    "WebhookResponse",
    "deliverable",
    "matches_event_type",
    "outbox_source_for",
    "webhook_sessions",
]
