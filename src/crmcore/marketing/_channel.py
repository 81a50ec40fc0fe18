"""The channel port: what a marketing send hands to e-mail, SMS or any other provider."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import attrs

from crmcore.model import Channel

__all__ = ["DeliveryReceipt", "MarketingChannel", "OutboundMessage"]


@attrs.frozen(kw_only=True)
class OutboundMessage:
    """One message to one recipient.

    Attributes:
        message_id: unique per message; a provider reports events against it.
        channel: the channel it goes out on.
        to: the recipient's address (e-mail, E.164 phone...).
        subject: subject line (e-mail) or None.
        body: the text, tracking links already in place.
        campaign_id / customer_id / variant: what the message belongs to.
        headers: extra transport headers (``List-Unsubscribe``...).
    """

    message_id: str
    channel: Channel
    to: str
    body: str
    subject: str | None = None
    campaign_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    variant: str | None = None
    sender: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict, hash=False)


@attrs.frozen(kw_only=True)
class DeliveryReceipt:
    """What a channel says about one message it was handed.

    ``accepted`` is true when the provider took the message; ``permanent`` marks
    a failure that retrying will not fix (a rejected address: a bounce).
    """

    message_id: str
    accepted: bool
    provider_id: str | None = None
    error: str | None = None
    permanent: bool = False
    attempts: int = 1


@runtime_checkable
class MarketingChannel(Protocol):
    """A provider that delivers messages of one channel (implementations: ``crmcore.channels``)."""

    channel: Channel

    def send(self, messages: Sequence[OutboundMessage]) -> list[DeliveryReceipt]:
        """Hand ``messages`` over; one receipt per message, in order (never raises per message)."""
        ...
