"""Find duplicate customers: normalise -> block -> compare -> score -> cluster.

``find_duplicates(records)`` works on plain mappings, attrs entities and pandas
DataFrames and returns scored pairs with per-field explanations and clusters;
:class:`Deduper` is the configurable (and trainable) pipeline behind it, and
:class:`BlockingIndex` answers "who might this new record duplicate?" at entry
time. :func:`build_survivor` builds the record a cluster folds into (the use cases
that store a merge and undo it are :func:`crmcore.services.merge` and
:func:`crmcore.services.unmerge`).
See ``docs/dedupe.md`` for the design.
"""

from __future__ import annotations

from crmcore.dedupe._blocking import (
    DEFAULT_RULES,
    NAME_SOUND_RULE,
    Blocker,
    BlockingRule,
    CandidatePairs,
    OversizedBlock,
    StandardBlocker,
)
from crmcore.dedupe._cluster import Clusterer, average_linkage_clusters
from crmcore.dedupe._compare import DEFAULT_COMPARISONS, MISSING, Comparison, compare_pairs
from crmcore.dedupe._index import BlockingIndex
from crmcore.dedupe._model import ComparisonParameters, ModelParameters, default_parameters
from crmcore.dedupe._normalize import Column, DefaultNormalizer, RecordNormalizer, Table
from crmcore.dedupe._pipeline import Deduper, Estimator, LabelledPair, find_duplicates
from crmcore.dedupe._records import LOGICAL_FIELDS, FieldSpec, RawTable
from crmcore.dedupe._result import (
    Cluster,
    DuplicateResult,
    FieldComparison,
    MatchStatus,
    ScoredPair,
)
from crmcore.dedupe._survivorship import (
    BOOKKEEPING,
    DEFAULT_SURVIVORSHIP,
    SurvivorRule,
    Survivorship,
    build_survivor,
)

__all__ = [
    "BOOKKEEPING",
    "DEFAULT_COMPARISONS",
    "DEFAULT_RULES",
    "DEFAULT_SURVIVORSHIP",
    "LOGICAL_FIELDS",
    "MISSING",
    "NAME_SOUND_RULE",
    "Blocker",
    "BlockingIndex",
    "BlockingRule",
    "CandidatePairs",
    "Cluster",
    "Clusterer",
    "Column",
    "Comparison",
    "ComparisonParameters",
    "Deduper",
    "DefaultNormalizer",
    "DuplicateResult",
    "Estimator",
    "FieldComparison",
    "FieldSpec",
    "LabelledPair",
    "MatchStatus",
    "ModelParameters",
    "OversizedBlock",
    "RawTable",
    "RecordNormalizer",
    "ScoredPair",
    "StandardBlocker",
    "SurvivorRule",
    "Survivorship",
    "Table",
    "average_linkage_clusters",
    "build_survivor",
    "compare_pairs",
    "default_parameters",
    "find_duplicates",
]
