"""Determinism: the result depends on the records, not on their order or the workers."""
# ruff: noqa: SIM300

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.dedupe import Deduper, DuplicateResult, find_duplicates

from .conftest import dataset

_RECORDS, _ = dataset(120, "mixed", 4)


def _fingerprint(result: DuplicateResult) -> tuple[Any, ...]:
    return (
        [(p.left, p.right, round(p.match_weight, 9), p.fields) for p in result.pairs],
        [(p.left, p.right, round(p.match_weight, 9)) for p in result.possible_pairs],
        [(c.ids, round(c.confidence, 9)) for c in result.clusters],
        round(result.parameters.prior, 12),
    )


_REFERENCE = _fingerprint(find_duplicates(_RECORDS))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(_RECORDS))
def test_result_is_invariant_to_input_order(records: list[dict[str, Any]]) -> None:
    assert _REFERENCE == _fingerprint(find_duplicates(records))


def test_reference_set_has_duplicates() -> None:
    assert _REFERENCE[0]
    assert _REFERENCE[2]


@pytest.mark.slow
def test_two_workers_give_the_same_result_as_one() -> None:
    records, _ = dataset(300, "mixed", 6)
    one = Deduper(workers=1, chunk_size=60, normalize_chunk_size=80).find_duplicates(records)
    two = Deduper(workers=2, chunk_size=60, normalize_chunk_size=80).find_duplicates(records)
    assert one.stats["candidate_pairs"] > 120  # several compare chunks ran
    assert _fingerprint(one) == _fingerprint(two)
