"""The dedupe pipeline: normalise -> block -> compare -> score -> cluster.

:class:`Deduper` holds the configuration and, once fitted or trained, the
model; every stage can be replaced by passing your own. :func:`find_duplicates`
is the one-call form.

Records are put in id order before anything else, and the sampling for ``u``
uses a fixed seed over that order: the result depends on the records, never on
the order they came in.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from itertools import repeat
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from crmcore._progress import ProgressFn, make_progress
from crmcore.dedupe._blocking import Blocker, CandidatePairs, StandardBlocker
from crmcore.dedupe._cluster import Clusterer, average_linkage_clusters
from crmcore.dedupe._compare import DEFAULT_COMPARISONS, MISSING, Comparison, active_comparisons
from crmcore.dedupe._model import (
    ModelParameters,
    build_parameters,
    estimate_m,
    estimate_prior,
    estimate_u,
    match_weights,
    probability,
    random_pairs,
    score_pairs,
    tf_reference,
    train_parameters,
)
from crmcore.dedupe._normalize import DefaultNormalizer, RecordNormalizer, Table, build_table
from crmcore.dedupe._records import FieldSpec, RawTable, read_records
from crmcore.dedupe._result import (
    Cluster,
    DuplicateResult,
    FieldComparison,
    MatchStatus,
    ScoredPair,
)
from crmcore.dedupe._run import (
    COMPARE_CHUNK,
    NORMALIZE_CHUNK,
    compare_chunks,
    normalize_chunks,
    normalize_distinct,
    paused_gc,
)
from crmcore.errors import ConfigurationError, FieldError, ValidationError

__all__ = ["Deduper", "Estimator", "LabelledPair", "find_duplicates"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: ``(left id, right id, is_match)``.
LabelledPair = tuple[Hashable, Hashable, bool]

#: The estimation stage: (table, comparisons, candidate pairs, level matrix) -> model.
Estimator = Callable[
    [Table, Sequence[Comparison], CandidatePairs, npt.NDArray[np.int8]], ModelParameters
]

DEFAULT_THRESHOLD = 0.9
DEFAULT_POSSIBLE = 0.5


def _logit2(p: float) -> float:
    p = min(max(p, 1e-15), 1 - 1e-15)
    return math.log2(p / (1 - p))


def canonical_order(ids: Sequence[Hashable]) -> list[int]:
    """Positions of ``ids`` in sorted order (by type name, then value or text)."""
    try:
        return sorted(range(len(ids)), key=lambda i: (type(ids[i]).__name__, ids[i]))
    except TypeError:
        return sorted(range(len(ids)), key=lambda i: (type(ids[i]).__name__, str(ids[i])))


def _reorder(raw: RawTable, order: Sequence[int]) -> RawTable:
    return RawTable(
        ids=[raw.ids[i] for i in order],
        columns={k: [v[i] for i in order] for k, v in raw.columns.items()},
    )


def _concat(a: RawTable, b: RawTable) -> RawTable:
    """``a``'s records then ``b``'s, with every column of either (``None`` where absent)."""
    names = list(dict.fromkeys([*a.columns, *b.columns]))
    return RawTable(
        ids=[*a.ids, *b.ids],
        columns={
            k: [*a.columns.get(k, [None] * a.n), *b.columns.get(k, [None] * b.n)] for k in names
        },
    )


def cross_pairs(pairs: CandidatePairs, split: int) -> CandidatePairs:
    """Only the pairs with one record on each side of position ``split``.

    The table holds the left table's records first, so ``left < split <= right``.
    """
    keep = (pairs.left < split) & (pairs.right >= split)
    rules = pairs.rules[keep]
    counts = {
        name: int(np.count_nonzero(rules & np.uint32(1 << bit)))
        for bit, name in enumerate(pairs.rule_names)
    }
    return CandidatePairs(
        left=pairs.left[keep],
        right=pairs.right[keep],
        rules=rules,
        rule_names=pairs.rule_names,
        oversized=pairs.oversized,
        rule_counts=counts,
    )


def random_cross_pairs(
    n_left: int, n_right: int, max_pairs: int, seed: int
) -> tuple[IntArray, IntArray]:
    """Pairs of one left and one right record (right positions after the left ones)."""
    if n_left * n_right <= max_pairs:
        a, b = np.meshgrid(
            np.arange(n_left, dtype=np.int64), np.arange(n_right, dtype=np.int64), indexing="ij"
        )
        return a.ravel(), b.ravel() + n_left
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_left, size=max_pairs, dtype=np.int64)
    b = rng.integers(0, n_right, size=max_pairs, dtype=np.int64)
    return a, b + n_left


@attrs.define
class Deduper:
    """A configured dedupe pipeline; fitted parameters are kept for reuse.

    Args:
        fields: logical field -> key/path/callable in the records (``None``: found
            by name; see :data:`crmcore.dedupe.LOGICAL_FIELDS`).
        id_field: the key/attribute holding each record's id.
        region: default phone region.
        threshold: match probability at or above which a pair is a match.
        possible_threshold: probability at or above which a pair is a possible match.
        normalizer: the normalise stage (default :class:`DefaultNormalizer`).
        blocker: the blocking stage (default :class:`StandardBlocker`).
        comparisons: the compare stage's comparisons (default
            :data:`DEFAULT_COMPARISONS`; those with no data are dropped).
        clusterer: the cluster stage (default average linkage, see ``_cluster``).
        estimator: the estimation stage, ``(table, comparisons, candidate pairs,
            level matrix) -> ModelParameters`` (default: u from random pairs, m
            by EM per blocking rule, prior from the candidates).
        parameters: a fitted model; when set, estimation is skipped.
        max_u_pairs: random pairs drawn to estimate u.
        seed: seed of the u sample (drawn over id-sorted records).
        workers: processes for normalise and compare (1 = in process).
        progress: ``progress(stage, done, total)`` callback, or ``True`` for tqdm.
        chunk_size: candidate pairs per compare chunk.
    """

    fields: Mapping[str, FieldSpec | None] | None = None
    id_field: str = "id"
    region: str = "CN"
    threshold: float = DEFAULT_THRESHOLD
    possible_threshold: float = DEFAULT_POSSIBLE
    normalizer: RecordNormalizer | None = None
    blocker: Blocker | None = None
    comparisons: Sequence[Comparison] | None = None
    clusterer: Clusterer | None = None
    estimator: Estimator | None = None
    parameters: ModelParameters | None = None
    max_u_pairs: int = 300_000
    seed: int = 0
    workers: int = 1
    progress: ProgressFn | bool | None = None
    chunk_size: int = COMPARE_CHUNK
    normalize_chunk_size: int = NORMALIZE_CHUNK

    def __attrs_post_init__(self) -> None:
        if not 0.0 < self.possible_threshold <= self.threshold < 1.0:
            raise ConfigurationError(
                "thresholds must satisfy 0 < possible_threshold <= threshold < 1"
            )
        if self.workers < 1:
            raise ConfigurationError("workers must be at least 1")

    # ------------------------------------------------------------------ stages

    def _normalizer(self) -> RecordNormalizer:
        return self.normalizer or DefaultNormalizer(region=self.region)

    def _blocker(self) -> Blocker:
        return self.blocker or StandardBlocker()

    def normalize(self, records: Iterable[Any] | Any) -> Table:
        """Read and normalise records into a :class:`Table` in id order.

        Raises:
            ValidationError: a record has no id, or ids repeat.
            ConfigurationError: the field mapping is unusable.
        """
        return self._normalize(records, make_progress(self.progress))

    def _normalize(
        self,
        records: Iterable[Any] | Any,
        progress: ProgressFn | None,
        link_to: Iterable[Any] | Any | None = None,
    ) -> Table:
        raw = read_records(records, fields=self.fields, id_field=self.id_field)
        raw = _reorder(raw, canonical_order(raw.ids))
        if link_to is not None:
            other = read_records(link_to, fields=self.fields, id_field=self.id_field)
            raw = _concat(raw, _reorder(other, canonical_order(other.ids)))
        normalizer = self._normalizer()
        groups = getattr(normalizer, "input_groups", None)
        if isinstance(groups, Mapping):
            table = normalize_distinct(
                raw,
                normalizer,
                groups,
                workers=self.workers,
                progress=progress,
                chunk_size=self.normalize_chunk_size,
            )
            if table is not None:
                return table
        cols = normalize_chunks(
            raw,
            normalizer,
            workers=self.workers,
            progress=progress,
            chunk_size=self.normalize_chunk_size,
        )
        return build_table(raw.ids, cols)

    def _comparisons(self, table: Table) -> tuple[Comparison, ...]:
        comps = active_comparisons(table, self.comparisons or DEFAULT_COMPARISONS)
        if self.parameters is not None:
            known = {c.name for c in self.parameters.comparisons}
            comps = tuple(c for c in comps if c.name in known)
        return comps

    def _compare(
        self,
        table: Table,
        comps: Sequence[Comparison],
        left: IntArray,
        right: IntArray,
        progress: ProgressFn | None,
        stage: str,
    ) -> npt.NDArray[np.int8]:
        return compare_chunks(
            table,
            comps,
            left,
            right,
            workers=self.workers,
            progress=progress,
            stage=stage,
            chunk_size=self.chunk_size,
        )

    def _estimate(
        self,
        table: Table,
        comps: Sequence[Comparison],
        pairs: CandidatePairs,
        levels: npt.NDArray[np.int8],
        progress: ProgressFn | None,
        split: int | None = None,
    ) -> ModelParameters:
        if self.estimator is not None:
            return self.estimator(table, comps, pairs, levels)
        return self._estimate_default(table, comps, pairs, levels, progress, split)

    def _estimate_default(
        self,
        table: Table,
        comps: Sequence[Comparison],
        pairs: CandidatePairs,
        levels: npt.NDArray[np.int8],
        progress: ProgressFn | None,
        split: int | None = None,
    ) -> ModelParameters:
        if split is None:
            ul, ur = random_pairs(table.n, self.max_u_pairs, self.seed)
            total_pairs = None
        else:
            ul, ur = random_cross_pairs(split, table.n - split, self.max_u_pairs, self.seed)
            total_pairs = float(split) * float(table.n - split)
        u_levels = self._compare(table, comps, ul, ur, progress, "estimate_u")
        u = estimate_u(u_levels, comps)
        rules = {r.name: r for r in self._blocker().rules}
        fixes = [rules[name].fixes if name in rules else () for name in pairs.rule_names]
        m = estimate_m(levels, pairs.rules, fixes, comps, u)
        refs = _tf_refs(table, comps)
        draft = build_parameters(comps, m, u, 0.5, refs)
        total = match_weights(draft, levels, _tf_counter(table, comps, pairs.left))
        prior = estimate_prior(total - draft.prior_weight, table.n, total_pairs=total_pairs)
        return attrs.evolve(draft, prior=prior)

    def _parameters_for(self, comps: Sequence[Comparison]) -> ModelParameters:
        assert self.parameters is not None
        chosen = tuple(self.parameters.get(c.name) for c in comps)
        for cp, comp in zip(chosen, comps, strict=True):
            if tuple(cp.levels) != tuple(comp.levels):
                raise ConfigurationError(
                    f"the model's levels for {comp.name!r} ({', '.join(cp.levels)}) are not "
                    f"the comparison's ({', '.join(comp.levels)}): refit the model"
                )
        return attrs.evolve(self.parameters, comparisons=chosen)

    # ------------------------------------------------------------------ public

    def find_duplicates(
        self, records: Iterable[Any] | Any, link_to: Iterable[Any] | Any | None = None
    ) -> DuplicateResult:
        """Run the whole pipeline over ``records``.

        Args:
            records: mappings, entities, or a pandas DataFrame.
            link_to: a second table (same shapes accepted): when given, only
                pairs of one record from ``records`` (``left``) and one from
                ``link_to`` (``right``) are found; never two of the same table.
                Ids need only be unique within each table.

        Returns:
            A :class:`DuplicateResult`.

        Raises:
            ValidationError: a record has no id, or ids repeat (within a table).
            ConfigurationError: the field mapping or a stage is unusable.
        """
        progress = make_progress(self.progress)
        timings: dict[str, float] = {}
        with paused_gc():
            t0 = time.perf_counter()
            split = None
            rows: Any = records
            if link_to is not None:
                if type(link_to).__name__ != "DataFrame":
                    link_to = list(link_to)
                if type(rows).__name__ != "DataFrame":
                    rows = list(rows)
                split = len(rows)
            table = self._normalize(rows, progress, link_to)
            timings["normalize"] = time.perf_counter() - t0
            return self._run(table, progress, timings, split)

    def _run(
        self,
        table: Table,
        progress: ProgressFn | None,
        timings: dict[str, float],
        split: int | None = None,
    ) -> DuplicateResult:
        comps = self._comparisons(table)
        t = time.perf_counter()
        pairs = self._blocker()(table, progress)
        if split is not None:
            pairs = cross_pairs(pairs, split)
        timings["block"] = time.perf_counter() - t
        t = time.perf_counter()
        levels = self._compare(table, comps, pairs.left, pairs.right, progress, "compare")
        timings["compare"] = time.perf_counter() - t
        t = time.perf_counter()
        if self.parameters is None:
            params = self._estimate(table, comps, pairs, levels, progress, split)
        else:
            params = self._parameters_for(comps)
        timings["estimate"] = time.perf_counter() - t
        t = time.perf_counter()
        weight = match_weights(params, levels, _tf_counter(table, comps, pairs.left))
        prob = probability(weight)
        timings["score"] = time.perf_counter() - t
        if progress is not None:
            progress("score", 1, 1)
        t = time.perf_counter()
        clusterer = self.clusterer or average_linkage_clusters
        groups = clusterer(table.n, pairs.left, pairs.right, weight, _logit2(self.threshold))
        clusters = _clusters(table, groups, pairs, prob, split)
        timings["cluster"] = time.perf_counter() - t
        if progress is not None:
            progress("cluster", 1, 1)
        t = time.perf_counter()
        match = np.flatnonzero(prob >= self.threshold)
        possible = np.flatnonzero((prob >= self.possible_threshold) & (prob < self.threshold))
        built = {
            MatchStatus.MATCH: _scored(
                table,
                comps,
                pairs,
                levels,
                weight,
                prob,
                params,
                match,
                MatchStatus.MATCH,
            ),
            MatchStatus.POSSIBLE: _scored(
                table,
                comps,
                pairs,
                levels,
                weight,
                prob,
                params,
                possible,
                MatchStatus.POSSIBLE,
            ),
        }
        timings["explain"] = time.perf_counter() - t
        if progress is not None:
            progress("explain", 1, 1)
        stats: dict[str, Any] = {
            "mode": "dedupe" if split is None else "link",
            "records": table.n,
            "candidate_pairs": len(pairs),
            "pairs_per_rule": dict(pairs.rule_counts),
            "comparisons": [c.name for c in comps],
            "seconds": timings,
        }
        if split is not None:
            stats["left_records"] = split
            stats["right_records"] = table.n - split
        return DuplicateResult(
            pairs=built[MatchStatus.MATCH],
            possible_pairs=built[MatchStatus.POSSIBLE],
            clusters=clusters,
            oversized_blocks=pairs.oversized,
            parameters=params,
            stats=stats,
            threshold=self.threshold,
            possible_threshold=self.possible_threshold,
        )

    def fit(self, records: Iterable[Any] | Any) -> ModelParameters:
        """Estimate the model on ``records`` (unsupervised) and keep it.

        Returns:
            The fitted :class:`ModelParameters` (also stored in ``parameters``).
        """
        progress = make_progress(self.progress)
        table = self._normalize(records, progress)
        comps = active_comparisons(table, self.comparisons or DEFAULT_COMPARISONS)
        pairs = self._blocker()(table, progress)
        levels = self._compare(table, comps, pairs.left, pairs.right, progress, "compare")
        self.parameters = self._estimate(table, comps, pairs, levels, progress)
        return self.parameters

    def train(
        self,
        records: Iterable[Any] | Any,
        labelled_pairs: Iterable[LabelledPair],
        *,
        strength: float = 20.0,
    ) -> ModelParameters:
        """Refine the model with labelled pairs (fits it first if needed).

        Args:
            records: the records the labelled ids refer to.
            labelled_pairs: ``(left id, right id, is_match)`` triples.
            strength: how many labelled pairs the unsupervised estimate counts as.

        Returns:
            The trained :class:`ModelParameters` (also stored in ``parameters``).

        Raises:
            ValidationError: a labelled id is not among the records.
        """
        progress = make_progress(self.progress)
        table = self._normalize(records, progress)
        if self.parameters is None:
            comps = active_comparisons(table, self.comparisons or DEFAULT_COMPARISONS)
            pairs = self._blocker()(table, progress)
            levels = self._compare(table, comps, pairs.left, pairs.right, progress, "compare")
            self.parameters = self._estimate(table, comps, pairs, levels, progress)
        comps = self._comparisons(table)
        params = self._parameters_for(comps)
        pos = {rid: i for i, rid in enumerate(table.ids)}
        lefts, rights, labels = [], [], []
        for n, (a, b, is_match) in enumerate(labelled_pairs):
            for rid in (a, b):
                if rid not in pos:
                    raise ValidationError(
                        [
                            FieldError(
                                f"labelled_pairs[{n}]", "unknown_id", "id not among the records"
                            )
                        ],
                        entity="record",
                        id=rid,
                    )
            lefts.append(pos[a])
            rights.append(pos[b])
            labels.append(bool(is_match))
        left = np.asarray(lefts, dtype=np.int64)
        right = np.asarray(rights, dtype=np.int64)
        levels = self._compare(table, comps, left, right, None, "train")
        self.parameters = train_parameters(
            params, levels, np.asarray(labels, dtype=np.bool_), strength=strength
        )
        return self.parameters

    def index(self, records: Iterable[Any] | Any = ()) -> Any:
        """A :class:`BlockingIndex` with this configuration and model, filled with ``records``.

        Fits the model on ``records`` first when none is set.
        """
        from crmcore.dedupe._index import BlockingIndex

        rows: Any = records if type(records).__name__ == "DataFrame" else list(records)
        if self.parameters is None and len(rows) > 1:
            self.fit(rows)
        index = BlockingIndex(
            self.parameters,
            fields=self.fields,
            id_field=self.id_field,
            region=self.region,
            normalizer=self.normalizer,
            rules=self._blocker().rules,
            comparisons=self.comparisons,
            threshold=self.threshold,
            possible_threshold=self.possible_threshold,
        )
        index.add_many(rows)
        return index


# ------------------------------------------------------------------------- helpers


def _tf_refs(table: Table, comps: Sequence[Comparison]) -> dict[str, float]:
    refs = {}
    for c in comps:
        if c.tf_column and c.tf_levels and c.tf_column in table.columns:
            refs[c.name] = tf_reference(table.columns[c.tf_column].counts)
    return refs


def _tf_counts(
    table: Table, comps: Sequence[Comparison], left: IntArray
) -> list[FloatArray | None]:
    out: list[FloatArray | None] = []
    for c in comps:
        col = table.columns.get(c.tf_column) if c.tf_column and c.tf_levels else None
        if col is None:
            out.append(None)
            continue
        codes = col.codes[left]
        # a column whose every value is missing has no counts at all: index only
        # the present codes (issue #14), missing ones count as 1
        counts = np.ones(codes.shape[0], dtype=np.float64)
        present = codes >= 0
        counts[present] = col.counts[codes[present]]
        out.append(counts)
    return out


def _tf_counter(
    table: Table, comps: Sequence[Comparison], left: IntArray
) -> Callable[[int], FloatArray | None]:
    def counts(k: int) -> FloatArray | None:
        return _tf_counts(table, [comps[k]], left)[0]

    return counts


def _scored(
    table: Table,
    comps: Sequence[Comparison],
    pairs: CandidatePairs,
    levels: npt.NDArray[np.int8],
    weight: FloatArray,
    prob: FloatArray,
    params: ModelParameters,
    sel: npt.NDArray[np.intp],
    status: MatchStatus,
) -> tuple[ScoredPair, ...]:
    """The pairs ``sel`` as :class:`ScoredPair`, strongest first, explained field by field.

    Built a comparison at a time from arrays: each field's level names,
    weights, term-frequency adjustments and shown values are gathered for all
    pairs at once, and only the result objects are made per pair.
    """
    sel = sel[np.lexsort((pairs.right[sel], pairs.left[sel], -weight[sel]))]
    lv = levels[sel]
    field_w, _ = score_pairs(params, lv, _tf_counts(table, comps, pairs.left[sel]))
    left, right = pairs.left[sel], pairs.right[sel]
    per_field: list[list[FieldComparison]] = []
    for k, comp in enumerate(comps):
        p = params.comparisons[k]
        base = np.append(np.log2(np.asarray(p.m)) - np.log2(np.asarray(p.u)), 0.0)
        level = lv[:, k].astype(np.int64)  # MISSING (-1) picks the appended slot
        names = np.asarray([*comp.levels, "missing"], dtype=object)[level].tolist()
        missing = level == MISSING
        w = np.where(missing, 0.0, field_w[:, k])
        tf = np.where(missing, 0.0, w - base[level])
        col = table.columns.get(comp.shown_column())
        if col is None:
            va: list[str | None] = [None] * sel.size
            vb: list[str | None] = va
        else:
            va, vb = col.values[left].tolist(), col.values[right].tolist()
        per_field.append(
            list(map(FieldComparison, repeat(comp.name), names, w.tolist(), va, vb, tf.tolist()))
        )
    ids = table.ids
    return tuple(
        map(
            ScoredPair,
            [ids[i] for i in left.tolist()],
            [ids[i] for i in right.tolist()],
            weight[sel].tolist(),
            prob[sel].tolist(),
            repeat(status),
            zip(*per_field, strict=True) if per_field else repeat((), sel.size),
        )
    )


def _clusters(
    table: Table,
    groups: list[list[int]],
    pairs: CandidatePairs,
    prob: FloatArray,
    split: int | None = None,
) -> tuple[Cluster, ...]:
    if not groups:
        return ()
    label = np.full(table.n, -1, dtype=np.int64)
    for g, members in enumerate(groups):
        label[np.asarray(members, dtype=np.int64)] = g
    la = label[pairs.left]
    inside = np.flatnonzero((la >= 0) & (la == label[pairs.right]))
    sums = np.bincount(la[inside], weights=prob[inside], minlength=len(groups))
    counts = np.bincount(la[inside], minlength=len(groups))
    mins = np.ones(len(groups), dtype=np.float64)
    np.minimum.at(mins, la[inside], prob[inside])
    out = []
    for g, members in enumerate(groups):
        c = int(counts[g])
        out.append(
            Cluster(
                ids=tuple(table.ids[i] for i in members),
                # a mean is never below the minimum, not even by a rounding ulp
                confidence=max(float(sums[g] / c), float(mins[g])) if c else 0.0,
                min_probability=float(mins[g]) if c else 0.0,
                sides=()
                if split is None
                else tuple("left" if i < split else "right" for i in members),
            )
        )
    return tuple(out)


def find_duplicates(
    records: Iterable[Any] | Any,
    *,
    link_to: Iterable[Any] | Any | None = None,
    fields: Mapping[str, FieldSpec | None] | None = None,
    id_field: str = "id",
    region: str = "CN",
    threshold: float = DEFAULT_THRESHOLD,
    possible_threshold: float = DEFAULT_POSSIBLE,
    progress: ProgressFn | bool | None = None,
    workers: int = 1,
    parameters: ModelParameters | None = None,
    labelled_pairs: Iterable[LabelledPair] | None = None,
    normalizer: RecordNormalizer | None = None,
    blocker: Blocker | None = None,
    comparisons: Sequence[Comparison] | None = None,
    clusterer: Clusterer | None = None,
    estimator: Estimator | None = None,
) -> DuplicateResult:
    """Find the records that describe the same customer.

    Args:
        records: mappings (notebook rows), attrs entities, or a pandas DataFrame.
        link_to: a second table to link ``records`` to (two-table linkage): only
            pairs of one record of each table are found, ``left`` from
            ``records`` and ``right`` from ``link_to``; ids need only be unique
            within each table. ``None`` (default) dedupes ``records`` alone.
        fields: crmcore logical field -> key, path or callable in the records
            (``first_name``, ``last_name``, ``full_name``, ``email``, ``phone``,
            ``national_id``, ``date_of_birth``, ``postcode``, ``city``,
            ``address``, ``company``); ``None`` finds them by name.
        id_field: the key/attribute holding each record's id.
        region: default region for phone numbers without a country code.
        threshold: match probability at or above which a pair is a match.
        possible_threshold: lower edge of the possible-match band.
        progress: ``progress(stage, done, total)``, or ``True`` for tqdm bars.
        workers: processes for normalising and comparing (same result for any).
        parameters: a fitted model to reuse instead of estimating one.
        labelled_pairs: ``(left id, right id, is_match)`` to train the model with.
        normalizer: replaces the normalise stage.
        blocker: replaces the blocking stage.
        comparisons: replaces the comparisons.
        clusterer: replaces the cluster stage.
        estimator: replaces the estimation of the model.

    Returns:
        A :class:`DuplicateResult`: match pairs, possible pairs, clusters, model.

    Raises:
        ValidationError: a record has no id, ids repeat, or a labelled id is unknown.
        ConfigurationError: bad thresholds, field mapping or stage, or
            ``labelled_pairs`` together with ``link_to``.
    """
    deduper = Deduper(
        fields=fields,
        id_field=id_field,
        region=region,
        threshold=threshold,
        possible_threshold=possible_threshold,
        normalizer=normalizer,
        blocker=blocker,
        comparisons=comparisons,
        clusterer=clusterer,
        estimator=estimator,
        parameters=parameters,
        workers=workers,
        progress=progress,
    )
    if labelled_pairs is not None and link_to is not None:
        raise ConfigurationError(
            "labelled_pairs cannot be combined with link_to: train a Deduper on one "
            "table and pass its parameters= instead"
        )
    if link_to is not None:
        return deduper.find_duplicates(records, link_to)
    if labelled_pairs is not None:
        rows = records if type(records).__name__ == "DataFrame" else list(records)
        deduper.train(rows, labelled_pairs)
        return deduper.find_duplicates(rows)
    return deduper.find_duplicates(records)
