"""Public surface, lazy imports, identifier registry, date-times, phone details, addresses."""

# Project convention: assert expected == actual (constants on the left).
# ruff: noqa: SIM300

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest

import crmcore.validation as validation
from crmcore.errors import ConfigurationError, CrmError, ValidationError
from crmcore.validation import (
    IdentifierRegistry,
    PhoneKind,
    default_registry,
    normalize_address,
    normalize_date,
    normalize_datetime,
    normalize_phone,
    normalize_postcode,
    normalize_text,
    parse_phone,
    validate_national_id,
    validate_uscc,
)


def test_all_is_sorted_and_complete() -> None:
    assert sorted(validation.__all__) == validation.__all__
    for name in validation.__all__:
        assert hasattr(validation, name), name
    required = {
        "normalize_phone",
        "parse_phone",
        "normalize_email",
        "email_match_key",
        "normalize_name",
        "split_name",
        "name_match_key",
        "normalize_date",
        "normalize_datetime",
        "normalize_address",
        "normalize_country",
        "normalize_postcode",
        "validate_national_id",
        "validate_uscc",
        "IdentifierRegistry",
        "RuleSet",
        "FieldRule",
        "validate_record",
        "CustomField",
        "CustomFieldSchema",
        "completeness",
        "quality_report",
        "QualityReport",
    }
    assert required <= set(validation.__all__)


