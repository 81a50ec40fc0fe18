"""Hash-chaining of audit entries and its verification.

Each entry's hash is SHA-256 over a canonical JSON form of its content and the
previous entry's hash, per tenant, in ``seq`` order. Altering any stored entry
breaks its own hash; deleting or reordering entries breaks the links or the
sequence. :func:`verify` says where.

With a key the chain is *keyed*: an entry's hash is ``"hmac:"`` + HMAC-SHA256
of the same payload, so someone who can write the table but does not hold the
key cannot recompute the hashes after an edit. The prefix is part of the hash
that the next entry links to, so a chain may switch from unkeyed to keyed at
a recorded entry, and :func:`verify` refuses a switch back. Truncating the
tail is caught by comparing with a :class:`~crmcore.audit.Checkpoint`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

import attrs

from crmcore.model import AuditEntry, to_data

__all__ = [
    "GENESIS",
    "KEYED_PREFIX",
    "AuditKeys",
    "KeyResolver",
    "Problem",
    "VerifyReport",
    "entry_hash",
    "is_keyed",
    "key_version",
    "verify",
]

#: the ``prev_hash`` of a tenant's first entry
GENESIS = "0" * 64
#: how a keyed (HMAC-SHA256) entry hash starts; an unkeyed one is bare SHA-256 hex
KEYED_PREFIX = "hmac:"

_VERSIONED = re.compile(r"hmac:v([0-9]{1,9}):")

#: a key of a given version (``None``: a keyed hash that names no version)
KeyResolver = Callable[[int | None], bytes | None]


@runtime_checkable
class AuditKeys(Protocol):
    """Versioned audit keys per tenant (``crmcore.crypto.KeyringAuditKeys`` over a Keyring).

    The version of the key that chained an entry is written in its hash
    (``"hmac:v2:<hex>"``), so after a rotation the old entries still verify
    with the old version, and an entry under an older version than the one
    before it is reported (``"downgrade"``).
    """

    def current(self, tenant_id: str) -> tuple[int, bytes]:
        """``(version, key)`` new entries of ``tenant_id`` are chained with."""
        ...

    def get(self, tenant_id: str, version: int) -> bytes:
        """The key of ``version`` (raises ``KeyUnavailable`` if there is none)."""
        ...


def key_version(digest: str) -> int | None:
    """The audit key version a keyed hash (or checkpoint signature) names, if any."""
    m = _VERSIONED.match(digest)
    return int(m.group(1)) if m else None


_HASHED = (
    "id",
    "tenant_id",
    "seq",
    "actor",
    "action",
    "entity",
    "record_id",
    "at",
    "changes",
    "system",
    "correlation_id",
    "prev_hash",
)


def entry_hash(entry: AuditEntry, key: bytes | None = None, version: int | None = None) -> str:
    """The hash that ``entry.hash`` must equal.

    Args:
        entry: the entry (its own ``hash`` is not part of the payload).
        key: the tenant's audit key; ``None`` for the unkeyed SHA-256 chain.
        version: the key's version, written into the hash (``"hmac:v2:..."``).

    Returns:
        The SHA-256 hex digest, or ``"hmac:"`` (``"hmac:v<version>:"``) + the
        HMAC-SHA256 hex digest when keyed.
    """
    data = to_data(entry)
    payload = {k: data[k] for k in _HASHED}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if key is None:
        return hashlib.sha256(text.encode()).hexdigest()
    prefix = KEYED_PREFIX if version is None else f"{KEYED_PREFIX}v{version}:"
    return prefix + hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def is_keyed(digest: str) -> bool:
    """Whether an entry hash (or checkpoint head) belongs to the keyed chain."""
    return digest.startswith(KEYED_PREFIX)


@attrs.frozen
class Problem:
    """One place where the chain does not hold.

    ``kind`` is machine-readable: ``"altered"`` (content does not match its
    hash), ``"gap"`` (missing entries before it), ``"order"``, ``"link"``
    (``prev_hash`` does not follow), ``"downgrade"`` (an unkeyed entry after a
    keyed one), ``"key_required"`` (a keyed entry checked without the key),
    ``"truncated"`` (entries up to a checkpointed seq are missing),
    ``"rewritten"`` (the hash at a checkpointed seq differs from the checkpoint)
    ``"checkpoint"`` (the checkpoint itself fails its signature) and
    ``"unhashed"`` (a column outside the hash - ``version``, ``created_at``,
    ``updated_at``, ``deleted_at`` - differs from what the auditor wrote:
    version 1, both stamps equal to ``at``, never deleted).
    """

    seq: int
    entry_id: str
    reason: str
    kind: str = "altered"

    def __str__(self) -> str:
        return f"entry #{self.seq} ({self.entry_id}): {self.reason} [{self.kind}]"


@attrs.frozen
class VerifyReport:
    """The outcome of :func:`verify`: ``ok`` and every problem found, in order."""

    checked: int
    problems: tuple[Problem, ...]
    #: whether the chain's newest entry is keyed (HMAC); ``False``: "unkeyed"
    keyed: bool = False
    #: the checkpointed seq the table was compared with, if any
    checkpoint_seq: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the whole chain verified."""
        return not self.problems

    @property
    def kinds(self) -> frozenset[str]:
        """The distinct problem kinds found (``"truncated"``, ``"rewritten"``...)."""
        return frozenset(p.kind for p in self.problems)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        mode = "keyed" if self.keyed else "unkeyed"
        anchor = (
            f", checkpoint at #{self.checkpoint_seq}"
            if self.checkpoint_seq is not None
            else ", no checkpoint"
        )
        if self.ok:
            return f"audit chain intact ({self.checked} entries, {mode}{anchor})"
        lines = [
            f"audit chain broken ({len(self.problems)} problems in {self.checked} entries,"
            f" {mode}{anchor}):"
        ]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


