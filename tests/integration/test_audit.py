"""The audit trail on every backend: entries per change, same transaction, tamper detection."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import attrs
import pytest

import crmcore
from crmcore import Customer, Principal
from crmcore.audit import (
    GENESIS,
    AuditLayer,
    FileCheckpointStore,
    MemoryCheckpointStore,
    entry_hash,
    is_keyed,
    note,
    verify,
)
from crmcore.errors import Conflict, PermissionDenied
from crmcore.model import AuditEntry
from crmcore.query import eq
from crmcore.services import checkpoint, export_trail, field_history, history, verify_trail


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


# --- keyed chain, checkpoints, truncation and rewriting (issue #13) -----------------------

KEY = b"k" * 32


def _layered(crm: crmcore.Crm, **kw: object) -> crmcore.Crm:
    return crmcore.Crm(crm.store, layers=[AuditLayer(**kw)])  # type: ignore[arg-type]


def _write(crm: crmcore.Crm, alice: Principal, n: int) -> None:
    for i in range(n):
        with crm.session(alice) as s:
            s.customers.add(Customer(first_name=f"c{i}"))


def _entries(crm: crmcore.Crm, alice: Principal) -> list[AuditEntry]:
    with crm.session(alice) as s:
        return list(s.inner(AuditEntry).find(eq("tenant_id", alice.tenant_id), order_by="seq"))


def _rewrite_from(crm: crmcore.Crm, alice: Principal, seq: int, actor: str) -> None:
    """What an attacker with table access does: edit an entry, recompute hashes (no key)."""
    entries = _entries(crm, alice)
    prev = entries[seq - 2].hash if seq > 1 else GENESIS
    with crm.session(alice) as s:
        repo = s.inner(AuditEntry)
        for e in entries[seq - 1 :]:
            forged = attrs.evolve(e, prev_hash=prev, actor=actor if e.seq == seq else e.actor)
            forged = attrs.evolve(forged, hash=entry_hash(forged))
            repo.update(forged)
            prev = forged.hash


def test_keyed_chain_verifies_and_says_so(crm: crmcore.Crm, alice: Principal) -> None:
    keyed = _layered(crm, key=KEY)
    _write(keyed, alice, 2)
    entries = _entries(keyed, alice)
    assert all(is_keyed(e.hash) for e in entries)
    with keyed.session(alice) as s:
        report = verify_trail(s, key=KEY)
        assert report.ok and report.keyed and "keyed" in str(report)
        without = verify_trail(s)
        assert {"key_required"} == without.kinds


def test_unkeyed_chain_switches_to_keyed_never_back(crm: crmcore.Crm, alice: Principal) -> None:
    _write(_layered(crm), alice, 2)
    keyed = _layered(crm, key=KEY)
    _write(keyed, alice, 2)
    with keyed.session(alice) as s:
        report = verify_trail(s, key=KEY)
        assert report.ok and report.keyed
    _write(_layered(crm), alice, 1)  # someone appends without the key
    with keyed.session(alice) as s:
        report = verify_trail(s, key=KEY)
        assert {"downgrade"} == report.kinds and report.problems[0].seq == 5


def test_unkeyed_report_says_unkeyed(audited: crmcore.Crm, alice: Principal) -> None:
    _write(audited, alice, 1)
    with audited.session(alice) as s:
        report = verify_trail(s)
        assert report.ok and not report.keyed and "unkeyed" in str(report)


def test_rewrite_with_recomputed_hashes_is_detected_by_the_keyed_chain(
    crm: crmcore.Crm, alice: Principal
) -> None:
    keyed = _layered(crm, key=KEY)
    _write(keyed, alice, 4)
    _rewrite_from(keyed, alice, 3, "mallory")
    with keyed.session(alice) as s:
        report = verify_trail(s, key=KEY)
        assert "downgrade" in report.kinds
        assert report.problems[0].seq == 3


def test_rewrite_unkeyed_is_detected_by_a_checkpoint(crm: crmcore.Crm, alice: Principal) -> None:
    store = MemoryCheckpointStore()
    layered = _layered(crm, checkpoints=store)
    _write(layered, alice, 4)
    cp = store.latest(alice.tenant_id)
    assert cp is not None and cp.seq == 4 and cp.valid()
    with layered.session(alice) as s:
        assert verify_trail(s).ok  # the chain alone cannot see what comes next
    _rewrite_from(layered, alice, 2, "mallory")
    with layered.session(alice) as s:
        # the chain alone sees only the bumped bookkeeping columns of the updated rows
        assert {"unhashed"} == verify_trail(s).kinds
        report = verify_trail(s, checkpoints=store)
        assert {"rewritten", "unhashed"} == report.kinds
        assert [p.seq for p in report.problems if p.kind == "rewritten"] == [4]


def test_tail_deletion_is_truncation(crm: crmcore.Crm, alice: Principal, tmp_path: Path) -> None:
    store = FileCheckpointStore(tmp_path / "audit.jsonl")
    layered = _layered(crm, key=KEY, checkpoints=store)
    _write(layered, alice, 4)
    entries = _entries(layered, alice)
    with layered.session(alice) as s:
        s.inner(AuditEntry).delete(entries[3].id)
        s.inner(AuditEntry).delete(entries[2].id)
    with layered.session(alice) as s:
        assert verify_trail(s, key=KEY).ok  # a shorter, intact chain
        report = verify_trail(s, key=KEY, checkpoints=store)
        assert {"truncated"} == report.kinds
        assert report.problems[0].seq == 4 and "#3..#4" in report.problems[0].reason


def test_soft_deleting_the_last_entries_is_truncation(crm: crmcore.Crm, alice: Principal) -> None:
    store = MemoryCheckpointStore()
    layered = _layered(crm, checkpoints=store)
    _write(layered, alice, 3)
    last = _entries(layered, alice)[-1]
    with layered.session(alice) as s:
        s.inner(AuditEntry).update(attrs.evolve(last, deleted_at=last.at))
    with layered.session(alice) as s:
        report = verify_trail(s, checkpoints=store)
        assert {"truncated"} == report.kinds and report.problems[0].seq == 3


def test_explicit_checkpoint_and_an_edited_checkpoint_file(
    crm: crmcore.Crm, alice: Principal, tmp_path: Path
) -> None:
    keyed = _layered(crm, key=KEY)
    _write(keyed, alice, 2)
    store = FileCheckpointStore(tmp_path / "cp.jsonl")
    with keyed.session(alice) as s:
        cp = checkpoint(s, store, key=KEY)
        assert cp is not None and cp.seq == 2
        assert verify_trail(s, key=KEY, checkpoints=store).ok
    # the attacker truncates the table and edits the checkpoint to match
    entries = _entries(keyed, alice)
    with keyed.session(alice) as s:
        s.inner(AuditEntry).delete(entries[1].id)
    lines = store.path.read_text().splitlines()
    data = json.loads(lines[-1])
    data.update(seq=1, head=entries[0].hash)
    store.path.write_text(json.dumps(data) + "\n")
    with keyed.session(alice) as s:
        report = verify_trail(s, key=KEY, checkpoints=store)
        assert {"checkpoint"} == report.kinds
        assert "signature" in str(report)


def test_note_records_an_action_that_is_not_a_write(
    audited: crmcore.Crm, crm: crmcore.Crm, alice: Principal
) -> None:
    rid = uuid.uuid4()
    with audited.session(alice) as s:
        assert note(s, "shred", Customer, rid, {"subject_key": {"shredded": True}})
    with audited.session(alice) as s:
        [entry] = history(s, Customer, rid)
        assert entry.action == "shred" and entry.changes == {"subject_key": {"shredded": True}}
        assert verify_trail(s).ok
    plain = crmcore.Crm(crm.store)
    with plain.session(alice) as s:
        assert not note(s, "shred", Customer, rid)


def test_per_tenant_keys(crm: crmcore.Crm, alice: Principal) -> None:
    bob = Principal(user_id="bob", tenant_id=f"{alice.tenant_id}-b", roles={"admin"})
    keys = {alice.tenant_id: KEY, bob.tenant_id: b"b" * 32}
    layered = _layered(crm, key=keys.get)
    _write(layered, alice, 1)
    _write(layered, bob, 1)
    with layered.session(alice) as s:
        assert verify_trail(s, key=KEY).ok
        assert {"altered"} == verify_trail(s, key=keys[bob.tenant_id]).kinds
    with layered.session(bob) as s:
        assert verify_trail(s, key=keys[bob.tenant_id]).ok


def test_unhashed_columns_are_checked(audited: crmcore.Crm, alice: Principal) -> None:
    entries = _trail(audited, alice)
    e = entries[1]
    later = e.at.replace(year=2099) if e.at else None
    for forged in (attrs.evolve(e, updated_at=later), attrs.evolve(e, version=3)):
        report = verify([entries[0], forged, *entries[2:]])
        assert [(p.kind, p.seq) for p in report.problems] == [("unhashed", 2)]


def test_connect_takes_a_configured_audit_layer() -> None:
    from crmcore.audit import AuditLayer

    key = b"a" * 32
    crm = crmcore.connect("memory://", audit=AuditLayer(key=key))
    with crm.session() as s:
        s.customers.add(Customer(first_name="keyed"))
    with crm.session() as s:
        entries = list(s.audit_entries.find(order_by="seq"))
        assert [e.hash[:5] for e in entries] == ["hmac:"]
        assert verify_trail(s, key=key).ok
