"""Webhooks against a local http.server: signed, retried after a 500, logged, per tenant."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

import crmcore
from crmcore import Customer, Principal
from crmcore.errors import ValidationError
from crmcore.events import EVENT_ID_HEADER, Event, verify_webhook
from crmcore.model import Ticket, WebhookDelivery
from crmcore.relay import Backoff, Relay, WebhookPublisher, webhook_sessions
from crmcore.services import subscribe_webhook, webhook_deliveries


class Receiver:
    """A local HTTP server: answers the statuses queued per path (then 200), keeps requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: dict[str, list[int]] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                queue = receiver.statuses.get(self.path, [])
                status = queue.pop(0) if queue else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_signed_delivery_retried_after_a_500_and_logged(
    crm: crmcore.Crm, receiver: Receiver
) -> None:
    with crm.session() as s:
        hook = subscribe_webhook(s, f"{receiver.url}/hook", ["customer.*"], secret="s3cret")
        subscribe_webhook(s, f"{receiver.url}/tickets", ["ticket.created"])
        c = s.customers.add(Customer(first_name="Wei", last_name="Zhang"))
    receiver.statuses["/hook"] = [500]
    waits: list[float] = []
    publisher = WebhookPublisher(
        webhook_sessions(crm), sleep=waits.append, backoff=Backoff(base=0.5, jitter=0)
    )
    assert Relay(crm, publisher).drain().delivered == 1
    assert [r[0] for r in receiver.requests] == [
        "/hook",
        "/hook",
    ]  # the ticket hook: not subscribed
    assert waits == [0.5]
    for _, headers, body in receiver.requests:
        verify_webhook("s3cret", body, headers)  # raises if the signature were wrong
        with pytest.raises(crmcore.errors.DeliveryError):
            verify_webhook("wrong", body, headers)
    event = Event.from_json(receiver.requests[1][2])
    assert event.type == "customer.created" and event.aggregate_id == c.id
    assert receiver.requests[1][1][EVENT_ID_HEADER] == str(event.id)
    with crm.session() as s:
        log = webhook_deliveries(s, hook.id)
    assert sorted((d.attempt, d.ok, d.status_code) for d in log) == [
        (1, False, 500),
        (2, True, 200),
    ]
    assert all(d.event_id == event.id for d in log)


def test_a_failing_subscription_is_retried_later_without_resending_to_the_others(
    crm: crmcore.Crm, receiver: Receiver
) -> None:
    import datetime as dt

    from crmcore.testing import FrozenClock

    with crm.session() as s:
        good = subscribe_webhook(s, f"{receiver.url}/good")
        bad = subscribe_webhook(s, f"{receiver.url}/bad")
        s.tickets.add(Ticket(subject="x"))
    receiver.statuses["/bad"] = [503] * 6  # fails the batch try and the one-by-one retry
    clock = FrozenClock(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    publisher = WebhookPublisher(webhook_sessions(crm), attempts=3, sleep=lambda _: None)
    relay = Relay(crm, publisher, clock=clock)
    report = relay.run_once()
    assert report.retried == 1
    # one-by-one retry after the batch failure: /bad three times twice, /good once
    assert [p for p, _, _ in receiver.requests].count("/good") == 1
    clock.advance(dt.timedelta(minutes=5))
    assert relay.drain().delivered == 1
    paths = [p for p, _, _ in receiver.requests]
    assert paths.count("/good") == 1 and paths.count("/bad") == 7
    with crm.session() as s:
        bad_log = webhook_deliveries(s, bad.id)
        assert [d.attempt for d in sorted(bad_log, key=lambda d: d.attempt)] == list(range(1, 8))
        assert len(webhook_deliveries(s, good.id)) == 1


def test_subscriptions_are_per_tenant(crm: crmcore.Crm, receiver: Receiver) -> None:
    with crm.session(Principal.system_principal("acme")) as s:
        subscribe_webhook(s, f"{receiver.url}/acme")
    with crm.session(Principal.system_principal("other")) as s:
        s.customers.add(Customer(first_name="A", last_name="B"))
    with crm.session(Principal.system_principal("acme")) as s:
        s.customers.add(Customer(first_name="C", last_name="D"))
    Relay(crm, WebhookPublisher(webhook_sessions(crm))).drain()
    assert len(receiver.requests) == 1
    assert Event.from_json(receiver.requests[0][2]).tenant_id == "acme"
    with crm.session(Principal.system_principal("other")) as s:
        assert s.repo(WebhookDelivery).count() == 0


def test_subscription_input_is_checked(crm: crmcore.Crm) -> None:
    with crm.session() as s:
        with pytest.raises(ValidationError, match="http"):
            subscribe_webhook(s, "ftp://example.com/x")
        with pytest.raises(ValidationError, match="event type"):
            subscribe_webhook(s, "https://example.com/x", [])
        sub = subscribe_webhook(s, "https://example.com/x", "ticket.*")
        assert sub.event_types == ("ticket.*",) and len(sub.secret) >= 32
        assert sub.wants("ticket.created") and not sub.wants("customer.created")
        assert sub.secret not in repr(sub)
