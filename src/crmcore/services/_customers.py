"""Customer-data use cases: merge duplicates into a survivor, losslessly, and undo a merge.

A merge

1. builds the survivor's new state field by field
   (:func:`crmcore.dedupe.build_survivor` with a :class:`~crmcore.dedupe.Survivorship`);
2. re-points every record that refers to a merged-away record (activities,
   opportunities, tickets, orders, consents, contact roles, campaign
   membership...) to the survivor, soft-deleted ones included, so nothing is
   orphaned;
3. soft-deletes the merged-away records (they stay stored) and writes a
   :class:`~crmcore.model.MergeRecord` journal holding the exact prior state of
   every record it touched.

All of it happens through the unit of work's repositories: it commits whole
or not at all, the policy is asked for ``merge`` on every record, and the
audit layer records every change. A principal who sees some fields masked or
hidden merges the stored values, never their masks (issue #13): the survivor
and the journal are built from the records as stored, the ``merge``
permission covers the fields survivorship changes, and the result shows the
principal only what it may see.

:func:`unmerge` restores the prior state from the journal. Later edits win:
a survivor field that was changed after the merge keeps its newer value (the
result lists it in ``kept``), and a relation that was re-pointed again after
the merge is left where it is; everything else returns to exactly what it was.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from crmcore.dedupe import BOOKKEEPING, DEFAULT_SURVIVORSHIP, Survivorship, build_survivor
from crmcore.errors import Conflict, NotFound, ValidationError
from crmcore.events import emit
from crmcore.model import (
    ENTITY_TYPES,
    VALUE_COPY_OPENER,
    Entity,
    MergeRecord,
    from_data,
    references_to,
    replace_trusted,
    to_data,
)
from crmcore.query import in_
from crmcore.storage.ports import UNSEEN_VALUES, UnitOfWorkContext, UnseenValues

__all__ = ["MergeResult", "UnmergeResult", "merge", "preview_merge", "unmerge"]

E = TypeVar("E", bound=Entity)


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


def _unseen(uow: UnitOfWorkContext, entity_type: type[E]) -> UnseenValues[E] | None:
    uow.repo(entity_type)  # builds the layers, and with them the guard's offer
    offered: dict[type[Entity], Any] = uow.extension(UNSEEN_VALUES, dict)
    return offered.get(entity_type)


def _stored(uow: UnitOfWorkContext, records: Sequence[E]) -> list[E]:
    """``records`` (read through the guard, perhaps masked) as they are stored."""
    if not records:
        return []
    unseen = _unseen(uow, type(records[0]))
    return list(records) if unseen is None else [unseen.stored(r.id) for r in records]


def _shown(uow: UnitOfWorkContext, record: E) -> E:
    unseen = _unseen(uow, type(record))
    return record if unseen is None else unseen.shown(record)


def _granted(uow: UnitOfWorkContext, entity_type: type[E]) -> Any:
    unseen = _unseen(uow, entity_type)
    return contextlib.nullcontext() if unseen is None else unseen.granted()


def _load(
    uow: UnitOfWorkContext, entity_type: type[E], survivor_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[E]:
    """The records (survivor first) as stored, after the guard let the principal read them."""
    if not ids:
        raise ValidationError.single(
            "merged_ids", "nothing_to_merge", "name at least one record to merge"
        )
    if survivor_id in ids or len(set(ids)) != len(ids):
        raise ValidationError.single(
            "merged_ids", "duplicate_ids", "the survivor and the merged records must be distinct"
        )
    repo = uow.repo(entity_type)
    return _stored(uow, [repo.get(survivor_id), *(repo.get(i) for i in ids)])


def preview_merge(
    uow: UnitOfWorkContext,
    entity_type: type[E],
    survivor_id: uuid.UUID,
    merged_ids: Sequence[uuid.UUID],
    *,
    survivorship: Survivorship = DEFAULT_SURVIVORSHIP,
) -> MergeResult:
    """What :func:`merge` would produce, without writing anything."""
    records = _load(uow, entity_type, survivor_id, merged_ids)
    survivor, sources = build_survivor(entity_type, records, survivorship)
    survivor = _shown(uow, survivor)
    repointed = tuple(
        (cls.entity_name(), r.id, field)
        for cls, field in references_to(entity_type)
        for r in uow.repo(cls).stream(in_(field, list(merged_ids)), include_deleted=True)
    )
    return MergeResult(None, survivor, tuple(merged_ids), sources, repointed, dry_run=True)


def merge(
    uow: UnitOfWorkContext,
    entity_type: type[E],
    survivor_id: uuid.UUID,
    merged_ids: Sequence[uuid.UUID],
    *,
    survivorship: Survivorship = DEFAULT_SURVIVORSHIP,
    progress: Callable[[str, int, int], None] | None = None,
) -> MergeResult:
    """Merge ``merged_ids`` into ``survivor_id`` inside the session's unit of work.

    Args:
        uow: the unit of work (commit it, or leave its ``with`` block, to keep the merge).
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
    records = _load(uow, entity_type, survivor_id, merged_ids)
    for each in records:
        uow.authorize("merge", each)
    before = records[0]
    built, sources = build_survivor(entity_type, records, survivorship)
    built = _no_plaintext_copies(uow, records, built)
    repo = uow.repo(entity_type)
    with _granted(uow, entity_type):  # the merge permission covers survivorship's choices
        survivor = repo.update(attrs.evolve(built, version=before.version))
    stored_after = _stored(uow, [survivor])[0]
    repointed: list[dict[str, Any]] = []
    refs = references_to(entity_type)
    for n, (cls, field) in enumerate(refs):
        related = uow.repo(cls)
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
    now = uow.now()
    for r in records[1:]:
        repo.update(attrs.evolve(r, deleted_at=now))
    journal = {
        "survivor_before": to_data(before),
        "survivor_after": to_data(stored_after),
        "merged": [to_data(r) for r in records[1:]],
        "repointed": repointed,
    }
    record = uow.repo(MergeRecord).add(
        MergeRecord(
            entity=entity_type.entity_name(),
            survivor_id=survivor_id,
            merged_ids=list(merged_ids),
            actor=uow.principal.user_id,
            journal=journal,
        )
    )
    emit(
        uow,
        f"{entity_type.entity_name().lower()}.merged",
        survivor,
        {"merge_id": str(record.id), "merged_ids": [str(i) for i in merged_ids]},
    )
    return MergeResult(
        record.id,
        survivor,
        tuple(merged_ids),
        sources,
        tuple((p["entity"], uuid.UUID(p["id"]), p["field"]) for p in repointed),
    )


