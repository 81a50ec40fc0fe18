"""Custom-field schemas: coercion, all errors at once, refused schema changes."""

# Project convention: assert expected == actual (constants on the left).
# ruff: noqa: SIM300

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from crmcore.errors import SchemaError, ValidationError
from crmcore.validation import (
    CustomField,
    CustomFieldSchema,
    SchemaChangeError,
    SchemaChangeProblem,
)

SCHEMA = CustomFieldSchema.from_dict(
    [
        {"name": "note", "type": "text", "max_length": 20},
        {"name": "visits", "type": "number", "min_value": 0},
        {"name": "budget", "type": "decimal", "min_value": "0.00"},
        {"name": "since", "type": "date", "options": {"order": "DMY"}},
        {"name": "vip", "type": "bool", "default": False},
        {"name": "tier", "type": "choice", "choices": ["gold", "silver"], "required": True},
        {"name": "channels", "type": "multi_choice", "choices": ["email", "sms", "wechat"]},
        {"name": "contact", "type": "email"},
        {"name": "mobile", "type": "phone", "options": {"region": "CN"}},
        {"name": "site", "type": "url"},
    ]
)


def test_values_are_coerced() -> None:
    out = SCHEMA.validate(
        {
            "note": "  hello ",
            "visits": "12",
            "budget": "12.50",
            "since": "05.10.2024",
            "tier": "GOLD",
            "channels": ["wechat", "email", "wechat"],
            "contact": "A@Example.COM",
            "mobile": "138 0013 8000",
            "site": "Example.com/path?q=1",
        }
    )
    assert {
        "note": "hello",
        "visits": 12,
        "budget": Decimal("12.50"),
        "since": dt.date(2024, 10, 5),
        "vip": False,
        "tier": "gold",
        "channels": ("email", "wechat"),
        "contact": "A@example.com",
        "mobile": "+8613800138000",
        "site": "https://example.com/path?q=1",
    } == out
    assert out == SCHEMA.validate(out)  # idempotent


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("visits", 3, 3),
        ("visits", "2.5", 2.5),
        ("visits", Decimal("4"), 4),
        ("budget", 10, Decimal("10")),
        ("budget", 0.1, Decimal("0.1")),
        ("budget", "１２.５", Decimal("12.5")),
        ("vip", "yes", True),
        ("vip", "否", False),
        ("vip", 0, False),
        ("since", dt.date(2020, 1, 1), dt.date(2020, 1, 1)),
        ("since", "2020-01-31", dt.date(2020, 1, 31)),
        ("site", "HTTPS://Example.COM/A", "https://example.com/A"),
    ],
)
def test_coercion_table(field: str, raw: Any, expected: Any) -> None:
    f = SCHEMA.field(field)
    assert f is not None
    assert expected == f.coerce(raw)


def test_every_problem_is_reported_with_custom_paths() -> None:
    with pytest.raises(ValidationError) as info:
        SCHEMA.validate(
            {
                "note": "x" * 21,
                "visits": "1_000",
                "budget": "-1",
                "since": "2023-02-29",
                "vip": "maybe",
                "channels": ["email", "fax"],
                "contact": "nope",
                "mobile": "12",
                "site": "ftp://example.com",
                "extra": 1,
            }
        )
    assert [
        ("$.custom.extra", "custom_unknown_field"),
        ("$.custom.note", "max_length"),
        ("$.custom.visits", "number_invalid"),
        ("$.custom.budget", "min_value"),
        ("$.custom.since", "date_invalid"),
        ("$.custom.vip", "bool_invalid"),
        ("$.custom.tier", "required"),
        ("$.custom.channels[1]", "choice_invalid"),
        ("$.custom.contact", "email_invalid"),
        ("$.custom.mobile", "phone_too_short"),
        ("$.custom.site", "url_invalid"),
    ] == [(e.path, e.code) for e in info.value.errors]


