"""An incremental blocking index for entry-time duplicate warnings.

:class:`BlockingIndex` keeps every indexed record's normalised values and its
blocking keys (per rule: key -> record slots), and the value counts the model's
term-frequency adjustment needs. ``possible_duplicates(record)`` normalises one
record, looks its keys up, and scores it against the records found with the
same comparisons and model as the batch pipeline, so an indexed record gets
the same weights it would get in :func:`find_duplicates` (given the same model
and no capped block).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from crmcore.dedupe._blocking import DEFAULT_RULES, BlockingRule, record_keys
from crmcore.dedupe._compare import DEFAULT_COMPARISONS, MISSING, Comparison, compare_pairs
from crmcore.dedupe._model import ModelParameters, default_parameters, probability, score_pairs
from crmcore.dedupe._normalize import DefaultNormalizer, RecordNormalizer, build_table
from crmcore.dedupe._records import FieldSpec, RawTable, read_records
from crmcore.dedupe._result import FieldComparison, MatchStatus, ScoredPair
from crmcore.dedupe._run import normalize_chunks, paused_gc
from crmcore.errors import NotFound

__all__ = ["BlockingIndex"]

Posting = int | list[int]


class BlockingIndex:
    """Records indexed by their blocking keys, answering "who might this duplicate?".

    Args:
        parameters: the model (from :meth:`Deduper.fit` or a
            :class:`DuplicateResult`); ``None`` uses cold-start defaults.
        fields: logical field -> where it lives in the records (``None``: by name).
        id_field: the key/attribute holding each record's id.
        region: default phone region.
        normalizer: the normalise stage (default :class:`DefaultNormalizer`).
        rules: blocking rules (default :data:`DEFAULT_RULES`).
        comparisons: comparisons (default :data:`DEFAULT_COMPARISONS`); only those
            the model knows are used.
        threshold: match probability for ``status == "match"``.
        possible_threshold: the lowest probability reported.
        max_block_size: keys shared by more records than this are not looked up.
        term_counts: ``(column, value) -> how many records have it``, for the
            term-frequency adjustment, when the index holds only part of the
            records it stands for (default: its own counts).
    """

    def __init__(
        self,
        parameters: ModelParameters | None = None,
        *,
        fields: Mapping[str, FieldSpec | None] | None = None,
        id_field: str = "id",
        region: str = "CN",
        normalizer: RecordNormalizer | None = None,
        rules: Sequence[BlockingRule] | None = None,
        comparisons: Sequence[Comparison] | None = None,
        threshold: float = 0.9,
        possible_threshold: float = 0.5,
        max_block_size: int = 200,
        term_counts: Callable[[str, str], int] | None = None,
    ) -> None:
        comps = tuple(comparisons or DEFAULT_COMPARISONS)
        if parameters is None:
            parameters = default_parameters(comps)
        known = {c.name for c in parameters.comparisons}
        self._comparisons = tuple(c for c in comps if c.name in known)
        self._params = attrs_evolve_comparisons(parameters, self._comparisons)
        self._fields = fields
        self._id_field = id_field
        self._normalizer = normalizer or DefaultNormalizer(region=region)
        self._rules = tuple(rules or DEFAULT_RULES)
        self.threshold = threshold
        self.possible_threshold = possible_threshold
        self._max_block = max_block_size
        self._ids: list[Hashable | None] = []
        self._slot: dict[Hashable, int] = {}
        self._free: list[int] = []
        self._columns: dict[str, list[str | None]] = {}
        self._postings: list[dict[str, Posting]] = [{} for _ in self._rules]
        self._tf_columns = sorted(
            {c.tf_column for c in self._comparisons if c.tf_column and c.tf_levels}
        )
        self._tf: dict[str, dict[str, int]] = {c: {} for c in self._tf_columns}
        self._term_counts = term_counts
        self._needed = {
            col
            for c in self._comparisons
            for col in (c.column, c.shown_column(), c.tf_column, *c.uses)
            if col is not None
        } | {"name_exact", "name_key", "name_canon", "email", "phone", "date_of_birth"}

    # ------------------------------------------------------------------ state

    @property
    def parameters(self) -> ModelParameters:
        """The model the index scores with."""
        return self._params

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._slot

    def ids(self) -> list[Hashable]:
        """The ids of the indexed records (unordered)."""
        return list(self._slot)

    def _row(self, slot: int) -> dict[str, str | None]:
        return {name: values[slot] for name, values in self._columns.items()}

    def _keys(self, row: Mapping[str, str | None]) -> list[list[str]]:
        return [record_keys(rule, tuple(row.get(c) for c in rule.columns)) for rule in self._rules]

    def _normalize(self, raw: RawTable) -> list[dict[str, str | None]]:
        cols = self._normalizer(raw)
        return [{k: v[i] for k, v in cols.items()} for i in range(raw.n)]

    @property
    def term_columns(self) -> list[str]:
        """The columns whose value counts the term-frequency adjustment uses."""
        return list(self._tf_columns)

    @property
    def max_block_size(self) -> int:
        """Keys shared by more records than this are not looked up."""
        return self._max_block

    def keys_of(
        self, records: Iterable[Any] | Any
    ) -> list[tuple[dict[str, str | None], list[str]]]:
        """Each record's normalised values and blocking keys (``"<rule>:<key>"``), indexing nothing.

        For a caller that keeps its own compact postings of many records.
        """
        raw = read_records(records, fields=self._fields, id_field=self._id_field, require_ids=False)
        out = []
        for row in self._normalize(raw):
            keys = [
                f"{rule.name}:{key}"
                for rule, found in zip(self._rules, self._keys(row), strict=True)
                for key in found
            ]
            out.append((row, keys))
        return out

    # ------------------------------------------------------------------ changes

    def add(self, record: Any) -> None:
        """Index one record (a mapping or entity with an id).

        Raises:
            AlreadyExists-like ValidationError: the record has no id.
        """
        self.add_many([record])

    def add_many(self, records: Iterable[Any] | Any, *, workers: int = 1) -> None:
        """Index many records at once (normalised in one batch).

        A record whose id is already indexed replaces the indexed version.

        Args:
            records: mappings, entities or a DataFrame.
            workers: processes to normalise in (1 = in process).

        Raises:
            ValidationError: a record has no id, or ids repeat within the batch.
        """
        with paused_gc():
            raw = read_records(records, fields=self._fields, id_field=self._id_field)
            if workers > 1:
                cols = normalize_chunks(raw, self._normalizer, workers=workers, progress=None)
                rows = [{k: v[i] for k, v in cols.items()} for i in range(raw.n)]
            else:
                rows = self._normalize(raw)
            for rid, row in zip(raw.ids, rows, strict=True):
                if rid in self._slot:
                    self._remove(rid)
                self._insert(rid, row)

    def update(self, record: Any) -> None:
        """Re-index a record whose values changed (adds it if new)."""
        self.add_many([record])

    def remove(self, record_id: Hashable) -> None:
        """Drop a record from the index.

        Raises:
            NotFound: no record with that id is indexed.
        """
        if record_id not in self._slot:
            raise NotFound("record", record_id)
        self._remove(record_id)

    def _insert(self, rid: Hashable, row: dict[str, str | None]) -> None:
        if self._free:
            slot = self._free.pop()
            self._ids[slot] = rid
        else:
            slot = len(self._ids)
            self._ids.append(rid)
            for values in self._columns.values():
                values.append(None)
        for name, value in row.items():
            col = self._columns.get(name)
            if col is None:
                col = self._columns[name] = [None] * len(self._ids)
            col[slot] = value
        self._slot[rid] = slot
        for postings, keys in zip(self._postings, self._keys(row), strict=True):
            for key in keys:
                have = postings.get(key)
                if have is None:
                    postings[key] = slot
                elif isinstance(have, int):
                    postings[key] = [have, slot]
                else:
                    have.append(slot)
        for col_name in self._tf_columns:
            value = row.get(col_name)
            if value is not None:
                counts = self._tf[col_name]
                counts[value] = counts.get(value, 0) + 1

    def _remove(self, rid: Hashable) -> None:
        slot = self._slot.pop(rid)
        row = self._row(slot)
        for postings, keys in zip(self._postings, self._keys(row), strict=True):
            for key in keys:
                have = postings.get(key)
                if isinstance(have, int):
                    if have == slot:
                        del postings[key]
                elif have is not None:
                    if slot in have:
                        have.remove(slot)
                    if len(have) == 1:
                        postings[key] = have[0]
        for col_name in self._tf_columns:
            value = row.get(col_name)
            if value is not None:
                counts = self._tf[col_name]
                left = counts.get(value, 0) - 1
                if left > 0:
                    counts[value] = left
                else:
                    counts.pop(value, None)
        for values in self._columns.values():
            values[slot] = None
        self._ids[slot] = None
        self._free.append(slot)

    # ------------------------------------------------------------------ queries

    def possible_duplicates(
        self, record: Any, *, min_probability: float | None = None, limit: int | None = None
    ) -> list[ScoredPair]:
        """Indexed records that may be duplicates of ``record``, strongest first.

        The record need not be indexed, nor have an id yet. Each pair has the
        record as ``left`` and the indexed record as ``right``.

        Args:
            record: a mapping or entity.
            min_probability: lowest probability returned (default: the
                possible-match threshold).
            limit: at most this many pairs.

        Returns:
            Scored pairs with per-field explanations.
        """
        raw = read_records(
            [record], fields=self._fields, id_field=self._id_field, require_ids=False
        )
        rid = raw.ids[0]
        row = self._normalize(raw)[0]
        own = self._slot.get(rid) if rid is not None else None
        found: set[int] = set()
        for postings, keys in zip(self._postings, self._keys(row), strict=True):
            for key in keys:
                have = postings.get(key)
                if have is None:
                    continue
                if isinstance(have, int):
                    found.add(have)
                elif len(have) <= self._max_block:
                    found.update(have)
        found.discard(own if own is not None else -1)
        if not found:
            return []
        slots = sorted(found)
        names = sorted((set(self._columns) | set(row)) & self._needed)
        columns = {name: [row.get(name), *_pick(self._columns.get(name), slots)] for name in names}
        table = build_table([rid, *(self._ids[s] for s in slots)], columns)
        right = np.arange(1, len(slots) + 1, dtype=np.int64)
        left = np.zeros(len(slots), dtype=np.int64)
        levels = compare_pairs(table, self._comparisons, left, right)
        tf: list[npt.NDArray[np.float64] | None] = []
        for comp in self._comparisons:
            if comp.tf_column and comp.tf_levels:
                value = row.get(comp.tf_column)
                if value is None:
                    count = 0
                elif self._term_counts is not None:
                    count = self._term_counts(comp.tf_column, value)
                else:
                    count = self._tf[comp.tf_column].get(value, 0)
                if own is None and value is not None:
                    count += 1  # as if the record were indexed too
                tf.append(np.full(len(slots), max(count, 1), dtype=np.float64))
            else:
                tf.append(None)
        field_w, weight = score_pairs(self._params, levels, tf)
        prob = probability(weight)
        floor = self.possible_threshold if min_probability is None else min_probability
        keep = [i for i in np.argsort(-weight, kind="stable").tolist() if prob[i] >= floor]
        if limit is not None:
            keep = keep[:limit]
        base = [
            np.log2(np.asarray(p.m)) - np.log2(np.asarray(p.u)) for p in self._params.comparisons
        ]
        out = []
        for i in keep:
            fields = []
            for k, comp in enumerate(self._comparisons):
                level = int(levels[i, k])
                shown = comp.shown_column()
                va = table.value(shown, 0)
                vb = table.value(shown, i + 1)
                if level == MISSING:
                    fields.append(FieldComparison(comp.name, "missing", 0.0, va, vb))
                    continue
                w = float(field_w[i, k])
                fields.append(
                    FieldComparison(
                        comp.name, comp.levels[level], w, va, vb, w - float(base[k][level])
                    )
                )
            p = float(prob[i])
            out.append(
                ScoredPair(
                    left=rid,
                    right=self._ids[slots[i]],
                    match_weight=float(weight[i]),
                    probability=p,
                    status=_status(p, self.threshold, self.possible_threshold),
                    fields=tuple(fields),
                )
            )
        return out


def _pick(values: list[str | None] | None, slots: list[int]) -> list[str | None]:
    if values is None:
        return [None] * len(slots)
    return [values[s] for s in slots]


def _status(p: float, threshold: float, possible: float) -> MatchStatus:
    if p >= threshold:
        return MatchStatus.MATCH
    return MatchStatus.POSSIBLE if p >= possible else MatchStatus.NON_MATCH


def attrs_evolve_comparisons(
    params: ModelParameters, comps: Sequence[Comparison]
) -> ModelParameters:
    """``params`` restricted to ``comps``, in their order."""
    import attrs

    return attrs.evolve(params, comparisons=tuple(params.get(c.name) for c in comps))
