"""Webhooks: POST each event to the tenant's subscriptions, signed, retried, logged.

Every request carries the JSON envelope as its body and the headers of
:mod:`crmcore.events` (``X-Crmcore-Signature: v1=<HMAC-SHA256 hex>`` over
``"<timestamp>.<body>"``, ``X-Crmcore-Timestamp``, ``X-Crmcore-Event-Id``,
``X-Crmcore-Event-Type``); a receiver checks them with
:func:`crmcore.events.verify_webhook`. A subscription that does not answer
2xx is retried with exponential backoff; every attempt is a
:class:`crmcore.model.WebhookDelivery` row (the delivery log). When a
subscription still fails, the publisher raises, so the relay retries the
event later, skipping the subscriptions that already have it.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from crmcore.errors import DeliveryError
from crmcore.events import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Event,
    sign_webhook,
)
from crmcore.model import Principal, WebhookDelivery, WebhookSubscription, utcnow
from crmcore.relay._relay import Backoff
from crmcore.storage.ports import UnitOfWorkContext

__all__ = ["WebhookPublisher", "WebhookResponse", "webhook_sessions"]

#: opens a unit of work in a tenant (``webhook_sessions(crm)`` makes one)
Sessions = Callable[[str], AbstractContextManager[UnitOfWorkContext]]


class WebhookResponse:
    """What one HTTP attempt got: a status code, or an error text."""

    def __init__(self, status: int | None, error: str | None = None) -> None:
        self.status = status
        self.error = error

    @property
    def ok(self) -> bool:
        """Whether the receiver answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


#: sends one request: (url, body, headers, timeout) -> response
Sender = Callable[[str, bytes, dict[str, str], float], WebhookResponse]


def _urllib_send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> WebhookResponse:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return WebhookResponse(int(response.status))
    except urllib.error.HTTPError as exc:
        return WebhookResponse(int(exc.code), f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return WebhookResponse(None, f"{type(exc).__name__}: {exc}"[:300])


def webhook_sessions(crm: Any) -> Sessions:
    """Units of work for the publisher on ``crm``: the system principal of each tenant."""

    def open_session(tenant_id: str) -> AbstractContextManager[UnitOfWorkContext]:
        session: AbstractContextManager[UnitOfWorkContext] = crm.session(
            Principal.system_principal(tenant_id, name="crmcore-webhooks")
        )
        return session

    return open_session


class WebhookPublisher:
    """A relay publisher that delivers each event to the matching webhook subscriptions.

    Args:
        sessions: opens a unit of work in a tenant (``webhook_sessions(crm)``).
        attempts: tries per subscription and event within one publish.
        backoff: delays between those tries.
        timeout: seconds per HTTP request.
        send: the HTTP call (default: ``urllib``); inject one for tests.
        clock: Unix seconds for the signed timestamp.
        sleep: waits between tries.
    """

    def __init__(
        self,
        sessions: Sessions,
        *,
        attempts: int = 3,
        backoff: Backoff | None = None,
        timeout: float = 5.0,
        send: Sender | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sessions = sessions
        self.attempts = attempts
        self.backoff = backoff or Backoff(base=0.5, cap=10.0, jitter=0.0)
        self.timeout = timeout
        self.send = send or _urllib_send
        self.clock = clock
        self.sleep = sleep

    def _targets(self, event: Event) -> tuple[list[WebhookSubscription], dict[Any, int]]:
        with self.sessions(event.tenant_id) as s:
            subs = [
                sub
                for sub in s.repo(WebhookSubscription).stream(active=True)
                if sub.wants(event.type)
            ]
            tries: dict[Any, int] = {}
            done: set[Any] = set()
            for d in s.repo(WebhookDelivery).stream(event_id=event.id):
                tries[d.subscription_id] = max(tries.get(d.subscription_id, 0), d.attempt)
                if d.ok:
                    done.add(d.subscription_id)
        return [sub for sub in subs if sub.id not in done], tries

    def _log(
        self, event: Event, sub: WebhookSubscription, attempt: int, got: WebhookResponse, ms: float
    ) -> None:
        with self.sessions(event.tenant_id) as s:
            s.repo(WebhookDelivery).add(
                WebhookDelivery(
                    subscription_id=sub.id,
                    event_id=event.id,
                    event_type=event.type,
                    attempt=attempt,
                    ok=got.ok,
                    status_code=got.status,
                    error=None if got.ok else (got.error or f"HTTP {got.status}"),
                    duration_ms=round(ms, 3),
                    at=utcnow(),
                )
            )

    def deliver(self, event: Event, sub: WebhookSubscription, first_attempt: int = 1) -> bool:
        """POST ``event`` to one subscription, retrying; every attempt is logged."""
        body = event.to_json()
        for n in range(self.attempts):
            if n:
                self.sleep(self.backoff.delay(n))
            stamp = int(self.clock())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "crmcore-webhooks/1",
                SIGNATURE_HEADER: sign_webhook(sub.secret, body, stamp),
                TIMESTAMP_HEADER: str(stamp),
                EVENT_ID_HEADER: str(event.id),
                EVENT_TYPE_HEADER: event.type,
            }
            started = time.perf_counter()
            got = self.send(sub.url, body, headers, self.timeout)
            self._log(event, sub, first_attempt + n, got, (time.perf_counter() - started) * 1000)
            if got.ok:
                return True
        return False

    def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            subs, tries = self._targets(event)
            failed = [s.url for s in subs if not self.deliver(event, s, tries.get(s.id, 0) + 1)]
            if failed:
                raise DeliveryError(
                    f"{len(failed)} webhook(s) did not accept it",
                    event_id=event.id,
                    target=", ".join(failed),
                )
