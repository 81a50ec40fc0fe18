"""The outbox layer: events in the unit of work, numbered per record, never leaking values."""

from __future__ import annotations

import os
import threading

import attrs
import pytest

import crmcore
from crmcore import Customer
from crmcore.crypto import Encryption, Keyring, StaticKeyProvider
from crmcore.errors import Conflict
from crmcore.events import OutboxLayer, emit, outbox_event_id
from crmcore.model import Account, Consent, ConsentStatus, Lead, Opportunity, OutboxEvent, Ticket
from crmcore.query import eq
from crmcore.services import convert_lead, merge, shred_subject, transition, unmerge


def outbox(crm: crmcore.Crm) -> list[OutboxEvent]:
    with crm.session() as s:
        rows = list(s.repo(OutboxEvent).stream())
    return sorted(rows, key=lambda e: (e.occurred_at, str(e.aggregate_id), e.sequence))


def of(crm: crmcore.Crm, record_id: object) -> list[tuple[str, int, dict[str, object]]]:
    return [
        (e.event_type, e.sequence, dict(e.payload))
        for e in sorted(outbox(crm), key=lambda e: e.sequence)
        if e.aggregate_id == record_id
    ]


def test_customer_writes_publish_field_names(crm: crmcore.Crm) -> None:
    with crm.session(correlation_id="req-1") as s:
        c = s.customers.add(Customer(first_name="伟", last_name="张", email="wei@example.cn"))
    with crm.session() as s:
        c = s.customers.update(attrs.evolve(c, email="wen@example.cn", first_name="文"))
        s.customers.update(attrs.evolve(c, tags={"vip"}))
    with crm.session() as s:
        s.customers.delete(c.id)
    with crm.session() as s:
        s.customers.restore(c.id)
    with crm.session() as s:
        s.customers.delete(c.id, hard=True)
    assert of(crm, c.id) == [
        (
            "customer.created",
            1,
            {"fields": ["email", "first_name", "last_name", "lifecycle_stage"]},
        ),
        ("customer.updated", 2, {"fields": ["email", "first_name"]}),
        ("customer.updated", 3, {"fields": ["tags"]}),
        ("customer.deleted", 4, {"hard": False}),
        ("customer.restored", 5, {}),
        ("customer.deleted", 6, {"hard": True}),
    ]
    first = outbox(crm)[0]
    assert first.correlation_id == "req-1" and first.actor == "system"
    assert first.id == outbox_event_id(first.tenant_id, "Customer", c.id, 1)
    assert first.status == "pending" and first.attempts == 0


def test_an_update_that_changes_nothing_publishes_nothing(crm: crmcore.Crm) -> None:
    with crm.session() as s:
        c = s.customers.add(Customer(first_name="A", last_name="B"))
        s.customers.update(c)
    assert [t for t, _, _ in of(crm, c.id)] == ["customer.created"]


def test_rolled_back_unit_writes_no_event(crm: crmcore.Crm) -> None:
    with pytest.raises(RuntimeError), crm.session() as s:
        s.customers.add(Customer(first_name="A", last_name="B"))
        raise RuntimeError("abort")
    s = crm.session()
    s.customers.add(Customer(first_name="C", last_name="D"))
    s.rollback()
    s.close()
    assert outbox(crm) == []


def test_opportunity_ticket_and_consent_events(crm: crmcore.Crm) -> None:
    with crm.session() as s:
        c = s.customers.add(Customer(first_name="A", last_name="B"))
        deal = s.opportunities.add(
            Opportunity(name="deal", customer_id=c.id, amount=crmcore.Money("100", "CNY"))
        )
        lost = s.opportunities.add(Opportunity(name="lost", customer_id=c.id))
        t = s.tickets.add(Ticket(subject="broken"))
        consent = s.consents.add(
            Consent(customer_id=c.id, purpose="marketing", status=ConsentStatus.GRANTED)
        )
    with crm.session() as s:
        deal = transition(s, deal, "advance")
        transition(s, deal, "win")
        transition(s, lost, "lose")
        t = s.tickets.update(attrs.evolve(t, assignee_id="agent-7"))
        t = s.tickets.update(attrs.evolve(t, status="open"))
        s.tickets.update(attrs.evolve(t, status="resolved"))
        s.consents.update(attrs.evolve(consent, status=ConsentStatus.WITHDRAWN))
    types = [(e, n) for e, n, _ in of(crm, deal.id)]
    assert types == [
        ("opportunity.stage_changed", 1),
        ("opportunity.stage_changed", 2),
        ("opportunity.won", 3),
    ]
    won = of(crm, deal.id)[2][2]
    assert won == {"stage": "closed_won", "amount": {"amount": "100", "currency": "CNY"}}
    assert [e for e, _, _ in of(crm, lost.id)] == ["opportunity.stage_changed", "opportunity.lost"]
    assert [(e, p) for e, _, p in of(crm, t.id)] == [
        ("ticket.created", {"status": "new", "priority": "normal", "channel": None}),
        ("ticket.assigned", {"from": None, "to": "agent-7"}),
        ("ticket.resolved", {"from": "open"}),
    ]
    consents = of(crm, consent.id)
    assert [p["status"] for _, _, p in consents] == ["granted", "withdrawn"]
    assert consents[1][2]["previous_status"] == "granted"
    assert consents[1][2]["customer_id"] == str(c.id)


