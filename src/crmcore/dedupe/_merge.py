"""Merge duplicate records into a survivor, losslessly, and undo a merge exactly.

A merge

1. builds the survivor's new state field by field from a :class:`Survivorship`
   (survivor first, most recent, most complete, longest, most trusted source,
   or the union for multi-valued fields); a Customer's differing primary
   e-mails and phones are kept as additional ones, never dropped;
2. re-points every record that refers to a merged-away record (activities,
   opportunities, tickets, orders, consents, contact roles, campaign
   membership...) to the survivor, soft-deleted ones included, so nothing is
   orphaned;
3. soft-deletes the merged-away records (they stay stored) and writes a
   :class:`~crmcore.model.MergeRecord` journal holding the exact prior state of
   every record it touched.

All of it happens through the session's repositories, inside its unit of work:
it commits whole or not at all, and the audit layer records every change.

:func:`unmerge` restores the prior state from the journal. Later edits win:
a survivor field that was changed after the merge keeps its newer value (the
result lists it in ``kept``), and a relation that was re-pointed again after
the merge is left where it is; everything else returns to exactly what it was.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from crmcore.errors import Conflict, NotFound, ValidationError
from crmcore.model import (
    ENTITY_TYPES,
    Customer,
    EmailAddress,
    Entity,
    MergeRecord,
    PhoneNumber,
    from_data,
    references_to,
    replace_trusted,
    to_data,
)
from crmcore.query import in_

if TYPE_CHECKING:
    from crmcore.app import Session

__all__ = [
    "DEFAULT_SURVIVORSHIP",
    "MergeResult",
    "Rule",
    "Survivorship",
    "UnmergeResult",
    "merge",
    "preview_merge",
    "unmerge",
]

E = TypeVar("E", bound=Entity)

#: fields a merge never takes from another record
_BOOKKEEPING = frozenset({"id", "tenant_id", "created_at", "updated_at", "version", "deleted_at"})


class Rule(str, enum.Enum):
    """How one field of the survivor is chosen."""

    #: the survivor's value; if it has none, the first other record's that has one
    SURVIVOR = "survivor"
    #: the value of the most recently updated record that has one
    MOST_RECENT = "most_recent"
    #: the value of the record with the most filled fields that has one
    MOST_COMPLETE = "most_complete"
    #: the longest text value
    LONGEST = "longest"
    #: the value of the record whose ``source`` ranks first in ``trusted_sources``
    TRUSTED_SOURCE = "trusted_source"
    #: every value of every record, survivor's first, without repeats (multi-valued fields)
    UNION = "union"


@attrs.frozen
class Survivorship:
    """Per-field rules for building the merged record.

    Args:
        default: the rule for fields not listed.
        fields: field name -> rule.
        trusted_sources: ``source`` values from most to least trusted.
    """

    default: Rule = Rule.SURVIVOR
    fields: Mapping[str, Rule] = attrs.field(factory=dict)
    trusted_sources: tuple[str, ...] = ()

    def rule(self, field: str) -> Rule:
        """The rule for ``field``."""
        return Rule(self.fields.get(field, self.default))


DEFAULT_SURVIVORSHIP = Survivorship(
    fields={
        "tags": Rule.UNION,
        "emails": Rule.UNION,
        "phones": Rule.UNION,
        "addresses": Rule.UNION,
        "skills": Rule.UNION,
        "custom": Rule.UNION,
    }
)


@attrs.frozen
class MergeResult:
    """What a merge did (or, for a preview, would do)."""

    merge_id: uuid.UUID | None
    survivor: Entity
    merged_ids: tuple[uuid.UUID, ...]
    #: field -> id of the record its value came from
    sources: Mapping[str, uuid.UUID]
    #: (entity name, record id, field) of every re-pointed reference
    repointed: tuple[tuple[str, uuid.UUID, str], ...]
    dry_run: bool = False


@attrs.frozen
class UnmergeResult:
    """What an unmerge restored, and which later edits it kept."""

    merge_id: uuid.UUID
    survivor: Entity
    restored_ids: tuple[uuid.UUID, ...]
    #: survivor fields changed after the merge, kept at their newer value
    kept: tuple[str, ...]
    #: references re-pointed again after the merge, left as they are
    left: tuple[tuple[str, uuid.UUID, str], ...]


def _filled(value: object) -> bool:
    return value is not None and value != "" and value != () and value != frozenset()


def _completeness(data: Mapping[str, Any]) -> int:
    return sum(1 for k, v in data.items() if k not in _BOOKKEEPING and _filled(v) and v != {})


def _union(values: Iterable[Any]) -> Any:
    out: list[Any] = []
    for v in values:
        if isinstance(v, Mapping):
            continue
        for item in v or ():
            if item not in out:
                out.append(item)
    return out


def _choose(
    field: str, rule: Rule, records: Sequence[Mapping[str, Any]], survivorship: Survivorship
) -> tuple[Any, int]:
    """The chosen value for ``field`` and the index of the record it came from."""
    candidates = [(i, r[field]) for i, r in enumerate(records) if _filled(r[field])]
    if not candidates:
        return records[0][field], 0
    if rule is Rule.UNION:
        values = [r[field] for r in records]
        if all(isinstance(v, Mapping) or v is None for v in values):
            merged: dict[str, Any] = {}
            for v in reversed(values):  # survivor's keys win
                merged.update(v or {})
            return merged, 0
        return _union(values), 0
    if rule is Rule.SURVIVOR:
        return candidates[0][1], candidates[0][0]
    if rule is Rule.MOST_RECENT:
        i, v = max(candidates, key=lambda c: (records[c[0]]["updated_at"], -c[0]))
        return v, i
    if rule is Rule.MOST_COMPLETE:
        i, v = max(candidates, key=lambda c: (_completeness(records[c[0]]), -c[0]))
        return v, i
    if rule is Rule.LONGEST:
        i, v = max(candidates, key=lambda c: (len(str(c[1])), -c[0]))
        return v, i
    ranks = {s: n for n, s in enumerate(survivorship.trusted_sources)}
    worst = len(ranks)
    i, v = min(candidates, key=lambda c: (ranks.get(str(records[c[0]].get("source")), worst), c[0]))
    return v, i


def _keep_contacts(merged: dict[str, Any], records: Sequence[Mapping[str, Any]]) -> None:
    """A Customer's primary e-mails/phones that lost keep living as additional ones."""

    def email(value: str) -> dict[str, Any]:
        return to_data(EmailAddress(address=value, label="merged"))

    def phone(value: str) -> dict[str, Any]:
        return to_data(PhoneNumber(number=value, label="merged"))

    makers: tuple[tuple[str, str, Callable[[str], dict[str, Any]]], ...] = (
        ("email", "emails", email),
        ("phone", "phones", phone),
    )
    for primary, extra, make in makers:
        known = {merged[primary]} | {
            item.get("address") or item.get("number") for item in merged[extra]
        }
        for r in records:
            value = r[primary]
            if value and value not in known:
                merged[extra].append(make(value))
                known.add(value)