def _resolve(key: bytes | KeyResolver | None, version: int | None) -> bytes | None:
    if not callable(key):
        return key
    try:
        return key(version)
    except LookupError:  # KeyUnavailable: reported as a key the check needs
        return None


def verify(
    entries: Iterable[AuditEntry],
    *,
    key: bytes | KeyResolver | None = None,
    head: tuple[int, str] | None = None,
) -> VerifyReport:
    """Check one tenant's entries, given in ``seq`` order (a stream is fine).

    Detects an altered entry (its hash no longer matches its content), a
    deleted one (a gap in ``seq`` or a broken ``prev_hash`` link), reordered
    ones (``seq`` not increasing, or links that do not follow) and a keyed
    chain that turns unkeyed again (someone recomputed hashes without the key).

    Args:
        entries: the tenant's entries in ``seq`` order.
        key: the tenant's audit key; needed to check keyed entries. A callable
            ``version -> key`` resolves the version each entry's hash names
            (``None`` for a keyed hash without one).
        head: ``(seq, hash)`` of a trusted checkpoint (already signature-checked):
            entries missing up to it are reported as ``"truncated"``, a different
            hash at its seq as ``"rewritten"``.

    Returns:
        The report, with every problem in order.
    """
    problems: list[Problem] = []
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    keyed = False
    last_seq = 0
    seen_head = False
    last_version = 0
    for entry in entries:
        checked += 1
        where: dict[str, Any] = {"seq": entry.seq, "entry_id": str(entry.id)}
        if is_keyed(entry.hash):
            keyed = True
            version = key_version(entry.hash)
            entry_key = _resolve(key, version)
            if (version or 0) < last_version:
                problems.append(
                    Problem(
                        reason=(
                            f"chained with audit key version {version or 0} after version "
                            f"{last_version} (re-signed with an older key)"
                        ),
                        kind="downgrade",
                        **where,
                    )
                )
            last_version = max(last_version, version or 0)
            if entry_key is None:
                problems.append(
                    Problem(
                        reason="keyed entry, but no audit key was given to check it",
                        kind="key_required",
                        **where,
                    )
                )
            elif not hmac.compare_digest(entry_hash(entry, entry_key, version), entry.hash):
                problems.append(
                    Problem(reason="content does not match its hash (altered)", **where)
                )
        else:
            if keyed:
                problems.append(
                    Problem(
                        reason="unkeyed entry after a keyed one (recomputed without the key)",
                        kind="downgrade",
                        **where,
                    )
                )
            if entry_hash(entry) != entry.hash:
                problems.append(
                    Problem(reason="content does not match its hash (altered)", **where)
                )
        if (
            entry.version != 1
            or entry.deleted_at is not None
            or entry.created_at != entry.at
            or entry.updated_at != entry.at
        ):
            problems.append(
                Problem(
                    reason="bookkeeping columns (version, created/updated/deleted at) were changed",
                    kind="unhashed",
                    **where,
                )
            )
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                reason, kind = "missing entries before it", "gap"
            else:
                reason, kind = "out of order", "order"
            problems.append(
                Problem(
                    reason=f"expected seq {expected_seq}, found {entry.seq} ({reason})",
                    kind=kind,
                    **where,
                )
            )
        if entry.prev_hash != prev_hash:
            problems.append(
                Problem(
                    reason="does not link to the entry before it (deleted or reordered)",
                    kind="link",
                    **where,
                )
            )
        if head is not None and entry.seq == head[0]:
            seen_head = True
            if entry.hash != head[1]:
                problems.append(
                    Problem(
                        reason="hash differs from the checkpoint's (rewritten)",
                        kind="rewritten",
                        **where,
                    )
                )
        prev_hash = entry.hash
        expected_seq = entry.seq + 1
        last_seq = max(last_seq, entry.seq)
    if head is not None and not seen_head:
        first = last_seq + 1
        problems.append(
            Problem(
                seq=head[0],
                entry_id="-",
                reason=(
                    f"entries #{first}..#{head[0]} are missing but were checkpointed (truncated)"
                    if last_seq < head[0]
                    else f"checkpointed entry #{head[0]} is missing"
                ),
                kind="truncated",
            )
        )
    return VerifyReport(
        checked, tuple(problems), keyed=keyed, checkpoint_seq=head[0] if head else None
    )
