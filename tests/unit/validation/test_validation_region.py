"""Phones are read in the record's own country before the session default (#14)."""

# Project convention: assert expected == actual (constants on the left).
# ruff: noqa: SIM300

from __future__ import annotations

import pytest

from crmcore.errors import ValidationError
from crmcore.model import Account, Address, Customer, PhoneNumber
from crmcore.validation import EntityValidation, default_rules, normalize_phone

US = Address(line1="1 Main St", city="San Francisco", region="CA", postcode="94105", country="US")


def test_customer_in_the_us_keeps_a_us_number_under_a_cn_default() -> None:
    hook = EntityValidation(rules=default_rules("CN")).validators()[Customer]
    checked = hook(
        Customer(
            phone="(415) 555-0100",
            phones=(PhoneNumber(number="415-555-0101"),),
            addresses=(US,),
        )
    )
    assert "+14155550100" == checked.phone
    assert "+14155550101" == checked.phones[0].number


def test_country_written_as_a_name_counts_and_plus_wins_over_the_record() -> None:
    hook = EntityValidation().validators()[Account]
    moved = Address(
        line1="10 Downing St", city="London", postcode="SW1A 2AA", country="United Kingdom"
    )
    checked = hook(Account(name="ACME", phone="+86 138 0013 8000", addresses=(moved,)))
    assert "+8613800138000" == checked.phone
    checked = hook(Account(name="ACME", phone="020 7946 0018", addresses=(moved,)))
    assert "+442079460018" == checked.phone


def test_without_a_country_the_session_default_applies() -> None:
    hook = EntityValidation(rules=default_rules("CN")).validators()[Customer]
    assert "+8613800138000" == hook(Customer(phone="138 0013 8000")).phone
    # what the issue reported: a US number silently read as Chinese without an address
    assert (
        normalize_phone("(415) 555-0100", region="CN")
        == hook(Customer(phone="(415) 555-0100")).phone
    )


def test_an_unknown_address_country_is_reported_not_used() -> None:
    hook = EntityValidation().validators()[Customer]
    with pytest.raises(ValidationError) as info:
        hook(Customer(phone="138 0013 8000", addresses=(Address(line1="x", country="Atlantis"),)))
    assert ("country_unknown",) == info.value.codes


@pytest.mark.parametrize(
    ("text", "region", "suffix"),
    [
        ("12345", "CN", " (read as a CN number: it has no + country code)"),
        ("555-01", "US", " (read as a US number: it has no + country code)"),
        ("+1 555", "US", ""),
    ],
)
def test_error_names_the_region_assumed(text: str, region: str, suffix: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_phone(text, region=region)
    (problem,) = info.value.errors
    assert problem.message.endswith(suffix)
    if not suffix:
        assert "read as" not in problem.message
