"""Table-driven real-world cases for the normalisers (phones, emails, names, dates, IDs)."""

# Project convention: assert expected == actual (constants on the left).
# ruff: noqa: SIM300

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import pytest

from crmcore.errors import ValidationError
from crmcore.validation import (
    email_match_key,
    name_match_key,
    normalize_address,
    normalize_country,
    normalize_date,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postcode,
    parse_phone,
    split_name,
    validate_iban,
    validate_national_id,
    validate_uscc,
)


class Err(NamedTuple):
    """Expected failure: the first error code."""

    code: str


def check(expected: Any, fn: Any, *args: Any, **kwargs: Any) -> None:
    """Assert ``fn(*args, **kwargs)`` returns ``expected`` or fails with ``expected.code``."""
    if isinstance(expected, Err):
        with pytest.raises(ValidationError) as info:
            fn(*args, **kwargs)
        assert expected.code == info.value.codes[0]
    else:
        assert expected == fn(*args, **kwargs)


# --- phones ------------------------------------------------------------------------------

PHONES = [
    # China: mobiles in every usual shape
    ("138 0013 8000", "CN", "+8613800138000"),
    ("13800138000", "CN", "+8613800138000"),
    ("+86 138 0013 8000", "CN", "+8613800138000"),
    ("+86-138-0013-8000", "CN", "+8613800138000"),
    ("86 13800138000", "CN", "+8613800138000"),
    ("0086 138 0013 8000", "CN", "+8613800138000"),
    ("１３８００１３８０００", "CN", "+8613800138000"),
    ("＋８６ １３８ ００１３ ８０００", "CN", "+8613800138000"),
    ("139-1234-5678", "CN", "+8613912345678"),
    ("+8613800138000", None, "+8613800138000"),
    # China: fixed lines, service numbers, extensions
    ("(010) 1234 5678", "CN", "+861012345678"),
    ("010-12345678", "CN", "+861012345678"),
    ("021-6234 5678", "CN", "+862162345678"),
    ("0755-8888 6666", "CN", "+8675588886666"),
    ("400-810-8888", "CN", "+864008108888"),
    ("800-810-8888", "CN", "+868008108888"),
    ("010-12345678 转 12", "CN", "+861012345678;ext=12"),
    ("010-12345678转8001", "CN", "+861012345678;ext=8001"),
    ("010-12345678-123", "CN", "+861012345678;ext=123"),
    ("010 1234 5678 分机 66", "CN", "+861012345678;ext=66"),
    # China: invalid
    ("95555", "CN", Err("phone_too_short")),
    ("1380013800", "CN", Err("phone_invalid")),
    ("138001380001", "CN", Err("phone_invalid")),
    ("12345678901", "CN", Err("phone_invalid")),
    # United States / Canada
    ("(415) 555-0132", "US", "+14155550132"),
    ("415.555.0132", "US", "+14155550132"),
    ("+1 415 555 0132", None, "+14155550132"),
    ("1-415-555-0132", "US", "+14155550132"),
    ("(415) 555-0132 ext. 12", "US", "+14155550132;ext=12"),
    ("415-555-0132 x12", "US", "+14155550132;ext=12"),
    ("415-555-0132 #12", "US", "+14155550132;ext=12"),
    ("+14155550132;ext=12", None, "+14155550132;ext=12"),
    ("tel:+1-415-555-0132", None, "+14155550132"),
    ("1-800-555-0199", "US", "+18005550199"),
    ("011 44 20 7946 0018", "US", "+442079460018"),
    ("+1 416 555 0199", None, "+14165550199"),
    ("555-0132", "US", Err("phone_too_short")),
    ("(415) 555-01", "US", Err("phone_too_short")),
    ("(415) 555-0132 9", "US", Err("phone_too_long")),
    # United Kingdom
    ("020 7946 0018", "GB", "+442079460018"),
    ("+44 20 7946 0018", None, "+442079460018"),
    ("+44 (0)20 7946 0018", None, "+442079460018"),
    ("0044 20 7946 0018", "CN", "+442079460018"),
    ("07911 123456", "GB", "+447911123456"),
    ("0161 496 0000", "GB", "+441614960000"),
    ("0800 123 4567", "GB", "+448001234567"),
    ("020 7946 001", "GB", Err("phone_invalid")),
    # Germany
    ("030 901820", "DE", "+4930901820"),
    ("+49 30 901820", None, "+4930901820"),
    ("0151 23456789", "DE", "+4915123456789"),
    ("+49 (0)151 2345 6789", None, "+4915123456789"),
    ("089 12345678", "DE", "+498912345678"),
    ("030 1", "DE", Err("phone_invalid")),
    # India
    ("+91 98765 43210", None, "+919876543210"),
    ("098765 43210", "IN", "+919876543210"),
    ("011 2345 6789", "IN", "+911123456789"),
    # Japan
    ("03-1234-5678", "JP", "+81312345678"),
    ("090-1234-5678", "JP", "+819012345678"),
    ("+81 3 1234 5678", None, "+81312345678"),
    ("0120-123-456", "JP", "+81120123456"),
    # Brazil
    ("(11) 91234-5678", "BR", "+5511912345678"),
    ("+55 11 91234 5678", None, "+5511912345678"),
    ("(21) 2345-6789", "BR", "+552123456789"),
    # elsewhere
    ("+39 06 1234 5678", None, "+390612345678"),
    ("+852 9123 4567", None, "+85291234567"),
    ("+886 912 345 678", None, "+886912345678"),
    ("+7 912 345-67-89", None, "+79123456789"),
    # garbage
    ("", "CN", Err("phone_empty")),
    ("   ", "CN", Err("phone_empty")),
    ("abc", "CN", Err("phone_invalid")),
    ("+999 123 456", None, Err("phone_unknown_region")),
    ("12345678", "XX", Err("phone_unknown_region")),
    ("138 0013 8000", None, Err("phone_unknown_region")),
    ("0123456789" * 30, "CN", Err("phone_too_long")),
]


