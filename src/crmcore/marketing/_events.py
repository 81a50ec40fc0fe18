"""Delivery and engagement events from a channel provider, checked before they are stored."""

from __future__ import annotations

import datetime as _dt
import enum
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from crmcore.errors import ValidationError
from crmcore.model import Money

__all__ = ["EVENT_ORDER", "IncomingEvent", "MarketingEventKind", "parse_event"]


class MarketingEventKind(str, enum.Enum):
    """What happened to a message (or because of it)."""

    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    CONVERTED = "converted"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


#: the funnel order of kinds; a later-stage event implies the earlier ones happened,
#: whatever order the provider reports them in
EVENT_ORDER: Mapping[str, int] = {
    "sent": 0,
    "delivered": 1,
    "opened": 2,
    "clicked": 3,
    "converted": 4,
    "unsubscribed": 5,
    "bounced": 5,
    "complained": 5,
}


@attrs.frozen(kw_only=True)
class IncomingEvent:
    """One provider event, checked.

    Attributes:
        provider_event_id: the provider's id of the event (ingestion is idempotent by it).
        kind: what happened.
        campaign_id / customer_id: whom it concerns.
        occurred_at: when, aware UTC.
        variant / link / address: the variant, the clicked link, the recipient address.
        value: money a ``converted`` event brought.
        permanent: for ``bounced``, a hard bounce (the address is suppressed).
    """

    provider_event_id: str
    kind: MarketingEventKind
    campaign_id: uuid.UUID
    customer_id: uuid.UUID
    occurred_at: _dt.datetime
    variant: str | None = None
    link: str | None = None
    address: str | None = None
    value: Money | None = None
    permanent: bool = True


def _uuid(data: Mapping[str, Any], key: str, i: int) -> uuid.UUID:
    v = data.get(key)
    if isinstance(v, uuid.UUID):
        return v
    try:
        return uuid.UUID(str(v))
    except ValueError:
        raise ValidationError.single(f"$[{i}].{key}", "invalid", "expected a UUID") from None


def parse_event(data: IncomingEvent | Mapping[str, Any], index: int = 0) -> IncomingEvent:
    """An :class:`IncomingEvent` from a provider payload (a mapping) or as is.

    Raises:
        ValidationError: a missing id, an unknown kind, a bad UUID or a naive time,
            naming the event's position.
    """
    if isinstance(data, IncomingEvent):
        return data
    if not isinstance(data, Mapping):
        raise ValidationError.single(f"$[{index}]", "invalid", "an event must be a mapping")
    pid = data.get("provider_event_id") or data.get("id")
    if not isinstance(pid, str) or not pid or len(pid) > 200:
        raise ValidationError.single(
            f"$[{index}].provider_event_id", "required", "an event needs a provider id"
        )
    try:
        kind = MarketingEventKind(data.get("kind"))
    except ValueError:
        allowed = ", ".join(k.value for k in MarketingEventKind)
        raise ValidationError.single(
            f"$[{index}].kind", "invalid", f"kind must be one of {allowed}"
        ) from None
    at = data.get("occurred_at")
    if isinstance(at, str):
        try:
            at = _dt.datetime.fromisoformat(at)
        except ValueError:
            at = None
    if not isinstance(at, _dt.datetime) or at.tzinfo is None:
        raise ValidationError.single(
            f"$[{index}].occurred_at", "invalid", "an aware datetime is needed"
        )
    value = data.get("value")
    if value is not None and not isinstance(value, Money):
        if isinstance(value, Mapping):
            value = Money(Decimal(str(value["amount"])), str(value["currency"]))
        else:
            raise ValidationError.single(f"$[{index}].value", "invalid", "value must be Money")
    return IncomingEvent(
        provider_event_id=pid,
        kind=kind,
        campaign_id=_uuid(data, "campaign_id", index),
        customer_id=_uuid(data, "customer_id", index),
        occurred_at=at.astimezone(_dt.timezone.utc),
        variant=data.get("variant"),
        link=data.get("link"),
        address=data.get("address"),
        value=value,
        permanent=bool(data.get("permanent", True)),
    )
