"""Text no backend can store (NUL, lone surrogate) is refused; text normalisers are idempotent."""

# Project convention: assert expected == actual (constants on the left).
# ruff: noqa: SIM300

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crmcore.errors import ValidationError
from crmcore.model import Account, Customer, EmailAddress, Opportunity, PhoneNumber
from crmcore.validation import (
    EntityValidation,
    bad_text_reason,
    normalize_country,
    normalize_email,
    normalize_identifier_text,
    normalize_name,
    normalize_postcode,
    normalize_text,
)

ANY_CHAR = st.one_of(
    st.characters(),
    st.integers(0xD800, 0xDFFF).map(chr),
    st.integers(0, 0x1F).map(chr),
    st.sampled_from("è¸ǰǅßİı\u0300\u0327\u00a0\u3000-. "),
)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("plain", None),
        ("张伟 Müller", None),
        ("😀", None),
        ("a\x00b", "contains a NUL character"),
        ("a\ud800", "contains a lone surrogate (U+D800)"),
        ("\udfff", "contains a lone surrogate (U+DFFF)"),
        ("é\x00\ud800", "contains a NUL character"),
    ],
)
def test_bad_text_reason(text: str, reason: str | None) -> None:
    assert reason == bad_text_reason(text)


@given(text=st.text(ANY_CHAR, max_size=30))
def test_bad_text_reason_is_exactly_not_storable_as_utf8_without_nul(text: str) -> None:
    try:
        text.encode("utf-8")
        storable = "\x00" not in text
    except UnicodeEncodeError:
        storable = False
    assert storable == (bad_text_reason(text) is None)


def _refused(entity: object) -> list[tuple[str, str]]:
    hooks = EntityValidation().validators()
    with pytest.raises(ValidationError) as info:
        hooks[type(entity)](entity)  # type: ignore[index, arg-type]
    return [(e.path, e.code) for e in info.value.errors]


@pytest.mark.parametrize("bad", ["a\ud800", "a\x00b"])
def test_default_validation_refuses_bad_text_everywhere(bad: str) -> None:
    customer = Customer(
        first_name=bad,
        source=bad,
        emails=(EmailAddress(address=f"x{bad}@example.com"),),
        phones=(PhoneNumber(number="+8613800138000", label=bad),),
        tags=frozenset({bad, "ok"}),
    )
    # custom data is refused already by the entity's converter, validation or not
    with pytest.raises(ValidationError):
        Customer(custom={"nested": {"deep": [bad]}})
    assert [
        ("$.first_name", "invalid_text"),
        ("$.emails[0].address", "invalid_text"),
        ("$.phones[0].label", "invalid_text"),
        ("$.source", "invalid_text"),
        ("$.tags", "invalid_text"),
    ] == sorted(_refused(customer), key=_field_order)


_ORDER = ["custom", "first_name", "emails", "phones", "source", "tags"]


def _field_order(item: tuple[str, str]) -> tuple[int, str]:
    field = item[0][2:].split(".")[0].split("[")[0]
    return (_ORDER.index(field), "")


def test_entities_without_rules_are_checked_too() -> None:
    assert [("$.name", "invalid_text")] == _refused(Opportunity(name="deal\x00"))
    assert [("$.website", "invalid_text")] == _refused(Account(name="ACME", website="\ud800"))


def test_error_names_the_field_and_keeps_no_value() -> None:
    hooks = EntityValidation().validators()
    with pytest.raises(ValidationError) as info:
        hooks[Customer](Customer(last_name="Li\x00"))
    (problem,) = info.value.errors
    assert "$.last_name contains a NUL character" == problem.message
    assert problem.value is None


def test_refusal_can_be_turned_off_and_good_text_passes() -> None:
    loose = EntityValidation(refuse_bad_text=False).validators()
    assert Opportunity not in loose
    checked = loose[Customer](Customer(first_name="Wei\x00"))
    assert "Wei" == checked.first_name  # the name normaliser drops controls
    strict = EntityValidation().validators()
    assert "Müller" == strict[Customer](Customer(last_name="müller")).last_name


# Normalisers only: match keys (name_match_key, email_match_key) are comparison
# keys, not values to store, and need not be fixed points.
NORMALISERS: dict[str, Callable[[str], str]] = {
    "identifier_text": normalize_identifier_text,
    "text": normalize_text,
    "name": normalize_name,
    "email": normalize_email,
    "country": normalize_country,
    "postcode_any": normalize_postcode,
    "postcode_gb": lambda t: normalize_postcode(t, "GB"),
}


@pytest.mark.parametrize("name", sorted(NORMALISERS))
@settings(max_examples=300, deadline=None)
@given(text=st.text(ANY_CHAR, max_size=20))
@example(text="è¸")
@example(text="ǰ")
@example(text="a\u00a0\u0300")
def test_every_text_normaliser_is_idempotent(name: str, text: str) -> None:
    fn = NORMALISERS[name]
    try:
        once = fn(text)
    except ValidationError:
        return
    assert once == fn(once)


def test_identifier_text_fixed_point_of_combining_sequence() -> None:
    once = normalize_identifier_text("è¸")
    assert "\u0228\u0300" == once
    assert once == normalize_identifier_text(once)