#: primary contact field -> the list a losing primary value is kept in
_CONTACT_LISTS = {"email": "emails", "phone": "phones"}


def _no_plaintext_copies(uow: UnitOfWorkContext, records: Sequence[E], built: E) -> E:
    """``built`` without losing primary values demoted into a list stored in plaintext.

    A losing record's protected e-mail or phone would be kept in the survivor's
    ``emails``/``phones``, in plaintext when only the primary field is
    encrypted (issue #13): it stays in the (sealed) merge journal instead, and
    an unmerge brings it back. Entries already in some record's list stay.
    """
    offered: dict[str, Any] = uow.extension(VALUE_COPY_OPENER, dict)
    protected: Mapping[str, frozenset[str]] = offered.get("protected", {})
    fields = protected.get(type(built).entity_name(), frozenset())
    drop: dict[str, Any] = {}
    for primary, extra in _CONTACT_LISTS.items():
        if primary not in fields or extra in fields or not hasattr(built, extra):
            continue
        listed = {item for r in records for item in getattr(r, extra)}
        items = tuple(getattr(built, extra))
        kept = tuple(item for item in items if item in listed)
        if len(kept) != len(items):
            drop[extra] = kept
    return replace_trusted(built, **drop) if drop else built


def _restorable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("version", "updated_at")}


def _raw_journal(uow: UnitOfWorkContext, shown: MergeRecord) -> MergeRecord:
    raw = uow.inner(MergeRecord).get(shown.id)
    offered: dict[str, Any] = uow.extension(VALUE_COPY_OPENER, dict)
    opener: Callable[[MergeRecord], MergeRecord] | None = offered.get("open")
    return opener(raw) if opener is not None else raw


def unmerge(uow: UnitOfWorkContext, merge_id: uuid.UUID) -> UnmergeResult:
    """Undo a merge inside the session's unit of work.

    Raises:
        NotFound: no such merge in this tenant.
        Conflict: the merge was already undone.
    """
    shown = uow.repo(MergeRecord).get(merge_id)  # tenant, read permission on the record
    uow.authorize("merge", shown)
    # the journal as stored: the guard shows its copies at the principal's field
    # levels, and the encryption layer opens copies it sealed (issue #13)
    record = _raw_journal(uow, shown)
    if record.undone_at is not None:
        raise Conflict("MergeRecord", merge_id, reason="this merge was already undone")
    entity_type = ENTITY_TYPES[record.entity]
    repo = uow.repo(entity_type)
    journal = record.journal
    prior, after = journal["survivor_before"], journal["survivor_after"]
    current = _stored(uow, [repo.get(record.survivor_id, include_deleted=True)])[0]
    now_data = to_data(current)
    restored = dict(now_data)
    kept: list[str] = []
    for field in prior:
        if field in BOOKKEEPING:
            continue
        if now_data[field] == after[field]:
            restored[field] = prior[field]
        elif now_data[field] != prior[field]:
            kept.append(field)  # changed after the merge: the later edit wins
    restored["created_at"] = prior["created_at"]
    restored_ids: list[uuid.UUID] = []
    with _granted(uow, entity_type):  # back to the stored values the merge replaced
        survivor = repo.update(from_data(entity_type, restored))
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
            cur_rel = uow.repo(cls).get(rid, include_deleted=True)
        except NotFound:
            left.append((p["entity"], rid, field))
            continue
        if getattr(cur_rel, field) == record.survivor_id:
            uow.repo(cls).update(replace_trusted(cur_rel, **{field: uuid.UUID(p["from"])}))
        else:
            left.append((p["entity"], rid, field))
    uow.repo(MergeRecord).update(attrs.evolve(record, undone_at=uow.now()))
    emit(
        uow,
        f"{entity_type.entity_name().lower()}.unmerged",
        survivor,
        {"merge_id": str(merge_id), "restored_ids": [str(i) for i in restored_ids]},
    )
    return UnmergeResult(merge_id, survivor, tuple(restored_ids), tuple(kept), tuple(left))
