"""A key provider outage never reads as shredding: reads fail, writes are refused, nothing is lost.

Shredding is a recorded fact (a tombstone in the key store); a key that cannot
be reached (the provider times out, the key belongs to another tenant) is an
error on every backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import crmcore
from crmcore import Customer, Principal
from crmcore.crypto import Encryption, InMemoryKeyStore, Keyring, StaticKeyProvider
from crmcore.errors import DecryptionError, KeyUnavailable
from crmcore.services import shred_subject

ROOT = b"r" * 32
BACKENDS = ["memory", "sqlite", "postgresql", "mysql"]
ENV = {"postgresql": "CRMCORE_TEST_POSTGRES_URL", "mysql": "CRMCORE_TEST_MYSQL_URL"}


class FlakyProvider:
    """A key provider that can be switched off, as a KMS is during an outage."""

    def __init__(self) -> None:
        self.inner = StaticKeyProvider(ROOT)
        self.down = False

    def current_root_id(self) -> str:
        return self.inner.current_root_id()

    def wrap(self, root_id: str, plaintext_key: bytes, aad: bytes) -> bytes:
        if self.down:
            raise TimeoutError("KMS did not answer")
        return self.inner.wrap(root_id, plaintext_key, aad)

    def unwrap(self, root_id: str, wrapped: bytes, aad: bytes) -> bytes:
        if self.down:
            raise TimeoutError("KMS did not answer")
        return self.inner.unwrap(root_id, wrapped, aad)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    name = request.param
    if name == "memory":
        return "memory://"
    if name == "sqlite":
        return f"sqlite:///{tmp_path / 'outage.db'}"
    found = os.environ.get(ENV[name])
    if not found:
        pytest.skip(f"{ENV[name]} is not set: no {name} server to test against")
    return found


@pytest.fixture
def setup(url: str) -> Iterator[tuple[crmcore.Crm, FlakyProvider, Keyring, Principal]]:
    provider = FlakyProvider()
    keyring = Keyring(provider, store=InMemoryKeyStore())
    crm = crmcore.connect(url, encryption=Encryption(keyring=keyring), validation=False)
    try:
        yield crm, provider, keyring, Principal.system_principal(f"t-{uuid.uuid4().hex[:10]}")
    finally:
        crm.close()


def _people(n: int) -> list[Customer]:
    return [
        Customer(first_name=f"P{i}", email=f"p{i}@example.cn", phone=f"+86138{i:08d}")
        for i in range(n)
    ]


def test_an_outage_fails_reads_and_refuses_writes_and_loses_nothing(
    setup: tuple[crmcore.Crm, FlakyProvider, Keyring, Principal],
) -> None:
    crm, provider, keyring, me = setup
    with crm.session(me) as s:
        stored = s.customers.add_many(_people(1000))
    ids = [c.id for c in stored]

    keyring.clear_cache()  # a cold cache: every read needs the provider
    provider.down = True
    with crm.session(me) as s:
        with pytest.raises(DecryptionError) as failed:
            s.customers.get(ids[0])
        assert isinstance(failed.value.__cause__, KeyUnavailable)
        with pytest.raises(DecryptionError):
            s.customers.find(limit=50)
        with pytest.raises(DecryptionError):
            list(s.customers.stream(batch_size=200))
    for i in (1, 500, 999):  # an ordinary edit of another field must not go through
        with crm.session(me) as s, pytest.raises(DecryptionError):
            current = s.customers.get(ids[i])
            s.customers.update(attrs.evolve(current, first_name="edited"))
    with crm.session(me) as s, pytest.raises(KeyUnavailable):
        s.customers.add(Customer(first_name="new", email="new@example.cn"))

    provider.down = False
    with crm.session(me) as s:
        back = list(s.customers.stream(order_by="id"))
    assert [(c.id, c.first_name, c.email, c.phone) for c in back] == [
        (c.id, c.first_name, c.email, c.phone) for c in stored
    ]


def test_shredding_is_recorded_and_reads_as_erased_after_a_restart(
    setup: tuple[crmcore.Crm, FlakyProvider, Keyring, Principal],
) -> None:
    crm, _provider, keyring, me = setup
    with crm.session(me) as s:
        gone, kept = s.customers.add_many(_people(2))
    with crm.session(me) as s:
        assert shred_subject(s, crm_encryption(crm), gone.id) == 1
    keyring.clear_cache()
    with crm.session(me) as s:
        erased = s.customers.get(gone.id)
        assert (erased.email, erased.phone, erased.first_name) == (None, None, "P0")
        assert s.customers.get(kept.id).email == "p1@example.cn"


def test_an_envelope_copied_from_another_tenant_fails(
    setup: tuple[crmcore.Crm, FlakyProvider, Keyring, Principal],
) -> None:
    crm, _provider, _keyring, me = setup
    other = Principal.system_principal(f"other-{uuid.uuid4().hex[:8]}")
    with crm.session(other) as s:
        theirs = s.customers.add(Customer(first_name="Theirs", email="theirs@example.cn"))
    with crm.session(me) as s:
        mine = s.customers.add(Customer(first_name="Mine", email="mine@example.cn"))
    with crm.session(me) as s:
        stolen = s.inner(Customer).get(theirs.id).sealed
        raw = s.inner(Customer).get(mine.id)
        s.inner(Customer).update(attrs.evolve(raw, sealed=dict(stolen)))
    with crm.session(me) as s, pytest.raises(DecryptionError):
        s.customers.get(mine.id)


def crm_encryption(crm: crmcore.Crm) -> Encryption:
    """The Encryption layer the CRM was connected with."""
    return next(layer for layer in crm.layers if isinstance(layer, Encryption))


def test_shredding_asks_the_policy_and_is_audited(url: str) -> None:
    from crmcore.errors import PermissionDenied
    from crmcore.policy import Policy

    policy = Policy.from_dict(
        {
            "roles": {"rep": {}, "dpo": {}},
            "rules": [
                {
                    "name": "reps",
                    "roles": ["rep"],
                    "entities": ["Customer"],
                    "actions": ["read", "create"],
                },
                {
                    "name": "dpo",
                    "roles": ["dpo"],
                    "entities": ["Customer"],
                    "actions": ["read", "erase"],
                },
            ],
        }
    )
    keyring = Keyring(StaticKeyProvider(ROOT), store=InMemoryKeyStore())
    encryption = Encryption(keyring=keyring)
    crm = crmcore.connect(url, encryption=encryption, policy=policy, audit=True, validation=False)
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    rep = Principal(user_id="rep", tenant_id=tenant, roles={"rep"})
    dpo = Principal(user_id="dpo", tenant_id=tenant, roles={"dpo"})
    try:
        with crm.session(rep) as s:
            wei = s.customers.add(Customer(first_name="Wei", email="wei@example.cn"))
        with crm.session(rep) as s, pytest.raises(PermissionDenied):
            shred_subject(s, encryption, wei.id)
        with crm.session(dpo) as s:
            assert s.customers.get(wei.id).email == "wei@example.cn"  # nothing was destroyed
            assert shred_subject(s, encryption, wei.id) == 1
        with crm.session(Principal.system_principal(tenant)) as s:
            assert s.customers.get(wei.id).email is None
            shreds = [e for e in s.audit_entries.find(order_by="seq").items if e.action == "shred"]
        assert [(e.actor, e.record_id, e.changes["fields"]) for e in shreds] == [
            ("dpo", wei.id, ["email"])
        ]
    finally:
        crm.close()


def test_reencryption_asks_the_policy_and_is_audited(url: str) -> None:
    from crmcore.errors import PermissionDenied
    from crmcore.policy import Policy
    from crmcore.services import reencrypt_all

    policy = Policy.from_dict(
        {
            "roles": {"viewer": {}, "ops": {}},
            "rules": [
                {
                    "name": "view",
                    "roles": ["viewer", "ops"],
                    "entities": ["Customer"],
                    "actions": ["read", "create"],
                },
                {"name": "ops", "roles": ["ops"], "entities": ["Customer"], "actions": ["update"]},
            ],
        }
    )
    keyring = Keyring(StaticKeyProvider(ROOT), store=InMemoryKeyStore())
    encryption = Encryption(keyring=keyring, subject_keys=False)
    crm = crmcore.connect(url, encryption=encryption, policy=policy, audit=True, validation=False)
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    viewer = Principal(user_id="viewer", tenant_id=tenant, roles={"viewer"})
    ops = Principal(user_id="ops", tenant_id=tenant, roles={"ops"})
    try:
        with crm.session(viewer) as s:
            s.customers.add_many(_people(3))
        keyring.rotate(tenant)
        with crm.session(viewer) as s, pytest.raises(PermissionDenied):
            reencrypt_all(s, encryption, Customer)
        with crm.session(ops) as s:
            assert reencrypt_all(s, encryption, Customer).rewritten == 3
        with crm.session(Principal.system_principal(tenant)) as s:
            done = [
                e for e in s.audit_entries.find(order_by="seq").items if e.action == "reencrypt"
            ]
        assert [(e.actor, e.changes["rewritten"]) for e in done] == [("ops", 3)]
    finally:
        crm.close()
