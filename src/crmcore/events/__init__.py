"""Domain events: the envelope, the transactional outbox layer, webhook signatures.

Turn the outbox on with ``crmcore.connect(url, events=True)`` (or
``layers=[OutboxLayer()]``): customer, opportunity, ticket and consent writes
then append :class:`crmcore.model.OutboxEvent` rows in the same unit of work,
and use cases add theirs with :func:`emit`. A relay (:mod:`crmcore.relay`)
publishes them at least once, in order per record, as :class:`Event` envelopes.
"""

from __future__ import annotations

from crmcore.events._outbox import (
    DESCRIBERS,
    Outbox,
    OutboxingRepository,
    OutboxLayer,
    emit,
    outbox_event_id,
)
from crmcore.events._schema import ENVELOPE_VERSION, EVENT_TYPES, Event, EventType, event_type_info
from crmcore.events._signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    REPLAY_WINDOW,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_webhook,
    verify_webhook,
)

__all__ = [
    "DESCRIBERS",
    "ENVELOPE_VERSION",
    "EVENT_ID_HEADER",
    "EVENT_TYPES",
    "EVENT_TYPE_HEADER",
    "REPLAY_WINDOW",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Event",
    "EventType",
    "Outbox",
    "OutboxLayer",
    "OutboxingRepository",
    "emit",
    "event_type_info",
    "outbox_event_id",
    "sign_webhook",
    "verify_webhook",
]