@pytest.mark.parametrize(
    ("field", "raw", "code"),
    [
        ("visits", True, "wrong_type"),
        ("visits", float("nan"), "number_invalid"),
        ("budget", "1e5", "decimal_invalid"),
        ("budget", "NaN", "decimal_invalid"),
        ("channels", "email", "wrong_type"),
        ("note", 5, "wrong_type"),
        ("site", "http://[::1", "url_invalid"),
        ("site", "not a url", "url_invalid"),
    ],
)
def test_coercion_refusals(field: str, raw: Any, code: str) -> None:
    f = SCHEMA.field(field)
    assert f is not None
    with pytest.raises(ValidationError) as info:
        f.coerce(raw)
    assert code == info.value.codes[0]


def test_unknown_keys_kept_when_allowed() -> None:
    schema = CustomFieldSchema([CustomField("a", "text")], allow_unknown=True)
    assert {"a": "x", "zzz": [1]} == schema.validate({"a": " x", "zzz": [1]})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "bad name", "type": "text"},
        {"name": "x", "type": "colour"},
        {"name": "x", "type": "choice"},
        {"name": "x", "type": "choice", "choices": ["a", "a"]},
        {"name": "x", "type": "text", "choices": ["a"]},
        {"name": "x", "type": "number", "default": "many"},
        {"name": "x", "type": "date", "min_value": "someday"},
        {"name": "x", "type": "text", "max_length": 0},
    ],
)
def test_bad_definitions_are_schema_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(SchemaError):
        CustomField(**kwargs)


def test_duplicate_names_and_round_trip() -> None:
    with pytest.raises(SchemaError):
        CustomFieldSchema([CustomField("a", "text"), CustomField("a", "number")])
    assert SCHEMA == CustomFieldSchema.from_dict(SCHEMA.to_dict())


# --- schema changes ---------------------------------------------------------------------------

OLD = CustomFieldSchema(
    [
        CustomField("tier", "choice", choices=("gold", "silver", "bronze")),
        CustomField("note", "text"),
        CustomField("age", "text"),
        CustomField("code", "text"),
    ]
)
NEW = CustomFieldSchema(
    [
        CustomField("tier", "choice", choices=("gold", "silver")),
        CustomField("age", "number"),
        CustomField("code", "text", max_length=3),
        CustomField("vip", "bool", required=True),
    ]
)
STORED: list[dict[str, Any]] = [
    {"tier": "bronze", "note": "call back", "age": "forty", "code": "ABCD"},
    {"tier": "gold", "age": "41", "code": "AB"},
    {"tier": "bronze", "note": "", "age": None},
    {"note": "hi"},
]


def test_change_that_would_invalidate_data_is_refused_with_counts() -> None:
    consumed: list[int] = []

    def stream() -> Iterator[dict[str, Any]]:
        for i, values in enumerate(STORED):
            consumed.append(i)
            yield values

    with pytest.raises(SchemaChangeError) as info:
        OLD.change_to(NEW, stream())
    assert [0, 1, 2, 3] == consumed
    assert (
        SchemaChangeProblem("note", "removed", 2),
        SchemaChangeProblem("age", "invalid", 1, {"number_invalid": 1}),
        SchemaChangeProblem("code", "invalid", 1, {"max_length": 1}),
        SchemaChangeProblem("tier", "invalid", 2, {"choice_invalid": 2}),
        SchemaChangeProblem("vip", "missing_required", 4),
    ) == info.value.problems
    message = str(info.value)
    assert "'note' would be removed but 2 records hold values" in message
    assert "'tier': 2 records hold values the new definition refuses (choice_invalid: 2)" in message
    assert isinstance(info.value, SchemaError)


def test_change_without_affected_data_is_allowed() -> None:
    OLD.change_to(NEW, [])
    widened = CustomFieldSchema(
        [
            CustomField("tier", "choice", choices=("gold", "silver", "bronze", "platinum")),
            CustomField("note", "text"),
            CustomField("age", "text"),
            CustomField("code", "text"),
            CustomField("vip", "bool", default=False, required=True),
        ]
    )
    OLD.change_to(widened, STORED)


def test_type_change_allowed_when_every_value_converts() -> None:
    old = CustomFieldSchema([CustomField("n", "text")])
    new = CustomFieldSchema([CustomField("n", "decimal")])
    old.change_to(new, [{"n": "1.50"}, {"n": "2"}, {}, None])  # type: ignore[list-item]
    with pytest.raises(SchemaChangeError, match="1 record holds"):
        old.change_to(new, [{"n": "1.50"}, {"n": "lots"}])