@pytest.mark.parametrize(("text", "region", "expected"), PHONES)
def test_phone(text: str, region: str | None, expected: Any) -> None:
    check(expected, normalize_phone, text, region=region)


PHONE_KINDS = [
    ("138 0013 8000", "CN", "mobile"),
    ("010-12345678", "CN", "fixed_line"),
    ("400-810-8888", "CN", "shared_cost"),
    ("800-810-8888", "CN", "toll_free"),
    ("(415) 555-0132", "US", "fixed_line_or_mobile"),
    ("0800 123 4567", "GB", "toll_free"),
    ("0151 23456789", "DE", "mobile"),
]


@pytest.mark.parametrize(("text", "region", "kind"), PHONE_KINDS)
def test_phone_kind(text: str, region: str, kind: str) -> None:
    assert kind == parse_phone(text, region=region).kind


# --- emails ------------------------------------------------------------------------------

EMAILS = [
    ("john@example.com", "john@example.com"),
    ("  John.Smith@Example.COM ", "John.Smith@example.com"),
    ("User+Tag@Example.com", "User+Tag@example.com"),
    ("x@bücher.de", "x@bücher.de"),
    ("x@BÜCHER.DE", "x@bücher.de"),
    ("x@xn--bcher-kva.de", "x@bücher.de"),
    ("用户@例子.广告", "用户@例子.广告"),
    ("ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "john@example.com"),
    ("john@example。com", "john@example.com"),
    ('"john doe"@example.com', '"john doe"@example.com'),
    ('"john"@example.com', "john@example.com"),
    ("o'brien@example.ie", "o'brien@example.ie"),
    ("jo\u200bhn@example.com", "john@example.com"),
    ("ÄÖÜ@example.de", "ÄÖÜ@example.de"),
    ("", Err("email_empty")),
    ("   ", Err("email_empty")),
    ("a@b", Err("email_invalid")),
    ("plainaddress", Err("email_invalid")),
    ("@example.com", Err("email_invalid")),
    ("john@", Err("email_invalid")),
    ("john..doe@example.com", Err("email_invalid")),
    ("john@example..com", Err("email_invalid")),
    ("john doe@example.com", Err("email_invalid")),
    ("john@-example.com", Err("email_invalid")),
    ("John <john@example.com>", Err("email_invalid")),
    ("john@[127.0.0.1]", Err("email_invalid")),
    ("x@localhost", Err("email_invalid")),
    ("x" * 600 + "@example.com", Err("email_too_long")),
]


@pytest.mark.parametrize(("text", "expected"), EMAILS)
def test_email(text: str, expected: Any) -> None:
    check(expected, normalize_email, text)


EMAIL_KEYS = [
    ("User+Tag@Example.com", "user@example.com"),
    ("t.e.s.t+promo@GoogleMail.com", "test@gmail.com"),
    ("Te.St@gmail.com", "test@gmail.com"),
    ("a.b@example.com", "a.b@example.com"),
    ('"john doe"@example.com', '"john doe"@example.com'),
]


@pytest.mark.parametrize(("text", "expected"), EMAIL_KEYS)
def test_email_match_key(text: str, expected: str) -> None:
    assert expected == email_match_key(text)


def test_email_options() -> None:
    assert "john@example.com" == normalize_email("JOHN@Example.com", lowercase_local=True)
    assert "x@xn--bcher-kva.de" == normalize_email("x@Bücher.de", ascii_domain=True)


# --- names -------------------------------------------------------------------------------

NAMES = [
    ("张 伟", "张伟"),
    ("  张伟  ", "张伟"),
    ("欧阳 修", "欧阳修"),
    ("约翰•史密斯", "约翰·史密斯"),
    ("ＺＨＡＮＧ ＷＥＩ", "Zhang Wei"),
    ("o'brien", "O'Brien"),
    ("SEAN O'BRIEN", "Sean O'Brien"),
    ("MCDONALD", "McDonald"),
    ("ronald mcdonald", "Ronald McDonald"),
    ("MACLEOD", "Macleod"),
    ("ludwig van beethoven", "Ludwig van Beethoven"),
    ("VAN DER BERG", "Van der Berg"),
    ("LEONARDO DA VINCI", "Leonardo da Vinci"),
    ("mary-jane watson", "Mary-Jane Watson"),
    ("JEAN-LUC PICARD", "Jean-Luc Picard"),
    ("John Smith III", "John Smith III"),
    ("JOHN SMITH III", "John Smith III"),
    ("Vincent van Gogh", "Vincent van Gogh"),
    ("DeShawn McKenzie", "DeShawn McKenzie"),
    ("d'Artagnan", "d'Artagnan"),
    ("liu de hua", "Liu De Hua"),
    ("josé álvarez", "José Álvarez"),
    ("ИВАН ПЕТРОВ", "Иван Петров"),
    ("  Anna   Maria\tSchmidt ", "Anna Maria Schmidt"),
    ("Zoë\x00 Saldaña", "Zoë Saldaña"),
    ("김 민준", "김민준"),
    ("", Err("name_empty")),
    ("   ", Err("name_empty")),
    ("12345", Err("name_invalid")),
    ("!!!", Err("name_invalid")),
    ("a" * 300, Err("name_too_long")),
]


@pytest.mark.parametrize(("text", "expected"), NAMES)
def test_name(text: str, expected: Any) -> None:
    check(expected, normalize_name, text)


SPLITS = [
    ("张伟", ("张", "伟", "han")),
    ("王小明", ("王", "小明", "han")),
    ("欧阳修", ("欧阳", "修", "han")),
    ("司马光", ("司马", "光", "han")),
    ("诸葛亮", ("诸葛", "亮", "han")),
    ("上官婉儿", ("上官", "婉儿", "han")),
    ("东方不败", ("东方", "不败", "han")),
    ("尉迟恭", ("尉迟", "恭", "han")),
    ("慕容复", ("慕容", "复", "han")),
    ("令狐冲", ("令狐", "冲", "han")),
    ("约翰·史密斯", ("史密斯", "约翰", "han")),
    ("남궁민", ("남궁", "민", "hangul")),
    ("John Smith", ("Smith", "John", "latin")),
    ("Smith, John", ("Smith", "John", "latin")),
    ("Ludwig van Beethoven", ("van Beethoven", "Ludwig", "latin")),
    ("Jan van der Berg", ("van der Berg", "Jan", "latin")),
    ("Mary-Jane Watson", ("Watson", "Mary-Jane", "latin")),
    ("Madonna", ("", "Madonna", "latin")),
]


@pytest.mark.parametrize(("text", "expected"), SPLITS)
def test_split_name(text: str, expected: tuple[str, str, str]) -> None:
    parts = split_name(text)
    assert expected == (parts.family, parts.given, parts.script.value)


MATCH_KEYS = [
    ("张伟", "wei zhang"),
    ("Zhang Wei", "wei zhang"),
    ("WEI ZHANG", "wei zhang"),
    ("张小明", "xiaoming zhang"),
    ("Xiaoming Zhang", "xiaoming zhang"),
    ("欧阳修", "ouyang xiu"),
    ("曾国藩", "guofan zeng"),
    ("单田芳", "shan tianfang"),
    ("吕布", "bu lu"),
    ("José Álvarez", "alvarez jose"),
    ("O'Brien, Sean", "obrien sean"),
]


@pytest.mark.parametrize(("text", "expected"), MATCH_KEYS)
def test_name_match_key(text: str, expected: str) -> None:
    assert expected == name_match_key(text)


# --- dates -------------------------------------------------------------------------------

D = dt.date(2024, 10, 5)

DATES = [
    ("2024-10-05", "YMD", D),
    ("2024-10-5", "YMD", D),
    ("2024/10/05", "YMD", D),
    ("2024.10.05", "YMD", D),
    ("2024.10.05", "DMY", D),
    ("05.10.2024", "DMY", D),
    ("5/10/2024", "DMY", D),
    ("10/05/2024", "MDY", D),
    ("10-05-2024", "MDY", D),
    ("2024年10月5日", "YMD", D),
    ("2024年10月05日", "YMD", D),
    ("2024 年 10 月 5 号", "YMD", D),
    ("２０２４年１０月５日", "YMD", D),
    ("20241005", "YMD", D),
    ("5 Oct 2024", "YMD", D),
    ("5 October 2024", "YMD", D),
    ("5th October 2024", "YMD", D),
    ("October 5, 2024", "YMD", D),
    ("Oct. 5, 2024", "YMD", D),
    ("Sat, 5 Oct 2024", "YMD", D),
    ("05-Oct-2024", "YMD", D),
    ("2024-Oct-05", "YMD", D),
    ("2024-02-29", "YMD", dt.date(2024, 2, 29)),
    ("2023-02-29", "YMD", Err("date_invalid")),
    ("2024-13-01", "YMD", Err("date_invalid")),
    ("2024-04-31", "YMD", Err("date_invalid")),
    ("0000-01-01", "YMD", Err("date_invalid")),
    ("10/25/2024", "DMY", Err("date_invalid")),
    ("25/10/2024", "MDY", Err("date_invalid")),
    ("10/05/2024", "YMD", Err("date_ambiguous")),
    ("05/10/24", "DMY", Err("date_format")),
    ("5 Foo 2024", "YMD", Err("date_format")),
    ("yesterday", "YMD", Err("date_format")),
    ("2024-10-05T10:00:00", "YMD", Err("date_format")),
    ("", "YMD", Err("date_empty")),
]


@pytest.mark.parametrize(("text", "order", "expected"), DATES)
def test_date(text: str, order: str, expected: Any) -> None:
    check(expected, normalize_date, text, order=order)


# --- identifiers -------------------------------------------------------------------------

TODAY = dt.date(2025, 1, 1)

# Check characters computed by an independent implementation (see
# test_resident_id_table_is_self_consistent below).
RESIDENT_IDS = [
    ("11010519491231002X", ("1949-12-31", "female", "北京市")),
    ("11010519491231002x", ("1949-12-31", "female", "北京市")),
    ("110105 19491231 002X", ("1949-12-31", "female", "北京市")),
    ("１１０１０５１９４９１２３１００２Ｘ", ("1949-12-31", "female", "北京市")),
    ("44030519900101123X", ("1990-01-01", "male", "广东省")),
    ("310115198512310029", ("1985-12-31", "female", "上海市")),
    ("510104200002290011", ("2000-02-29", "male", "四川省")),
    ("330106197006155671", ("1970-06-15", "male", "浙江省")),
    ("650102199911118887", ("1999-11-11", "female", "新疆维吾尔自治区")),
    ("810000199505050022", ("1995-05-05", "female", "香港特别行政区")),
    ("320102198808080808", ("1988-08-08", "female", "江苏省")),
    ("530102196003010044", ("1960-03-01", "female", "云南省")),
    ("110105194912310021", Err("national_id_checksum")),
    ("11010519491231002", Err("national_id_format")),
    ("1101051949123100211", Err("national_id_format")),
    ("11010519491231002Y", Err("national_id_format")),
    ("110105491231002", Err("national_id_legacy")),
    ("110105209912310010", Err("national_id_birth_date_future")),
    ("11010519900230001X", Err("national_id_birth_date_invalid")),
    ("", Err("national_id_empty")),
]


def _resident_id_info(text: str) -> tuple[str, str, str]:
    info = validate_national_id(text, today=TODAY)
    return (info.birth_date.isoformat(), info.sex.value, info.province)


@pytest.mark.parametrize(("text", "expected"), RESIDENT_IDS)
def test_resident_id(text: str, expected: Any) -> None:
    check(expected, _resident_id_info, text)


def test_resident_id_table_is_self_consistent() -> None:
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    for text, expected in RESIDENT_IDS:
        digits = text.upper().replace(" ", "")
        if isinstance(expected, Err) or not digits.isascii():
            continue
        check_value = (
            12 - sum(int(d) * w for d, w in zip(digits[:17], weights, strict=True)) % 11
        ) % 11
        assert digits[17] == ("X" if check_value == 10 else str(check_value))


USCCS = [
    ("91350100M000100Y43", "91350100M000100Y43"),
    ("91350100m000100y43", "91350100M000100Y43"),
    ("9135 0100 M000 100Y 43", "91350100M000100Y43"),
    ("91110108551385082Q", "91110108551385082Q"),
    ("12100000400000624D", "12100000400000624D"),
    ("92440101MA59RP3A7H", "92440101MA59RP3A7H"),
    ("91350100M000100Y44", Err("uscc_checksum")),
    ("91350100M000100Y4", Err("uscc_format")),
    ("91350100M0001O0Y43", Err("uscc_format")),
    ("913501I0M000100Y43", Err("uscc_format")),
    ("", Err("uscc_empty")),
]


@pytest.mark.parametrize(("text", "expected"), USCCS)
def test_uscc(text: str, expected: Any) -> None:
    check(expected, lambda t: validate_uscc(t).value, text)


IBANS = [
    ("GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"),
    ("DE89370400440532013000", "DE89370400440532013000"),
    ("fr14 2004 1010 0505 0001 3m02 606", "FR1420041010050500013M02606"),
    ("NL91ABNA0417164300", "NL91ABNA0417164300"),
    ("IBAN CH93 0076 2011 6238 5295 7", "CH9300762011623852957"),
    ("DE89370400440532013001", Err("iban_checksum")),
    ("DE8937040044053201300", Err("iban_length")),
    ("ZZ89370400440532013000", Err("iban_country")),
    ("12345", Err("iban_format")),
]


@pytest.mark.parametrize(("text", "expected"), IBANS)
def test_iban(text: str, expected: Any) -> None:
    check(expected, lambda t: validate_iban(t).value, text)


# --- countries, postcodes, addresses ---------------------------------------------------------

COUNTRIES = [
    ("中国", "CN"),
    ("China", "CN"),
    ("CHN", "CN"),
    ("cn", "CN"),
    ("PRC", "CN"),
    ("People's Republic of China", "CN"),
    ("USA", "US"),
    ("U.S.A.", "US"),
    ("United States of America", "US"),
    ("美国", "US"),
    ("United Kingdom", "GB"),
    ("UK", "GB"),
    ("Great Britain", "GB"),
    ("Deutschland", "DE"),
    ("Germany", "DE"),
    ("日本", "JP"),
    ("France", "FR"),
    ("côte d'ivoire", "CI"),
    ("Korea, Republic of", "KR"),
    ("South Korea", "KR"),
    ("Republic of Korea", "KR"),
    ("Democratic Republic of the Congo", "CD"),
    ("Türkiye", "TR"),
    ("香港", "HK"),
    ("Narnia", Err("country_unknown")),
    ("", Err("country_empty")),
]


@pytest.mark.parametrize(("text", "expected"), COUNTRIES)
def test_country(text: str, expected: Any) -> None:
    check(expected, normalize_country, text)


POSTCODES = [
    ("１００００１", "CN", "100001"),
    ("518 057", "CN", "518057"),
    ("5180570", "CN", Err("postcode_invalid")),
    ("94103", "US", "94103"),
    ("94103-1234", "US", "94103-1234"),
    ("941031234", "US", "94103-1234"),
    ("9410", "US", Err("postcode_invalid")),
    ("sw1a 1aa", "GB", "SW1A 1AA"),
    ("SW1A1AA", "GB", "SW1A 1AA"),
    ("m1 1ae", "GB", "M1 1AE"),
    ("EC1A 1BB", "GB", "EC1A 1BB"),
    ("QQ1 1AA", "GB", Err("postcode_invalid")),
    ("10115", "DE", "10115"),
    ("1011", "DE", Err("postcode_invalid")),
    ("75008", "FR", "75008"),
    ("〒100-0001", "JP", "100-0001"),
    ("1000001", "JP", "100-0001"),
    ("k1a0b1", "CA", "K1A 0B1"),
    ("110 001", "IN", "110001"),
    ("01310-100", "BR", "01310-100"),
    ("2000", "AU", "2000"),
    ("1011 ab", "NL", "1011 AB"),
    ("", "CN", Err("postcode_empty")),
]


@pytest.mark.parametrize(("text", "country", "expected"), POSTCODES)
def test_postcode(text: str, country: str, expected: Any) -> None:
    check(expected, normalize_postcode, text, country)


PROVINCES = [
    ("广东", "广东省"),
    ("广东省", "广东省"),
    ("Guangdong", "广东省"),
    ("guangdong province", "广东省"),
    ("北京", "北京市"),
    ("Beijing", "北京市"),
    ("内蒙古", "内蒙古自治区"),
    ("Inner Mongolia", "内蒙古自治区"),
    ("广西", "广西壮族自治区"),
    ("新疆", "新疆维吾尔自治区"),
    ("Shaanxi", "陕西省"),
    ("Shanxi", "山西省"),
    ("Anhui", "安徽省"),
    ("CN-GD", "广东省"),
    ("廣東", "广东省"),
    ("香港", "香港特别行政区"),
    ("Macau", "澳门特别行政区"),
    ("Gotham", Err("region_unknown")),
]


@pytest.mark.parametrize(("text", "expected"), PROVINCES)
def test_cn_province(text: str, expected: Any) -> None:
    check(expected, lambda t: normalize_address({"region": t, "country": "CN"})["region"], text)
