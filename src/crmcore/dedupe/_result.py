"""What dedupe returns: scored pairs with per-field explanations, and clusters.

The types are plain frozen attrs classes holding ids (never entities), so a
merge step can take a :class:`Cluster` (which records, how sure) and the
:class:`ScoredPair` evidence behind it, and a UI can show why two records were
matched field by field.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterator
from typing import Any

import attrs

from crmcore.dedupe._blocking import OversizedBlock
from crmcore.dedupe._model import ModelParameters

__all__ = [
    "Cluster",
    "DuplicateResult",
    "FieldComparison",
    "MatchStatus",
    "ScoredPair",
]


class MatchStatus(str, enum.Enum):
    """Which band a pair's probability falls in."""

    MATCH = "match"
    POSSIBLE = "possible"
    NON_MATCH = "non_match"


@attrs.frozen
class FieldComparison:
    """How one field of a pair compared.

    Attributes:
        field: the comparison name (``"name"``, ``"email"``...).
        level: the level it hit (``"exact"``, ``"close"``, ``"missing"``...).
        weight: its log2 Bayes factor, term-frequency adjustment included
            (positive: evidence for a match; 0 when missing).
        left: the left record's normalised value (``None`` if missing).
        right: the right record's normalised value.
        tf_adjustment: the part of ``weight`` due to the value being common (<= 0).
    """

    field: str
    level: str
    weight: float
    left: str | None
    right: str | None
    tf_adjustment: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return attrs.asdict(self)


