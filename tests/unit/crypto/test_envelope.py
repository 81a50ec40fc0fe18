"""The envelope layout byte by byte, the typed plaintext and the text form."""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.crypto import TEXT_PREFIX, FieldCipher, Keyring, key_id_of
from crmcore.crypto._envelope import (
    EnvelopeError,
    UnsupportedValue,
    decode_value,
    encode_value,
    from_text,
    make_header,
    parse_header,
    to_text,
)
from crmcore.errors import DecryptionError

BIND = {"tenant": "t1", "entity": "Customer", "record_id": "r1", "field": "email"}


def test_binary_layout_byte_by_byte(cipher: FieldCipher, keyring: Keyring) -> None:
    token = cipher.encrypt_bytes("abc", **BIND)
    key_id = keyring.current_key_id("t1").encode("ascii")
    assert token[0] == 1  # format version
    assert token[1] == 1  # AES-256-GCM
    assert len(key_id) == token[2]
    assert key_id == token[3 : 3 + len(key_id)]
    # 12-byte nonce, then type tag + 3 bytes of UTF-8, then the 16-byte tag
    assert 3 + len(key_id) + 12 + (1 + 3) + 16 == len(token)


def test_text_form_is_prefixed_standard_base64(cipher: FieldCipher) -> None:
    text = cipher.encrypt("abc", **BIND)
    assert text.startswith(TEXT_PREFIX)
    body = text[len(TEXT_PREFIX) :]
    raw = base64.b64decode(body, validate=True)
    assert base64.b64encode(raw).decode() == body
    assert cipher.decrypt(raw, **BIND) == "abc"


@pytest.mark.parametrize("damage", ["drop_padding", "bad_char", "whitespace"])
def test_text_that_is_not_strict_base64_is_refused(cipher: FieldCipher, damage: str) -> None:
    text = cipher.encrypt("abcd", **BIND)
    assert text.endswith("=")  # 53 bytes: base64 pads them
    bad = {
        "drop_padding": text.rstrip("="),
        "bad_char": text[:10] + "*" + text[11:],
        "whitespace": text[:10] + " " + text[10:],
    }[damage]
    with pytest.raises(DecryptionError):
        cipher.decrypt(bad, **BIND)


def test_fresh_nonce_every_time(cipher: FieldCipher) -> None:
    tokens = {cipher.encrypt_bytes("same", **BIND) for _ in range(20)}
    assert len(tokens) == 20


@pytest.mark.parametrize(
    "value",
    [
        "",
        "张伟",
        b"",
        b"\x00\xff",
        0,
        -1,
        255,
        -(2**70),
        2**100,
        True,
        False,
        Decimal("0"),
        Decimal("-1.50"),
        Decimal("1E+3"),
        Decimal("NaN"),
        date(1, 1, 1),
        date(9999, 12, 31),
        datetime(2024, 2, 29, 23, 59, 59, 999999),
        datetime(2024, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))),
        datetime(2024, 1, 1, tzinfo=timezone.utc),
        UUID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
    ],
)
def test_typed_plaintext_round_trips_type_and_value(value: object) -> None:
    back = decode_value(encode_value(value))
    assert type(value) is type(back)
    assert str(value) == str(back)


def test_bool_is_not_an_int() -> None:
    assert True is decode_value(encode_value(True))
    assert decode_value(encode_value(1)) == 1
    assert bool is not type(decode_value(encode_value(1)))


def test_subclasses_encode_as_their_base_type() -> None:
    class Tier(str):
        pass

    assert decode_value(encode_value(Tier("gold"))) == "gold"
    assert str is type(decode_value(encode_value(Tier("gold"))))


@pytest.mark.parametrize("value", [1.5, [1], {"a": 1}, object()])
def test_unsupported_types_are_refused(value: object) -> None:
    with pytest.raises(UnsupportedValue):
        encode_value(value)


@pytest.mark.parametrize(
    "plain", [b"", b"\x00", b"\x09abc", b"\x03", b"\x04\x02", b"\x08short", b"\x06not-a-date"]
)
def test_malformed_plaintexts_are_refused(plain: bytes) -> None:
    with pytest.raises(EnvelopeError):
        decode_value(plain)


@given(st.text())
def test_any_text_round_trips_through_the_typed_plaintext(value: str) -> None:
    assert value == decode_value(encode_value(value))


@given(st.integers())
def test_any_int_round_trips(value: int) -> None:
    assert value == decode_value(encode_value(value))


@given(st.decimals(allow_nan=False))
def test_any_decimal_round_trips_with_its_exponent(value: Decimal) -> None:
    back = decode_value(encode_value(value))
    assert isinstance(back, Decimal)
    assert value.as_tuple() == back.as_tuple()


@given(
    st.datetimes(
        timezones=st.one_of(
            st.none(),
            st.just(timezone.utc),
            st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-23 * 60, 23 * 60)),
        )
    )
)
def test_any_datetime_round_trips_naive_or_aware(value: datetime) -> None:
    back = decode_value(encode_value(value))
    assert value == back
    assert value.utcoffset() == back.utcoffset()  # type: ignore[union-attr]


@pytest.mark.parametrize("key_id", ["", "a b", "é", "x" * 256, "tab\t"])
def test_bad_key_ids_are_refused(key_id: str) -> None:
    with pytest.raises(EnvelopeError):
        make_header(key_id)


def test_parse_header_names_the_key() -> None:
    header = make_header("d123")
    assert (header, "d123") == parse_header(header + bytes(28))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "truncated"),
        (b"\x02\x01\x01a" + bytes(28), "version 2"),
        (b"\x01\x07\x01a" + bytes(28), "algorithm id 7"),
        (b"\x01\x01\x00" + bytes(28), "truncated"),
        (b"\x01\x01\x05abc", "truncated"),
        (b"\x01\x01\x01a" + bytes(27), "truncated"),
    ],
)
def test_parse_header_says_what_is_wrong(data: bytes, reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        parse_header(data)


def test_text_round_trip_and_errors() -> None:
    assert from_text(to_text(b"\x01\x02\x03")) == b"\x01\x02\x03"
    with pytest.raises(EnvelopeError, match="crm1:"):
        from_text("AQID")
    with pytest.raises(EnvelopeError, match="base64"):
        from_text("crm1:A")
    with pytest.raises(EnvelopeError, match="base64"):
        from_text("crm1:AQ!D")


def test_key_id_of_reads_the_header_of_both_forms(cipher: FieldCipher, keyring: Keyring) -> None:
    current = keyring.current_key_id("t1")
    assert current == key_id_of(cipher.encrypt("x", **BIND))
    assert current == key_id_of(cipher.encrypt_bytes("x", **BIND))
    with pytest.raises(DecryptionError):
        key_id_of("crm1:AAAA")


@given(
    key_id=st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=255
    ),
    body=st.binary(min_size=28, max_size=60),
)
def test_header_of_reads_just_the_header(key_id: str, body: bytes) -> None:
    from crmcore.crypto._envelope import header_of, make_header, to_text

    data = make_header(key_id) + body
    assert header_of(data) == make_header(key_id)
    assert header_of(to_text(data)) == make_header(key_id)


@pytest.mark.parametrize("token", ["", "crm1:", "crm1:AQ", "nope:AQEDZGVm", b"\x01\x01\x09abc"])
def test_header_of_refuses_what_holds_no_header(token: str | bytes) -> None:
    from crmcore.crypto._envelope import EnvelopeError, header_of

    with pytest.raises(EnvelopeError):
        header_of(token)
