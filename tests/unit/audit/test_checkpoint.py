"""Checkpoints: signatures, the stores, and verify() against a checkpointed head."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import attrs
import pytest

from crmcore.audit import (
    GENESIS,
    Checkpoint,
    FileCheckpointStore,
    MemoryCheckpointStore,
    entry_hash,
    verify,
)
from crmcore.errors import StorageError
from crmcore.model import AuditEntry

AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
KEY = b"secret-audit-key"


def _chain(n: int, key: bytes | None = None) -> list[AuditEntry]:
    out: list[AuditEntry] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        e = AuditEntry(
            id=uuid.uuid4(),
            tenant_id="t",
            created_at=AT,
            updated_at=AT,
            version=1,
            seq=seq,
            actor="alice",
            action="create",
            entity="Customer",
            at=AT,
            prev_hash=prev,
        )
        e = attrs.evolve(e, hash=entry_hash(e, key))
        prev = e.hash
        out.append(e)
    return out


def test_keyed_signature_needs_the_key_and_catches_edits() -> None:
    cp = Checkpoint.sign("t", 3, "abc", AT, KEY)
    assert cp.signature.startswith("hmac:") and cp.at == "2026-01-02T03:04:05+00:00"
    assert cp.valid(KEY)
    assert not cp.valid(None)
    assert not cp.valid(b"other")
    assert not attrs.evolve(cp, seq=2).valid(KEY)


def test_unkeyed_digest_is_refused_when_a_key_is_expected() -> None:
    cp = Checkpoint.sign("t", 3, "abc", AT)
    assert cp.signature.startswith("sha256:") and cp.valid()
    assert not cp.valid(KEY)
    assert not attrs.evolve(cp, head="abd").valid()


def test_file_store_appends_and_returns_the_newest_per_tenant(tmp_path: Path) -> None:
    store = FileCheckpointStore(tmp_path / "cp.jsonl")
    assert store.latest("t") is None
    store.write(Checkpoint.sign("t", 1, "h1", AT, KEY))
    store.write(Checkpoint.sign("u", 9, "u9", AT, KEY))
    store.write(Checkpoint.sign("t", 2, "h2", AT, KEY))
    assert len(store.path.read_text().splitlines()) == 3
    latest = store.latest("t")
    assert latest is not None and (latest.seq, latest.head) == (2, "h2") and latest.valid(KEY)
    assert FileCheckpointStore(store.path).latest("u") == Checkpoint.sign("u", 9, "u9", AT, KEY)


def test_file_store_names_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "cp.jsonl"
    path.write_text(json.dumps({"tenant_id": "t"}) + "\n")
    with pytest.raises(StorageError, match="line 1"):
        FileCheckpointStore(path).latest("t")


def test_memory_store_keeps_the_highest_seq() -> None:
    store = MemoryCheckpointStore()
    store.write(Checkpoint.sign("t", 5, "h5", AT))
    store.write(Checkpoint.sign("t", 4, "h4", AT))
    latest = store.latest("t")
    assert latest is not None and latest.seq == 5
    assert store.latest("u") is None


def test_verify_against_a_head() -> None:
    entries = _chain(4, KEY)
    head = (4, entries[3].hash)
    assert verify(entries, key=KEY, head=head).ok
    truncated = verify(entries[:2], key=KEY, head=head)
    assert [(p.kind, p.seq) for p in truncated.problems] == [("truncated", 4)]
    assert "#3..#4" in str(truncated)
    forged = verify(entries, key=KEY, head=(4, "0" * 64))
    assert [(p.kind, p.seq) for p in forged.problems] == [("rewritten", 4)]


def test_verify_keyed_entries() -> None:
    entries = _chain(3, KEY)
    report = verify(entries, key=KEY)
    assert report.ok and report.keyed
    assert {"altered"} == verify(entries, key=b"wrong").kinds
    assert {"key_required"} == verify(entries).kinds
    unkeyed = verify(_chain(2))
    assert unkeyed.ok and not unkeyed.keyed and "unkeyed" in str(unkeyed)
