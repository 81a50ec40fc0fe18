"""Events: the transactional outbox and an in-process subscriber (no server needed).

    python examples/events.py

Changes write events in the same unit of work (a rolled-back session writes
none); a relay delivers them in order per record, retrying a failing
consumer with backoff; the consumer de-duplicates on the event id.
"""

from __future__ import annotations

import datetime as dt

import attrs

import crmcore
from crmcore.events import Event, emit
from crmcore.model import Opportunity, Ticket
from crmcore.relay import Backoff, InProcessBus, Relay
from crmcore.services import merge, transition
from crmcore.testing import FrozenClock


def main() -> None:
    clock = FrozenClock(dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc))
    crm = crmcore.connect("memory://", events=True, clock=clock)  # or sqlite:///crm.db

    with crm.session(correlation_id="import-42") as s:
        wei = s.customers.add(
            crmcore.Customer(first_name="伟", last_name="张", email="wei@example.cn")
        )
        dup = s.customers.add(
            crmcore.Customer(first_name="伟", last_name="张", phone="13800138000")
        )
        deal = s.opportunities.add(Opportunity(name="年度合同", customer_id=wei.id))
        ticket = s.tickets.add(Ticket(subject="无法登录"))
    with crm.session() as s:
        s.customers.update(attrs.evolve(s.customers.get(wei.id), email="zhang.wei@example.cn"))
        transition(s, deal, "advance")
        s.tickets.update(attrs.evolve(s.tickets.get(ticket.id), assignee_id="agent-7"))
        emit(s, "ticket.breached", ticket, {"target": "first_response"})
        merge(s, crmcore.Customer, wei.id, [dup.id])
    try:
        with crm.session() as s:
            s.customers.add(crmcore.Customer(first_name="Never", last_name="Committed"))
            raise RuntimeError("rolled back: its event is never written")
    except RuntimeError:
        pass

    handled: set[str] = set()
    flaky = {"left": 2}  # the batch attempt and the one-by-one retry

    def crm_sync(event: Event) -> None:
        """A consumer: idempotent on the event id; busy when the first breach comes."""
        if event.type == "ticket.breached" and flaky["left"]:
            flaky["left"] -= 1
            raise ConnectionError("downstream system busy")
        if event.idempotency_key in handled:
            return
        handled.add(event.idempotency_key)
        kind = f"{event.aggregate_type} #{event.sequence}"
        print(f"  {kind:<15} {event.type:<26} {dict(event.payload)}")

    bus = InProcessBus()
    bus.subscribe(crm_sync)
    relay = Relay(crm, bus, clock=clock, backoff=Backoff(base=30, jitter=0))
    print("first pass:")
    first = relay.drain()
    print(f"-> delivered {first.delivered}, retrying {first.retried}: {relay.counts()}")
    clock.advance(dt.timedelta(seconds=31))
    print("after the backoff:")
    second = relay.drain()
    print(f"-> delivered {second.delivered}: {relay.counts()}")
    crm.close()


if __name__ == "__main__":
    main()
