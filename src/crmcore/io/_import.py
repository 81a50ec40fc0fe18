"""Importing rows into a session: map, validate, upsert or deduplicate, checkpoint, undo.

``import_records(s, "customers.csv", mapping)`` streams the file in batches;
each row is read as its fields' types, written through the session (so its
validation, policy, audit and encryption apply), and every problem of every
row is collected with its row, column, code and message. With
``transaction="file"`` the file is written whole or not at all; with
``transaction="batch"`` each batch commits with its checkpoint
(:class:`crmcore.model.ImportBatch`) and a crashed import resumes after the
last committed batch (``resume=import_id``). ``dry_run=True`` does all of it
and writes nothing. :func:`undo_import` removes what an import created and
puts back what it changed.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from crmcore._progress import ProgressFn, make_progress
from crmcore.errors import (
    AlreadyExists,
    ConfigurationError,
    NotFound,
    PermissionDenied,
    QueryError,
    ValidationError,
)
from crmcore.io._backup import _flusher
from crmcore.io._convert import ImportRowError, RowConverter, errors_of
from crmcore.io._mapping import _TARGET, FULL_NAME, ColumnMapping, suggest_mapping
from crmcore.io._readers import open_rows
from crmcore.model import (
    Entity,
    ImportBatch,
    ImportJob,
    fields_of,
    from_data,
    replace_trusted,
    stamp_new,
    to_data,
)
from crmcore.query import eq, field
from crmcore.storage.ports import UnitOfWorkContext

__all__ = [
    "DUPLICATE_ACTIONS",
    "ImportDuplicate",
    "ImportOrigin",
    "ImportReport",
    "UndoReport",
    "import_records",
    "record_origin",
    "undo_import",
]

#: what to do with a new row that the dedupe model judges a duplicate of a stored record
DUPLICATE_ACTIONS = ("create", "skip", "merge", "flag")
#: the tag a row created with ``duplicates="flag"`` gets
FLAG_TAG = "possible_duplicate"
_MISSING = object()
_COUNTED = ("created", "updated", "merged", "unchanged", "skipped", "flagged", "invalid")
_KEYS = ("id", "email", "phone", "national_id", "custom.external_id", "registration_id")


@attrs.frozen
class ImportDuplicate:
    """A row the dedupe model matched to a stored record, and what was done with it.

    Attributes:
        row: the row number.
        existing_id: the stored record it matches.
        probability: the model's match probability.
        action: ``skipped``, ``merged`` or ``flagged`` (created, tagged).
        record_id: the record created for a flagged row.
    """

    row: int
    existing_id: Any
    probability: float
    action: str
    record_id: uuid.UUID | None = None


@attrs.define
class ImportReport:
    """What an import did (or, in a dry run, would do).

    Attributes:
        import_id: the import's id (pass it to :func:`undo_import`, or as ``resume``).
        dry_run: nothing was written.
        committed: the rows' records were written (False for a dry run and for
            a ``transaction="file"`` import with invalid rows).
        rows: data rows read.
        created / updated / merged / unchanged / skipped / flagged / invalid: row counts.
        errors: every problem of every invalid row (at most ``max_errors``).
        duplicates: the rows matched to stored records.
        bad_rows: the invalid rows as read, for :meth:`write_errors`.
        columns: the file's columns.
        mapping: the mapping used.
        resumed_batches: batches skipped because a checkpoint says they were committed.
        quality: the data-quality report of the rows (``quality=True``).
    """

    import_id: uuid.UUID
    mapping: ColumnMapping
    columns: list[str]
    dry_run: bool = False
    committed: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    unchanged: int = 0
    skipped: int = 0
    flagged: int = 0
    invalid: int = 0
    errors: list[ImportRowError] = attrs.field(factory=list)
    duplicates: list[ImportDuplicate] = attrs.field(factory=list)
    bad_rows: dict[int, dict[str, Any]] = attrs.field(factory=dict, repr=False)
    resumed_batches: int = 0
    quality: Any = None

    @property
    def ok(self) -> bool:
        """Whether every row was valid."""
        return self.invalid == 0

    def counts(self) -> dict[str, int]:
        """The row counts as plain data."""
        return {
            k: getattr(self, k)
            for k in (
                "rows",
                "created",
                "updated",
                "merged",
                "unchanged",
                "skipped",
                "flagged",
                "invalid",
            )
        }

    def errors_by_row(self) -> dict[int, list[ImportRowError]]:
        """The errors grouped by row number."""
        out: dict[int, list[ImportRowError]] = {}
        for e in self.errors:
            out.setdefault(e.row, []).append(e)
        return out

    def write_errors(self, path: str | os.PathLike[str], *, error_column: str = "errors") -> Path:
        """Write the invalid rows, as read, plus an error column: fix it and import it again.

        The suffix chooses the format: ``.xlsx`` (openpyxl) or CSV (UTF-8 with a
        BOM, so Excel opens Chinese text correctly).
        """
        from crmcore.io._writers import write_table

        grouped = self.errors_by_row()
        columns = [*self.columns, error_column]
        rows = (
            {
                **row,
                error_column: "; ".join(
                    f"{e.column or e.path}: {e.message} [{e.code}]" for e in grouped.get(n, [])
                ),
            }
            for n, row in sorted(self.bad_rows.items())
        )
        return write_table(path, columns, rows)

    def __str__(self) -> str:
        verb = (
            "would import"
            if self.dry_run
            else ("imported" if self.committed else "wrote nothing of")
        )
        parts = ", ".join(f"{v} {k}" for k, v in self.counts().items() if v and k != "rows")
        return f"import {self.import_id}: {verb} {self.rows} rows ({parts or 'nothing to do'})"


@attrs.frozen
class UndoReport:
    """What :func:`undo_import` did: records removed (created by the import) and restored."""

    import_id: uuid.UUID
    removed: int
    restored: int


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _key_fields(kind: type[Entity], key: str | Sequence[str] | None) -> list[str]:
    if key is None:
        return []
    keys = [key] if isinstance(key, str) else list(key)
    names = fields_of(kind)
    for k in keys:
        head = k.split(".")[0]
        if head not in names:
            raise ConfigurationError(
                f"natural key {k!r} is not a field of {kind.__name__} (try one of "
                f"{', '.join(x for x in _KEYS if x.split('.')[0] in names)})"
            )
    return keys


def _key_value(entity: Entity, key: str) -> Any:
    custom = key.startswith("custom.")
    value = entity.custom.get(key[7:]) if custom else getattr(entity, key, None)
    return None if value in (None, "") else value


def _mapped_fields(mapping: ColumnMapping, extra: Mapping[str, Any]) -> set[str]:
    out: set[str] = set(extra) | set(mapping.defaults)
    for target in mapping.columns.values():
        if target == FULL_NAME:
            out |= {"first_name", "last_name"}
            continue
        m = _TARGET.match(target)
        if m is not None:
            out.add(m["field"])
    return out


#: fields an upsert never copies from a row: the stored record's identity and stamps
_STAMPS = frozenset({"id", "tenant_id", "created_at", "updated_at", "version", "deleted_at"})


def _changes(existing: Entity, row: Entity, names: set[str], *, fill_only: bool) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in names - _STAMPS:
        new = getattr(row, name)
        old = getattr(existing, name)
        if name == "custom":
            merged = {**new, **old} if fill_only else {**old, **new}
            if merged != dict(old):
                changes["custom"] = merged
            continue
        if name == "tags":
            union = frozenset(old) | frozenset(new)
            if union != old:
                changes["tags"] = union
            continue
        if new in (None, "", ()) or new == old:
            continue
        if fill_only and old not in (None, "", ()):
            continue
        changes[name] = new
    return changes


class _Postings:
    """Blocking keys -> record slots, as sorted integer arrays: about 12 bytes a key.

    Keys are hashed to 64 bits (a collision only adds a candidate, which is then
    scored like any other); each batch of keys becomes a sorted chunk, and
    chunks of like size are merged, so a lookup searches a few arrays.
    """

    def __init__(self) -> None:
        import numpy as np

        self._np = np
        self._chunks: list[tuple[Any, Any]] = []  # (sorted key hashes int64, slots int32)

    def add(self, hashes: list[int], slots: list[int]) -> None:
        if not hashes:
            return
        np = self._np
        keys = np.asarray(hashes, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        chunk = (keys[order], np.asarray(slots, dtype=np.int32)[order])
        self._chunks.append(chunk)
        while len(self._chunks) > 1 and len(self._chunks[-2][0]) <= 2 * len(self._chunks[-1][0]):
            (k1, s1), (k2, s2) = self._chunks.pop(), self._chunks.pop()
            keys = np.concatenate([k2, k1])
            order = np.argsort(keys, kind="stable")
            self._chunks.append((keys[order], np.concatenate([s2, s1])[order]))

    def counts(self, hashes: list[int]) -> list[int]:
        """How many slots each key has."""
        np = self._np
        query = np.asarray(hashes, dtype=np.int64)
        total = np.zeros(len(query), dtype=np.int64)
        for keys, _ in self._chunks:
            total += np.searchsorted(keys, query, "right") - np.searchsorted(keys, query, "left")
        return [int(c) for c in total]

    def slots(self, hashes: list[int], *, max_block: int) -> set[int]:
        """The slots of the keys held by at most ``max_block`` slots."""
        np = self._np
        query = np.asarray(hashes, dtype=np.int64)
        ranges = [
            (slots, np.searchsorted(keys, query, "left"), np.searchsorted(keys, query, "right"))
            for keys, slots in self._chunks
        ]
        sizes = sum((right - left for _, left, right in ranges), np.zeros(len(query), np.int64))
        out: set[int] = set()
        for slots, left, right in ranges:
            for i in np.flatnonzero((sizes <= max_block) & (right > left)).tolist():
                out.update(slots[left[i] : right[i]].tolist())
        return out

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + s.nbytes for k, s in self._chunks)


class _Dedupe:
    """The duplicate check of new rows against the store, in bounded memory.

    Only the stored records' blocking keys (and the value counts of the
    term-frequency adjustment) are kept, hashed into :class:`_Postings`; per
    batch, the stored records that share a key with one of the batch's rows are
    read back from the store and scored by a small
    :class:`crmcore.dedupe.BlockingIndex` of just those, with the counts of
    the whole store. Matches are those the whole index would find.
    """

    def __init__(
        self, uow: UnitOfWorkContext, kind: type[Entity], region: str, threshold: float
    ) -> None:
        from array import array

        from crmcore.dedupe import BlockingIndex

        self.repo = uow.repo(kind)
        self.region = region
        self.threshold = threshold
        self.probe = BlockingIndex(region=region, threshold=threshold)
        self.tf_columns = self.probe.term_columns
        self.max_block = self.probe.max_block_size
        self.postings = _Postings()
        self.id_hi = array("Q")
        self.id_lo = array("Q")
        self.index: Any = None
        chunk: list[Entity] = []
        for record in self.repo.stream(batch_size=1000):
            chunk.append(record)
            if len(chunk) >= 1000:
                self.add_many(chunk)
                chunk = []
        self.add_many(chunk)

    def _tf_hash(self, column: str, value: str) -> int:
        return hash(("tf", column, value))

    def add_many(self, records: list[Entity]) -> None:
        """Add the records' keys (a changed record's new keys join its old ones)."""
        if not records:
            return
        hashes: list[int] = []
        slots: list[int] = []
        for record, (row, keys) in zip(records, self.probe.keys_of(records), strict=True):
            slot = len(self.id_hi)
            self.id_hi.append(record.id.int >> 64)
            self.id_lo.append(record.id.int & 0xFFFF_FFFF_FFFF_FFFF)
            for key in keys:
                hashes.append(hash(key))
                slots.append(slot)
            for column in self.tf_columns:
                value = row.get(column)
                if value is not None:
                    hashes.append(self._tf_hash(column, value))
                    slots.append(slot)
        self.postings.add(hashes, slots)

    def prepare(self, records: list[Entity]) -> None:
        """Read the stored records that may match one of ``records`` and index them."""
        from crmcore.dedupe import BlockingIndex

        if not records:
            self.index = None
            return
        keyed = self.probe.keys_of(records)
        wanted = sorted({hash(k) for _, keys in keyed for k in keys})
        slots = self.postings.slots(wanted, max_block=self.max_block)
        ids = list(
            dict.fromkeys(
                uuid.UUID(int=(self.id_hi[s] << 64) | self.id_lo[s]) for s in sorted(slots)
            )
        )
        values = sorted(
            {(c, v) for row, _ in keyed for c in self.tf_columns if (v := row.get(c)) is not None}
        )
        counts = dict(
            zip(values, self.postings.counts([self._tf_hash(c, v) for c, v in values]), strict=True)
        )

        def term_counts(column: str, value: str) -> int:
            return counts.get((column, value), 0)

        self.index = BlockingIndex(
            region=self.region, threshold=self.threshold, term_counts=term_counts
        )
        candidates = self.repo.get_many(ids) if ids else []
        if candidates:
            self.index.add_many(candidates)

    def match(self, record: Entity) -> tuple[Any, float] | None:
        if self.index is None or not len(self.index):
            return None
        found = self.index.possible_duplicates(record, min_probability=self.threshold, limit=1)
        return (found[0].right, found[0].probability) if found else None


class _Run:
    """One import run over one unit of work."""

    def __init__(
        self,
        uow: UnitOfWorkContext,
        report: ImportReport,
        converter: RowConverter,
        keys: list[str],
        duplicates: str,
        dedupe: _Dedupe | None,
        max_errors: int,
        extra: Mapping[str, Any],
    ) -> None:
        self.uow = uow
        self.report = report
        self.conv = converter
        self.kind = converter.kind
        self.repo = uow.repo(self.kind)
        self.keys = keys
        self.duplicates = duplicates
        self.dedupe = dedupe
        self.max_errors = max_errors
        self.names = _mapped_fields(converter.mapping, extra)
        self.has_tags = "tags" in fields_of(self.kind)
        from crmcore.validation import default_rules

        self.rules = default_rules(converter.mapping.region).get(self.kind)
        self._key_rules: dict[str, Any] = {}
        self._key_cache: dict[str, dict[Any, Any]] = {}

    def _normal_key(self, key: str, value: Any) -> Any:
        """The key as validation stores it (phones in E.164...), to look records up by it."""
        if self.rules is None or key not in self.rules.fields:
            return value
        cache = self._key_cache.setdefault(key, {})
        hit = cache.get(value, _MISSING)
        if hit is not _MISSING:
            return hit
        from crmcore.validation import RuleSet, validate_record

        rules = self._key_rules.get(key)
        if rules is None:
            rules = self._key_rules[key] = RuleSet(fields={key: self.rules.fields[key]})
        try:
            done = validate_record({key: value}, rules)[key]
        except ValidationError:
            done = value
        if len(cache) > 100_000:
            cache.clear()
        cache[value] = done
        return done

    def _lookup(self, key: str, values: list[Any]) -> dict[Any, Entity]:
        if not values:
            return {}
        found: dict[Any, Entity] = {}
        try:
            for e in self.repo.stream(field(key).in_(values), batch_size=1000):
                found.setdefault(_key_value(e, key), e)
        except QueryError:  # e.g. an encrypted field searchable by equality only
            for v in values:
                one = self.repo.first(eq(key, v))
                if one is not None:
                    found[v] = one
        return found

    def _fail(self, row_no: int, raw: dict[str, Any], errors: list[ImportRowError]) -> None:
        self.report.invalid += 1
        room = self.max_errors - len(self.report.errors)
        if room > 0:
            self.report.errors.extend(errors[:room])
            self.report.bad_rows[row_no] = {k: v for k, v in raw.items() if not k.startswith("__")}

    def batch(self, seq: int, rows: list[tuple[int, dict[str, Any]]]) -> ImportBatch:
        report = self.report
        created: dict[str, int] = {}
        updated: dict[str, Any] = {}
        names = ("created", "updated", "merged", "unchanged", "skipped", "flagged", "invalid")
        counts = dict.fromkeys(names, 0)
        check = getattr(self.repo, "check", None)  # a session repository checks without writing
        converted: list[tuple[int, dict[str, Any], Entity]] = []
        for row_no, raw in rows:
            entity, errors = self.conv.convert(row_no, raw)
            if entity is not None and check is not None:
                try:
                    entity = check(entity)
                except ValidationError as exc:
                    entity, errors = None, errors_of(row_no, exc, self.conv.mapping)
            if entity is None:
                self._fail(row_no, raw, errors)
                counts["invalid"] += 1
                continue
            converted.append((row_no, raw, entity))

        def key_of(entity: Entity, key: str) -> Any:
            value = _key_value(entity, key)
            if value is None or check is not None:
                return value  # a checked record holds its keys as stored
            return self._normal_key(key, value)

        # look the batch's natural keys up at once; later rows see earlier rows' writes
        known: dict[str, dict[Any, Entity]] = {}
        for key in self.keys:
            values = {v for _, _, e in converted if (v := key_of(e, key)) is not None}
            known[key] = self._lookup(key, sorted(values, key=str))
        pending: dict[uuid.UUID, tuple[int, dict[str, Any], Entity]] = {}

        indexed: dict[uuid.UUID, Entity] = {}

        def remember(stored: Entity) -> None:
            for key in self.keys:
                value = _key_value(stored, key)
                if value is not None:
                    known[key][value] = stored
            indexed[stored.id] = stored

        def journal(existing: Entity, row_no: int) -> None:
            rid = str(existing.id)
            if rid not in updated and rid not in created:
                # as stored: encrypted fields stay ciphertext in the journal
                before = self.uow.inner(self.kind).get(existing.id)
                updated[rid] = {"row": row_no, "before": to_data(before)}

        if self.dedupe is not None:  # the stored records this batch's new rows may duplicate
            self.dedupe.prepare(
                [e for _, _, e in converted if not any(key_of(e, k) in known[k] for k in self.keys)]
            )
        for row_no, raw, entity in converted:
            existing = None
            for key in self.keys:
                value = key_of(entity, key)
                if value is not None:
                    existing = known[key].get(value)
                    if existing is not None:
                        break
            try:
                if existing is not None:
                    changes = _changes(existing, entity, self.names, fill_only=False)
                    if not changes:
                        counts["unchanged"] += 1
                    elif existing.id in pending:  # created earlier in this batch
                        first_row, first_raw, _ = pending[existing.id]
                        merged = attrs.evolve(existing, **changes)
                        pending[existing.id] = (first_row, first_raw, merged)
                        remember(merged)
                        counts["updated"] += 1
                    else:
                        journal(existing, row_no)
                        remember(self.repo.update(attrs.evolve(existing, **changes)))
                        counts["updated"] += 1
                    continue
                match = self.dedupe.match(entity) if self.dedupe is not None else None
                if match is not None and self.duplicates == "skip":
                    report.duplicates.append(ImportDuplicate(row_no, match[0], match[1], "skipped"))
                    counts["skipped"] += 1
                    continue
                if match is not None and self.duplicates == "merge":
                    report.duplicates.append(ImportDuplicate(row_no, match[0], match[1], "merged"))
                    counts["merged"] += 1
                    if match[0] in pending:
                        first_row, first_raw, target = pending[match[0]]
                        changes = _changes(target, entity, self.names, fill_only=True)
                        pending[match[0]] = (first_row, first_raw, attrs.evolve(target, **changes))
                        continue
                    target = self.repo.get(match[0])
                    changes = _changes(target, entity, self.names, fill_only=True)
                    if changes:
                        journal(target, row_no)
                        remember(self.repo.update(attrs.evolve(target, **changes)))
                    continue
                if match is not None:
                    if self.has_tags:
                        tags = frozenset(getattr(entity, "tags", ())) | {FLAG_TAG}
                        entity = replace_trusted(entity, tags=tags)
                    report.duplicates.append(
                        ImportDuplicate(row_no, match[0], match[1], "flagged", entity.id)
                    )
                    counts["flagged"] += 1
                pending[entity.id] = (row_no, raw, entity)
                remember(entity)
            except ValidationError as exc:
                self._fail(row_no, raw, errors_of(row_no, exc, self.conv.mapping))
                counts["invalid"] += 1
            except PermissionDenied as exc:
                self._fail(row_no, raw, [ImportRowError(row_no, None, exc.code, str(exc))])
                counts["invalid"] += 1
        for stored, row_no in self._flush(list(pending.values()), counts):
            created[str(stored.id)] = row_no
            indexed[stored.id] = stored
        if self.dedupe is not None:  # later batches compare with this one's records
            self.dedupe.add_many(
                [e for e in indexed.values() if e.id not in pending or str(e.id) in created]
            )
        counts["created"] = len(created)
        for k in names[:-1]:
            setattr(report, k, getattr(report, k) + counts[k])
        return ImportBatch(
            import_id=report.import_id,
            seq=seq,
            first_row=rows[0][0] if rows else 0,
            last_row=rows[-1][0] if rows else 0,
            created=created,
            updated=updated,
            counts=counts,
        )

    def _flush(
        self, pending: list[tuple[int, dict[str, Any], Entity]], counts: dict[str, int]
    ) -> list[tuple[Entity, int]]:
        """Add the batch's new records in one go; if that fails, one by one to find the culprits."""
        if not pending:
            return []
        try:
            stored = self.repo.add_many([e for _, _, e in pending])
            return [(e, row_no) for e, (row_no, _, _) in zip(stored, pending, strict=True)]
        except (ValidationError, PermissionDenied, AlreadyExists):
            pass
        out = []
        for row_no, raw, entity in pending:
            try:
                out.append((self.repo.add(entity), row_no))
            except ValidationError as exc:
                self._fail(row_no, raw, errors_of(row_no, exc, self.conv.mapping))
                counts["invalid"] += 1
            except (PermissionDenied, AlreadyExists) as exc:
                self._fail(row_no, raw, [ImportRowError(row_no, None, exc.code, str(exc))])
                counts["invalid"] += 1
        return out


