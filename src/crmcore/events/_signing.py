"""Webhook signatures: HMAC-SHA256 over ``"<timestamp>.<body>"``, checked within a replay window.

A webhook request carries the headers :data:`SIGNATURE_HEADER`
(``v1=<hex>``), :data:`TIMESTAMP_HEADER` (Unix seconds), the event id and
type. A receiver checks it with :func:`verify_webhook`::

    from crmcore.events import verify_webhook

    verify_webhook(secret, request_body, request_headers)  # raises DeliveryError if not genuine
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from crmcore.errors import DeliveryError

__all__ = [
    "EVENT_ID_HEADER",
    "EVENT_TYPE_HEADER",
    "REPLAY_WINDOW",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "sign_webhook",
    "verify_webhook",
]

SIGNATURE_HEADER = "X-Crmcore-Signature"
TIMESTAMP_HEADER = "X-Crmcore-Timestamp"
EVENT_ID_HEADER = "X-Crmcore-Event-Id"
EVENT_TYPE_HEADER = "X-Crmcore-Event-Type"
#: how old (or how far in the future) a signed timestamp may be, in seconds
REPLAY_WINDOW = 300


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign_webhook(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (``"v1=<hex>"``)."""
    mac = hmac.new(_key(secret), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def verify_webhook(
    secret: str | bytes,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float | None = None,
    window: int = REPLAY_WINDOW,
) -> int:
    """Check a webhook request's signature and freshness.

    Args:
        secret: the subscription's secret.
        body: the raw request body, exactly as received.
        headers: the request headers (any case).
        now: the receiver's time in Unix seconds (default: the clock).
        window: the replay window in seconds.

    Returns:
        The signed timestamp.

    Raises:
        DeliveryError: a header is missing, the timestamp is outside the
            window (a replay), or the signature does not match.
    """
    stamp = _header(headers, TIMESTAMP_HEADER)
    given = _header(headers, SIGNATURE_HEADER)
    if stamp is None or given is None:
        raise DeliveryError("the signature or timestamp header is missing")
    try:
        ts = int(stamp)
    except ValueError:
        raise DeliveryError("the timestamp header is not a number") from None
    current = time.time() if now is None else now
    if abs(current - ts) > window:
        raise DeliveryError(f"the signed timestamp is outside the {window} s replay window")
    expected = sign_webhook(secret, body, ts)
    candidates = [part.strip() for part in given.split(",")]
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise DeliveryError("the signature does not match the body")
    return ts
