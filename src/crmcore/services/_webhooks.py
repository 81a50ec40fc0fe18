"""Webhook subscriptions: a tenant says which event types go to which URL."""

from __future__ import annotations

import secrets
import urllib.parse
import uuid
from collections.abc import Iterable

from crmcore.errors import ValidationError
from crmcore.model import WebhookDelivery, WebhookSubscription
from crmcore.storage.ports import UnitOfWorkContext

__all__ = ["subscribe_webhook", "webhook_deliveries"]


def subscribe_webhook(
    uow: UnitOfWorkContext,
    url: str,
    event_types: Iterable[str] = ("*",),
    *,
    secret: str | None = None,
    description: str | None = None,
) -> WebhookSubscription:
    """Add a webhook subscription in the unit's tenant.

    Args:
        uow: the unit of work.
        url: an ``http://`` or ``https://`` URL that receives the POSTs.
        event_types: exact types, ``"prefix.*"`` patterns or ``"*"``.
        secret: the HMAC key shared with the receiver (default: 32 random bytes, URL-safe).
        description: a note for people.

    Returns:
        The stored subscription (its ``secret`` is what the receiver verifies with).

    Raises:
        ValidationError: the URL is not http(s) or no event type is given.
    """
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValidationError.single("$.url", "invalid_url", "expected an http(s) URL")
    types = (event_types,) if isinstance(event_types, str) else tuple(event_types)
    if not types or any(not isinstance(t, str) or not t for t in types):
        raise ValidationError.single(
            "$.event_types", "invalid_event_types", "give at least one event type or '*'"
        )
    return uow.repo(WebhookSubscription).add(
        WebhookSubscription(
            url=url,
            secret=secret or secrets.token_urlsafe(32),
            event_types=types,
            description=description,
        )
    )


def webhook_deliveries(
    uow: UnitOfWorkContext, subscription_id: uuid.UUID, *, limit: int = 100
) -> list[WebhookDelivery]:
    """The newest delivery attempts of one subscription (the delivery log), newest first."""
    return list(
        uow.repo(WebhookDelivery)
        .find(order_by="-at", limit=limit, subscription_id=subscription_id)
        .items
    )
