"""RuleSet and validate_record: all errors at once, redaction, mappings and attrs, loading."""

# Project convention: assert expected == actual (constants on the left).
# ruff: noqa: SIM300

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import attrs
import pytest

from crmcore.errors import ConfigurationError, FieldError, ValidationError
from crmcore.validation import (
    CustomField,
    CustomFieldSchema,
    FieldRule,
    IdentifierRegistry,
    RuleSet,
    require_any,
    validate_record,
)

RULES = RuleSet(
    fields={
        "name": FieldRule(required=True, normalizer="name"),
        "email": FieldRule(normalizer="email"),
        "phones": FieldRule(normalizer="phone", each=True, options={"region": "CN"}),
        "status": FieldRule(required=True, choices=("lead", "customer")),
        "code": FieldRule(regex=r"[A-Z]{3}\d{2}", max_length=5),
        "age": FieldRule(min_value=0, max_value=150),
        "national_id": FieldRule(normalizer="national_id", sensitive=True),
        "birthday": FieldRule(normalizer="date", options={"order": "DMY"}),
        "address": FieldRule(normalizer="address", options={"default_country": "CN"}),
    },
    record_rules=(require_any("email", "phones"),),
)


def errors_of(record: Any, rules: RuleSet = RULES, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        validate_record(record, rules, **kwargs)
    return [(e.path, e.code) for e in info.value.errors]


def test_valid_mapping_is_normalised_into_a_new_dict() -> None:
    record = {
        "id": 1,
        "name": "zhang wei",
        "email": " Zhang.Wei@Example.COM ",
        "phones": ["138 0013 8000", "+86 10 1234 5678"],
        "status": "lead",
        "code": "ABC12",
        "age": 33,
        "birthday": "05.10.1990",
        "address": {"city": " 深圳 ", "province": "广东", "zip": "518057"},
        "untouched": "kept",
    }
    out = validate_record(record, RULES)
    assert {
        "id": 1,
        "name": "Zhang Wei",
        "email": "Zhang.Wei@example.com",
        "phones": ["+8613800138000", "+861012345678"],
        "status": "lead",
        "code": "ABC12",
        "age": 33,
        "birthday": dt.date(1990, 10, 5),
        "address": {
            "line1": None,
            "line2": None,
            "city": "深圳",
            "region": "广东省",
            "postcode": "518057",
            "country": "CN",
        },
        "untouched": "kept",
    } == out
    assert "zhang wei" == record["name"]  # the input is not modified
    assert out is not record


def test_every_error_is_reported_at_once() -> None:
    record = {
        "id": 9,
        "name": "  ",
        "email": "not-an-email",
        "phones": ["138 0013 8000", "12", "abc"],
        "status": "vip",
        "code": "abc1234",
        "age": -1,
        "birthday": "31.02.1990",
        "address": {"postcode": "12", "country": "Atlantis", "floor": 3},
    }
    assert [
        ("$.name", "required"),
        ("$.email", "email_invalid"),
        ("$.phones[1]", "phone_too_short"),
        ("$.phones[2]", "phone_invalid"),
        ("$.status", "choice_invalid"),
        ("$.code", "pattern_mismatch"),
        ("$.code", "max_length"),
        ("$.age", "min_value"),
        ("$.birthday", "date_invalid"),
        ("$.address.floor", "address_unknown_field"),
        ("$.address.country", "country_unknown"),
    ] == errors_of(record)


def test_error_names_entity_and_id() -> None:
    with pytest.raises(ValidationError) as info:
        validate_record({"id": 42, "status": "lead", "phones": ["12"]}, RULES, entity="customer")
    assert "customer" == info.value.entity
    assert 42 == info.value.id
    assert str(info.value).startswith("customer 42: ")


def test_cross_field_rule() -> None:
    assert [("$.email", "required_any")] == errors_of({"name": "Li Lei", "status": "lead"})
    assert [("$.email", "required_any")] == errors_of(
        {"name": "Li Lei", "status": "lead", "email": " ", "phones": []}
    )


def test_cross_field_rule_as_callable_sees_normalised_values() -> None:
    def same_country(record: Any) -> list[FieldError]:
        if record["country"] != "CN":
            return [FieldError("$.country", "not_cn", "only CN customers")]
        return []

    rules = RuleSet(
        fields={"country": FieldRule(normalizer="country")}, record_rules=[same_country]
    )
    assert {"country": "CN"} == validate_record({"country": "中国"}, rules)
    assert [("$.country", "not_cn")] == errors_of({"country": "Japan"}, rules)


def test_sensitive_values_are_redacted() -> None:
    record = {
        "name": "A",
        "status": "lead",
        "email": "a@x.com",
        "national_id": "110105194912310021",
    }
    with pytest.raises(ValidationError) as info:
        validate_record(record, RULES)
    (error,) = info.value.errors
    assert ("$.national_id", "national_id_checksum", None) == (error.path, error.code, error.value)
    assert "110105194912310021" not in str(info.value)
    assert "value" not in error.to_dict()


def test_sensitive_argument_redacts_any_field_and_untrusted_messages() -> None:
    record = {"name": "A", "status": "lead", "email": "secret<@x.com"}
    with pytest.raises(ValidationError) as info:
        validate_record(record, RULES, sensitive={"email"})
    (error,) = info.value.errors
    assert (None, "invalid value") == (error.value, error.message)
    assert "secret" not in str(info.value)

    with pytest.raises(ValidationError) as info:
        validate_record({**record, "email": None, "phones": ["12"]}, RULES, sensitive={"phones"})
    assert [("$.phones[0]", None)] == [(e.path, e.value) for e in info.value.errors]


def test_custom_checks_and_callable_normalisers() -> None:
    def even(value: int) -> bool:
        return value % 2 == 0

    def no_test(value: str) -> None:
        if "test" in value:
            raise ValueError("looks like test data")

    rules = RuleSet(
        fields={
            "n": FieldRule(checks=(even,)),
            "label": FieldRule(normalizer=str.strip, checks=(no_test,)),
        }
    )
    assert {"n": 4, "label": "x"} == validate_record({"n": 4, "label": "  x "}, rules)
    with pytest.raises(ValidationError) as info:
        validate_record({"n": 3, "label": " a test "}, rules)
    assert [
        ("$.n", "check_failed", "failed even"),
        ("$.label", "check_failed", "looks like test data"),
    ] == [(e.path, e.code, e.message) for e in info.value.errors]


def test_defaults_fill_empty_optional_fields() -> None:
    rules = RuleSet(fields={"source": FieldRule(default="import"), "tags": FieldRule(default=())})
    assert {"x": 1, "tags": (), "source": "import"} == validate_record(
        {"x": 1, "tags": None}, rules
    )
    assert {"source": "import", "tags": ()} == validate_record({"source": ""}, rules)
    assert {"source": "web", "tags": ()} == validate_record({"source": "web"}, rules)


def test_nested_paths() -> None:
    rules = RuleSet(
        fields={
            "contact.email": FieldRule(required=True, normalizer="email"),
            "contact.phone": FieldRule(normalizer="phone", options={"region": "US"}),
        }
    )
    out = validate_record({"contact": {"email": "A@B.COM", "phone": "(415) 555-0132"}}, rules)
    assert {"contact": {"email": "A@b.com", "phone": "+14155550132"}} == out
    assert [("$.contact.email", "required")] == errors_of({"contact": {}}, rules)


@attrs.frozen
class Person:
    id: int
    name: str
    email: str | None = None
    phones: tuple[str, ...] = ()
    status: str = "lead"
    _note: str = ""
    custom: dict[str, Any] = attrs.field(factory=dict)


def test_attrs_instance_returns_evolved_copy() -> None:
    p = Person(1, "MCDONALD", "X@Y.COM", ("(415) 555-0132",), note="n")
    rules = RULES.merge(RuleSet(fields={"phones": FieldRule(options={"region": "US"})}))
    out = validate_record(p, rules)
    assert Person(1, "McDonald", "X@y.com", ("+14155550132",), note="n") == out
    assert "MCDONALD" == p.name


def test_attrs_errors_name_the_class_and_id() -> None:
    with pytest.raises(ValidationError) as info:
        validate_record(Person(7, "", None, ()), RULES)
    assert ("Person", 7) == (info.value.entity, info.value.id)
    assert ["required", "required_any"] == list(info.value.codes)


def test_custom_schema_inside_rule_set() -> None:
    schema = CustomFieldSchema(
        [CustomField("budget", "decimal"), CustomField("tier", "choice", choices=("A", "B"))]
    )
    rules = RuleSet(custom=schema)
    out = validate_record(Person(1, "X", custom={"budget": "12.50", "tier": "a"}), rules)
    assert {"budget": Decimal("12.50"), "tier": "A"} == out.custom
    assert [
        ("$.custom.tier", "choice_invalid"),
        ("$.custom.zzz", "custom_unknown_field"),
    ] == sorted(errors_of({"custom": {"tier": "C", "zzz": 1}}, rules))


def test_not_a_record() -> None:
    assert [("$", "wrong_type")] == errors_of(["not", "a", "record"])


def test_each_requires_a_list() -> None:
    rules = RuleSet(fields={"phones": FieldRule(normalizer="phone", each=True)})
    assert [("$.phones", "wrong_type")] == errors_of({"phones": "138 0013 8000"}, rules)
    assert {"phones": ("+8613800138000",)} == validate_record({"phones": ("13800138000",)}, rules)


def test_identifier_registry_kinds_are_normalisers() -> None:
    registry = IdentifierRegistry.with_defaults()
    registry.register("member_no", lambda t: t.strip().upper())
    rules = RuleSet(
        fields={"m": FieldRule(normalizer="member_no"), "i": FieldRule(normalizer="iban")}
    )
    out = validate_record(
        {"m": " ab1 ", "i": "gb82 west 1234 5698 7654 32"}, rules, identifiers=registry
    )
    assert {"m": "AB1", "i": "GB82WEST12345698765432"} == out
    with pytest.raises(ConfigurationError):
        validate_record({"m": "x"}, rules)  # not registered in the default registry


# --- loading, merging --------------------------------------------------------------------------

DATA = {
    "fields": {
        "email": {"normalizer": "email", "required": True},
        "phones": {"normalizer": "phone", "each": True, "options": {"region": "CN"}},
        "status": {"choices": ["lead", "customer"]},
        "code": {"regex": "[A-Z]+", "min_length": 2},
        "national_id": {"normalizer": "national_id"},
    },
    "require_any": [["email", "phones"]],
    "sensitive": ["national_id"],
    "custom": [{"name": "tier", "type": "choice", "choices": ["A", "B"]}],
}


def test_from_dict_round_trips_through_json() -> None:
    rules = RuleSet.from_dict(json.loads(json.dumps(DATA)))
    assert rules == RuleSet.from_dict(json.loads(json.dumps(rules.to_dict())))
    assert frozenset({"national_id"}) == rules.sensitive
    assert [
        ("$.email", "required"),
        ("$.code", "min_length"),
        ("$.custom.tier", "choice_invalid"),
    ] == (errors_of({"code": "A", "custom": {"tier": "Z"}, "phones": ["13800138000"]}, rules))


@pytest.mark.parametrize(
    "data",
    [
        {"fields": {"x": {"normaliser": "email"}}},
        {"fields": {"x": {"normalizer": "nope"}}},
        {"fields": {"x": {"regex": "("}}},
        {"fields": {"x": {"min_length": -1}}},
        {"fields": []},
        {"rules": {}},
        {"require_any": "email"},
        {"custom": [{"name": "bad name", "type": "text"}]},
    ],
)
def test_from_dict_refuses_bad_data(data: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RuleSet.from_dict(data)


def test_merge_overrides_setting_by_setting() -> None:
    base = RuleSet.from_dict(DATA)
    tenant = RuleSet.from_dict(
        {
            "fields": {
                "email": {"required": False},
                "phones": {"options": {"region": "US"}},
                "vip": {"choices": [True, False]},
            },
            "sensitive": ["email"],
        }
    )
    merged = base.merge(tenant)
    assert FieldRule(normalizer="email", required=False) == merged.fields["email"]
    assert (
        FieldRule(normalizer="phone", each=True, options={"region": "US"})
        == merged.fields["phones"]
    )
    assert "vip" in merged.fields
    assert frozenset({"national_id", "email"}) == merged.sensitive
    assert merged.custom == base.custom
    assert {"phones": ["+14155550132"]} == validate_record(
        {"phones": ["(415) 555-0132"]}, merged.without("code", "status", "national_id", "vip")
    )
    assert "email" not in merged.without("email").fields


def test_rule_set_validate_shorthand() -> None:
    rules = RuleSet(fields={"email": FieldRule(normalizer="email")})
    assert {"email": "a@b.cd"} == rules.validate({"email": "a@B.CD"})
