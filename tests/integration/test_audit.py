"""The audit trail on every backend: entries per change, same transaction, tamper detection."""

from __future__ import annotations

import uuid

import attrs
import pytest

import crmcore
from crmcore import Customer, Principal
from crmcore.audit import GENESIS, AuditLayer, verify
from crmcore.errors import Conflict, PermissionDenied
from crmcore.model import AuditEntry
from crmcore.services import export_trail, field_history, history, verify_trail


@pytest.fixture
def audited(crm: crmcore.Crm) -> crmcore.Crm:
    """The backend's store with the audit layer (redacting national_id) around it."""
    redact = {"Customer": frozenset({"national_id"})}
    return crmcore.Crm(crm.store, layers=[AuditLayer(redact=redact)])


@pytest.fixture
def alice(tenant: str) -> Principal:
    return Principal(user_id="alice", tenant_id=tenant, roles={"admin"})


def test_every_change_appends_a_chained_entry(audited: crmcore.Crm, alice: Principal) -> None:
    with audited.session(alice, correlation_id="req-1") as s:
        c = s.customers.add(
            Customer(first_name="伟", last_name="张", national_id="11010519491231002X")
        )
    with audited.session(alice) as s:
        c2 = s.customers.update(
            attrs.evolve(c, first_name="伟伟", national_id="110105194912310037")
        )
        s.customers.delete(c.id)
    with audited.session(alice) as s:
        entries = history(s, Customer, c.id)
        assert [e.action for e in entries] == ["create", "update", "delete"]
        assert [e.seq for e in entries] == [1, 2, 3]
        assert entries[0].prev_hash == GENESIS
        assert entries[1].prev_hash == entries[0].hash
        assert entries[0].actor == "alice" and entries[0].correlation_id == "req-1"
        assert entries[1].changes["first_name"] == {"from": "伟", "to": "伟伟"}
        # the protected field is recorded as changed, never with its value
        assert entries[1].changes["national_id"] == {"changed": True, "redacted": True}
        assert "11010519491231002X" not in str(list(export_trail(s)))
        changes = field_history(s, Customer, c.id, "first_name")
        assert [(ch.before, ch.after) for ch in changes] == [(None, "伟"), ("伟", "伟伟")]
        assert verify_trail(s).ok
    assert c2.version == 2


def test_rolled_back_unit_of_work_leaves_no_entry(audited: crmcore.Crm, alice: Principal) -> None:
    with pytest.raises(RuntimeError), audited.session(alice) as s:
        s.customers.add(Customer(first_name="gone"))
        raise RuntimeError("boom")
    with audited.session(alice) as s:
        s.customers.add(Customer(first_name="kept"))
        s.rollback()
        s.customers.add(Customer(first_name="kept"))
    with audited.session(alice) as s:
        assert [e.changes["first_name"]["to"] for e in s.audit_entries.find(order_by="seq")] == [
            "kept"
        ]
        assert verify_trail(s).ok


def test_trail_is_read_only_through_the_session(audited: crmcore.Crm, alice: Principal) -> None:
    with audited.session(alice) as s:
        s.customers.add(Customer(first_name="a"))
    with audited.session(alice) as s:
        entry = s.audit_entries.find().items[0]
        with pytest.raises(PermissionDenied):
            s.audit_entries.update(attrs.evolve(entry, actor="mallory"))
        with pytest.raises(PermissionDenied):
            s.audit_entries.delete(entry.id)
        with pytest.raises(PermissionDenied):
            s.audit_entries.add(attrs.evolve(entry, id=uuid.uuid4()))


def _trail(audited: crmcore.Crm, alice: Principal) -> list[AuditEntry]:
    with audited.session(alice) as s:
        for i in range(4):
            s.customers.add(Customer(first_name=f"c{i}"))
    with audited.session(alice) as s:
        return list(s.audit_entries.find(order_by="seq"))


@pytest.mark.parametrize("field", ["actor", "action", "changes", "at", "record_id", "seq"])
def test_altering_any_entry_is_detected(audited: crmcore.Crm, alice: Principal, field: str) -> None:
    entries = _trail(audited, alice)
    e = entries[2]
    forged = {
        "actor": "mallory",
        "action": "erase",
        "changes": {"first_name": {"from": None, "to": "x"}},
        "at": e.at.replace(year=2000) if e.at else None,
        "record_id": uuid.uuid4(),
        "seq": 9,
    }[field]
    tampered = [*entries[:2], attrs.evolve(e, **{field: forged}), *entries[3:]]
    report = verify(tampered)
    assert not report.ok
    assert report.problems[0].seq in (3, 9)


def test_deleted_and_reordered_entries_are_detected(audited: crmcore.Crm, alice: Principal) -> None:
    entries = _trail(audited, alice)
    deleted = verify([entries[0], entries[1], entries[3]])
    assert not deleted.ok and deleted.problems[0].seq == 4
    swapped = verify([entries[0], entries[2], entries[1], entries[3]])
    assert not swapped.ok and swapped.problems[0].seq == 3
    assert verify(entries).ok
    assert "intact" in str(verify(entries))


def test_sequential_sessions_extend_one_chain(audited: crmcore.Crm, alice: Principal) -> None:
    s1, s2 = audited.session(alice), audited.session(alice)
    s1.customers.add(Customer(first_name="one"))
    s2.customers.add(Customer(first_name="two"))
    s1.commit()
    s2.commit()
    s1.close()
    s2.close()
    with audited.session(alice) as s:
        assert [e.seq for e in s.audit_entries.find(order_by="seq")] == [1, 2]
        assert verify_trail(s).ok


def test_racing_sessions_cannot_fork_the_chain(audited: crmcore.Crm, alice: Principal) -> None:
    s1, s2 = audited.session(alice), audited.session(alice)
    s1.customers.add(Customer(first_name="one"))
    s2.customers.add(Customer(first_name="two"))
    for hook in s2._before_commit:  # s2 stages its entry at seq 1 ...
        hook()
    s1.commit()  # ... but s1 commits seq 1 first
    with pytest.raises(Conflict):
        s2.commit()
    s1.close()
    s2.close()
    with audited.session(alice) as s:
        assert verify_trail(s).ok
        assert [c.first_name for c in s.customers.find()] == ["one"]
