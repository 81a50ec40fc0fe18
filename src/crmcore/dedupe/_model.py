"""The score stage: a Fellegi-Sunter model estimated without labels.

For every comparison level the model holds ``m`` (how often a true duplicate
pair lands there) and ``u`` (how often two unrelated records do). A pair's
match weight is the log2 prior odds plus the sum of ``log2(m/u)`` over its
fields (nothing for a missing field).

Estimation, with no labels:

* ``u`` comes from random record pairs (all pairs when the data is small),
  drawn with a fixed seed over the id-sorted records, so it depends on the
  content, never on input order;
* ``m`` comes from expectation-maximisation over the candidate pairs, run once
  per blocking rule on the pairs that rule produced, with the fields the rule
  forces to agree left out (the way Splink trains): a field's ``m`` is the mean
  over the sessions that could see it;
* the prior (probability that two random records match) is the fixed point of
  "expected matches among the candidate pairs / all pairs": pairs that no
  blocking rule put together are taken as non-matches.

Term frequencies: on a field's exact levels the weight is lowered for values
more common than a typical duplicate would explain (``王``/``张`` surnames,
``Smith``, a shared office phone): ``u`` is multiplied by
``max(1, count / reference)`` where ``reference`` is the size-weighted mean
count of the column (at least 2). Rare values are never boosted.

Labelled pairs (:func:`train`) refine ``m`` (a Bayesian blend with the
estimate) and, with enough non-matches, ``u``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from crmcore.dedupe._compare import MISSING, Comparison
from crmcore.errors import ConfigurationError

__all__ = [
    "ComparisonParameters",
    "ModelParameters",
    "estimate_m",
    "estimate_prior",
    "estimate_u",
    "match_weights",
    "score_pairs",
    "train_parameters",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
LevelMatrix = npt.NDArray[np.int8]

_M_FLOOR = 1e-3
#: pseudo-pairs of the cold-start u / m guesses blended into the estimates
U_PRIOR_PAIRS = 2000.0
M_PRIOR_PAIRS = 10.0
_PRIOR_MIN = 1e-12


@attrs.frozen
class ComparisonParameters:
    """m and u of one comparison's levels.

    Attributes:
        name: the comparison (field) name.
        levels: level names, best first.
        m: P(level | duplicate pair).
        u: P(level | unrelated pair).
        tf_levels: levels whose weight is term-frequency adjusted.
    """

    name: str
    levels: tuple[str, ...]
    m: tuple[float, ...]
    u: tuple[float, ...]
    tf_levels: tuple[int, ...] = ()

    @property
    def weights(self) -> tuple[float, ...]:
        """log2(m/u) per level."""
        return tuple(math.log2(m / u) for m, u in zip(self.m, self.u, strict=True))


@attrs.frozen
class ModelParameters:
    """A fitted model: per-comparison m and u, and the prior.

    Attributes:
        comparisons: one entry per comparison, in comparison order.
        prior: probability that two records drawn at random are duplicates.
        tf_reference: per comparison with term frequencies, the reference count.
    """

    comparisons: tuple[ComparisonParameters, ...]
    prior: float
    tf_reference: Mapping[str, float] = attrs.field(factory=dict)

    @property
    def prior_weight(self) -> float:
        """log2 of the prior odds."""
        return math.log2(self.prior / (1.0 - self.prior))

    def get(self, name: str) -> ComparisonParameters:
        """The parameters of comparison ``name``."""
        for c in self.comparisons:
            if c.name == name:
                return c
        raise ConfigurationError(f"the model has no comparison {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready) to store and reload the model."""
        return {
            "prior": self.prior,
            "tf_reference": dict(self.tf_reference),
            "comparisons": [
                {
                    "name": c.name,
                    "levels": list(c.levels),
                    "m": list(c.m),
                    "u": list(c.u),
                    "tf_levels": list(c.tf_levels),
                }
                for c in self.comparisons
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelParameters:
        """The model :meth:`to_dict` wrote."""
        try:
            comps = tuple(
                ComparisonParameters(
                    name=str(c["name"]),
                    levels=tuple(c["levels"]),
                    m=tuple(float(x) for x in c["m"]),
                    u=tuple(float(x) for x in c["u"]),
                    tf_levels=tuple(int(x) for x in c.get("tf_levels", ())),
                )
                for c in data["comparisons"]
            )
            return cls(
                comparisons=comps,
                prior=float(data["prior"]),
                tf_reference={str(k): float(v) for k, v in data.get("tf_reference", {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"not a dedupe model: {exc}") from exc


def default_parameters(comparisons: Sequence[Comparison], n: int = 100_000) -> ModelParameters:
    """Parameters for a cold start, before any data was seen.

    ``m`` is each comparison's starting guess; ``u`` assumes near-unique
    values at the best level and a flat spread over the fuzzy ones.
    """
    params = []
    for comp in comparisons:
        k = len(comp.levels)
        m = comp.m_start or _flat_m(k)
        u_exact = 1e-3 if comp.tf_column in ("name_key", "city", "postcode", "company") else 1e-5
        u = [u_exact] + [0.01] * (k - 2) + [0.0]
        u[-1] = 1.0 - sum(u)
        params.append(
            ComparisonParameters(comp.name, comp.levels, tuple(m), tuple(u), comp.tf_levels)
        )
    return ModelParameters(tuple(params), prior=1.0 / max(n, 2))


def _flat_m(k: int) -> tuple[float, ...]:
    weights = [2.0**-(i) for i in range(k)]
    total = sum(weights)
    return tuple(w / total for w in weights)


def _normalise(p: FloatArray, floor: float) -> FloatArray:
    p = np.maximum(p, floor)
    out: FloatArray = p / p.sum()
    return out


# ----------------------------------------------------------------------------- u


def random_pairs(n: int, max_pairs: int, seed: int) -> tuple[IntArray, IntArray]:
    """Pairs of distinct records for estimating u: all of them when few enough."""
    total = n * (n - 1) // 2
    if total <= max_pairs:
        left, right = np.triu_indices(n, 1)
        return left.astype(np.int64), right.astype(np.int64)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, size=max_pairs, dtype=np.int64)
    b = rng.integers(0, n - 1, size=max_pairs, dtype=np.int64)
    b = np.where(b >= a, b + 1, b)
    return np.minimum(a, b), np.maximum(a, b)


def estimate_u(
    levels: LevelMatrix,
    comparisons: Sequence[Comparison],
    *,
    prior: Sequence[FloatArray] | None = None,
    strength: float = U_PRIOR_PAIRS,
) -> list[FloatArray]:
    """u per comparison from the level matrix of random pairs.

    Counts are blended with ``prior`` (cold-start u) worth ``strength`` pairs,
    which only matters when there are few records.
    """
    if prior is None:
        prior = [np.asarray(c.u) for c in default_parameters(comparisons).comparisons]
    out = []
    for k, comp in enumerate(comparisons):
        col = levels[:, k]
        seen = col[col != MISSING]
        counts = np.bincount(seen.astype(np.int64), minlength=len(comp.levels)).astype(np.float64)
        total = float(counts.sum())
        blended = (counts + strength * prior[k]) / (total + strength)
        out.append(_normalise(blended, 0.5 / (total + strength)))
    return out


# ----------------------------------------------------------------------------- m


def _pattern_codes(levels: LevelMatrix) -> IntArray:
    """One integer per row of the level matrix, equal for equal rows (ordered like the rows)."""
    base = np.int64(16)
    code = np.zeros(levels.shape[0], dtype=np.int64)
    for k in range(levels.shape[1]):
        code = code * base + (levels[:, k].astype(np.int64) + 1)
    return code


def _patterns(levels: LevelMatrix) -> tuple[LevelMatrix, FloatArray]:
    """Distinct rows of the level matrix and how many pairs share each."""
    if levels.shape[0] == 0:
        return levels, np.zeros(0, dtype=np.float64)
    uniq, first, counts = np.unique(_pattern_codes(levels), return_index=True, return_counts=True)
    del uniq
    return levels[first], counts.astype(np.float64)


class _PatternIndex:
    """The distinct level rows of all candidate pairs, sorted once.

    ``subset(mask)`` gives what :func:`_patterns` gives for ``levels[mask]``
    (the same rows, in the same order, with the same counts) by counting the
    pairs' pattern numbers instead of sorting the subset again.
    """

    def __init__(self, levels: LevelMatrix) -> None:
        _, first, inverse = np.unique(
            _pattern_codes(levels), return_index=True, return_inverse=True
        )
        self.rows = levels[first]
        self.of_pair = inverse.reshape(-1)

    def subset(self, mask: npt.NDArray[np.bool_]) -> tuple[LevelMatrix, FloatArray]:
        counts = np.bincount(self.of_pair[mask], minlength=self.rows.shape[0])
        keep = counts > 0
        return self.rows[keep], counts[keep].astype(np.float64)


def _log_bf(
    patterns: LevelMatrix, log_ratio: Sequence[FloatArray], active: Sequence[int]
) -> FloatArray:
    total = np.zeros(patterns.shape[0], dtype=np.float64)
    for k in active:
        col = patterns[:, k].astype(np.int64)
        present = col != MISSING
        total[present] += log_ratio[k][col[present]]
    return total


def apply_caps(m: FloatArray, caps: Sequence[tuple[int, float]]) -> FloatArray:
    """``m`` with capped levels held at their ceiling and the excess spread over the rest."""
    if not caps:
        return m
    m = m.copy()
    capped = np.zeros(m.size, dtype=np.bool_)
    for level, ceiling in caps:
        if 0 <= level < m.size and m[level] > ceiling:
            m[level] = ceiling
            capped[level] = True
    if capped.any():
        free = ~capped
        budget = 1.0 - float(m[capped].sum())
        total = float(m[free].sum())
        if total > 0:
            m[free] *= budget / total
    return m


def em_session(
    levels: LevelMatrix,
    u: Sequence[FloatArray],
    m_start: Sequence[FloatArray],
    active: Sequence[int],
    *,
    caps: Sequence[Sequence[tuple[int, float]]] = (),
    iterations: int = 40,
    tol: float = 1e-5,
    known: tuple[LevelMatrix, FloatArray] | None = None,
) -> tuple[list[FloatArray], float]:
    """EM for m and the match share over one set of pairs, u held fixed.

    ``known`` (the distinct level rows of ``levels`` and their counts, as
    ``_patterns`` gives them) saves recomputing them when already known.

    Returns:
        (m per comparison — only ``active`` ones are estimated, the others are
        returned unchanged — and the estimated share of matches).
    """
    patterns, counts = _patterns(levels) if known is None else known
    m = [x.copy() for x in m_start]
    lam = 0.3
    if counts.size == 0:
        return m, 0.0
    log_u = [np.log(x) for x in u]
    for _ in range(iterations):
        log_ratio = [np.log(m[k]) - log_u[k] for k in range(len(m))]
        lbf = _log_bf(patterns, log_ratio, active)
        logit = math.log(lam / (1 - lam)) + lbf
        post = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        weighted = post * counts
        new_lam = float(weighted.sum() / counts.sum())
        new_m = list(m)
        for k in active:
            col = patterns[:, k].astype(np.int64)
            present = col != MISSING
            counted = np.bincount(col[present], weights=weighted[present], minlength=m[k].size)
            sums: FloatArray = counted.astype(np.float64) + M_PRIOR_PAIRS * m_start[k]
            if sums.sum() > 0:
                new_m[k] = _normalise(sums / sums.sum(), _M_FLOOR)
                if caps and caps[k]:
                    new_m[k] = apply_caps(new_m[k], caps[k])
        delta = max([abs(new_lam - lam)] + [float(np.abs(new_m[k] - m[k]).max()) for k in active])
        m, lam = new_m, min(max(new_lam, 1e-6), 1 - 1e-6)
        if delta < tol:
            break
    return m, lam


def estimate_m(
    levels: LevelMatrix,
    rule_bits: npt.NDArray[np.uint32],
    rule_fixes: Sequence[Sequence[str]],
    comparisons: Sequence[Comparison],
    u: Sequence[FloatArray],
    *,
    min_pairs: int = 20,
) -> list[FloatArray]:
    """m per comparison: EM per blocking rule, averaged over the sessions.

    Args:
        levels: level matrix of the candidate pairs.
        rule_bits: per pair, the bit mask of rules that produced it.
        rule_fixes: per rule, the comparison names it forces to agree.
        comparisons: the comparisons, in level-matrix column order.
        u: u per comparison.
        min_pairs: rules with fewer pairs are not trained on.
    """
    names = [c.name for c in comparisons]
    start = [
        _normalise(np.asarray(c.m_start or _flat_m(len(c.levels)), dtype=np.float64), _M_FLOOR)
        for c in comparisons
    ]
    caps = [c.m_caps for c in comparisons]
    sums: list[FloatArray] = [np.zeros(len(c.levels)) for c in comparisons]
    seen = [0] * len(comparisons)
    index = _PatternIndex(levels) if levels.shape[0] else None
    for bit, fixes in enumerate(rule_fixes):
        mask = (rule_bits & np.uint32(1 << bit)) != 0
        if int(mask.sum()) < min_pairs:
            continue
        active = [k for k, name in enumerate(names) if name not in fixes]
        if not active:
            continue
        assert index is not None
        m, lam = em_session(levels[:0], u, start, active, caps=caps, known=index.subset(mask))
        if lam <= 1e-5:
            continue
        for k in active:
            sums[k] += m[k]
            seen[k] += 1
    return [sums[k] / seen[k] if seen[k] else start[k] for k in range(len(comparisons))]


# ------------------------------------------------------------------------- score


def tf_reference(counts: IntArray) -> float:
    """The reference count of a column: its size-weighted mean count, at least 2."""
    total = float(counts.sum())
    if total <= 0:
        return 2.0
    return max(2.0, float((counts.astype(np.float64) ** 2).sum()) / total)


def match_weights(
    params: ModelParameters,
    levels: LevelMatrix,
    tf_counts: Callable[[int], FloatArray | None],
) -> FloatArray:
    """Match weight per pair, one comparison at a time (no per-field matrix).

    Args:
        params: the model.
        levels: the pairs' level matrix.
        tf_counts: comparison index -> value counts per pair (or ``None``),
            called once per comparison so only one count array is alive.
    """
    total = np.full(levels.shape[0], params.prior_weight, dtype=np.float64)
    for k in range(levels.shape[1]):
        field, _ = score_pairs(
            attrs.evolve(params, comparisons=(params.comparisons[k],), prior=0.5),
            levels[:, k : k + 1],
            [tf_counts(k)],
        )
        total += field[:, 0]
    return total


def score_pairs(
    params: ModelParameters,
    levels: LevelMatrix,
    tf_counts: Sequence[FloatArray | None],
) -> tuple[FloatArray, FloatArray]:
    """Field weights and total match weights of pairs.

    Args:
        params: the model.
        levels: the pairs' level matrix.
        tf_counts: per comparison, the count of the pair's value (``None`` if the
            comparison has no term-frequency adjustment).

    Returns:
        (per-field weights, shape (pairs, comparisons); match weight per pair).
    """
    n_pairs, n_comp = levels.shape
    field_w = np.zeros((n_pairs, n_comp), dtype=np.float64)
    for k, cp in enumerate(params.comparisons):
        col = levels[:, k].astype(np.int64)
        present = col != MISSING
        w = np.log2(np.asarray(cp.m)) - np.log2(np.asarray(cp.u))
        field_w[present, k] = w[col[present]]
        counts = tf_counts[k]
        if counts is not None and cp.tf_levels:
            ref = params.tf_reference.get(cp.name, 2.0)
            is_tf = np.zeros(len(cp.levels) + 1, dtype=np.bool_)  # last slot: MISSING
            is_tf[list(cp.tf_levels)] = True
            hit = is_tf[col]
            ratio = np.maximum(1.0, counts[hit] / ref)
            field_w[hit, k] -= np.log2(ratio)
    total = params.prior_weight + field_w.sum(axis=1)
    return field_w, total


def probability(weight: FloatArray) -> FloatArray:
    """Match probability of match weights (log2 odds)."""
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))


def estimate_prior(
    field_weight_sum: FloatArray,
    n_records: int,
    *,
    iterations: int = 200,
    total_pairs: float | None = None,
) -> float:
    """The prior as the fixed point of expected candidate matches over all pairs.

    ``total_pairs`` defaults to every pair of the ``n_records`` (dedupe); a
    two-table linkage passes ``left records * right records``.
    """
    if total_pairs is None:
        total_pairs = n_records * (n_records - 1) / 2.0
    total_pairs = max(total_pairs, 1.0)
    if field_weight_sum.size == 0:
        return min(0.5, 1.0 / total_pairs)
    prior = min(0.5, max(n_records * 0.1, 1.0) / total_pairs)
    for _ in range(iterations):
        lw = math.log2(prior / (1 - prior))
        expected = float(probability(lw + field_weight_sum).sum())
        new = min(max(expected / total_pairs, _PRIOR_MIN), 0.5)
        if abs(new - prior) <= 1e-4 * prior:
            prior = new
            break
        prior = new
    return prior


def build_parameters(
    comparisons: Sequence[Comparison],
    m: Sequence[FloatArray],
    u: Sequence[FloatArray],
    prior: float,
    tf_refs: Mapping[str, float],
) -> ModelParameters:
    """Assemble :class:`ModelParameters`."""
    return ModelParameters(
        comparisons=tuple(
            ComparisonParameters(
                c.name,
                c.levels,
                tuple(float(x) for x in m[k]),
                tuple(float(x) for x in u[k]),
                c.tf_levels,
            )
            for k, c in enumerate(comparisons)
        ),
        prior=float(prior),
        tf_reference=dict(tf_refs),
    )


def train_parameters(
    params: ModelParameters,
    levels: LevelMatrix,
    is_match: npt.NDArray[np.bool_],
    *,
    strength: float = 20.0,
    min_non_matches: int = 200,
) -> ModelParameters:
    """Refine a model with labelled pairs.

    ``m`` becomes ``(counts + strength * m_estimated) / (matches + strength)``
    per comparison: a few labels nudge the estimate, many labels dominate it.
    ``u`` is blended the same way when there are at least ``min_non_matches``
    labelled non-matches (labelled non-matches are rarely a random sample).

    Args:
        params: the estimated model.
        levels: level matrix of the labelled pairs.
        is_match: the label of each pair.
        strength: how many labelled pairs the estimate counts as.
        min_non_matches: labelled non-matches needed before ``u`` moves.
    """
    comps = []
    for k, cp in enumerate(params.comparisons):
        col = levels[:, k].astype(np.int64)
        present = col != MISSING
        m = np.asarray(cp.m)
        u = np.asarray(cp.u)
        hits = col[present & is_match]
        if hits.size:
            cnt = np.bincount(hits, minlength=m.size).astype(np.float64)
            m = _normalise((cnt + strength * m) / (hits.size + strength), _M_FLOOR)
        misses = col[present & ~is_match]
        if misses.size >= min_non_matches:
            cnt = np.bincount(misses, minlength=u.size).astype(np.float64)
            u = _normalise((cnt + strength * u) / (misses.size + strength), 1e-9)
        comps.append(attrs.evolve(cp, m=tuple(map(float, m)), u=tuple(map(float, u))))
    return attrs.evolve(params, comparisons=tuple(comps))


ProgressFn = Callable[[str, int, int], None]