@attrs.frozen
class ScoredPair:
    """Two records judged against each other.

    Attributes:
        left: id of the first record (the smaller in id order; in a two-table
            linkage, the record of the left table).
        right: id of the second record (in a linkage, of the ``link_to`` table).
        match_weight: log2 odds that they are duplicates (prior included).
        probability: the same as a probability.
        status: the band (match or possible match).
        fields: one :class:`FieldComparison` per compared field.
    """

    left: Hashable
    right: Hashable
    match_weight: float
    probability: float
    status: MatchStatus
    fields: tuple[FieldComparison, ...] = ()

    @property
    def ids(self) -> tuple[Hashable, Hashable]:
        """``(left, right)``."""
        return (self.left, self.right)

    def field(self, name: str) -> FieldComparison | None:
        """The explanation of field ``name``, if it was compared."""
        return next((f for f in self.fields if f.field == name), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, explanations nested under ``fields``."""
        return {
            "left": self.left,
            "right": self.right,
            "match_weight": self.match_weight,
            "probability": self.probability,
            "status": self.status.value,
            "fields": [f.to_dict() for f in self.fields],
        }

    def to_flat(self) -> dict[str, Any]:
        """One flat row: ``{field}_level``, ``{field}_weight``, ``{field}_left``..."""
        row: dict[str, Any] = {
            "left": self.left,
            "right": self.right,
            "match_weight": self.match_weight,
            "probability": self.probability,
            "status": self.status.value,
        }
        for f in self.fields:
            row[f"{f.field}_level"] = f.level
            row[f"{f.field}_weight"] = f.weight
            row[f"{f.field}_left"] = f.left
            row[f"{f.field}_right"] = f.right
        return row


@attrs.frozen
class Cluster:
    """A group of records judged to be one real-world customer.

    Attributes:
        ids: member ids, sorted (in a linkage: the left table's first).
        confidence: mean match probability over the compared pairs inside it.
        min_probability: the weakest compared pair inside it.
        sides: in a two-table linkage (``link_to=``), ``"left"`` or ``"right"``
            per id, in ``ids`` order (ids need only be unique within a table);
            empty when deduping one table.
    """

    ids: tuple[Hashable, ...]
    confidence: float
    min_probability: float
    sides: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """How many records."""
        return len(self.ids)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        out: dict[str, Any] = {
            "ids": list(self.ids),
            "confidence": self.confidence,
            "min_probability": self.min_probability,
        }
        if self.sides:
            out["sides"] = list(self.sides)
        return out


@attrs.frozen(repr=False)
class DuplicateResult:
    """Everything :func:`find_duplicates` found.

    Attributes:
        pairs: pairs at or above the match threshold, strongest first.
        possible_pairs: pairs between the possible-match and match thresholds,
            for review.
        clusters: groups of duplicates (two or more records), by first id.
        oversized_blocks: blocks over the cap and what was done with them.
        parameters: the fitted model (reuse it with ``parameters=``).
        stats: counts and timings per stage.
        threshold: the match threshold (probability).
        possible_threshold: the possible-match threshold (probability).
    """

    pairs: tuple[ScoredPair, ...]
    possible_pairs: tuple[ScoredPair, ...]
    clusters: tuple[Cluster, ...]
    oversized_blocks: tuple[OversizedBlock, ...]
    parameters: ModelParameters
    stats: dict[str, Any]
    threshold: float
    possible_threshold: float

    def __repr__(self) -> str:
        """A one-line summary: counts and thresholds, never every pair."""
        return (
            f"DuplicateResult(records={self.stats.get('records', '?')}, "
            f"pairs={len(self.pairs)}, possible_pairs={len(self.possible_pairs)}, "
            f"clusters={len(self.clusters)}, oversized_blocks={len(self.oversized_blocks)}, "
            f"threshold={self.threshold:g})"
        )

    def _repr_html_(self, limit: int = 10) -> str:
        """An HTML summary for notebooks: the counts, then the strongest pairs.

        Args:
            limit: how many pairs to show at most.

        Returns:
            An HTML fragment; every value is escaped.
        """
        from html import escape

        head = escape(repr(self))
        rows = "".join(
            "<tr>"
            f"<td>{escape(str(p.left))}</td><td>{escape(str(p.right))}</td>"
            f"<td>{p.probability:.4f}</td><td>{escape(p.status.value)}</td>"
            "<td>" + escape(", ".join(f"{f.field}: {f.level}" for f in p.fields)) + "</td></tr>"
            for p in (*self.pairs, *self.possible_pairs)[:limit]
        )
        shown = min(limit, len(self.pairs) + len(self.possible_pairs))
        more = len(self.pairs) + len(self.possible_pairs) - shown
        tail = f"<p>… and {more} more pairs</p>" if more > 0 else ""
        return (
            f"<div><p><code>{head}</code></p>"
            "<table><thead><tr><th>left</th><th>right</th><th>probability</th>"
            f"<th>status</th><th>evidence</th></tr></thead><tbody>{rows}</tbody></table>"
            f"{tail}</div>"
        )

    def pair_ids(self) -> set[tuple[Hashable, Hashable]]:
        """The ``(left, right)`` ids of the match pairs."""
        return {p.ids for p in self.pairs}

    def cluster_of(self, record_id: Hashable) -> Cluster | None:
        """The cluster a record belongs to, if any."""
        for c in self.clusters:
            if record_id in c.ids:
                return c
        return None

    def cluster_labels(self) -> dict[Hashable, int]:
        """Record id -> cluster number, for clustered records only."""
        return {rid: i for i, c in enumerate(self.clusters) for rid in c.ids}

    def to_records(self) -> dict[str, list[dict[str, Any]]]:
        """Plain data: ``pairs``, ``possible_pairs``, ``clusters``, ``oversized_blocks``."""
        return {
            "pairs": [p.to_dict() for p in self.pairs],
            "possible_pairs": [p.to_dict() for p in self.possible_pairs],
            "clusters": [c.to_dict() for c in self.clusters],
            "oversized_blocks": [attrs.asdict(b) for b in self.oversized_blocks],
        }

    def to_pandas(self) -> Any:
        """Match and possible pairs as a DataFrame, one row per pair, flat columns.

        Raises:
            ConfigurationError: pandas is not installed.
        """
        pd = _pandas()
        rows = [p.to_flat() for p in (*self.pairs, *self.possible_pairs)]
        return pd.DataFrame(rows)

    def clusters_to_pandas(self) -> Any:
        """Clusters as a DataFrame with columns ``id``, ``cluster``, ``confidence``
        (and ``side`` in a two-table linkage).

        Raises:
            ConfigurationError: pandas is not installed.
        """
        pd = _pandas()
        linked = any(c.sides for c in self.clusters)
        rows = [
            {"id": rid, "cluster": i, "confidence": c.confidence}
            | ({"side": c.sides[k]} if linked else {})
            for i, c in enumerate(self.clusters)
            for k, rid in enumerate(c.ids)
        ]
        columns = ["id", "cluster", "confidence"] + (["side"] if linked else [])
        return pd.DataFrame(rows, columns=columns)


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is a test dependency
        from crmcore.errors import ConfigurationError

        raise ConfigurationError("to_pandas() needs pandas: pip install crmcore[pandas]") from exc
    return pd
