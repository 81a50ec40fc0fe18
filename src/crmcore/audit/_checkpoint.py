"""Checkpoints of a tenant's audit head, kept outside the audit table.

A :class:`Checkpoint` records ``(tenant, seq, hash)`` of the chain's newest
entry and a signature over them: HMAC-SHA256 with the audit key, or (unkeyed)
a plain SHA-256 digest that catches accidental edits but not a forger. Kept
somewhere the table's writers cannot reach (a file, the key store, an
export), it lets :func:`crmcore.services.verify_trail` see a truncated tail
(entries up to the checkpointed seq are gone) and a rewritten chain (the
hash at the checkpointed seq differs), which the chain alone cannot.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import os
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

import attrs

from crmcore.audit._chain import KeyResolver, key_version
from crmcore.errors import StorageError

__all__ = ["Checkpoint", "CheckpointStore", "FileCheckpointStore", "MemoryCheckpointStore"]

_UNKEYED = "sha256:"
_KEYED = "hmac:"


def _message(tenant_id: str, seq: int, head: str, at: str) -> bytes:
    text = json.dumps([tenant_id, seq, head, at], separators=(",", ":"), ensure_ascii=False)
    return text.encode()


@attrs.frozen
class Checkpoint:
    """The signed head of one tenant's chain.

    Attributes:
        tenant_id: whose chain.
        seq: the newest entry's seq at checkpoint time.
        head: that entry's hash.
        at: when the checkpoint was taken (ISO 8601, UTC).
        signature: ``"hmac:<hex>"`` (keyed) or ``"sha256:<hex>"`` (unkeyed).
    """

    tenant_id: str
    seq: int
    head: str
    at: str
    signature: str

    @classmethod
    def sign(
        cls,
        tenant_id: str,
        seq: int,
        head: str,
        at: _dt.datetime,
        key: bytes | None = None,
        version: int | None = None,
    ) -> Checkpoint:
        """A checkpoint of ``(tenant_id, seq, head)``, signed with ``key`` if one is given.

        Args:
            tenant_id: whose chain.
            seq: the newest entry's seq.
            head: the newest entry's hash.
            at: when (aware).
            key: the audit key; ``None`` for an unkeyed digest.
            version: the key's version (from :class:`~crmcore.audit.AuditKeys`),
                written into the signature (``"hmac:v2:..."``).

        Returns:
            The checkpoint.
        """
        stamp = at.astimezone(_dt.timezone.utc).isoformat()
        signature = _signature(tenant_id, seq, head, stamp, key, version)
        return cls(tenant_id, seq, head, stamp, signature)

    def valid(self, key: bytes | KeyResolver | None = None) -> bool:
        """Whether the signature matches the content (with ``key`` if it was keyed).

        A keyed checkpoint never verifies without the key, and an unkeyed one
        is refused when a key is given (it could have been forged by anyone).
        ``key`` may resolve the version the signature names (``version -> key``).
        """
        version = key_version(self.signature)
        if callable(key):
            try:
                key = key(version)
            except LookupError:
                key = None
        if self.signature.startswith(_KEYED) and key is None:
            return False
        expected = _signature(self.tenant_id, self.seq, self.head, self.at, key, version)
        return hmac.compare_digest(expected, self.signature)

    def to_data(self) -> dict[str, object]:
        """Plain data for a JSON line."""
        return attrs.asdict(self)


def _signature(
    tenant_id: str, seq: int, head: str, at: str, key: bytes | None, version: int | None = None
) -> str:
    message = _message(tenant_id, seq, head, at)
    if key is None:
        return _UNKEYED + hashlib.sha256(message).hexdigest()
    prefix = _KEYED if version is None else f"{_KEYED}v{version}:"
    return prefix + hmac.new(key, message, hashlib.sha256).hexdigest()


@runtime_checkable
class CheckpointStore(Protocol):
    """Where checkpoints live: outside the audit table, append-only."""

    def write(self, checkpoint: Checkpoint) -> None:
        """Record a new checkpoint (the newest per tenant wins)."""
        ...

    def latest(self, tenant_id: str) -> Checkpoint | None:
        """The newest checkpoint of ``tenant_id``, or ``None`` if there is none."""
        ...


class MemoryCheckpointStore:
    """Checkpoints in a dict (tests, and processes that export them elsewhere)."""

    def __init__(self) -> None:
        self._latest: dict[str, Checkpoint] = {}
        self._lock = threading.Lock()

    def write(self, checkpoint: Checkpoint) -> None:
        """Record a checkpoint; an older one than the current head is ignored."""
        with self._lock:
            current = self._latest.get(checkpoint.tenant_id)
            if current is None or checkpoint.seq >= current.seq:
                self._latest[checkpoint.tenant_id] = checkpoint

    def latest(self, tenant_id: str) -> Checkpoint | None:
        """The newest checkpoint of ``tenant_id``."""
        return self._latest.get(tenant_id)


class FileCheckpointStore:
    """Checkpoints as append-only JSON lines in a file, each write fsynced.

    Args:
        path: the file (created on first write). Keep it where the audit
            table's writers cannot edit it.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, checkpoint: Checkpoint) -> None:
        """Append one line and fsync it.

        Raises:
            StorageError: the file cannot be written.
        """
        line = json.dumps(checkpoint.to_data(), ensure_ascii=False, separators=(",", ":"))
        try:
            with self._lock, open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise StorageError(f"cannot write audit checkpoint to {self.path}: {exc}") from exc

    def latest(self, tenant_id: str) -> Checkpoint | None:
        """The newest (highest seq, then last written) checkpoint of ``tenant_id``.

        Raises:
            StorageError: the file cannot be read, or a line is not a checkpoint.
        """
        if not self.path.exists():
            return None
        best: Checkpoint | None = None
        try:
            with open(self.path, encoding="utf-8") as fh:
                for number, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        data = json.loads(line)
                        cp = Checkpoint(
                            str(data["tenant_id"]),
                            int(data["seq"]),
                            str(data["head"]),
                            str(data["at"]),
                            str(data["signature"]),
                        )
                    except (ValueError, KeyError, TypeError) as exc:
                        raise StorageError(
                            f"audit checkpoint file {self.path} line {number} is not a"
                            f" checkpoint: {exc}"
                        ) from exc
                    if cp.tenant_id == tenant_id and (best is None or cp.seq >= best.seq):
                        best = cp
        except OSError as exc:
            raise StorageError(f"cannot read audit checkpoints from {self.path}: {exc}") from exc
        return best
