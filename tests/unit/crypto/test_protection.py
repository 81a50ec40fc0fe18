"""FieldProtection declarations and the default for Customer."""

from __future__ import annotations

import attrs
import pytest

from crmcore.crypto import DEFAULT_PROTECTION, FieldProtection, Protection
from crmcore.errors import ConfigurationError


def test_default_customer_protection() -> None:
    customer = DEFAULT_PROTECTION["Customer"]
    assert customer.entity == "Customer"
    assert {"email", "phone", "national_id"} == customer.searchable
    assert {
        "email",
        "phone",
        "national_id",
        "date_of_birth",
        "emails",
        "phones",
    } == customer.encrypted
    assert customer.of("date_of_birth") == Protection.ENCRYPTED
    assert customer.of("first_name") == Protection.PLAINTEXT


def test_default_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        DEFAULT_PROTECTION["Lead"] = FieldProtection("Lead")  # type: ignore[index]


def test_strings_are_accepted_and_fields_kept_sorted() -> None:
    spec = FieldProtection("Lead", {"phone": "searchable", "email": "encrypted"})
    assert spec.fields == (("email", Protection.ENCRYPTED), ("phone", Protection.SEARCHABLE))
    assert spec.as_dict() == {"email": Protection.ENCRYPTED, "phone": Protection.SEARCHABLE}


def test_specs_are_frozen_values() -> None:
    a = FieldProtection("Lead", {"email": Protection.ENCRYPTED})
    b = FieldProtection("Lead", [("email", "encrypted")])
    assert a == b
    assert hash(a) == hash(b)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.entity = "Other"  # type: ignore[misc]


def test_with_fields_adds_and_changes() -> None:
    base = DEFAULT_PROTECTION["Customer"]
    changed = base.with_fields({"email": Protection.PLAINTEXT, "wechat_id": "searchable"})
    assert changed.of("email") == Protection.PLAINTEXT
    assert "wechat_id" in changed.searchable
    assert base.of("email") == Protection.SEARCHABLE


@pytest.mark.parametrize(
    ("entity", "fields", "match"),
    [
        ("", {}, "entity"),
        ("Lead", {"": "encrypted"}, "non-empty"),
        ("Lead", {"email": "secret"}, "unknown protection"),
    ],
)
def test_bad_declarations_are_refused(entity: str, fields: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        FieldProtection(entity, fields)
