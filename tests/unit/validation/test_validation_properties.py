"""Property tests: every normaliser is total (a value or a ValidationError) and idempotent."""

# Project convention: assert expected == actual (constants on the left).
# ruff: noqa: SIM300

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from crmcore.errors import ValidationError
from crmcore.validation import (
    email_match_key,
    name_match_key,
    normalize_address,
    normalize_country,
    normalize_date,
    normalize_datetime,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postcode,
    normalize_text,
    parse_phone,
    split_name,
    validate_iban,
    validate_national_id,
    validate_uscc,
)

# Any text: every Unicode category, lone surrogates, controls, mixed scripts.
_SCRIPTS = "张伟欧阳修ABCabcÄöüßİıǅДжΩαあアー한글١٢٣١２３＋（）－　\u200b\u202e\ufeff@.+-()#xX转"
ANY_CHAR = st.one_of(
    st.characters(),
    st.integers(0xD800, 0xDFFF).map(chr),
    st.integers(0, 0x1F).map(chr),
    st.sampled_from(_SCRIPTS),
)
ANY_TEXT = st.text(ANY_CHAR, max_size=60)
DIGITISH = st.text(st.sampled_from("0123456789 -+()./x转#１２３"), max_size=30)


def _call(fn: Callable[[str], Any], text: str) -> Any:
    """Run a normaliser; only a crmcore ValidationError may escape."""
    problem: ValidationError | None = None
    try:
        return fn(text)
    except ValidationError as exc:
        problem = exc
    assert problem is not None
    assert problem.errors, "a ValidationError must list at least one problem"
    assert all(e.code and e.path.startswith("$") for e in problem.errors)
    return None


NORMALISERS: dict[str, Callable[[str], Any]] = {
    "phone_cn": lambda t: normalize_phone(t, region="CN"),
    "phone_us": lambda t: normalize_phone(t, region="US"),
    "phone_none": lambda t: normalize_phone(t, region=None),
    "parse_phone": lambda t: parse_phone(t, region="GB"),
    "email": normalize_email,
    "email_key": email_match_key,
    "name": normalize_name,
    "split_name": split_name,
    "name_key": name_match_key,
    "date_ymd": normalize_date,
    "date_dmy": lambda t: normalize_date(t, order="DMY"),
    "datetime": lambda t: normalize_datetime(t, tz="Asia/Shanghai"),
    "country": normalize_country,
    "postcode_gb": lambda t: normalize_postcode(t, "GB"),
    "postcode_any": normalize_postcode,
    "address": lambda t: normalize_address({"line1": t, "region": t, "postcode": t}),
    "national_id": validate_national_id,
    "uscc": validate_uscc,
    "iban": validate_iban,
    "text": normalize_text,
}


