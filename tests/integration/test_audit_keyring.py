"""The keyring as the audit key source (issue #13): versioned keys, rotation, old entries verify."""

from __future__ import annotations

import os

import attrs
import pytest

import crmcore
from crmcore import Customer, Principal
from crmcore.audit import AuditLayer, MemoryCheckpointStore, entry_hash, key_version
from crmcore.crypto import InMemoryKeyStore, Keyring, KeyringAuditKeys, StaticKeyProvider
from crmcore.crypto._keys import KeyPurpose
from crmcore.model import AuditEntry
from crmcore.query import eq
from crmcore.services import verify_trail


@pytest.fixture
def keys() -> KeyringAuditKeys:
    return KeyringAuditKeys(Keyring(StaticKeyProvider([os.urandom(32)]), store=InMemoryKeyStore()))


def _write(crm: crmcore.Crm, me: Principal, n: int) -> None:
    for i in range(n):
        with crm.session(me) as s:
            s.customers.add(Customer(first_name=f"c{i}"))


def _entries(crm: crmcore.Crm, me: Principal) -> list[AuditEntry]:
    with crm.session(me) as s:
        return list(s.inner(AuditEntry).find(eq("tenant_id", me.tenant_id), order_by="seq"))


def test_audit_keys_come_from_the_keyring_and_rotate_without_breaking_old_entries(
    crm: crmcore.Crm, principal: Principal, keys: KeyringAuditKeys
) -> None:
    store = MemoryCheckpointStore()
    app = crmcore.Crm(crm.store, layers=[AuditLayer(key=keys, checkpoints=store)])
    _write(app, principal, 2)
    keys.keyring.rotate_audit_key(principal.tenant_id)
    _write(app, principal, 2)
    versions = [key_version(e.hash) for e in _entries(app, principal)]
    assert versions == [1, 1, 2, 2]  # the rotation is recorded in the chain
    stored = keys.keyring._store.find(principal.tenant_id, KeyPurpose.AUDIT)
    assert sorted(k.generation for k in stored) == [1, 2]  # kept in the key store
    with app.session(principal) as s:
        report = verify_trail(s, key=keys, checkpoints=store)
        assert report.ok and report.keyed, str(report)
        assert {"key_required"} <= verify_trail(s).kinds


def test_an_entry_resigned_with_a_retired_audit_key_is_reported(
    crm: crmcore.Crm, principal: Principal, keys: KeyringAuditKeys
) -> None:
    app = crmcore.Crm(crm.store, layers=[AuditLayer(key=keys)])
    _write(app, principal, 1)
    old = keys.get(principal.tenant_id, 1)
    keys.keyring.rotate_audit_key(principal.tenant_id)
    _write(app, principal, 2)
    last = _entries(app, principal)[-1]  # someone holding the old key rewrites the newest entry
    forged = attrs.evolve(last, actor="mallory")
    forged = attrs.evolve(forged, hash=entry_hash(forged, old, 1))
    with app.session(principal) as s:
        s.inner(AuditEntry).update(attrs.evolve(forged, version=last.version))
    with app.session(principal) as s:
        report = verify_trail(s, key=keys)
        assert "downgrade" in report.kinds
        assert [p.seq for p in report.problems if p.kind == "downgrade"] == [3]