def _build(
    entity_type: type[E], records: Sequence[E], survivorship: Survivorship
) -> tuple[E, dict[str, uuid.UUID]]:
    datas = [to_data(r) for r in records]
    merged = dict(datas[0])
    sources: dict[str, uuid.UUID] = {}
    for field in datas[0]:
        if field in _BOOKKEEPING:
            continue
        value, i = _choose(field, survivorship.rule(field), datas, survivorship)
        merged[field] = value
        sources[field] = records[i].id
    merged["created_at"] = min(d["created_at"] for d in datas)
    if entity_type is Customer:
        _keep_contacts(merged, datas)
    return from_data(entity_type, merged), sources


def _load(
    session: Session, entity_type: type[E], survivor_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[E]:
    if not ids:
        raise ValidationError.single(
            "merged_ids", "nothing_to_merge", "name at least one record to merge"
        )
    if survivor_id in ids or len(set(ids)) != len(ids):
        raise ValidationError.single(
            "merged_ids", "duplicate_ids", "the survivor and the merged records must be distinct"
        )
    repo = session.repo(entity_type)
    return [repo.get(survivor_id), *(repo.get(i) for i in ids)]


def preview_merge(
    session: Session,
    entity_type: type[E],
    survivor_id: uuid.UUID,
    merged_ids: Sequence[uuid.UUID],
    *,
    survivorship: Survivorship = DEFAULT_SURVIVORSHIP,
) -> MergeResult:
    """What :func:`merge` would produce, without writing anything."""
    records = _load(session, entity_type, survivor_id, merged_ids)
    survivor, sources = _build(entity_type, records, survivorship)
    repointed = tuple(
        (cls.entity_name(), r.id, field)
        for cls, field in references_to(entity_type)
        for r in session.repo(cls).stream(in_(field, list(merged_ids)), include_deleted=True)
    )
    return MergeResult(None, survivor, tuple(merged_ids), sources, repointed, dry_run=True)


def merge(
    session: Session,
    entity_type: type[E],
    survivor_id: uuid.UUID,
    merged_ids: Sequence[uuid.UUID],
    *,
    survivorship: Survivorship = DEFAULT_SURVIVORSHIP,
    progress: Callable[[str, int, int], None] | None = None,
) -> MergeResult:
    """Merge ``merged_ids`` into ``survivor_id`` inside the session's unit of work.

    Args:
        session: the unit of work (commit it, or leave its ``with`` block, to keep the merge).
        entity_type: the aggregate type (``Customer``, ``Account``...).
        survivor_id: the record that stays.
        merged_ids: the records merged into it (soft-deleted, kept in the journal).
        survivorship: per-field rules.
        progress: called as ``progress(stage, done, total)``.

    Returns:
        The merge's id, the stored survivor, and every re-pointed reference.

    Raises:
        NotFound: a record is missing in this tenant.
        ValidationError: the ids are not distinct, or the merged record is invalid.
        PermissionDenied: the policy does not grant ``merge`` on one of the records.
    """
    records = _load(session, entity_type, survivor_id, merged_ids)
    for each in records:
        session.authorize("merge", each)
    before = records[0]
    built, sources = _build(entity_type, records, survivorship)
    repo = session.repo(entity_type)
    survivor = repo.update(attrs.evolve(built, version=before.version))
    repointed: list[dict[str, Any]] = []
    refs = references_to(entity_type)
    for n, (cls, field) in enumerate(refs):
        related = session.repo(cls)
        for r in list(related.stream(in_(field, list(merged_ids)), include_deleted=True)):
            old = getattr(r, field)
            moved = related.update(replace_trusted(r, **{field: survivor_id}))
            repointed.append(
                {
                    "entity": cls.entity_name(),
                    "id": str(r.id),
                    "field": field,
                    "from": str(old),
                    "version": moved.version,
                }
            )
        if progress:
            progress("repoint", n + 1, len(refs))
    now = session.now()
    for r in records[1:]:
        repo.update(attrs.evolve(r, deleted_at=now))
    journal = {
        "survivor_before": to_data(before),
        "survivor_after": to_data(survivor),
        "merged": [to_data(r) for r in records[1:]],
        "repointed": repointed,
    }
    record = session.merges.add(
        MergeRecord(
            entity=entity_type.entity_name(),
            survivor_id=survivor_id,
            merged_ids=list(merged_ids),
            actor=session.principal.user_id,
            journal=journal,
        )
    )
    return MergeResult(
        record.id,
        survivor,
        tuple(merged_ids),
        sources,
        tuple((p["entity"], uuid.UUID(p["id"]), p["field"]) for p in repointed),
    )


def _restorable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("version", "updated_at")}


