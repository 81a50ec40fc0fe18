"""Data key rotation, re-encryption, retiring keys and the resumable rotate_all driver."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from crmcore.crypto import FieldCipher, Keyring, RotationProgress, rotate_all
from crmcore.errors import ConfigurationError, DecryptionError, KeyUnavailable

BIND = {"tenant": "t1", "entity": "Customer", "field": "email"}


def _encrypt_many(cipher: FieldCipher, n: int) -> dict[str, str]:
    return {
        f"r{i}": cipher.encrypt(f"user{i}@example.com", record_id=f"r{i}", **BIND) for i in range(n)
    }


def test_rotate_switches_new_writes_and_keeps_old_tokens(cipher: FieldCipher) -> None:
    keyring = cipher.keyring
    first = keyring.current_key_id("t1")
    old = _encrypt_many(cipher, 3)
    second = keyring.rotate("t1")
    assert first != second
    assert second == keyring.current_key_id("t1")
    assert [second, first] == keyring.key_ids("t1")
    new = cipher.encrypt("new@example.com", record_id="r9", **BIND)
    assert cipher.needs_rotation(old["r0"], tenant="t1")
    assert not cipher.needs_rotation(new, tenant="t1")
    for rid, token in old.items():
        assert f"user{rid[1:]}@example.com" == cipher.decrypt(token, record_id=rid, **BIND)


def test_rotation_does_not_touch_other_tenants(keyring: Keyring) -> None:
    other = keyring.current_key_id("t2")
    keyring.rotate("t1")
    assert other == keyring.current_key_id("t2")


def test_reencrypt_then_retire_leaves_only_the_new_key(cipher: FieldCipher) -> None:
    keyring = cipher.keyring
    old_key = keyring.current_key_id("t1")
    old = _encrypt_many(cipher, 5)
    keyring.rotate("t1")
    moved = {rid: cipher.reencrypt(token, record_id=rid, **BIND) for rid, token in old.items()}
    assert not any(cipher.needs_rotation(t, tenant="t1") for t in moved.values())
    keyring.retire("t1", old_key)
    assert [keyring.current_key_id("t1")] == keyring.key_ids("t1")
    # A fresh process with only what is left in the store:
    fresh = FieldCipher(Keyring(keyring.provider, keyring.store))
    for rid, token in moved.items():
        assert f"user{rid[1:]}@example.com" == fresh.decrypt(token, record_id=rid, **BIND)
    with pytest.raises(DecryptionError, match="unavailable") as info:
        cipher.decrypt(old["r0"], record_id="r0", **BIND)
    assert isinstance(info.value.__cause__, KeyUnavailable)


def test_reencrypt_keeps_the_token_form(cipher: FieldCipher) -> None:
    text = cipher.encrypt("x", record_id="r1", **BIND)
    binary = cipher.encrypt_bytes("x", record_id="r1", **BIND)
    cipher.keyring.rotate("t1")
    assert isinstance(cipher.reencrypt(text, record_id="r1", **BIND), str)
    assert isinstance(cipher.reencrypt(binary, record_id="r1", **BIND), bytes)


def test_reencrypt_checks_the_binding(cipher: FieldCipher) -> None:
    token = cipher.encrypt("x", record_id="r1", **BIND)
    with pytest.raises(DecryptionError):
        cipher.reencrypt(token, record_id="r2", **BIND)


def test_current_key_cannot_be_retired(keyring: Keyring) -> None:
    current = keyring.current_key_id("t1")
    with pytest.raises(ConfigurationError, match="rotate first"):
        keyring.retire("t1", current)
    with pytest.raises(KeyUnavailable):
        keyring.retire("t1", "dmissing")


def test_a_second_process_sees_rotation_after_clearing_its_cache(keyring: Keyring) -> None:
    other = Keyring(keyring.provider, keyring.store)
    first = other.current_key_id("t1")
    second = keyring.rotate("t1")
    assert first == other.current_key_id("t1")  # cached until cleared
    other.clear_cache()
    assert second == other.current_key_id("t1")


# ------------------------------------------------------------------ rotate_all


def _batches(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def test_rotate_all_processes_every_batch_and_reports_progress() -> None:
    seen: list[int] = []
    reports: list[RotationProgress[int]] = []

    def rewrite(batch: Sequence[int]) -> None:
        seen.extend(batch)

    result = rotate_all(_batches(list(range(10)), 4), rewrite, progress=reports.append)
    assert list(range(10)) == seen
    assert [r.checkpoint for r in reports] == [3, 7, 9]
    assert (
        RotationProgress(batches=3, processed=10, rewritten=10, skipped=0, checkpoint=9) == result
    )


def test_rotate_all_counts_what_rewrite_reports() -> None:
    result = rotate_all(_batches(list(range(6)), 3), lambda batch: 1)
    assert (result.processed, result.rewritten) == (6, 2)


def test_rotate_all_resumes_from_a_checkpoint() -> None:
    reports: list[RotationProgress[int]] = []

    def failing(batch: Sequence[int]) -> None:
        if 6 in batch:
            raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        rotate_all(_batches(list(range(10)), 3), failing, progress=reports.append)
    checkpoint = reports[-1].checkpoint
    assert checkpoint == 5

    seen: list[int] = []
    result = rotate_all(
        _batches(list(range(10)), 3),  # the source restarted from the beginning
        lambda batch: seen.extend(batch),
        checkpoint=checkpoint,
    )
    assert seen == [6, 7, 8, 9]
    assert (result.skipped, result.checkpoint) == (6, 9)


def test_rotate_all_with_records_and_an_id_function(cipher: FieldCipher) -> None:
    rows = [{"id": rid, "email": tok} for rid, tok in sorted(_encrypt_many(cipher, 7).items())]
    cipher.keyring.rotate("t1")

    def rewrite(batch: Sequence[dict[str, str]]) -> int:
        changed = 0
        for row in batch:
            if cipher.needs_rotation(row["email"], tenant="t1"):
                row["email"] = cipher.reencrypt(row["email"], record_id=row["id"], **BIND)
                changed += 1
        return changed

    result = rotate_all(_batches(rows, 3), rewrite, id_of=lambda row: row["id"])  # type: ignore[arg-type]
    assert result.rewritten == 7
    assert not any(cipher.needs_rotation(r["email"], tenant="t1") for r in rows)
    again = rotate_all(_batches(rows, 3), rewrite, id_of=lambda row: row["id"])  # type: ignore[arg-type]
    assert again.rewritten == 0


def test_rotate_all_refuses_unordered_ids() -> None:
    with pytest.raises(ConfigurationError, match="ascending"):
        rotate_all([[1, 2], [2, 3]], lambda batch: None)