def test_import_is_cheap() -> None:
    code = (
        "import sys, crmcore.validation\n"
        "heavy = {'phonenumbers', 'email_validator', 'pypinyin'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "[]" == out.stdout.strip()


def test_errors_are_crm_errors_with_paths() -> None:
    with pytest.raises(ValidationError) as info:
        normalize_phone("12", field="$.contacts[0].phone")
    assert isinstance(info.value, CrmError)
    assert isinstance(info.value, ValueError)
    assert ("$.contacts[0].phone", "phone_too_short", "12") == (
        info.value.errors[0].path,
        info.value.errors[0].code,
        info.value.errors[0].value,
    )


# --- phones -------------------------------------------------------------------------------------


def test_parse_phone_describes_the_number() -> None:
    info = parse_phone("(415) 555-0132 ext. 12", region="US")
    assert ("+14155550132", "US", PhoneKind.FIXED_LINE_OR_MOBILE, "12") == (
        info.e164,
        info.region,
        info.kind,
        info.extension,
    )
    assert ("(415) 555-0132", "+1 415-555-0132", 1) == (
        info.national_format,
        info.international_format,
        info.country_code,
    )
    assert "+14155550132;ext=12" == info.value == str(info)
    cn = parse_phone("13800138000")
    assert ("138 0013 8000", "mobile") == (cn.national_format, cn.kind)
    it = parse_phone("+39 06 1234 5678", region=None)
    assert ("06 1234 5678", "IT") == (it.national_format, it.region)


def test_phone_accepts_ints_and_lowercase_regions() -> None:
    assert "+8613800138000" == normalize_phone(13800138000)
    assert "+14155550132" == normalize_phone("4155550132", region="us")


def test_phone_kinds_filter() -> None:
    assert "+8613800138000" == normalize_phone("13800138000", kinds={"mobile"})
    with pytest.raises(ValidationError) as info:
        normalize_phone("010-12345678", kinds={PhoneKind.MOBILE})
    assert ("phone_kind_not_allowed",) == info.value.codes


# --- dates and times ---------------------------------------------------------------------------


def test_date_bounds_and_objects() -> None:
    today = dt.date(2025, 1, 1)
    assert dt.date(2024, 1, 2) == normalize_date(dt.datetime(2024, 1, 2, 23, 59))
    with pytest.raises(ValidationError, match="after 2025-01-01"):
        normalize_date("2025-06-01", max_date=today)
    with pytest.raises(ValidationError) as info:
        normalize_date("1799-12-31", min_date=dt.date(1800, 1, 1))
    assert ("date_too_early",) == info.value.codes
    with pytest.raises(ConfigurationError):
        normalize_date("2024-01-01", order="XYZ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-10-05T08:30:00+08:00", dt.datetime(2024, 10, 5, 0, 30, tzinfo=dt.timezone.utc)),
        ("2024-10-05T08:30:00Z", dt.datetime(2024, 10, 5, 8, 30, tzinfo=dt.timezone.utc)),
        ("2024/10/05 08:30", dt.datetime(2024, 10, 5, 0, 30, tzinfo=dt.timezone.utc)),
        ("2024-10-05 8:30 pm", dt.datetime(2024, 10, 5, 12, 30, tzinfo=dt.timezone.utc)),
        ("2024年10月5日 08:30", dt.datetime(2024, 10, 5, 0, 30, tzinfo=dt.timezone.utc)),
        ("2024-10-05", dt.datetime(2024, 10, 4, 16, 0, tzinfo=dt.timezone.utc)),
        (
            "5 Oct 2024 14:05:06.5 GMT-05:00",
            dt.datetime(2024, 10, 5, 19, 5, 6, 500000, tzinfo=dt.timezone.utc),
        ),
        (dt.datetime(2024, 10, 5, 8, 30), dt.datetime(2024, 10, 5, 0, 30, tzinfo=dt.timezone.utc)),
        (
            dt.datetime(2024, 10, 5, 8, 30, tzinfo=ZoneInfo("Europe/Paris")),
            dt.datetime(2024, 10, 5, 6, 30, tzinfo=dt.timezone.utc),
        ),
        (dt.date(2024, 10, 5), dt.datetime(2024, 10, 4, 16, 0, tzinfo=dt.timezone.utc)),
        (0, dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)),
    ],
)
def test_datetime(value: object, expected: dt.datetime) -> None:
    got = normalize_datetime(value, tz="Asia/Shanghai")  # type: ignore[arg-type]
    assert expected == got
    assert dt.timezone.utc == got.tzinfo


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("2024-10-05T25:00", "datetime_invalid"),
        ("2024-10-05 13:00 pm", "datetime_invalid"),
        ("2024-10-05T10:00+25:00", "datetime_invalid"),
        ("2023-02-29 10:00", "date_invalid"),
        ("soon", "datetime_format"),
        ("", "datetime_empty"),
        (float("inf"), "datetime_invalid"),
        ("9999-12-31 23:59 -05:00", "datetime_invalid"),
    ],
)
def test_datetime_refusals(value: object, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_datetime(value)  # type: ignore[arg-type]
    assert code == info.value.codes[0]


def test_datetime_unknown_zone_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        normalize_datetime("2024-01-01", tz="Mars/Olympus")


def test_naive_time_in_a_dst_gap_resolves_like_zoneinfo() -> None:
    got = normalize_datetime("2024-03-10 02:30", tz="America/New_York")
    assert dt.datetime(2024, 3, 10, 7, 30, tzinfo=dt.timezone.utc) == got


# --- identifiers ---------------------------------------------------------------------------------


def test_resident_id_details() -> None:
    info = validate_national_id("11010519491231002X")
    assert ("110105", "CN", "11010519491231002X") == (info.region_code, info.country, str(info))
    assert "11010519491231002X" not in repr(info)
    assert "11010519491231002X" == validate_national_id("110105491231002", allow_legacy=True).value
    with pytest.raises(ConfigurationError):
        validate_national_id("x", country="US")


def test_resident_id_errors_never_carry_the_value() -> None:
    for bad in ("110105194912310021", "11010519491231002", "110105491231002", "99010519491231002X"):
        with pytest.raises(ValidationError) as info:
            validate_national_id(bad)
        assert bad not in str(info.value)
        assert all(e.value is None for e in info.value.errors)


def test_uscc_parts_and_organisation_code() -> None:
    info = validate_uscc("91350100M000100Y43", check_organization_code=True)
    assert ("9", "1", "350100", "M000100Y4") == (
        info.registration_authority,
        info.organization_type,
        info.region_code,
        info.organization_code,
    )


def test_registry_register_validate_and_errors() -> None:
    reg = IdentifierRegistry.with_defaults()
    assert ("iban", "national_id", "uscc") == reg.kinds()

    def vat(text: str) -> str:
        s = text.replace(" ", "").upper()
        if not s.startswith("DE") or len(s) != 11:
            raise ValueError("not a German VAT number")
        return s

    reg.register("vat_de", vat)
    assert "DE123456789" == reg.normalize("vat_de", "de 123 456 789")
    with pytest.raises(ValidationError) as info:
        reg.validate("vat_de", "FR1", field="$.vat")
    assert [("$.vat", "vat_de_invalid", "not a German VAT number")] == [
        (e.path, e.code, e.message) for e in info.value.errors
    ]
    with pytest.raises(ValidationError) as info:
        reg.validate("uscc", "91350100M000100Y44", field="company.uscc")
    assert ("$.company.uscc", "uscc_checksum") == (info.value.errors[0].path, info.value.codes[0])
    with pytest.raises(ConfigurationError):
        reg.register("vat_de", vat)
    reg.register("vat_de", str.upper, replace=True)
    assert "X" == reg.normalize("vat_de", "x")
    reg.unregister("vat_de")
    assert "vat_de" not in reg
    with pytest.raises(ConfigurationError):
        reg.validate("vat_de", "x")
    assert "iban" in default_registry()
    assert "vat_de" not in default_registry()


# --- addresses -----------------------------------------------------------------------------------


def test_address_object_and_default_country() -> None:
    class Addr:
        line1 = " 1600 Amphitheatre Pkwy "
        city = "Mountain View"
        region = "California"
        postcode = "94043"
        country = None

    assert {
        "line1": "1600 Amphitheatre Pkwy",
        "line2": None,
        "city": "Mountain View",
        "region": "CA",
        "postcode": "94043",
        "country": "US",
    } == normalize_address(Addr(), default_country="United States")


def test_address_collects_all_errors() -> None:
    with pytest.raises(ValidationError) as info:
        normalize_address(
            {"zip": "ABC", "postcode": "12345", "region": "Gotham", "country": "US", "line1": 7},
            field="$.billing",
        )
    assert [
        ("$.billing.postcode", "address_conflict"),
        ("$.billing.line1", "wrong_type"),
        ("$.billing.region", "region_unknown"),
    ] == [(e.path, e.code) for e in info.value.errors]


def test_postcode_without_country_and_unknown_country_argument() -> None:
    assert "AB-12 3" == normalize_postcode(" ab-12  3 ")
    with pytest.raises(ConfigurationError):
        normalize_postcode("12345", "Atlantis")


def test_normalize_text() -> None:
    assert "Hello World 12" == normalize_text("  Hello\u200b\t World\x00 １２ ")
