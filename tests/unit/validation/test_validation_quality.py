"""Completeness scores and the streaming data-quality report on a small messy dataset."""

# Project convention: assert expected == actual (constants on the left).
# ruff: noqa: SIM300

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from crmcore.errors import ConfigurationError
from crmcore.validation import (
    Completeness,
    FieldRule,
    RuleSet,
    completeness,
    quality_report,
    value_shape,
)

MESSY: list[dict[str, Any]] = [
    {"id": "c1", "name": "张伟", "email": "Zhang.Wei+crm@Example.com", "phone": "138 0013 8000"},
    {
        "id": "c2",
        "name": "ZHANG WEI",
        "email": "zhang.wei@example.com",
        "phone": "+86-138-0013-8000",
    },
    {"id": "c3", "name": "Li Lei", "email": "lilei@example", "phone": "12"},
    {"id": "c4", "name": "", "email": None, "phone": "１３９１２３４５６７８"},
    {"id": "c5", "name": "Han Meimei", "email": "t.e.s.t@gmail.com", "phone": "139-1234-5678"},
    {"id": "c6", "name": "  ", "email": "test@googlemail.com", "phone": None},
    {"id": "c7", "name": "Wang Fang", "email": "wang@example.com", "phone": "+86 139 1234 5678"},
]


def stream() -> Iterator[dict[str, Any]]:
    yield from MESSY


def test_report_without_rules() -> None:
    report = quality_report(stream(), ["name", "email", "phone"])
    assert 7 == report.total
    assert 1 == report.invalid_records  # c3: bad email and bad phone
    name, email, phone = report.fields
    assert (5, 7) == (name.filled, name.total)
    assert {"email_invalid": 1} == email.invalid
    assert {"phone_too_short": 1} == phone.invalid
    assert 6 / 7 == phone.fill_rate
    assert ("ddd dddd dddd", 1) in phone.shapes
    assert ("+dd-ddd-dddd-dddd", 1) in phone.shapes
    assert ("ddd-dddd-dddd", 1) in phone.shapes
    duplicates = {(d.field, d.key): (d.count, d.examples) for d in report.duplicates}
    assert {
        ("email", "zhang.wei@example.com"): (2, ("c1", "c2")),
        ("email", "test@gmail.com"): (2, ("c5", "c6")),
        ("phone", "+8613800138000"): (2, ("c1", "c2")),
        ("phone", "+8613912345678"): (3, ("c4", "c5", "c7")),
    } == duplicates
    assert "phone" == report.duplicates[0].field  # most frequent first


def test_report_with_rules_counts_codes_and_redacts_sensitive_keys() -> None:
    rules = RuleSet(
        fields={
            "name": FieldRule(required=True, normalizer="name"),
            "email": FieldRule(normalizer="email"),
            "phone": FieldRule(normalizer="phone", sensitive=True),
        }
    )
    report = quality_report(iter(MESSY), ["name", "email", "phone"], rules, key_fields=("phone",))
    assert {"required": 2} == report.field("name").invalid
    assert {"email_invalid": 1} == report.field("email").invalid
    assert {"phone_too_short": 1} == report.field("phone").invalid
    assert 3 == report.invalid_records
    assert {"<redacted>"} == {d.key for d in report.duplicates}


def test_report_renders_as_text_html_and_plain_data() -> None:
    report = quality_report(stream(), ["name", "email", "phone"])
    text = str(report)
    assert text.startswith("Data quality: 7 records, 1 with errors")
    assert "phone_too_short×1" in text
    assert "Duplicate keys:" in text
    html = report._repr_html_()
    assert html.startswith("<div>") and "<table>" in html and "&lt;" not in text
    data = report.to_dict()
    assert 7 == data["total"]
    assert ["name", "email", "phone"] == [f["name"] for f in data["fields"]]
    assert {"field", "key", "count", "examples"} == set(data["duplicates"][0])


def test_report_escapes_html() -> None:
    report = quality_report(
        [{"id": "<b>", "email": "x@y.com"}, {"id": 2, "email": "X@y.com"}], ["email"]
    )
    assert "&lt;b&gt;" in report._repr_html_()


def test_report_streams_and_reports_progress() -> None:
    seen: list[tuple[str, int, int]] = []
    pulled = 0

    def gen() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for i in range(25):
            pulled += 1
            yield {"id": i, "email": f"user{i % 10}@example.com"}

    def callback(stage: str, done: int, total: int) -> None:
        seen.append((stage, done, total))

    report = quality_report(gen(), ["email"], progress=callback, progress_every=10)
    assert 25 == pulled
    # a generator has no length: total 0 (unknown) until the final call
    assert [("quality", 10, 0), ("quality", 20, 0), ("quality", 25, 25)] == seen
    assert 10 == len(report.duplicates)
    assert (3, (0, 10, 20)) == (report.duplicates[0].count, report.duplicates[0].examples)


@attrs.frozen
class Row:
    id: int
    email: str | None
    phone: str | None


def test_report_accepts_attrs_instances_and_list_values() -> None:
    rows = [Row(1, "a@x.com", "138 0013 8000"), Row(2, "A@X.com", None)]
    report = quality_report(rows, ["email", "phone"])
    assert [("email", "a@x.com", 2)] == [(d.field, d.key, d.count) for d in report.duplicates]
    listed = [{"phones": ["13800138000", "+8613800138000"]}, {"phones": ["138 0013 8000"]}]
    report = quality_report(listed, ["phones"], key_fields=("phones",))
    assert [(2, (0, 1))] == [(d.count, d.examples) for d in report.duplicates]


def test_value_shape() -> None:
    assert "ddd dddd dddd" == value_shape("138 0013 8000")
    assert "+dd-ddd" == value_shape("+86-138")
    assert "aaaa@aaaa.aaa" == value_shape("john@mail.com")
    assert "aa" == value_shape("张伟")
    assert "dddd" == value_shape(2024)
    assert "<NoneType>" == value_shape(None)
    assert 41 == len(value_shape("x" * 100))


def test_completeness() -> None:
    record = {"name": "A", "email": "", "phone": None, "address": {"city": "Paris"}}
    assert Completeness(0.5, ("name", "address.city"), ("email", "phone")) == completeness(
        record, ["name", "email", "phone", "address.city"]
    )
    weighted = completeness(record, ["name", "email"], weights={"name": 3, "email": 1})
    assert 0.75 == weighted.score
    assert Completeness(1.0, (), ()) == completeness(record, [])
    assert 1.0 == completeness(Row(1, "a@b.c", "1"), ["email", "phone"]).score


@pytest.mark.parametrize("weights", [{"name": -1}, {"name": float("nan")}, {"name": 0, "email": 0}])
def test_completeness_refuses_bad_weights(weights: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        completeness({"name": "A"}, ["name", "email"], weights=weights)