def test_outbox_off_writes_nothing_and_emit_is_a_no_op(tmp_path: object) -> None:
    crm = crmcore.connect("memory://")
    with crm.session() as s:
        c = s.customers.add(Customer(first_name="A", last_name="B"))
        assert emit(s, "customer.merged", c, {}) is False
        assert s.repo(OutboxEvent).count() == 0


def test_layers_argument_turns_it_on_for_chosen_types() -> None:
    crm = crmcore.connect("memory://", layers=[OutboxLayer(entities={Ticket})])
    with crm.session() as s:
        s.customers.add(Customer(first_name="A", last_name="B"))
        t = s.tickets.add(Ticket(subject="x"))
        assert emit(s, "ticket.breached", t, {"target": "resolution"}) is True
    assert [e.event_type for e in outbox(crm)] == ["ticket.created", "ticket.breached"]
    assert [e.sequence for e in outbox(crm)] == [1, 2]


def test_use_cases_emit_their_events(crm: crmcore.Crm) -> None:
    with crm.session() as s:
        a = s.customers.add(Customer(first_name="Wei", last_name="Zhang", email="w@x.cn"))
        b = s.customers.add(Customer(first_name="Wei", last_name="Zhang", phone="+8613800138000"))
        lead = s.leads.add(Lead(first_name="Li", last_name="Na", email="li@na.cn", company="Na Co"))
    with crm.session() as s:
        result = merge(s, Customer, a.id, [b.id])
    with crm.session() as s:
        unmerge(s, result.merge_id)
    with crm.session() as s:
        lead = transition(s, lead, "contact")
        lead = transition(s, lead, "qualify")
        conv = convert_lead(s, lead)
    types = [t for t, _, _ in of(crm, a.id)]
    assert types == [
        "customer.created",
        "customer.updated",
        "customer.merged",
        "customer.updated",
        "customer.unmerged",
    ]
    merged = of(crm, a.id)[2][2]
    assert merged == {"merge_id": str(result.merge_id), "merged_ids": [str(b.id)]}
    assert [t for t, _, _ in of(crm, b.id)] == [
        "customer.created",
        "customer.deleted",
        "customer.restored",
    ]
    converted = [p for t, _, p in of(crm, lead.id) if t == "lead.converted"]
    assert converted == [
        {
            "customer_id": str(conv.customer.id),
            "account_id": str(conv.account.id) if conv.account else None,
            "opportunity_id": None,
            "existing_customer": False,
        }
    ]
    with crm.session() as s:
        assert s.repo(Account).count() == (1 if conv.account else 0)


def test_protected_values_never_reach_the_outbox() -> None:
    enc = Encryption(keyring=Keyring(StaticKeyProvider([os.urandom(32)])))
    crm = crmcore.connect("memory://", encryption=enc, events=True, audit=True)
    secret_id = "11010519491231002X"
    with crm.session() as s:
        c = s.customers.add(
            Customer(first_name="伟", last_name="张", email="wei@example.cn", national_id=secret_id)
        )
        c = s.customers.update(attrs.evolve(c, email="new-secret@example.cn"))
    with crm.session() as s:
        shred_subject(s, enc, c.id)
    rows = outbox(crm)
    text = repr([(e.payload, e.custom) for e in rows])
    for value in ("wei@example.cn", "new-secret@example.cn", secret_id, "伟", "张"):
        assert value not in text
    assert [e.event_type for e in rows] == [
        "customer.created",
        "customer.updated",
        "customer.erased",
    ]
    assert rows[1].payload == {"fields": ["email"]}
    assert rows[2].payload["keys_destroyed"] >= 1


def test_racing_units_cannot_both_take_a_sequence_number(crm: crmcore.Crm) -> None:
    with crm.session() as s:
        t = s.tickets.add(Ticket(subject="x"))
    first, second = crm.session(), crm.session()
    emit(first, "ticket.breached", t, {"target": "first_response"})
    emit(second, "ticket.breached", t, {"target": "resolution"})
    # first commits after second has numbered its event (2) and before second writes it
    second.before_commit(first.commit)
    with pytest.raises(Conflict, match="retry"):
        second.commit()
    first.close()
    second.close()
    assert [n for _, n, _ in of(crm, t.id)] == [1, 2]


def test_concurrent_writers_keep_sequences_gapless(tmp_path: object) -> None:
    crm = crmcore.connect(f"sqlite:///{tmp_path}/race.db", events=True)  # type: ignore[str-bytes-safe]
    with crm.session() as s:
        ids = [s.tickets.add(Ticket(subject=f"t{i}")).id for i in range(3)]

    def work() -> None:
        for n in range(15):
            for _attempt in range(50):
                try:
                    with crm.session() as s:
                        emit(s, "ticket.breached", (Ticket, ids[n % 3]), {"n": n})
                    break
                except Conflict:
                    continue

    threads = [threading.Thread(target=work) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for i in ids:
        assert [n for _, n, _ in of(crm, i)] == list(range(1, 1 + 1 + 15))
    with crm.session() as s:
        assert s.repo(OutboxEvent).count(eq("event_type", "ticket.breached")) == 45
