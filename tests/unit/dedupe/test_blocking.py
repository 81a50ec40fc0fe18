"""Blocking: union of rule pairs, the cap on oversized blocks, the rule bits."""
# ruff: noqa: SIM300

from __future__ import annotations

import numpy as np
import pytest

from crmcore.dedupe import DEFAULT_RULES, BlockingRule, Deduper, StandardBlocker, find_duplicates
from crmcore.errors import ConfigurationError


def _crowd(n: int) -> list[dict[str, object]]:
    # n people called Wang Wei, each with their own phone; two of them twice
    rows: list[dict[str, object]] = [
        {"id": i, "full_name": "王伟", "phone": f"1380013{i:04d}"} for i in range(n)
    ]
    rows.append({"id": n, "full_name": "Wang Wei", "phone": "13800130001"})
    rows.append({"id": n + 1, "full_name": "WEI WANG", "phone": "13800130002"})
    return rows


def test_candidate_pairs_are_the_union_of_the_rules() -> None:
    table = Deduper().normalize(_crowd(5))
    pairs = StandardBlocker()(table)
    assert ("phone", "name") == tuple(n for n in pairs.rule_names if n in ("phone", "name"))
    assert 21 == len(pairs)  # all 7 share the name key
    assert bool(np.all(pairs.left < pairs.right))
    phone_bit = 1 << pairs.rule_names.index("phone")
    both = [
        (int(a), int(b))
        for a, b, m in zip(pairs.left, pairs.right, pairs.rules, strict=True)
        if m & phone_bit
    ]
    ids = table.ids
    assert {(1, 5), (2, 6)} == {(ids[a], ids[b]) for a, b in both}


# the crowd's phones are one digit apart: the typo-tolerant phone pass would
# block them all together, so these tests keep to the exact rules
_EXACT = tuple(r for r in DEFAULT_RULES if r.name in ("name", "phone"))


def test_oversized_blocks_are_skipped_and_reported() -> None:
    blocker = StandardBlocker(rules=_EXACT, max_block_size=10, on_oversized="skip")
    table = Deduper().normalize(_crowd(30))
    pairs = blocker(table)
    assert [("name", 32, "skipped")] == [(b.rule, b.size, b.action) for b in pairs.oversized]
    assert "wang wei" == pairs.oversized[0].key
    assert {(1, 30), (2, 31)} == {
        (table.ids[a], table.ids[b]) for a, b in zip(pairs.left, pairs.right, strict=True)
    }


def test_oversized_blocks_can_be_windowed() -> None:
    blocker = StandardBlocker(rules=_EXACT, max_block_size=10, on_oversized="window", window=4)
    table = Deduper().normalize(_crowd(30))
    pairs = blocker(table)
    assert "windowed" == pairs.oversized[0].action
    name_bit = 1 << pairs.rule_names.index("name")
    from_name = int(np.count_nonzero(pairs.rules & name_bit))
    assert from_name <= 32 * 3
    assert from_name > 0


def test_find_duplicates_reports_oversized_blocks() -> None:
    result = find_duplicates(_crowd(30), blocker=StandardBlocker(rules=_EXACT, max_block_size=10))
    assert ["name"] == [b.rule for b in result.oversized_blocks]
    assert {(1, 30), (2, 31)} <= result.pair_ids()


def test_custom_rules_replace_the_defaults() -> None:
    def first_letter(values: tuple[str | None, ...]) -> list[str]:
        return [values[0][:1]] if values[0] else []

    rule = BlockingRule("initial", ("name_key",), first_letter, fixes=("name",))
    rows = [
        {"id": 1, "full_name": "Anna Li"},
        {"id": 2, "full_name": "Bob Ray"},
        {"id": 3, "full_name": "Ann Lee"},
    ]
    pairs = StandardBlocker(rules=[rule])(Deduper().normalize(rows))
    assert ("initial",) == pairs.rule_names
    assert [(0, 2)] == list(zip(pairs.left.tolist(), pairs.right.tolist(), strict=True))


def test_blocker_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        StandardBlocker(on_oversized="explode")
    with pytest.raises(ConfigurationError):
        StandardBlocker(max_block_size=1)
    assert DEFAULT_RULES == StandardBlocker().rules
