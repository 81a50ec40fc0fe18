"""Integration records: the transactional outbox, webhook subscriptions and their delivery log.

An :class:`OutboxEvent` is written by the outbox layer (:mod:`crmcore.events`)
in the same unit of work as the change it describes; a relay
(:mod:`crmcore.relay`) claims, publishes and marks it. A
:class:`WebhookSubscription` says which of a tenant's event types go to which
URL; every attempt to call it is a :class:`WebhookDelivery`.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from crmcore.model._base import Entity, _aware, _aware_opt

__all__ = ["OutboxEvent", "WebhookDelivery", "WebhookSubscription"]


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen(kw_only=True)
class OutboxEvent(Entity):
    """One domain event waiting in (or delivered from) the transactional outbox.

    The event's ``id`` is derived from (tenant, aggregate, sequence), so two
    units of work that race to append the same position of one aggregate's
    stream cannot both commit. ``id`` is the consumer's idempotency key.

    Attributes:
        event_type: ``"customer.updated"``, ``"opportunity.won"``...
        schema_version: the version of that type's payload schema.
        aggregate_type / aggregate_id: the record the event is about.
        sequence: 1, 2, 3... per aggregate, without gaps; delivery keeps it.
        occurred_at: when the unit of work that wrote it committed (its clock).
        correlation_id: the request or job of the unit of work.
        actor: the principal's user id.
        payload: plain JSON data of the event (never a protected value).
        status: ``"pending"``, ``"delivered"`` or ``"dead"`` (gave up).
        attempts / next_attempt_at / last_error: the relay's retry state.
        lease_owner / lease_until: which relay holds it (SQLite and memory).
        delivered_at: when a relay marked it delivered.
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = (
        "status",
        "aggregate_id",
        "event_type",
        "occurred_at",
    )
    __crm_references__: ClassVar[tuple[str, ...]] = ()

    event_type: str
    schema_version: int = 1
    aggregate_type: str
    aggregate_id: uuid.UUID
    sequence: int
    occurred_at: _dt.datetime = attrs.field(converter=_aware)
    correlation_id: str | None = None
    actor: str | None = None
    payload: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    last_error: str | None = None
    lease_owner: str | None = None
    lease_until: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    delivered_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)


@attrs.frozen(kw_only=True)
class WebhookSubscription(Entity):
    """A tenant's webhook: which event types to POST to ``url``, signed with ``secret``.

    ``event_types`` holds exact types (``"customer.created"``), prefixes
    ending in ``*`` (``"opportunity.*"``) or ``"*"`` for everything.
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("active",)

    url: str
    secret: str = attrs.field(repr=False)
    event_types: tuple[str, ...] = attrs.field(default=("*",), converter=_str_tuple)
    active: bool = True
    description: str | None = None

    def wants(self, event_type: str) -> bool:
        """Whether this subscription receives events of ``event_type``."""
        for pattern in self.event_types:
            if pattern == "*" or pattern == event_type:
                return True
            if pattern.endswith("*") and event_type.startswith(pattern[:-1]):
                return True
        return False


@attrs.frozen(kw_only=True)
class WebhookDelivery(Entity):
    """One attempt to deliver one event to one subscription (the delivery log)."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("subscription_id", "event_id", "ok")
    __crm_references__: ClassVar[tuple[str, ...]] = ()

    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    attempt: int
    ok: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: float | None = None
    at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