def unmerge(session: Session, merge_id: uuid.UUID) -> UnmergeResult:
    """Undo a merge inside the session's unit of work.

    Raises:
        NotFound: no such merge in this tenant.
        Conflict: the merge was already undone.
    """
    record = session.merges.get(merge_id)
    session.authorize("merge", record)
    if record.undone_at is not None:
        raise Conflict("MergeRecord", merge_id, reason="this merge was already undone")
    entity_type = ENTITY_TYPES[record.entity]
    repo = session.repo(entity_type)
    journal = record.journal
    prior, after = journal["survivor_before"], journal["survivor_after"]
    current = repo.get(record.survivor_id, include_deleted=True)
    now_data = to_data(current)
    restored = dict(now_data)
    kept: list[str] = []
    for field in prior:
        if field in _BOOKKEEPING:
            continue
        if now_data[field] == after[field]:
            restored[field] = prior[field]
        elif now_data[field] != prior[field]:
            kept.append(field)  # changed after the merge: the later edit wins
    restored["created_at"] = prior["created_at"]
    survivor = repo.update(from_data(entity_type, restored))

    restored_ids: list[uuid.UUID] = []
    for data in journal["merged"]:
        rid = uuid.UUID(data["id"])
        try:
            cur = repo.get(rid, include_deleted=True)
        except NotFound:
            cur = None
        original = from_data(entity_type, data)
        if cur is None:
            repo.add(original)  # removed for good since: bring it back as it was
        else:
            repo.update(attrs.evolve(original, version=cur.version))
        restored_ids.append(rid)

    left: list[tuple[str, uuid.UUID, str]] = []
    for p in journal["repointed"]:
        cls = ENTITY_TYPES[p["entity"]]
        rid, field = uuid.UUID(p["id"]), p["field"]
        try:
            cur_rel = session.repo(cls).get(rid, include_deleted=True)
        except NotFound:
            left.append((p["entity"], rid, field))
            continue
        if getattr(cur_rel, field) == record.survivor_id:
            session.repo(cls).update(replace_trusted(cur_rel, **{field: uuid.UUID(p["from"])}))
        else:
            left.append((p["entity"], rid, field))
    session.merges.update(attrs.evolve(record, undone_at=session.now()))
    return UnmergeResult(merge_id, survivor, tuple(restored_ids), tuple(kept), tuple(left))