def _write(uow: UnitOfWorkContext, record: Entity) -> Entity:
    return uow.inner(type(record)).add(stamp_new(record, tenant_id=uow.tenant_id, now=uow.now()))


def _save_job(uow: UnitOfWorkContext, job: ImportJob, **changes: Any) -> ImportJob:
    inner = uow.inner(ImportJob)
    current = inner.get(job.id)
    return inner.update(replace_trusted(current, updated_at=uow.now(), **changes))


def _batches(
    rows: Iterator[tuple[int, dict[str, Any]]], size: int
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    while True:
        chunk = list(itertools.islice(rows, size))
        if not chunk:
            return
        yield chunk


def _own_job(uow: UnitOfWorkContext, import_id: uuid.UUID | str) -> ImportJob:
    try:
        job = uow.inner(ImportJob).get(uuid.UUID(str(import_id)))
    except (NotFound, ValueError):
        raise NotFound("ImportJob", import_id) from None
    if job.tenant_id != uow.tenant_id:
        raise NotFound("ImportJob", import_id)
    return job


def import_records(
    uow: UnitOfWorkContext,
    source: str | os.PathLike[str] | Any,
    mapping: ColumnMapping | Mapping[str, Any] | None = None,
    *,
    entity: str | type[Entity] | None = None,
    key: str | Sequence[str] | None = None,
    duplicates: str = "create",
    duplicate_threshold: float = 0.9,
    transaction: str = "batch",
    batch_size: int = 500,
    dry_run: bool = False,
    source_system: str | None = None,
    resume: uuid.UUID | str | None = None,
    quality: bool = False,
    max_errors: int = 100_000,
    progress: ProgressFn | bool | None = None,
    **read_options: Any,
) -> ImportReport:
    """Import a file, a DataFrame or rows through the session, streaming in batches.

    Args:
        uow: the session (its validation, policy, audit and encryption apply).
        source: a CSV/XLSX/JSONL/Parquet path, a DataFrame, or mappings.
        mapping: a :class:`ColumnMapping` (or its plain data); default: the
            confident part of :func:`suggest_mapping` for the file's columns.
        entity: the entity type when there is no mapping (default Customer).
        key: natural key field(s) to upsert on (``"email"``, ``"phone"``,
            ``"national_id"``, ``"custom.external_id"``, ``"id"``): a row whose
            key matches a stored record updates it (the fields the mapping sets);
            tried in order. ``None``: every row is new.
        duplicates: for a new row the dedupe model (:mod:`crmcore.dedupe`)
            matches to a stored record (or one of an earlier batch; rows of
            the same batch meet through ``key``): ``"create"`` (no check), ``"skip"``,
            ``"merge"`` (fill the stored record's empty fields) or ``"flag"``
            (create it tagged ``possible_duplicate``).
        duplicate_threshold: the match probability that counts as a duplicate.
        transaction: ``"batch"``: each batch commits with its checkpoint, so a
            crashed import resumes; ``"file"``: all or nothing, and any invalid
            row means nothing is written.
        batch_size: rows per batch.
        dry_run: do everything, report everything, write nothing.
        source_system: recorded on the import and in records' ``source``.
        resume: the id of an import that did not finish: its committed batches
            are skipped (the file must be the same; its mapping and options are reused).
        quality: also compute a :func:`crmcore.validation.quality_report` of the rows.
        max_errors: errors (and bad rows) kept in the report.
        progress: ``progress("import", rows, 0)`` after each batch (see crmcore._progress).
        read_options: passed to :func:`open_rows` (``encoding``, ``delimiter``, ``sheet``...).

    Returns:
        The :class:`ImportReport`.

    Raises:
        ConfigurationError: bad options, or a resume with another file.
        NotFound: ``resume`` names no import of this tenant.
    """
    if duplicates not in DUPLICATE_ACTIONS:
        raise ConfigurationError(f"duplicates must be one of {', '.join(DUPLICATE_ACTIONS)}")
    if transaction not in ("batch", "file"):
        raise ConfigurationError("transaction must be 'batch' or 'file'")
    if batch_size < 1:
        raise ConfigurationError("batch_size must be at least 1")
    report_progress = make_progress(progress)
    path = Path(source) if isinstance(source, (str, os.PathLike)) else None
    sha = _sha256(path) if path is not None else None
    job: ImportJob | None = None
    done: set[int] = set()
    committed: list[ImportBatch] = []
    if resume is not None:
        job = _own_job(uow, resume)
        if job.status not in ("running", "failed"):
            raise ConfigurationError(f"import {job.id} is {job.status}: there is nothing to resume")
        if sha is not None and job.file_sha256 not in (None, sha):
            raise ConfigurationError(f"import {job.id} read another file (its checksum differs)")
        opts = job.options
        mapping = ColumnMapping.from_dict(opts["mapping"])
        key, duplicates = opts.get("key"), opts.get("duplicates", duplicates)
        batch_size, transaction = (
            opts.get("batch_size", batch_size),
            opts.get("transaction", transaction),
        )
        source_system = job.source_system
        committed = [
            b
            for b in uow.inner(ImportBatch).stream(eq("import_id", job.id))
            if b.tenant_id == uow.tenant_id
        ]
        done = {b.seq for b in committed}
    with open_rows(source, batch_size=batch_size, **read_options) as rows_in:
        rows: Iterator[tuple[int, dict[str, Any]]] = iter(rows_in)
        if mapping is None:
            head = list(itertools.islice(rows, 200))
            kind_name = (
                entity if isinstance(entity, str) else (entity.__name__ if entity else "Customer")
            )
            mapping = suggest_mapping(
                rows_in.columns, [r for _, r in head], entity=kind_name
            ).mapping()
            rows = itertools.chain(head, rows)
        elif not isinstance(mapping, ColumnMapping):
            mapping = ColumnMapping.from_dict(mapping)
        kind = mapping.entity_type
        keys = _key_fields(kind, key)
        extra = {"source": source_system} if source_system and "source" in fields_of(kind) else {}
        if job is None:
            options = {
                "mapping": mapping.to_dict(),
                "key": key,
                "duplicates": duplicates,
                "batch_size": batch_size,
                "transaction": transaction,
            }
            job = ImportJob(
                entity=kind.__name__,
                source_system=source_system,
                file_name=rows_in.name,
                file_sha256=sha,
                options=options,
            )
            _write(uow, job)
            if transaction == "batch" and not dry_run:
                uow.commit()  # a crash from here on leaves a resumable import
        report = ImportReport(job.id, mapping, list(rows_in.columns), dry_run=dry_run)
        for b in committed:  # what the committed batches did (their errors are not kept)
            for name in _COUNTED:
                setattr(report, name, getattr(report, name) + int(b.counts.get(name, 0)))
        dedupe = (
            _Dedupe(uow, kind, mapping.region, duplicate_threshold)
            if duplicates != "create"
            else None
        )
        run = _Run(
            uow,
            report,
            RowConverter(mapping, extra=extra),
            keys,
            duplicates,
            dedupe,
            max_errors,
            extra,
        )
        flush = _flusher(uow)
        try:
            for seq, chunk in enumerate(_batches(rows, batch_size)):
                report.rows += len(chunk)
                if seq in done:
                    report.resumed_batches += 1
                    continue
                checkpoint = run.batch(seq, chunk)
                _write(uow, checkpoint)
                if transaction == "batch" and not dry_run:
                    uow.commit()
                else:  # all or nothing: into the open transaction, not held in memory
                    flush()
                if report_progress is not None:
                    report_progress("import", report.rows, 0)
        except BaseException:
            uow.rollback()
            raise
    if report_progress is not None:
        report_progress("import", report.rows, report.rows)
    if dry_run or (transaction == "file" and report.invalid):
        uow.rollback()
    else:
        _save_job(uow, job, status="done", counts=report.counts(), finished_at=uow.now())
        uow.commit()
        report.committed = True
    if quality and path is not None:
        report.quality = _quality(path, mapping, read_options)
    return report


def _quality(path: Path, mapping: ColumnMapping, read_options: Mapping[str, Any]) -> Any:
    from crmcore.validation import default_rules, quality_report

    conv = RowConverter(mapping)
    rules = default_rules(mapping.region).get(mapping.entity_type)
    names = sorted(_mapped_fields(mapping, {}) - {"custom"})

    def records() -> Iterator[dict[str, Any]]:
        with open_rows(path, **read_options) as rows:
            for n, raw in rows:
                entity, _ = conv.convert(n, raw)
                if entity is not None:
                    yield {"id": n, **{k: getattr(entity, k) for k in names}}

    keys = [k for k in ("email", "phone", "national_id") if k in names]
    return quality_report(records(), names, rules, key_fields=keys)


@attrs.frozen
class ImportOrigin:
    """Where a record came from: which import, source system, file and row created it."""

    import_id: uuid.UUID
    source_system: str | None
    file_name: str | None
    row: int
    entity: str


def record_origin(uow: UnitOfWorkContext, record_id: uuid.UUID | str) -> ImportOrigin | None:
    """The import that created a record, with its file and row; ``None`` if none did.

    Reads the batch journals of the session's tenant (not undone imports only).
    """
    rid = str(record_id)
    for batch in uow.inner(ImportBatch).stream(eq("tenant_id", uow.tenant_id)):
        row = batch.created.get(rid)
        if row is None:
            continue
        job = uow.inner(ImportJob).get(batch.import_id)
        if job.status == "undone":
            continue
        return ImportOrigin(job.id, job.source_system, job.file_name, int(row), job.entity)
    return None


def undo_import(uow: UnitOfWorkContext, import_id: uuid.UUID | str) -> UndoReport:
    """Remove what an import created and put back what it changed, batch by batch in reverse.

    Created records are deleted for good through the session (the audit trail
    records it); updated and merged records get back their stored state from
    the batch journals (written below the layers, so encrypted fields are
    restored as the ciphertext they were). Commit the session to keep it.

    Raises:
        NotFound: no such import in this tenant.
        ConfigurationError: the import was already undone.
        PermissionDenied: the principal may not undo imports (system principal only).
    """
    if not uow.principal.system:
        raise PermissionDenied(
            "undo_import",
            "ImportJob",
            id=import_id,
            reason="undoing an import rewrites records below the policy layer",
            principal=uow.principal.user_id,
        )
    job = _own_job(uow, import_id)
    if job.status == "undone":
        raise ConfigurationError(f"import {job.id} was already undone")
    from crmcore.model import entity_type

    kind = entity_type(job.entity)
    inner = uow.inner(kind)
    repo = uow.repo(kind)
    batches = sorted(
        (
            b
            for b in uow.inner(ImportBatch).stream(eq("import_id", job.id))
            if b.tenant_id == uow.tenant_id
        ),
        key=lambda b: -b.seq,
    )
    removed = restored = 0
    for batch in batches:
        for rid, entry in batch.updated.items():
            before = from_data(kind, entry["before"])
            try:
                current = inner.get(uuid.UUID(rid))
            except NotFound:
                inner.add(before)
            else:
                inner.update(replace_trusted(before, version=current.version))
            restored += 1
        for rid in batch.created:
            try:
                repo.delete(uuid.UUID(rid), hard=True)
                removed += 1
            except NotFound:
                pass
    _save_job(uow, job, status="undone", undone_at=uow.now())
    return UndoReport(job.id, removed, restored)
