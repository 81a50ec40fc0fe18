"""Two-table linkage: ``find_duplicates(a, link_to=b)`` pairs records across the tables only."""
# ruff: noqa: SIM300

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.dedupe import find_duplicates
from crmcore.errors import ConfigurationError, ValidationError

from .conftest import generator, truth_pairs

_FIRST = ["Anna", "Ana", "Robert", "Bob", "Li", "Wei", "Maria", "Marie"]
_LAST = ["Smith", "Smyth", "Zhang", "Wang", "Brown", "Braun"]
_PHONES = ["+447700900001", "+447700900002", "+447700900021", "+8613800138000", None]
_DOBS = ["1980-01-02", "1980-02-01", "1975-06-30", "1957-06-30", None]
_TOWNS = ["Leeds", "Leds", "York", None]

_record = st.fixed_dictionaries(
    {
        "first_name": st.sampled_from(_FIRST),
        "last_name": st.sampled_from(_LAST),
        "phone": st.sampled_from(_PHONES),
        "date_of_birth": st.sampled_from(_DOBS),
        "city": st.sampled_from(_TOWNS),
    }
)


def _tables(
    left: list[dict[str, Any]], right: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    a = [{"id": f"a{i}", **r} for i, r in enumerate(left)]
    b = [{"id": f"b{i}", **r} for i, r in enumerate(right)]
    return a, b


def _all(result: Any) -> dict[tuple[Any, Any], float]:
    return {p.ids: p.match_weight for p in (*result.pairs, *result.possible_pairs)}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    left=st.lists(_record, min_size=1, max_size=10),
    right=st.lists(_record, min_size=1, max_size=10),
)
def test_no_pair_within_a_table_and_cross_pairs_score_as_in_one_table(
    left: list[dict[str, Any]], right: list[dict[str, Any]]
) -> None:
    a, b = _tables(left, right)
    single = find_duplicates(a + b)
    linked = find_duplicates(a, link_to=b, parameters=single.parameters)
    for p in (*linked.pairs, *linked.possible_pairs):
        assert str(p.left).startswith("a") and str(p.right).startswith("b")
    for c in linked.clusters:
        assert [("left" if str(i).startswith("a") else "right") for i in c.ids] == list(c.sides)
    # the same model gives a cross pair the same weight in both modes, and the
    # same cross pairs come out
    cross = {k: w for k, w in _all(single).items() if k[0][0] != k[1][0]}
    assert set(cross) == set(_all(linked))
    for ids, w in _all(linked).items():
        assert cross[ids] == pytest.approx(w)


def test_links_a_generated_two_file_benchmark() -> None:
    a, b, truth = generator().generate_linkage(400, seed=5)
    result = find_duplicates(a, link_to=b)
    found = {(str(p.left), str(p.right)) for p in result.pairs}
    gold = truth_pairs(truth)
    assert found, "nothing linked"
    assert all(x.startswith("a") and y.startswith("b") for x, y in found)
    assert len(found & gold) >= 0.97 * len(gold)
    assert len(found & gold) >= 0.99 * len(found)
    assert "link" == result.stats["mode"]
    assert (len(a), len(b)) == (result.stats["left_records"], result.stats["right_records"])


def test_ids_need_only_be_unique_within_a_table() -> None:
    anna = {"email": "anna.smith@example.com", "date_of_birth": "1980-01-02"}
    wei = {"email": "zhang.wei@example.cn", "date_of_birth": "1975-06-30"}
    a = [
        {"id": 1, "full_name": "Anna Smith", "phone": "+447700900001", **anna},
        {"id": 2, "full_name": "Wei Zhang", "phone": "+8613800138000", **wei},
    ]
    b = [
        {"id": 1, "full_name": "Zhang Wei", "phone": "138 0013 8000", **wei},
        {"id": 2, "full_name": "Ana Smith", "phone": "+44 7700 900001", **anna},
    ]
    result = find_duplicates(a, link_to=b)
    assert {(1, 2), (2, 1)} == result.pair_ids()
    sides = {tuple(zip(c.ids, c.sides, strict=True)) for c in result.clusters}
    assert {((1, "left"), (2, "right")), ((2, "left"), (1, "right"))} == sides
    frame = result.clusters_to_pandas()
    assert ["id", "cluster", "confidence", "side"] == list(frame.columns)


def test_a_table_with_repeated_ids_is_refused() -> None:
    a = [{"id": 1, "full_name": "Anna Smith"}, {"id": 1, "full_name": "Ann Smith"}]
    with pytest.raises(ValidationError):
        find_duplicates([{"id": 1, "full_name": "Anna Smith"}], link_to=a)


def test_labelled_pairs_with_a_linkage_are_refused() -> None:
    a = [{"id": 1, "full_name": "Anna Smith"}]
    with pytest.raises(ConfigurationError, match="link_to"):
        find_duplicates(a, link_to=a, labelled_pairs=[(1, 1, True)])


def test_a_model_with_other_levels_is_refused() -> None:
    from crmcore.dedupe import ModelParameters

    rows = [{"id": 1, "full_name": "Anna Smith"}, {"id": 2, "full_name": "Ana Smith"}]
    data = find_duplicates(rows).parameters.to_dict()
    data["comparisons"][0]["levels"] = ["exact", "close", "different"]
    data["comparisons"][0]["m"] = [0.8, 0.1, 0.1]
    data["comparisons"][0]["u"] = [0.01, 0.1, 0.89]
    with pytest.raises(ConfigurationError, match="refit"):
        find_duplicates(rows, parameters=ModelParameters.from_dict(data))