@pytest.mark.parametrize("name", sorted(NORMALISERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(ANY_TEXT, DIGITISH))
def test_total_on_any_text(name: str, text: str) -> None:
    _call(NORMALISERS[name], text)


HUGE = [
    "1" * 1_000_000,
    "张" * 200_000,
    "\ud800" * 100_000,
    "a@" + "b" * 500_000 + ".com",
    ("+86 138 0013 8000 " * 10_000),
    "\x00" * 100_000,
]


@pytest.mark.parametrize("name", sorted(NORMALISERS))
def test_total_on_huge_text(name: str) -> None:
    for text in HUGE:
        _call(NORMALISERS[name], text)


@pytest.mark.parametrize("value", [None, 12.5, b"138", ["x"], object(), True])
@pytest.mark.parametrize(
    "fn",
    [
        normalize_phone,
        normalize_email,
        normalize_name,
        normalize_date,
        normalize_country,
        normalize_postcode,
        validate_national_id,
        validate_uscc,
        validate_iban,
        normalize_text,
    ],
)
def test_wrong_types_are_validation_errors(fn: Callable[[Any], Any], value: object) -> None:
    with pytest.raises(ValidationError) as info:
        fn(value)
    assert "wrong_type" == info.value.codes[0]


# --- idempotency ---------------------------------------------------------------------------


def _idempotent(fn: Callable[[Any], Any], value: Any) -> None:
    try:
        once = fn(value)
    except ValidationError:
        assume(False)
        return
    assert once == fn(once)


PHONE_SHAPES = st.sampled_from(
    [
        ("1{a}{b} {c} {d}", "CN"),
        ("+86-1{a}{b}-{c}-{d}", "CN"),
        ("0{a}{b}-{c}{d}", "CN"),
        ("({a}{b}5) 55{a}-{c}", "US"),
        ("+1 {a}{b}5 555 {c} ext. {a}", None),
        ("020 7{a}{b}{a} {c}", "GB"),
        ("+44 (0)7{a}{b}{c} {d}", None),
        ("0{a}{b} {c}{d}", "DE"),
        ("0{a}{b}-{c}-{d} 转 {a}{b}", "CN"),
        ("{c}{d}{a}", "JP"),
        ("+55 {a}{b} 9{c}-{d}", None),
        ("+91 9{a}{b}{c} {d}", None),
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    shape=PHONE_SHAPES,
    a=st.integers(0, 9),
    b=st.integers(0, 9),
    c=st.integers(0, 9999).map(lambda n: f"{n:04d}"),
    d=st.integers(0, 9999).map(lambda n: f"{n:04d}"),
)
def test_phone_idempotent(shape: tuple[str, str | None], a: int, b: int, c: str, d: str) -> None:
    template, region = shape
    text = template.format(a=a, b=b, c=c, d=d)
    _idempotent(lambda t: normalize_phone(t, region=region), text)
    # and any region reads an E.164 result back unchanged
    try:
        e164 = normalize_phone(text, region=region)
    except ValidationError:
        return
    assert e164 == normalize_phone(e164, region="JP")


# The fast path must agree with phonenumbers itself on plain numbers.
@settings(max_examples=300, deadline=None)
@given(
    region=st.sampled_from(
        ["CN", "US", "GB", "DE", "IN", "JP", "BR", "AR", "MX", "RU", "IT", "CA"]
    ),
    digits=st.text(st.sampled_from("0123456789"), min_size=2, max_size=16),
    plus=st.booleans(),
    spaced=st.booleans(),
)
@example(region="CN", digits="13800138000", plus=False, spaced=False)
@example(region="CN", digits="8613800138000", plus=True, spaced=True)
@example(region="US", digits="14155550132", plus=False, spaced=False)
@example(region="GB", digits="442079460018", plus=True, spaced=False)
@example(region="IT", digits="390612345678", plus=True, spaced=False)
@example(region="AR", digits="5491123456789", plus=True, spaced=True)
def test_phone_agrees_with_phonenumbers(region: str, digits: str, plus: bool, spaced: bool) -> None:
    text = ("+" if plus else "") + digits
    if spaced:
        text = " ".join(text[i : i + 3] for i in range(0, len(text), 3))
    try:
        ref = phonenumbers.parse(text, region)
        ref_valid = phonenumbers.is_valid_number(ref)
    except phonenumbers.NumberParseException:
        ref, ref_valid = None, False
    try:
        info = parse_phone(text, region=region)
    except ValidationError:
        info = None
    if ref_valid:
        assert ref is not None
        assert info is not None
        assert phonenumbers.format_number(ref, phonenumbers.PhoneNumberFormat.E164) == info.e164
        assert phonenumbers.region_code_for_number(ref) == info.region
        kind = phonenumbers.number_type(ref)
        names = {v: k.lower() for k, v in vars(phonenumbers.PhoneNumberType).items() if k.isupper()}
        assert names[kind] == info.kind.value
    else:
        assert info is None


EMAIL_LOCAL = st.text(st.sampled_from("abcXYZ019._+-'用"), min_size=1, max_size=12)
EMAIL_DOMAIN = st.sampled_from(
    ["example.com", "Example.COM", "bücher.de", "xn--bcher-kva.de", "例子.广告", "gmail.com"]
)


@settings(max_examples=150, deadline=None)
@given(local=EMAIL_LOCAL, domain=EMAIL_DOMAIN, pad=st.sampled_from(["", " ", "\u3000"]))
def test_email_idempotent(local: str, domain: str, pad: str) -> None:
    text = f"{pad}{local}@{domain}{pad}"
    _idempotent(normalize_email, text)
    _idempotent(email_match_key, text)
    _idempotent(lambda t: normalize_email(t, ascii_domain=True), text)


@settings(max_examples=200, deadline=None)
@given(text=ANY_TEXT)
@example(text="ǅ")
@example(text="ß")
@example(text="İSTANBUL")
@example(text="o'brien mcdonald van der berg")
def test_name_idempotent(text: str) -> None:
    _idempotent(normalize_name, text)


@settings(max_examples=100, deadline=None)
@given(text=st.text(st.sampled_from("张王欧阳司马伟小明 ·•ABCdefO'Mc-"), min_size=1, max_size=12))
def test_name_key_idempotent_and_split_consistent(text: str) -> None:
    try:
        name = normalize_name(text)
    except ValidationError:
        assume(False)
        return
    parts = split_name(text)
    assert parts == split_name(name)
    if parts.script == "han" and "·" not in name:
        # Han names are written unspaced; a space survives only next to a non-Han
        # character ("- 伟"), and then it is where the name splits.
        assert name in (parts.family + parts.given, f"{parts.family} {parts.given}")
    assert name_match_key(name) == name_match_key(text)


@settings(max_examples=150, deadline=None)
@given(
    day=st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)),
    fmt=st.sampled_from(
        [
            "%Y-%m-%d",
            "%Y/%m/%d",
            "%Y.%m.%d",
            "%d.%m.%Y",
            "%Y%m%d",
            "%d %b %Y",
            "%B %d, %Y",
            "%Y年%m月%d日",
        ]
    ),
)
def test_date_roundtrip_and_idempotent(day: dt.date, fmt: str) -> None:
    text = day.strftime(fmt)
    assert day == normalize_date(text, order="DMY")
    _idempotent(lambda v: normalize_date(v, order="DMY"), text)


