"""The event envelope every consumer sees, and the catalogue of event types.

An :class:`Event` is the published form of an :class:`crmcore.model.OutboxEvent`:
a versioned envelope (``"specversion": 1``) around a small payload. Payloads
name fields, stages and ids; they never carry a protected (encrypted) value
or any customer field value at all: a consumer that wants the record reads it.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from crmcore.errors import ValidationError
from crmcore.model import OutboxEvent

__all__ = ["ENVELOPE_VERSION", "EVENT_TYPES", "Event", "EventType", "event_type_info"]

#: the version of the envelope layout itself (the keys of :meth:`Event.to_dict`)
ENVELOPE_VERSION = 1


@attrs.frozen
class EventType:
    """One documented event type: its name, payload schema version and payload keys."""

    name: str
    version: int
    aggregate: str
    description: str
    payload: tuple[str, ...] = ()


_TYPES = [
    EventType("customer.created", 1, "Customer", "a customer was added (field names)", ("fields",)),
    EventType(
        "customer.updated", 1, "Customer", "fields of a customer changed (names only)", ("fields",)
    ),
    EventType("customer.deleted", 1, "Customer", "a customer was deleted", ("hard",)),
    EventType("customer.restored", 1, "Customer", "a soft delete was undone", ()),
    EventType(
        "customer.merged",
        1,
        "Customer",
        "records were merged into this survivor",
        ("merge_id", "merged_ids"),
    ),
    EventType(
        "customer.unmerged",
        1,
        "Customer",
        "a merge into this survivor was undone",
        ("merge_id", "restored_ids"),
    ),
    EventType(
        "customer.erased",
        1,
        "Customer",
        "protected fields were erased for good (crypto-shredding)",
        ("fields", "keys_destroyed"),
    ),
    EventType(
        "opportunity.stage_changed",
        1,
        "Opportunity",
        "an opportunity moved between stages",
        ("from", "to"),
    ),
    EventType("opportunity.won", 1, "Opportunity", "an opportunity was won", ("stage", "amount")),
    EventType(
        "opportunity.lost", 1, "Opportunity", "an opportunity was lost", ("stage", "lost_reason")
    ),
    EventType(
        "ticket.created", 1, "Ticket", "a ticket was opened", ("status", "priority", "channel")
    ),
    EventType("ticket.assigned", 1, "Ticket", "a ticket got an assignee", ("from", "to")),
    EventType("ticket.resolved", 1, "Ticket", "a ticket was resolved", ("from",)),
    EventType(
        "ticket.breached", 1, "Ticket", "a ticket missed an SLA target", ("target", "due_at")
    ),
    EventType(
        "consent.changed",
        1,
        "Consent",
        "a consent was given, changed or withdrawn",
        ("customer_id", "purpose", "channel", "status", "previous_status"),
    ),
    EventType(
        "lead.converted",
        1,
        "Lead",
        "a lead became a customer (and maybe an account and a deal)",
        ("customer_id", "account_id", "opportunity_id", "existing_customer"),
    ),
    EventType("campaign.sent", 1, "Campaign", "a campaign was sent", ("recipients",)),
    EventType(
        "ticket.survey_requested",
        1,
        "Ticket",
        "a satisfaction survey is due for a resolved ticket",
        ("survey_id", "kind", "customer_id", "agent_id", "team_id", "scale"),
    ),
]

#: every documented event type by name
EVENT_TYPES: Mapping[str, EventType] = {t.name: t for t in _TYPES}


def event_type_info(name: str) -> EventType | None:
    """The catalogue entry of ``name`` (``None`` for an embedder's own type)."""
    return EVENT_TYPES.get(name)


def _iso(value: _dt.datetime) -> str:
    return value.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _parse_time(value: object) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value
    if not isinstance(value, str):
        raise ValidationError.single("$.occurred_at", "invalid_datetime", "expected ISO 8601 text")
    try:
        parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError.single(
            "$.occurred_at", "invalid_datetime", "expected ISO 8601 text"
        ) from None
    if parsed.tzinfo is None:
        raise ValidationError.single("$.occurred_at", "naive_datetime", "needs a UTC offset")
    return parsed


@attrs.frozen(kw_only=True)
class Event:
    """A published domain event (envelope version :data:`ENVELOPE_VERSION`).

    Attributes:
        id: unique per event; consumers use it as their idempotency key.
        type: ``"customer.updated"``... (see :data:`EVENT_TYPES`).
        schema_version: the version of ``type``'s payload schema.
        tenant_id: the tenant whose data changed.
        aggregate_type / aggregate_id: the record the event is about.
        sequence: 1, 2, 3... per aggregate; delivery keeps this order.
        occurred_at: when the change was committed (aware UTC).
        correlation_id: ties the events of one request or job together.
        actor: who made the change (a user id).
        payload: the event's facts (plain JSON data, never protected values).
    """

    id: uuid.UUID
    type: str
    schema_version: int
    tenant_id: str
    aggregate_type: str
    aggregate_id: uuid.UUID
    sequence: int
    occurred_at: _dt.datetime
    correlation_id: str | None = None
    actor: str | None = None
    payload: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    @property
    def idempotency_key(self) -> str:
        """The key a consumer de-duplicates on (the event id as text)."""
        return str(self.id)

    @classmethod
    def from_outbox(cls, row: OutboxEvent) -> Event:
        """The envelope of a stored outbox row."""
        return cls(
            id=row.id,
            type=row.event_type,
            schema_version=row.schema_version,
            tenant_id=row.tenant_id,
            aggregate_type=row.aggregate_type,
            aggregate_id=row.aggregate_id,
            sequence=row.sequence,
            occurred_at=row.occurred_at,
            correlation_id=row.correlation_id,
            actor=row.actor,
            payload=dict(row.payload),
        )

    def to_dict(self) -> dict[str, Any]:
        """The envelope as plain JSON data (the wire format)."""
        return {
            "specversion": ENVELOPE_VERSION,
            "id": str(self.id),
            "type": self.type,
            "schema_version": self.schema_version,
            "tenant_id": self.tenant_id,
            "aggregate": {
                "type": self.aggregate_type,
                "id": str(self.aggregate_id),
                "sequence": self.sequence,
            },
            "occurred_at": _iso(self.occurred_at),
            "correlation_id": self.correlation_id,
            "actor": self.actor,
            "payload": dict(self.payload),
        }

    def to_json(self) -> bytes:
        """The wire format as compact UTF-8 JSON."""
        return json.dumps(
            self.to_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True
        ).encode("utf-8")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Read an envelope back (what a consumer receives).

        Raises:
            ValidationError: not an envelope of a version this code reads.
        """
        version = data.get("specversion")
        if version != ENVELOPE_VERSION:
            raise ValidationError.single(
                "$.specversion",
                "unsupported_version",
                f"this crmcore reads envelope version {ENVELOPE_VERSION}",
                version,
            )
        try:
            aggregate = data["aggregate"]
            return cls(
                id=uuid.UUID(str(data["id"])),
                type=str(data["type"]),
                schema_version=int(data["schema_version"]),
                tenant_id=str(data["tenant_id"]),
                aggregate_type=str(aggregate["type"]),
                aggregate_id=uuid.UUID(str(aggregate["id"])),
                sequence=int(aggregate["sequence"]),
                occurred_at=_parse_time(data["occurred_at"]),
                correlation_id=data.get("correlation_id"),
                actor=data.get("actor"),
                payload=dict(data.get("payload") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError.single(
                "$", "invalid_event", f"not an event envelope ({type(exc).__name__}: {exc})"
            ) from None

    @classmethod
    def from_json(cls, data: bytes | str) -> Event:
        """Read the wire format back."""
        try:
            parsed = json.loads(data)
        except ValueError:
            raise ValidationError.single("$", "invalid_json", "event is not JSON") from None
        if not isinstance(parsed, Mapping):
            raise ValidationError.single("$", "invalid_event", "event JSON is not an object")
        return cls.from_dict(parsed)
