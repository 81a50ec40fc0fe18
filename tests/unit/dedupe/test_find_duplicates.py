"""find_duplicates end to end: accuracy on known truth, explanations, input shapes."""
# ruff: noqa: SIM300

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import attrs
import pytest

from crmcore.dedupe import (
    Deduper,
    DuplicateResult,
    MatchStatus,
    ModelParameters,
    find_duplicates,
)
from crmcore.errors import ConfigurationError, ValidationError

from .conftest import dataset, truth_pairs


def _prf(found: set[tuple[Any, Any]], gold: set[tuple[str, str]]) -> tuple[float, float]:
    hit = len(found & gold)
    return hit / max(len(found), 1), hit / max(len(gold), 1)


@pytest.mark.parametrize("profile", ["chinese", "western", "mixed"])
def test_finds_known_duplicates(profile: str) -> None:
    records, truth = dataset(800, profile, 1)
    result = find_duplicates(records)
    precision, recall = _prf(result.pair_ids(), truth_pairs(truth))
    # measured around 0.95 / 0.95 on these sets; the floors leave room
    assert precision >= 0.85
    assert recall >= 0.85


def test_clusters_group_known_duplicates(
    small: tuple[list[dict[str, Any]], dict[str, int]],
) -> None:
    records, truth = small
    result = find_duplicates(records)
    implied = set()
    for cluster in result.clusters:
        ids = sorted(cluster.ids)
        implied |= {(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]}
        assert 0.0 < cluster.min_probability <= cluster.confidence <= 1.0
    precision, recall = _prf(implied, truth_pairs(truth))
    assert precision >= 0.85
    assert recall >= 0.85


def test_every_pair_explains_each_field(small: tuple[list[dict[str, Any]], dict[str, int]]) -> None:
    records, _ = small
    result = find_duplicates(records)
    names = result.stats["comparisons"]
    assert {"name", "email", "phone", "date_of_birth", "address"} <= set(names)
    prior = result.parameters.prior_weight
    for pair in (*result.pairs, *result.possible_pairs):
        assert [f.field for f in pair.fields] == names
        assert math.isclose(
            pair.match_weight, prior + sum(f.weight for f in pair.fields), abs_tol=1e-6
        )
        for f in pair.fields:
            params = result.parameters.get(f.field)
            assert f.level in (*params.levels, "missing")
            if f.level == "missing":
                assert f.weight == 0.0
            assert f.tf_adjustment <= 0.0
    assert all(p.status is MatchStatus.MATCH for p in result.pairs)
    assert all(p.probability >= result.threshold for p in result.pairs)
    assert all(
        result.possible_threshold <= p.probability < result.threshold for p in result.possible_pairs
    )


def test_chinese_name_meets_its_pinyin_in_both_orders() -> None:
    base = {"phone": "+86 138-0013-8000", "date_of_birth": "1990-05-03"}
    records = [
        {"id": 1, "first_name": "伟", "last_name": "张", **base},
        {
            "id": 2,
            "full_name": "Zhang Wei",
            "phone": "13800138000",
            "date_of_birth": "1990年5月3日",
        },
        {"id": 3, "full_name": "WEI ZHANG", **base},
        {"id": 4, "full_name": "李娜", "phone": "13912345678", "date_of_birth": "1985-01-01"},
    ]
    result = find_duplicates(records)
    assert {(1, 2), (1, 3), (2, 3)} == result.pair_ids()
    pair = next(p for p in result.pairs if p.ids == (1, 2))
    name = pair.field("name")
    assert name is not None
    assert ("transliterated", "张伟", "wei zhang") == (name.level, name.left, name.right)
    phone = pair.field("phone")
    assert phone is not None
    assert ("exact", "+8613800138000") == (phone.level, phone.left)
    assert [(1, 2, 3)] == [c.ids for c in result.clusters]


def test_nicknames_and_email_formats() -> None:
    records = [
        {
            "id": "a",
            "first_name": "Robert",
            "last_name": "Smith",
            "email": "Rob.Smith@Gmail.com",
            "city": "Leeds",
        },
        {
            "id": "b",
            "first_name": "Bob",
            "last_name": "Smith",
            "email": "robsmith+crm@gmail.com",
            "city": "Leeds",
        },
        {
            "id": "c",
            "first_name": "Alice",
            "last_name": "Jones",
            "email": "alice@example.com",
            "city": "York",
        },
    ]
    result = find_duplicates(records)
    pair = next(p for p in (*result.pairs, *result.possible_pairs) if p.ids == ("a", "b"))
    assert "nickname" == pair.field("name").level  # type: ignore[union-attr]
    assert "exact" == pair.field("email").level  # type: ignore[union-attr]


