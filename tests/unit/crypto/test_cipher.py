"""FieldCipher: round trips, bindings, tampering, garbage, and what errors reveal."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.crypto import FieldCipher, Keyring, StaticKeyProvider
from crmcore.errors import (
    ConfigurationError,
    DecryptionError,
    KeyUnavailable,
    ValidationError,
)

BIND = {"tenant": "t1", "entity": "Customer", "record_id": "r1", "field": "email"}
# Hypothesis tests share one cipher (function-scoped fixtures are not reset per example).
SHARED = FieldCipher(Keyring(StaticKeyProvider(bytes(range(32)))))
VALUES = [
    "zhang.wei@example.com",
    "张伟",
    "",
    b"\x00\x01",
    42,
    -7,
    True,
    False,
    Decimal("12.50"),
    date(1990, 5, 17),
    datetime(2024, 3, 1, 12, 30, tzinfo=timezone.utc),
    uuid.UUID(int=7),
]


@pytest.mark.parametrize("value", VALUES)
def test_round_trip_keeps_value_and_type(cipher: FieldCipher, value: object) -> None:
    for token in (cipher.encrypt(value, **BIND), cipher.encrypt_bytes(value, **BIND)):  # type: ignore[call-overload]
        back = cipher.decrypt(token, **BIND)
        assert value == back
        assert type(value) is type(back)


@settings(max_examples=60)
@given(value=st.text())
def test_any_unicode_text_round_trips(value: str) -> None:
    assert value == SHARED.decrypt(SHARED.encrypt(value, **BIND), **BIND)
    assert value == SHARED.decrypt(SHARED.encrypt_bytes(value, **BIND), **BIND)


@settings(max_examples=60)
@given(
    value=st.one_of(
        st.binary(),
        st.integers(),
        st.booleans(),
        st.decimals(allow_nan=False),
        st.dates(),
        st.datetimes(),
        st.uuids(),
    )
)
def test_any_typed_value_round_trips(value: object) -> None:
    back = SHARED.decrypt(SHARED.encrypt(value, **BIND), **BIND)  # type: ignore[call-overload]
    assert value == back
    assert type(value) is type(back)


def test_none_is_not_encrypted(cipher: FieldCipher) -> None:
    assert None is cipher.encrypt(None, **BIND)
    assert None is cipher.encrypt_bytes(None, **BIND)
    assert None is cipher.decrypt(None, **BIND)


def test_ids_are_bound_as_text(cipher: FieldCipher) -> None:
    tenant, record = uuid.uuid4(), uuid.uuid4()
    bind = {"entity": "Customer", "field": "email"}
    token = cipher.encrypt("x", tenant=tenant, record_id=record, **bind)
    assert cipher.decrypt(token, tenant=str(tenant), record_id=str(record), **bind) == "x"


def test_bytes_like_tokens_are_accepted(cipher: FieldCipher) -> None:
    token = cipher.encrypt_bytes("x", **BIND)
    assert cipher.decrypt(bytearray(token), **BIND) == "x"
    assert cipher.decrypt(memoryview(token), **BIND) == "x"


@pytest.mark.parametrize(
    "other",
    [
        {"record_id": "r2"},
        {"field": "phone"},
        {"tenant": "t2"},
        {"entity": "Lead"},
        # length-prefixing: moving characters between parts changes the binding
        {"record_id": "r", "field": "1email"},
        {"tenant": "t", "entity": "1Customer"},
    ],
)
def test_a_token_moved_elsewhere_does_not_decrypt(
    cipher: FieldCipher, other: dict[str, str]
) -> None:
    cipher.keyring.current_key_id("t2")  # t2 has keys of its own
    token = cipher.encrypt("secret@example.com", **BIND)
    with pytest.raises(DecryptionError) as info:
        cipher.decrypt(token, **{**BIND, **other})
    assert "secret" not in str(info.value)


def test_swapping_two_records_fields_fails(cipher: FieldCipher) -> None:
    a = cipher.encrypt("a@example.com", **BIND)
    b = cipher.encrypt("b@example.com", **{**BIND, "record_id": "r2"})
    with pytest.raises(DecryptionError):
        cipher.decrypt(b, **BIND)
    with pytest.raises(DecryptionError):
        cipher.decrypt(a, **{**BIND, "record_id": "r2"})


def test_tenant_keys_are_separate(keyring: Keyring) -> None:
    assert keyring.current_key_id("t1") != keyring.current_key_id("t2")


def test_every_flipped_bit_fails(cipher: FieldCipher) -> None:
    token = cipher.encrypt_bytes("x@y.cn", **BIND)
    for i in range(len(token) * 8):
        bad = bytearray(token)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(DecryptionError):
            cipher.decrypt(bytes(bad), **BIND)


def test_every_truncation_fails(cipher: FieldCipher) -> None:
    token = cipher.encrypt_bytes("x@y.cn", **BIND)
    for n in range(len(token)):
        with pytest.raises(DecryptionError):
            cipher.decrypt(token[:n], **BIND)
    text = cipher.encrypt("x@y.cn", **BIND)
    for n in range(len(text)):
        with pytest.raises(DecryptionError):
            cipher.decrypt(text[:n], **BIND)


def test_appended_bytes_fail(cipher: FieldCipher) -> None:
    token = cipher.encrypt_bytes("x", **BIND)
    with pytest.raises(DecryptionError):
        cipher.decrypt(token + b"\x00", **BIND)


@settings(max_examples=200)
@given(data=st.binary(max_size=120))
def test_random_bytes_never_decrypt(data: bytes) -> None:
    with pytest.raises(DecryptionError):
        SHARED.decrypt(data, **BIND)


@settings(max_examples=100)
@given(data=st.binary(max_size=120))
def test_random_bytes_under_a_known_header_never_decrypt(data: bytes) -> None:
    header = SHARED.encrypt_bytes("warm", **BIND)[:20]
    with pytest.raises(DecryptionError):
        SHARED.decrypt(header + data, **BIND)
    with pytest.raises(DecryptionError):
        SHARED.decrypt_record(header + data, **_record(BIND))


@settings(max_examples=100)
@given(text=st.text(max_size=80))
def test_random_text_never_decrypts(text: str) -> None:
    for token in (text, "crm1:" + text):
        with pytest.raises(DecryptionError):
            SHARED.decrypt(token, **BIND)


@pytest.mark.parametrize("token", [12, 1.5, ["crm1:"], object()])
def test_non_tokens_fail_as_decryption_errors(cipher: FieldCipher, token: object) -> None:
    with pytest.raises(DecryptionError, match="str or bytes"):
        cipher.decrypt(token, **BIND)  # type: ignore[arg-type]


def test_unknown_key_id_fails_with_the_key_as_cause(cipher: FieldCipher) -> None:
    other = FieldCipher(Keyring(StaticKeyProvider(bytes(32))))
    token = other.encrypt("x", **BIND)
    with pytest.raises(DecryptionError, match="unavailable") as info:
        cipher.decrypt(token, **BIND)
    assert isinstance(info.value.__cause__, KeyUnavailable)
    assert (info.value.entity, info.value.id, info.value.field) == ("Customer", "r1", "email")


def test_a_different_root_cannot_open_the_keys(keyring: Keyring, cipher: FieldCipher) -> None:
    token = cipher.encrypt("x", **BIND)
    wrong = Keyring.load(StaticKeyProvider(bytes(32)), keyring.export_wrapped())
    with pytest.raises(DecryptionError, match="unwrap"):
        FieldCipher(wrong).decrypt(token, **BIND)


def test_errors_name_the_field_never_the_value(cipher: FieldCipher) -> None:
    token = cipher.encrypt("very-secret-value", **BIND)
    with pytest.raises(DecryptionError) as info:
        cipher.decrypt(token, **{**BIND, "record_id": "r9"})
    message = str(info.value)
    assert "email" in message
    assert "r9" in message
    assert "very-secret-value" not in message
    assert token not in message


def test_unsupported_values_are_a_validation_error(cipher: FieldCipher) -> None:
    with pytest.raises(ValidationError) as info:
        cipher.encrypt(1.5, **BIND)  # type: ignore[call-overload]
    assert info.value.codes == ("unsupported_type",)
    assert "1.5" not in str(info.value)


@pytest.mark.parametrize("bad", [{"tenant": ""}, {"entity": ""}, {"field": ""}])
def test_empty_binding_parts_are_refused(cipher: FieldCipher, bad: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        cipher.encrypt("x", **{**BIND, **bad})


# ------------------------------------------------------------------ record API


def _record(bind: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in bind.items() if k != "field"}


CUSTOMER = {
    "email": "zhang.wei@example.com",
    "phone": "+8613800138000",
    "national_id": "11010519491231002X",
    "date_of_birth": date(1949, 12, 31),
    "nickname": None,
}


@pytest.mark.parametrize("text", [True, False])
def test_record_envelope_round_trips_every_value(cipher: FieldCipher, text: bool) -> None:
    rec = _record(BIND)
    token = cipher.encrypt_record(CUSTOMER, text=text, **rec)  # type: ignore[call-overload]
    assert isinstance(token, str if text else bytes)
    back = cipher.decrypt_record(token, **rec)
    assert list(back) == ["email", "phone", "national_id", "date_of_birth"]  # None left out
    assert back == {k: v for k, v in CUSTOMER.items() if v is not None}
    assert type(back["date_of_birth"]) is date


def test_record_envelope_of_nothing_is_none(cipher: FieldCipher) -> None:
    rec = _record(BIND)
    assert None is cipher.encrypt_record({}, **rec)
    assert None is cipher.encrypt_record({"email": None}, **rec)
    assert cipher.decrypt_record(None, **rec) == {}


_NAMES = st.text(min_size=1, max_size=40).filter(lambda n: len(n.encode()) <= 255)
_VALUES = st.one_of(
    st.text(),
    st.binary(),
    st.integers(),
    st.booleans(),
    st.decimals(allow_nan=False),
    st.dates(),
    st.datetimes(),
    st.uuids(),
)


@settings(max_examples=80)
@given(values=st.dictionaries(_NAMES, _VALUES, min_size=1, max_size=8))
def test_any_record_round_trips(values: dict[str, object]) -> None:
    rec = _record(BIND)
    back = SHARED.decrypt_record(SHARED.encrypt_record(values, **rec), **rec)  # type: ignore[arg-type]
    assert back == values
    assert [type(v) for v in back.values()] == [type(v) for v in values.values()]


@pytest.mark.parametrize(
    "elsewhere",
    [{"record_id": "r2"}, {"tenant": "t2"}, {"entity": "Lead"}],
)
def test_a_record_envelope_moved_to_another_record_fails(
    cipher: FieldCipher, elsewhere: dict[str, str]
) -> None:
    rec = _record(BIND)
    token = cipher.encrypt_record({"email": "a@example.com"}, **rec)
    with pytest.raises(DecryptionError) as info:
        cipher.decrypt_record(token, **{**rec, **elsewhere})
    assert "a@example.com" not in str(info.value)


def test_field_tokens_and_record_envelopes_never_open_as_each_other(cipher: FieldCipher) -> None:
    rec = _record(BIND)
    field_token = cipher.encrypt_bytes("a", **BIND)
    record_token = cipher.encrypt_record({"email": "a"}, text=False, **rec)
    with pytest.raises(DecryptionError):
        cipher.decrypt_record(field_token, **rec)
    with pytest.raises(DecryptionError):
        cipher.decrypt(record_token, **BIND)


def test_every_flipped_bit_or_cut_of_a_record_envelope_fails(cipher: FieldCipher) -> None:
    rec = _record(BIND)
    token = cipher.encrypt_record({"email": "a", "phone": "b"}, text=False, **rec)
    for i in range(len(token) * 8):
        bad = bytearray(token)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(DecryptionError):
            cipher.decrypt_record(bytes(bad), **rec)
    for n in range(len(token)):
        with pytest.raises(DecryptionError):
            cipher.decrypt_record(token[:n], **rec)


def _seal_raw(cipher: FieldCipher, plain: bytes) -> bytes:
    """A genuine envelope (right key, right binding) around an arbitrary plaintext."""
    from crmcore.crypto._envelope import record_binding_prefix

    header, aead = cipher.keyring._current_key("t1")
    nonce = bytes(12)
    aad = header + record_binding_prefix("t1", "Customer") + b"r1"
    return header + nonce + aead.encrypt(nonce, plain, aad)


@settings(max_examples=150)
@given(plain=st.binary(max_size=80))
def test_any_authentic_plaintext_opens_or_fails_cleanly(plain: bytes) -> None:
    # A malformed plaintext can only come from a bug or a stolen key, but the
    # parser must still refuse it with a DecryptionError, never anything else.
    token = _seal_raw(SHARED, plain)
    try:
        SHARED.decrypt_record(token, **_record(BIND))
    except DecryptionError as exc:
        reason = exc.reason
    else:
        reason = "unknown format"  # it happened to be a well-formed record
    assert "unknown format" in reason


def test_a_record_envelope_repeating_a_field_is_refused(cipher: FieldCipher) -> None:
    one = b"\x01a"
    plain = len(one * 2).to_bytes(2, "big") + one * 2 + (2).to_bytes(4, "big") * 2 + b"\x01x" * 2
    with pytest.raises(DecryptionError, match="unknown format"):
        cipher.decrypt_record(_seal_raw(cipher, plain), **_record(BIND))


def test_record_envelopes_stay_readable_after_rotation(cipher: FieldCipher) -> None:
    rec = _record(BIND)
    old = cipher.encrypt_record({"email": "old"}, **rec)
    cipher.keyring.rotate("t1")
    new = cipher.encrypt_record({"email": "new"}, **rec)
    assert cipher.needs_rotation(old, tenant="t1")
    assert not cipher.needs_rotation(new, tenant="t1")
    assert cipher.decrypt_record(old, **rec) == {"email": "old"}
    assert cipher.decrypt_record(new, **rec) == {"email": "new"}


@pytest.mark.parametrize("name", ["", "x" * 256, "é" * 128])
def test_bad_field_names_in_a_record_are_refused(cipher: FieldCipher, name: str) -> None:
    with pytest.raises(ConfigurationError):
        cipher.encrypt_record({name: "v"}, **_record(BIND))


def test_unsupported_values_in_a_record_name_the_field(cipher: FieldCipher) -> None:
    with pytest.raises(ValidationError) as info:
        cipher.encrypt_record({"email": "a", "score": 1.5}, **_record(BIND))  # type: ignore[dict-item]
    assert info.value.errors[0].path == "score"
