"""Hash-chaining of audit entries and its verification.

Each entry's hash is SHA-256 over a canonical JSON form of its content and the
previous entry's hash, per tenant, in ``seq`` order. Altering any stored entry
breaks its own hash; deleting or reordering entries breaks the links or the
sequence. :func:`verify` says where.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import attrs

from crmcore.model import AuditEntry, to_data

__all__ = ["GENESIS", "Problem", "VerifyReport", "entry_hash", "verify"]

#: the ``prev_hash`` of a tenant's first entry
GENESIS = "0" * 64

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


def entry_hash(entry: AuditEntry) -> str:
    """The SHA-256 hex digest that ``entry.hash`` must equal."""
    data = to_data(entry)
    payload = {k: data[k] for k in _HASHED}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@attrs.frozen
class Problem:
    """One place where the chain does not hold."""

    seq: int
    entry_id: str
    reason: str

    def __str__(self) -> str:
        return f"entry #{self.seq} ({self.entry_id}): {self.reason}"


@attrs.frozen
class VerifyReport:
    """The outcome of :func:`verify`: ``ok`` and every problem found, in order."""

    checked: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """Whether the whole chain verified."""
        return not self.problems

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact ({self.checked} entries)"
        lines = [f"audit chain broken ({len(self.problems)} problems in {self.checked} entries):"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


def verify(entries: Iterable[AuditEntry]) -> VerifyReport:
    """Check one tenant's entries, given in ``seq`` order (a stream is fine).

    Detects an altered entry (its hash no longer matches its content), a
    deleted one (a gap in ``seq`` or a broken ``prev_hash`` link), and
    reordered ones (``seq`` not increasing, or links that do not follow).
    """
    problems: list[Problem] = []
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    for entry in entries:
        checked += 1
        where: dict[str, Any] = {"seq": entry.seq, "entry_id": str(entry.id)}
        if entry_hash(entry) != entry.hash:
            problems.append(Problem(reason="content does not match its hash (altered)", **where))
        if entry.seq != expected_seq:
            what = "missing entries before it" if entry.seq > expected_seq else "out of order"
            problems.append(
                Problem(reason=f"expected seq {expected_seq}, found {entry.seq} ({what})", **where)
            )
        if entry.prev_hash != prev_hash:
            problems.append(
                Problem(
                    reason="does not link to the entry before it (deleted or reordered)", **where
                )
            )
        prev_hash = entry.hash
        expected_seq = entry.seq + 1
    return VerifyReport(checked, tuple(problems))