@settings(max_examples=100, deadline=None)
@given(
    moment=st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2200, 1, 1)),
    tz=st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Europe/London"]),
)
def test_datetime_idempotent(moment: dt.datetime, tz: str) -> None:
    for value in (moment, moment.isoformat(), moment.strftime("%Y/%m/%d %H:%M:%S")):
        once = normalize_datetime(value, tz=tz)
        assert dt.timezone.utc == once.tzinfo
        assert once == normalize_datetime(once, tz="Asia/Tokyo")


ADDRESSES = st.sampled_from(
    [
        ("中国", "广东", "５１００００"),
        ("China", "Guangdong Province", "518 057"),
        ("CHN", "北京", "100001"),
        ("uk", "", "sw1a 1aa"),
        ("Deutschland", "Bayern", "80331"),
        ("日本", "東京都", "〒100-0001"),
        ("usa", "california", "94103 1234"),
        ("France", "", "75008"),
        ("", "", ""),
    ]
)


@settings(max_examples=50, deadline=None)
@given(parts=ADDRESSES, line1=st.text(ANY_CHAR, max_size=20))
def test_address_idempotent(parts: tuple[str, str, str], line1: str) -> None:
    country, region, postcode = parts
    address = {"line1": line1, "postcode": postcode, "region": region, "country": country}
    once = normalize_address(address)
    assert once == normalize_address(once)
    if country:
        _idempotent(normalize_country, country)


@settings(max_examples=100, deadline=None)
@given(
    area=st.sampled_from(["110105", "440305", "310115", "650102", "810000"]),
    born=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)),
    seq=st.integers(0, 999),
    sep=st.sampled_from(["", " ", "-"]),
)
def test_resident_id_valid_generated(area: str, born: dt.date, seq: int, sep: str) -> None:
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    check = (12 - sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11) % 11
    number = first17 + ("X" if check == 10 else str(check))
    info = validate_national_id(sep.join([number[:6], number[6:14], number[14:]]))
    assert (number, born) == (info.value, info.birth_date)
    assert info.value == validate_national_id(info.value).value
    assert ("male" if seq % 2 else "female") == info.sex
    # any single changed digit is caught
    wrong = number[:5] + str((int(number[5]) + 1) % 10) + number[6:]
    with pytest.raises(ValidationError):
        validate_national_id(wrong)


@settings(max_examples=100, deadline=None)
@given(body=st.text(st.sampled_from("0123456789ABCDEFGHJKLMNPQRTUWXY"), min_size=9, max_size=9))
def test_uscc_idempotent(body: str) -> None:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    first17 = "91440300" + body
    total = sum(chars.index(c) * w for c, w in zip(first17, weights, strict=True))
    code = first17 + chars[(31 - total % 31) % 31]
    assert code == validate_uscc(code.lower()).value
    _idempotent(lambda t: validate_uscc(t).value, code)


_ASCII_LOCAL = st.text(
    alphabet=st.sampled_from("abcXYZ019.!#$%&'*+/=?^_`{|}~-\"@ "), min_size=1, max_size=20
)
_ASCII_DOMAIN = st.lists(
    st.text(alphabet=st.sampled_from("abcXYZ019-"), min_size=1, max_size=8), min_size=1, max_size=3
).map(".".join)
_TLD = st.sampled_from(["com", "CN", "x", "museum", "test", "local", "c0m", "xn--p1ai", "123"])


@settings(max_examples=400, deadline=None)
@given(local=_ASCII_LOCAL, domain=_ASCII_DOMAIN, tld=_TLD, lower=st.booleans())
def test_email_fast_path_agrees_with_email_validator(
    local: str, domain: str, tld: str, lower: bool
) -> None:
    from email_validator import validate_email

    from crmcore.validation import _email

    text = f"{local}@{domain}.{tld}"
    fast = _email._fast(text.strip())
    if fast is None:
        return
    v = validate_email(
        text.strip(), check_deliverability=False, allow_quoted_local=True, allow_smtputf8=True
    )
    assert (v.local_part, v.domain) == fast
    expected = f"{v.local_part.lower() if lower else v.local_part}@{v.domain}"
    assert expected == normalize_email(text, lowercase_local=lower)
