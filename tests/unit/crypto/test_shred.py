"""Per-subject keys and crypto-shredding."""

from __future__ import annotations

import pytest

from crmcore.crypto import FieldCipher, KeyPurpose, Keyring, key_id_of
from crmcore.errors import DecryptionError, KeyUnavailable

BIND = {"tenant": "t1", "entity": "Customer", "field": "email"}


def test_shredding_one_subject_leaves_the_others(cipher: FieldCipher) -> None:
    alice = cipher.encrypt("alice@example.com", record_id="r1", subject_id="alice", **BIND)
    bob = cipher.encrypt("bob@example.com", record_id="r2", subject_id="bob", **BIND)
    shared = cipher.encrypt("shared@example.com", record_id="r3", **BIND)
    assert cipher.keyring.shred("t1", "alice") == 1
    with pytest.raises(DecryptionError, match="unavailable") as info:
        cipher.decrypt(alice, record_id="r1", **BIND)
    assert isinstance(info.value.__cause__, KeyUnavailable)
    assert cipher.decrypt(bob, record_id="r2", **BIND) == "bob@example.com"
    assert cipher.decrypt(shared, record_id="r3", **BIND) == "shared@example.com"


def test_shredded_data_stays_unreadable_in_a_fresh_process(cipher: FieldCipher) -> None:
    token = cipher.encrypt("alice@example.com", record_id="r1", subject_id="alice", **BIND)
    cipher.keyring.shred("t1", "alice")
    fresh = FieldCipher(Keyring(cipher.keyring.provider, cipher.keyring.store))
    with pytest.raises(DecryptionError):
        fresh.decrypt(token, record_id="r1", **BIND)
    assert None is fresh.keyring.subject_key("t1", "alice", create=False)


def test_subject_keys_are_per_subject_and_reused(keyring: Keyring) -> None:
    a = keyring.subject_key("t1", "alice")
    assert a == keyring.subject_key("t1", "alice")
    assert a != keyring.subject_key("t1", "bob")
    assert a != keyring.subject_key("t2", "alice")
    assert None is keyring.subject_key("t1", "carol", create=False)
    assert keyring.current_key_id("t1") not in {a, keyring.subject_key("t1", "bob")}


def test_subject_tokens_are_not_moved_by_tenant_rotation(cipher: FieldCipher) -> None:
    token = cipher.encrypt("a@example.com", record_id="r1", subject_id="alice", **BIND)
    cipher.keyring.rotate("t1")
    assert not cipher.needs_rotation(token, tenant="t1")
    again = cipher.reencrypt(token, record_id="r1", **BIND)
    cipher.keyring.shred("t1", "alice")
    with pytest.raises(DecryptionError):
        cipher.decrypt(again, record_id="r1", **BIND)


def test_reencrypt_can_move_tenant_data_under_a_subject_key(cipher: FieldCipher) -> None:
    token = cipher.encrypt("a@example.com", record_id="r1", **BIND)
    moved = cipher.reencrypt(token, record_id="r1", subject_id="alice", **BIND)
    assert cipher.decrypt(moved, record_id="r1", **BIND) == "a@example.com"
    cipher.keyring.shred("t1", "alice")
    with pytest.raises(DecryptionError):
        cipher.decrypt(moved, record_id="r1", **BIND)


def test_subject_keys_can_be_switched_off(keyring: Keyring) -> None:
    cipher = FieldCipher(keyring, subject_keys=False)
    token = cipher.encrypt("a@example.com", record_id="r1", subject_id="alice", **BIND)
    assert not keyring.store.find("t1", KeyPurpose.SUBJECT)
    keyring.shred("t1", "alice")
    assert cipher.decrypt(token, record_id="r1", **BIND) == "a@example.com"


def test_shred_destroys_every_key_of_the_subject(keyring: Keyring) -> None:
    keyring.subject_key("t1", "alice")
    other = Keyring(keyring.provider, keyring.store)  # a racing process made a second key
    other._create("t1", KeyPurpose.SUBJECT, subject_id="alice")
    assert keyring.shred("t1", "alice") == 2
    assert keyring.shred("t1", "alice") == 0
    left = keyring.store.find("t1", KeyPurpose.SUBJECT, "alice")
    assert len(left) == 2  # tombstones: the fact stays recorded, the key material is gone
    assert all(k.destroyed and k.wrapped == b"" for k in left)


def test_record_api_uses_the_subject_key(cipher: FieldCipher) -> None:
    token = cipher.encrypt_record(
        {"email": "a@example.com", "phone": "+8613800138000"},
        tenant="t1",
        entity="Customer",
        record_id="r1",
        subject_id="alice",
    )
    cipher.keyring.shred("t1", "alice")
    with pytest.raises(DecryptionError):
        cipher.decrypt_record(token, tenant="t1", entity="Customer", record_id="r1")


def test_subject_key_ids_are_recognisable(cipher: FieldCipher) -> None:
    subject = cipher.encrypt("a", record_id="r1", subject_id="alice", **BIND)
    tenant = cipher.encrypt("a", record_id="r1", **BIND)
    assert Keyring.is_subject_key_id(key_id_of(subject))
    assert not Keyring.is_subject_key_id(key_id_of(tenant))
