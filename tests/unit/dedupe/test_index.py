"""BlockingIndex: incremental add/remove/update, consistent with the batch pipeline."""
# ruff: noqa: SIM300

from __future__ import annotations

from typing import Any

import pytest

from crmcore.dedupe import BlockingIndex, Deduper, MatchStatus
from crmcore.errors import NotFound

from .conftest import dataset


@pytest.fixture(scope="module")
def fitted() -> tuple[list[dict[str, Any]], Deduper, Any]:
    records, _ = dataset(300, "mixed", 8)
    deduper = Deduper()
    result = deduper.find_duplicates(records)
    deduper.parameters = result.parameters
    return records, deduper, result


def _index_pairs(
    index: BlockingIndex, records: list[dict[str, Any]]
) -> dict[tuple[Any, Any], float]:
    out = {}
    for rec in records:
        for pair in index.possible_duplicates(rec):
            key = tuple(sorted((pair.left, pair.right)))
            out[key] = round(pair.match_weight, 6)
    return out


def test_index_agrees_with_the_batch(fitted: tuple[list[dict[str, Any]], Deduper, Any]) -> None:
    records, deduper, result = fitted
    index = deduper.index(records)
    assert len(records) == len(index)
    batch = {p.ids: round(p.match_weight, 6) for p in (*result.pairs, *result.possible_pairs)}
    assert batch == _index_pairs(index, records)


def test_remove_and_re_add_restore_the_same_answers(
    fitted: tuple[list[dict[str, Any]], Deduper, Any],
) -> None:
    records, deduper, result = fitted
    index = deduper.index(records)
    before = _index_pairs(index, records)
    victim = result.pairs[0].left
    index.remove(victim)
    assert victim not in index
    after = _index_pairs(index, [r for r in records if r["id"] != victim])
    assert all(victim not in key for key in after)
    assert {k: v for k, v in before.items() if victim not in k} == {
        k: v for k, v in after.items() if victim not in k
    } or len(after) <= len(before)
    index.add(next(r for r in records if r["id"] == victim))
    assert before == _index_pairs(index, records)


def test_update_moves_a_record_to_its_new_keys(
    fitted: tuple[list[dict[str, Any]], Deduper, Any],
) -> None:
    records, deduper, _ = fitted
    index = deduper.index(records)
    new = {
        "id": "new",
        "full_name": "Zhang Wei",
        "phone": "+86 139 1234 5678",
        "email": "zw@qq.com",
    }
    index.add(new)
    probe = {"full_name": "张伟", "phone": "13912345678"}
    assert ["new"] == [p.right for p in index.possible_duplicates(probe)]
    index.update(
        {"id": "new", "full_name": "Zhang Wei", "phone": "+86 137 0000 1111", "email": "zw@qq.com"}
    )
    assert "new" not in [p.right for p in index.possible_duplicates(probe)]
    assert ["new"] == [
        p.right for p in index.possible_duplicates({"full_name": "张伟", "email": "ZW@qq.com"})
    ]


def test_a_record_without_id_can_be_checked_before_saving() -> None:
    index = BlockingIndex()
    index.add_many(
        [
            {
                "id": 1,
                "first_name": "伟",
                "last_name": "张",
                "phone": "13800138000",
                "date_of_birth": "1990-05-03",
            },
            {"id": 2, "first_name": "娜", "last_name": "李", "phone": "13912345678"},
        ]
    )
    found = index.possible_duplicates({"full_name": "Zhang Wei", "phone": "+86 138-0013-8000"})
    assert [(None, 1)] == [(p.left, p.right) for p in found]
    assert MatchStatus.MATCH is found[0].status
    assert "transliterated" == found[0].field("name").level  # type: ignore[union-attr]
    assert [] == index.possible_duplicates({"full_name": "Nobody Here", "phone": "+447911123456"})


def test_removing_an_unknown_id_is_an_error() -> None:
    with pytest.raises(NotFound):
        BlockingIndex().remove("missing")
