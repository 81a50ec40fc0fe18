"""The fast paths of the pipeline give what the plain per-record computations give (issue #15).

Each test sets a vectorised stage beside a direct, record-by-record (or
pair-by-pair) version of the same computation on generated data, and wants
identical output: the blocking keys, the bounded string scorers, the derived
value tests, the EM pattern counts, the explanations, and reading records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crmcore.dedupe._compare as compare_module
from crmcore.dedupe import (
    DEFAULT_COMPARISONS,
    DEFAULT_RULES,
    MISSING,
    NAME_SOUND_RULE,
    BlockingRule,
    Deduper,
    DefaultNormalizer,
    FieldComparison,
    StandardBlocker,
    Table,
)
from crmcore.dedupe._blocking import _rule_keys, block_pairs, record_keys
from crmcore.dedupe._compare import _equal, _same, active_comparisons, compare_pairs
from crmcore.dedupe._model import (
    _PatternIndex,
    _patterns,
    match_weights,
    probability,
    random_pairs,
    score_pairs,
)
from crmcore.dedupe._normalize import build_table
from crmcore.dedupe._pipeline import _scored, _tf_counter, _tf_counts
from crmcore.dedupe._records import read_records
from crmcore.dedupe._run import normalize_distinct

from .conftest import dataset


def _table(n: int = 1500, profile: str = "noisy", seed: int = 21) -> Table:
    records, _ = dataset(n, profile, seed)
    return Deduper().normalize(records)


def _three_columns(values: tuple[str | None, ...]) -> list[str]:
    city, postcode, name = values
    keys = [f"{city}|{postcode or '-'}"]
    if name:
        keys.append(f"{city}|{name[:2]}")
        keys.append(f"{city}|{name[:2]}")  # a repeated key counts twice, as before
    return keys


_RULES = (
    *DEFAULT_RULES,
    NAME_SOUND_RULE,
    BlockingRule("three", ("city", "postcode", "name_key"), _three_columns),
    BlockingRule("absent", ("company", "no_such_column"), lambda v: [f"{v[0]}|{v[1]}"]),
)


def _per_record_keys(rule: BlockingRule, table: Table) -> list[tuple[int, str]]:
    columns = [table.columns.get(c) for c in rule.columns]
    out = []
    for i in range(table.n):
        values = tuple(None if c is None else c.values[i] for c in columns)
        if values[0] is None:
            continue
        out.extend((i, key) for key in record_keys(rule, values))
    return out


@pytest.mark.parametrize("rule", _RULES, ids=lambda r: r.name)
def test_blocking_keys_are_the_per_record_keys_in_order(rule: BlockingRule) -> None:
    table = _table()
    rows, keys, label = _rule_keys(rule, table)
    fast = [(int(r), label(int(k))) for r, k in zip(rows, keys, strict=True)]
    assert fast == _per_record_keys(rule, table)
    # equal key strings have equal key ids, different ones different ids
    assert len({label(int(k)) for k in keys}) == len(set(keys.tolist()))


@pytest.mark.parametrize("on_oversized", ["window", "skip"])
def test_candidate_pairs_are_those_of_the_per_record_keys(on_oversized: str) -> None:
    table = _table()
    blocker = StandardBlocker(rules=_RULES, max_block_size=12, on_oversized=on_oversized)
    got = blocker(table)
    assert got.oversized  # capped blocks were hit
    expected: dict[tuple[int, int], int] = {}
    active = [r for r in _RULES if table.has(r.columns[0])]
    for bit, rule in enumerate(active):
        entries = _per_record_keys(rule, table)
        ids: dict[str, int] = {}
        rows = np.asarray([i for i, _ in entries], dtype=np.int64)
        keys = np.asarray([ids.setdefault(k, len(ids)) for _, k in entries], dtype=np.int64)
        col = table.columns.get(rule.sort_by)
        texts = ["\uffff" if v is None else str(v) for v in (col.values if col else [])]
        order = sorted(range(table.n), key=texts.__getitem__) if col else range(table.n)
        rank = np.empty(table.n, dtype=np.int64)
        rank[np.asarray(list(order), dtype=np.int64)] = np.arange(table.n)
        left, right, _ = block_pairs(
            rows, keys, rank=rank, max_block_size=12, window=10, on_oversized=on_oversized
        )
        for a, b in zip(left.tolist(), right.tolist(), strict=True):
            expected[(a, b)] = expected.get((a, b), 0) | (1 << bit)
    pairs = sorted(expected)
    assert list(zip(got.left.tolist(), got.right.tolist(), strict=True)) == pairs
    assert got.rules.tolist() == [expected[p] for p in pairs]


def test_bounded_scorers_give_the_levels_of_unbounded_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    table = _table(2000, "mixed", 22)
    comps = active_comparisons(table, DEFAULT_COMPARISONS)
    cand = StandardBlocker()(table)
    rl, rr = random_pairs(table.n, 200_000, 0)
    left = np.concatenate([cand.left, rl])
    right = np.concatenate([cand.right, rr])
    bounded = compare_pairs(table, comps, left, right)
    original = compare_module._score
    original_tokens = compare_module._token_similarity

    def unbounded(*args: Any, **kwargs: Any) -> Any:
        kwargs.pop("at_least", None)
        kwargs.pop("at_most", None)
        return original(*args, **kwargs)

    def unbounded_tokens(*args: Any, **kwargs: Any) -> Any:
        kwargs.pop("at_least", None)
        return original_tokens(*args, **kwargs)

    monkeypatch.setattr(compare_module, "_score", unbounded)
    monkeypatch.setattr(compare_module, "_token_similarity", unbounded_tokens)
    assert np.array_equal(bounded, compare_pairs(table, comps, left, right))
    with compare_module.scorer_threads(2):
        monkeypatch.setattr(compare_module, "_score", original)
        monkeypatch.setattr(compare_module, "_token_similarity", original_tokens)
        assert np.array_equal(bounded, compare_pairs(table, comps, left, right))


_TEXT = st.one_of(st.none(), st.sampled_from(["", "ab", "ab@x", "ba", "2001-02-03", "2001-03-02"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=30), st.data())
def test_derived_codes_say_what_comparing_the_derived_texts_says(
    values: list[str | None], data: st.DataObject
) -> None:
    table = build_table([str(i) for i in range(len(values))], {"a": values, "b": values[::-1]})
    n = len(values)
    left = np.asarray(data.draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n)))
    right = np.asarray(data.draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n)))

    def head(text: str) -> str:
        return text[:2]

    def swap(text: str) -> str:
        return f"{text[:4]}-{text[8:10]}-{text[5:7]}" if len(text) == 10 else ""

    derived = table.derived("h", "a", head)
    codes = table.derived_codes("h", "a", head)
    assert _same(codes, left, right).tolist() == _equal(derived[left], derived[right]).tolist()
    swapped = table.derived("s", "a", swap)
    within = table.derived_codes("s", "a", swap, within="b")
    other = table.columns["b"].codes
    assert (
        _same(within, left, right, other).tolist()
        == _equal(swapped[left], table.columns["b"].text[right]).tolist()
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-1, 3), st.integers(-1, 2), st.booleans()), max_size=60),
)
def test_pattern_index_counts_what_sorting_the_subset_counts(
    rows: list[tuple[int, int, bool]],
) -> None:
    levels = np.asarray([(a, b) for a, b, _ in rows], dtype=np.int8).reshape(-1, 2)
    mask = np.asarray([m for _, _, m in rows], dtype=np.bool_)
    if not levels.shape[0]:
        return
    got_rows, got_counts = _PatternIndex(levels).subset(mask)
    want_rows, want_counts = _patterns(levels[mask])
    assert np.array_equal(got_rows, want_rows)
    assert np.array_equal(got_counts, want_counts)


def test_explanations_are_those_of_a_pair_by_pair_loop() -> None:
    records, _ = dataset(1200, "mixed", 23)
    deduper = Deduper()
    result = deduper.find_duplicates(records)
    table = deduper.normalize(records)
    comps = active_comparisons(table, DEFAULT_COMPARISONS)
    pairs = StandardBlocker()(table)
    levels = compare_pairs(table, comps, pairs.left, pairs.right)
    params = result.parameters
    counts = _tf_counts(table, comps, pairs.left)
    field_w, _ = score_pairs(params, levels, counts)
    weight = match_weights(params, levels, _tf_counter(table, comps, pairs.left))
    prob = probability(weight)
    sel = np.flatnonzero(prob >= 0.9)
    built = _scored(table, comps, pairs, levels, weight, prob, params, sel, result.pairs[0].status)
    assert built == result.pairs
    assert len(built) > 100
    by_ids = {
        (table.ids[a], table.ids[b]): i
        for i, (a, b) in enumerate(zip(pairs.left.tolist(), pairs.right.tolist(), strict=True))
    }
    for pair in built:
        i = by_ids[(pair.left, pair.right)]
        assert pair.match_weight == float(weight[i])
        for k, (comp, got) in enumerate(zip(comps, pair.fields, strict=True)):
            col = table.columns.get(comp.shown_column())
            va = None if col is None else col.values[pairs.left[i]]
            vb = None if col is None else col.values[pairs.right[i]]
            level = int(levels[i, k])
            if level == MISSING:
                assert got == FieldComparison(comp.name, "missing", 0.0, va, vb)
                continue
            p = params.comparisons[k]
            base = float(np.log2(p.m[level]) - np.log2(p.u[level]))
            w = float(field_w[i, k])
            assert got == FieldComparison(comp.name, comp.levels[level], w, va, vb, w - base)


class _Row(Mapping[str, Any]):
    """A mapping that is not a dict: read through the general path."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def test_plain_dicts_read_like_any_other_mapping() -> None:
    records, _ = dataset(300, "noisy", 24)
    rows = [dict(r) for r in records]
    rows[3]["phone"] = 13800138000.0  # a number read from a spreadsheet
    rows[4]["email"] = "   "
    rows[5]["first_name"] = float("nan")
    fast = read_records(rows)
    slow = read_records([_Row(r) for r in rows])
    assert fast == slow
    assert fast.columns["phone"][3] == "13800138000"
    assert fast.columns["email"][4] is None
    assert fast.columns["first_name"][5] is None