@attrs.frozen
class Person:
    id: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    date_of_birth: dt.date | None = None
    city: str | None = None


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "id": 1,
            "first_name": "Anna",
            "last_name": "Smith",
            "email": "anna@x.com",
            "phone": "+44 7911 123456",
            "date_of_birth": dt.date(1980, 1, 2),
            "city": "London",
        },
        {
            "id": 2,
            "first_name": "Ana",
            "last_name": "Smith",
            "email": "ANNA@x.com",
            "phone": "+447911123456",
            "date_of_birth": dt.date(1980, 1, 2),
            "city": "London",
        },
        {
            "id": 3,
            "first_name": "Tom",
            "last_name": "Brown",
            "email": "tom@y.com",
            "phone": "+44 7700 900123",
            "date_of_birth": dt.date(1975, 6, 1),
            "city": "Leeds",
        },
        {
            "id": 4,
            "first_name": "Thomas",
            "last_name": "Brown",
            "email": "tom@y.com",
            "phone": None,
            "date_of_birth": None,
            "city": "Leeds",
        },
        {
            "id": 5,
            "first_name": "Carol",
            "last_name": "White",
            "email": "carol@z.com",
            "phone": "+44 7700 900999",
            "date_of_birth": dt.date(1990, 3, 3),
            "city": "York",
        },
    ]


def _summary(result: DuplicateResult) -> list[tuple[Any, Any, float]]:
    return [
        (p.left, p.right, round(p.match_weight, 9)) for p in (*result.pairs, *result.possible_pairs)
    ]


def test_mappings_attrs_entities_and_dataframes_agree() -> None:
    pd = pytest.importorskip("pandas")
    rows = _rows()
    from_rows = find_duplicates(rows)
    from_objects = find_duplicates([Person(**r) for r in rows])
    from_frame = find_duplicates(pd.DataFrame(rows))
    assert {(1, 2), (3, 4)} == from_rows.pair_ids()
    assert _summary(from_rows) == _summary(from_objects)
    assert _summary(from_rows) == _summary(from_frame)


def test_customer_entities_are_read_through_their_value_objects() -> None:
    from crmcore.model import Address, Customer

    def customer(first: str, last: str, phone: str, line: str) -> Customer:
        return Customer(
            tenant_id="t",
            first_name=first,
            last_name=last,
            phone=phone,
            date_of_birth=dt.date(1990, 5, 3),
            addresses=(Address(line1=line, city="北京", postcode="100020"),),
        )

    a = customer("伟", "张", "13800138000", "朝阳区人民路1号")
    b = customer("Wei", "Zhang", "+86 138 0013 8000", "朝阳区人民路1号")
    c = customer("娜", "李", "13912345678", "海淀区中山路9号")
    result = find_duplicates([a, b, c])
    assert {tuple(sorted((a.id, b.id)))} == result.pair_ids()
    pair = result.pairs[0]
    assert "exact" == pair.field("address").level  # type: ignore[union-attr]


def test_explicit_field_mapping() -> None:
    rows = [
        {"key": "x1", "nom": "Jean Dupont", "mail": "jd@ex.fr", "tel": "+33 6 12 34 56 78"},
        {"key": "x2", "nom": "Jean Dupont", "mail": "JD@ex.fr", "tel": "+33612345678"},
    ]
    result = find_duplicates(
        rows, id_field="key", fields={"full_name": "nom", "email": "mail", "phone": "tel"}
    )
    assert {("x1", "x2")} == result.pair_ids()


def test_unparseable_values_count_as_missing() -> None:
    rows = _rows()
    rows[0]["phone"] = "not a phone"
    rows[1]["email"] = "@@@"
    result = find_duplicates(rows)
    pair = next(p for p in (*result.pairs, *result.possible_pairs) if p.ids == (1, 2))
    assert "missing" == pair.field("phone").level  # type: ignore[union-attr]
    assert "missing" == pair.field("email").level  # type: ignore[union-attr]


def test_result_exports_plain_data_and_frames(
    small: tuple[list[dict[str, Any]], dict[str, int]],
) -> None:
    pd = pytest.importorskip("pandas")
    result = find_duplicates(small[0])
    data = result.to_records()
    assert len(result.pairs) == len(data["pairs"])
    assert {"left", "right", "match_weight", "probability", "status", "fields"} == set(
        data["pairs"][0]
    )
    assert len(result.clusters) == len(data["clusters"])
    frame = result.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert len(result.pairs) + len(result.possible_pairs) == len(frame)
    assert {"name_level", "name_weight", "email_left", "email_right"} <= set(frame.columns)
    members = result.clusters_to_pandas()
    assert sum(len(c) for c in result.clusters) == len(members)


