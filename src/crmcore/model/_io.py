"""Import bookkeeping: one record per import run, and one checkpoint per committed batch.

An :class:`ImportJob` says what was imported from where (source system, file,
its SHA-256, the mapping and options) and how it went; an :class:`ImportBatch`
is written in the same unit of work as the rows of one batch, so after a crash
the batches that have a checkpoint are exactly the ones that were committed.
The batches also journal what each row did (created record ids, the state of
updated records before the import), which is what undoing an import replays.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from crmcore.model._base import Entity, _aware_opt

__all__ = ["ImportBatch", "ImportJob"]


@attrs.frozen(kw_only=True)
class ImportJob(Entity):
    """One import run (its id is the import id).

    Attributes:
        entity: the entity type imported (``"Customer"``).
        source_system: where the data came from (``"legacy-erp"``), also
            stamped on the records' ``source`` when they have one.
        file_name: the file's name as given.
        file_sha256: the file's checksum (a resume refuses a different file).
        status: ``running``, ``done``, ``failed`` or ``undone``.
        options: the mapping and the options of the run (plain data).
        counts: rows read, created, updated, merged, skipped, flagged, invalid.
        finished_at / undone_at: when it finished, when it was undone.
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("status", "file_sha256")

    entity: str
    source_system: str | None = None
    file_name: str | None = None
    file_sha256: str | None = None
    status: str = "running"
    options: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    counts: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    finished_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    undone_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)


@attrs.frozen(kw_only=True)
class ImportBatch(Entity):
    """The checkpoint and journal of one committed batch of an import.

    Attributes:
        import_id: the :class:`ImportJob`'s id.
        seq: the batch number, from 0.
        first_row / last_row: the file rows it covered (1-based data rows).
        created: record id -> file row, for every record the batch created.
        updated: record id -> ``{"row": n, "before": plain data}`` for every
            record it changed (upserts and merges), as it was before.
        counts: what the batch's rows did (created, updated, skipped...).
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("import_id", "seq")
    __crm_references__: ClassVar[tuple[str, ...]] = ()

    import_id: uuid.UUID
    seq: int
    first_row: int = 0
    last_row: int = 0
    created: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    updated: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    counts: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