@pytest.mark.parametrize("profile", ["mixed", "noisy"])
def test_normalising_distinct_values_gives_the_per_record_table(profile: str) -> None:
    records, _ = dataset(800, profile, 25)
    rows = [dict(r) for r in records]
    for r in rows[::7]:  # names only in full_name, or in part
        r["full_name"], r["first_name"] = r.get("full_name") or r.get("first_name"), None
    raw = read_records(rows)
    normalizer = DefaultNormalizer()
    expected = build_table(raw.ids, normalizer(raw))
    got = normalize_distinct(
        raw, DefaultNormalizer(), normalizer.input_groups, workers=1, progress=None, chunk_size=97
    )
    assert got is not None
    assert got.columns.keys() == expected.columns.keys()
    for name, want in expected.columns.items():
        have = got.columns[name]
        assert have.values.tolist() == want.values.tolist(), name
        assert have.text.tolist() == want.text.tolist(), name
        assert np.array_equal(have.codes, want.codes), name
        assert np.array_equal(have.counts, want.counts), name


def test_groups_that_overlap_or_miss_an_output_fall_back_to_records() -> None:
    raw = read_records([{"id": 1, "email": "a@b.cn", "phone": "13800138000"}])
    overlapping = {"email": ("email",), "phone": ("email", "phone")}
    incomplete = {"email": ("email",)}  # the phone output is not declared
    for groups in (overlapping, incomplete):
        assert (
            normalize_distinct(raw, DefaultNormalizer(), groups, workers=1, progress=None) is None
        )