def test_saved_model_reproduces_the_result(
    small: tuple[list[dict[str, Any]], dict[str, int]],
) -> None:
    records = small[0]
    first = find_duplicates(records)
    params = ModelParameters.from_dict(first.parameters.to_dict())
    again = find_duplicates(records, parameters=params)
    assert _summary(first) == _summary(again)


def test_training_with_labels_keeps_finding_duplicates(
    small: tuple[list[dict[str, Any]], dict[str, int]],
) -> None:
    records, truth = small
    gold = sorted(truth_pairs(truth))
    labels = [(a, b, True) for a, b in gold[:30]]
    ids = sorted(truth)
    labels += [
        (ids[i], ids[i + 1], False) for i in range(0, 60, 2) if truth[ids[i]] != truth[ids[i + 1]]
    ]
    deduper = Deduper()
    params = deduper.train(records, labels)
    assert params is deduper.parameters
    result = deduper.find_duplicates(records)
    precision, recall = _prf(result.pair_ids(), set(gold))
    assert precision >= 0.85
    assert recall >= 0.85


def test_training_refuses_unknown_ids(small: tuple[list[dict[str, Any]], dict[str, int]]) -> None:
    with pytest.raises(ValidationError) as info:
        Deduper().train(small[0], [("nope", "r0000001", True)])
    assert ("unknown_id",) == info.value.codes


def test_records_need_distinct_ids() -> None:
    with pytest.raises(ValidationError) as missing:
        find_duplicates([{"first_name": "A"}])
    assert ("required",) == missing.value.codes
    with pytest.raises(ValidationError) as twice:
        find_duplicates([{"id": 1, "first_name": "A"}, {"id": 1, "first_name": "B"}])
    assert ("duplicate_id",) == twice.value.codes


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        find_duplicates(_rows(), fields={"shoe_size": "x"})
    with pytest.raises(ConfigurationError):
        find_duplicates(_rows(), threshold=0.4, possible_threshold=0.6)
    with pytest.raises(ConfigurationError):
        find_duplicates([{"id": 1, "colour": "red"}])


def test_progress_reports_every_stage(small: tuple[list[dict[str, Any]], dict[str, int]]) -> None:
    seen: list[tuple[str, int, int]] = []
    find_duplicates(small[0], progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = [s for s, _, _ in seen]
    for stage in ("normalize", "block", "compare", "estimate_u", "score", "cluster"):
        assert stage in stages
    assert all(0 <= done <= total for _, done, total in seen)


def test_progress_true_uses_tqdm(small: tuple[list[dict[str, Any]], dict[str, int]]) -> None:
    pytest.importorskip("tqdm")
    result = find_duplicates(small[0][:50], progress=True)
    assert result.stats["records"] == 50


def test_empty_and_single_inputs() -> None:
    assert () == find_duplicates([{"id": 1, "full_name": "A B"}]).pairs
    empty = find_duplicates([], fields={"full_name": "name"})
    assert ((), ()) == (empty.pairs, empty.clusters)


def test_every_stage_can_be_replaced(small: tuple[list[dict[str, Any]], dict[str, int]]) -> None:
    import numpy as np

    from crmcore.dedupe import (
        DefaultNormalizer,
        StandardBlocker,
        Table,
        default_parameters,
    )

    calls: list[str] = []
    base = DefaultNormalizer()

    def normalizer(raw: Any) -> dict[str, list[str | None]]:
        calls.append("normalize")
        return base(raw)

    def estimator(table: Table, comps: Any, pairs: Any, levels: Any) -> ModelParameters:
        calls.append("estimate")
        return default_parameters(comps, n=table.n)

    def clusterer(n: int, left: Any, right: Any, weight: Any, threshold: float) -> list[list[int]]:
        calls.append("cluster")
        strong = np.flatnonzero(weight >= threshold)
        return [sorted((int(left[i]), int(right[i]))) for i in strong]

    records = small[0]
    result = find_duplicates(
        records,
        normalizer=normalizer,
        blocker=StandardBlocker(max_block_size=50),
        estimator=estimator,
        clusterer=clusterer,
    )
    assert ["normalize", "estimate", "cluster"] == calls
    assert len(result.pairs) == len(result.clusters)
    assert all(c.size == 2 for c in result.clusters)
