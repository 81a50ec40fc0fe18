"""The ciphertext envelope: binary and text layouts, typed plaintext, binding data.

Binary envelope (version 1), every integer big-endian::

    offset  size  field
    0       1     format version, 0x01
    1       1     algorithm id, 0x01 = AES-256-GCM
    2       1     key id length L, 1..255
    3       L     key id, printable ASCII (0x21..0x7E)
    3+L     12    random nonce
    15+L    n+16  AES-GCM ciphertext of the typed plaintext, then the 16-byte tag

The typed plaintext is one type-tag byte followed by the payload (see
``encode_value``). The associated data is the header (bytes ``0..3+L``) followed
by the binding: ``b"crmcore/field/v1\\x00"`` and the tenant, entity type, record
id and field name, each as a 4-byte length and its UTF-8 bytes. The text form
is ``"crm1:"`` followed by the standard (padded) base64 of the binary envelope.

Everything here is pure bytes work; no key is handled in this module.
"""

from __future__ import annotations

import binascii
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeAlias
from uuid import UUID

__all__ = [
    "ALG_AES256GCM",
    "FORMAT_VERSION",
    "NONCE_SIZE",
    "TAG_SIZE",
    "TEXT_PREFIX",
    "EnvelopeError",
    "FieldValue",
    "UnsupportedValue",
    "binding_prefix",
    "decode_value",
    "encode_value",
    "from_text",
    "header_of",
    "key_id_from_header",
    "length_prefixed",
    "make_header",
    "parse_header",
    "record_binding_prefix",
    "to_text",
]

FieldValue: TypeAlias = str | bytes | bool | int | Decimal | date | datetime | UUID
"""The Python types a field cipher or blind indexer accepts (``None`` passes through)."""

FORMAT_VERSION: Final = 1
ALG_AES256GCM: Final = 1
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
TEXT_PREFIX: Final = "crm1:"
MAX_KEY_ID: Final = 255
_PREFIX_LEN: Final = len(TEXT_PREFIX)
_KEY_ID_BYTES: Final = bytes(range(0x21, 0x7F))  # what a key id may hold
_MIN_OVERHEAD: Final = 3 + 1 + NONCE_SIZE + TAG_SIZE
_b2a = binascii.b2a_base64
_a2b = binascii.a2b_base64

_FIELD_DOMAIN: Final = b"crmcore/field/v1\x00"
_RECORD_DOMAIN: Final = b"crmcore/record/v1\x00"

# Type tags of the typed plaintext (first byte of the plaintext).
T_STR: Final = 0x01
T_BYTES: Final = 0x02
T_INT: Final = 0x03
T_BOOL: Final = 0x04
T_DECIMAL: Final = 0x05
T_DATE: Final = 0x06
T_DATETIME: Final = 0x07
T_UUID: Final = 0x08

_STR_TAG: Final = b"\x01"
_BYTES_TAG: Final = b"\x02"
_INT_TAG: Final = b"\x03"
_DECIMAL_TAG: Final = b"\x05"
_DATE_TAG: Final = b"\x06"
_DATETIME_TAG: Final = b"\x07"
_UUID_TAG: Final = b"\x08"
_TRUE: Final = b"\x04\x01"
_FALSE: Final = b"\x04\x00"


class EnvelopeError(ValueError):
    """A token is not a well-formed envelope; the message is a safe reason."""


class UnsupportedValue(TypeError):
    """A value of a type the envelope cannot carry; the message names the type only."""


def length_prefixed(data: bytes) -> bytes:
    """``data`` preceded by its length as 4 big-endian bytes."""
    return len(data).to_bytes(4, "big") + data


def binding_prefix(tenant: str, entity: str) -> bytes:
    """The start of the binding: domain, tenant and entity type, each length-prefixed.

    The full associated data is ``header + binding_prefix(tenant, entity) +
    length_prefixed(record_id) + length_prefixed(field)``.

    Args:
        tenant: the tenant id as text.
        entity: the entity type name, ``"Customer"``.
    """
    return (
        _FIELD_DOMAIN
        + length_prefixed(tenant.encode("utf-8"))
        + length_prefixed(entity.encode("utf-8"))
    )


def record_binding_prefix(tenant: str, entity: str) -> bytes:
    """The start of a record envelope's binding: its own domain, tenant and entity type.

    The full associated data is ``header + record_binding_prefix(tenant, entity)
    + record_id`` (UTF-8): the record id comes last, so it needs no length. The
    domain differs from a field token's, so neither kind of token ever opens as
    the other.
    """
    return (
        _RECORD_DOMAIN
        + length_prefixed(tenant.encode("utf-8"))
        + length_prefixed(entity.encode("utf-8"))
    )


def _check_key_id(key_id: str) -> bytes:
    try:
        raw = key_id.encode("ascii")
    except UnicodeEncodeError:
        raise EnvelopeError("key id must be printable ASCII") from None
    if not 1 <= len(raw) <= MAX_KEY_ID:
        raise EnvelopeError(f"key id must be 1..{MAX_KEY_ID} characters")
    if raw.translate(None, _KEY_ID_BYTES):
        raise EnvelopeError("key id must be printable ASCII without spaces")
    return raw


def make_header(key_id: str) -> bytes:
    """The envelope header for ``key_id`` (version, algorithm, length, key id).

    Raises:
        EnvelopeError: the key id is empty, too long or not printable ASCII.
    """
    raw = _check_key_id(key_id)
    return bytes((FORMAT_VERSION, ALG_AES256GCM, len(raw))) + raw


def parse_header(data: bytes) -> tuple[bytes, str]:
    """Split off and check the header of a binary envelope.

    Args:
        data: a binary envelope.

    Returns:
        The header bytes and the key id they name.

    Raises:
        EnvelopeError: unknown version or algorithm, bad key id, or too short.
    """
    if len(data) < 3:
        raise EnvelopeError("token is truncated")
    if data[0] != FORMAT_VERSION:
        raise EnvelopeError(f"unsupported envelope version {data[0]}")
    if data[1] != ALG_AES256GCM:
        raise EnvelopeError(f"unsupported algorithm id {data[1]}")
    end = 3 + data[2]
    if data[2] == 0 or len(data) < end + NONCE_SIZE + TAG_SIZE:
        raise EnvelopeError("token is truncated")
    header = bytes(data[:end])
    return header, key_id_from_header(header)


def header_of(token: str | bytes) -> bytes:
    """The header of a text or binary envelope, decoding no more base64 than it takes.

    Not authenticated: for choosing (or preloading) the key, never for trusting.

    Raises:
        EnvelopeError: no ``crm1:`` prefix, bad base64, or too short for its header.
    """
    if isinstance(token, bytes):
        data = token
    else:
        # 4 base64 characters give version, algorithm and key id length; then
        # as many more as the whole header needs
        data = from_text(token[: _PREFIX_LEN + 4])
        if len(data) == 3:
            size = 3 + data[2]
            data = from_text(token[: _PREFIX_LEN + -(-size // 3) * 4])
    if len(data) < 3 or len(data) < 3 + data[2]:
        raise EnvelopeError("token is truncated")
    return bytes(data[: 3 + data[2]])


def key_id_from_header(header: bytes) -> str:
    """The key id written in a header produced by :func:`make_header`."""
    raw = header[3:]
    if not raw or raw.translate(None, _KEY_ID_BYTES):
        raise EnvelopeError("malformed key id")
    return raw.decode("ascii")


def to_text(data: bytes) -> str:
    """The text form of a binary envelope: ``"crm1:"`` + standard base64 (with padding)."""
    return TEXT_PREFIX + _b2a(data).decode()[:-1]  # without the newline b2a_base64 adds


def _bad_text(token: str) -> EnvelopeError:
    if not token.startswith(TEXT_PREFIX):
        return EnvelopeError(f"text token does not start with {TEXT_PREFIX!r}")
    return EnvelopeError("text token is not valid base64")


if sys.version_info >= (3, 11):

    def from_text(token: str) -> bytes:
        """The binary envelope inside a text token.

        Raises:
            EnvelopeError: no ``crm1:`` prefix or not valid base64 (strict:
                characters outside the alphabet and bad padding are refused).
        """
        if token[:_PREFIX_LEN] == TEXT_PREFIX:
            try:
                return _a2b(token[_PREFIX_LEN:], strict_mode=True)
            except (binascii.Error, ValueError):
                pass
        raise _bad_text(token)

else:  # pragma: no cover - Python 3.10 has no strict mode

    def from_text(token: str) -> bytes:
        """The binary envelope inside a text token.

        Raises:
            EnvelopeError: no ``crm1:`` prefix or not valid base64 (characters
                outside the alphabet are skipped; the GCM tag still refuses
                any changed byte).
        """
        if token[:_PREFIX_LEN] == TEXT_PREFIX:
            try:
                return _a2b(token[_PREFIX_LEN:])
            except (binascii.Error, ValueError):
                pass
        raise _bad_text(token)


def _int_payload(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)


def _enc_str(value: str) -> bytes:
    return _STR_TAG + value.encode("utf-8")


def _enc_bytes(value: bytes | bytearray | memoryview) -> bytes:
    return _BYTES_TAG + bytes(value)


def _enc_bool(value: bool) -> bytes:
    return _TRUE if value else _FALSE


def _enc_int(value: int) -> bytes:
    return _INT_TAG + _int_payload(int(value))


def _enc_decimal(value: Decimal) -> bytes:
    return _DECIMAL_TAG + str(value).encode("ascii")


def _enc_date(value: date) -> bytes:
    return _DATE_TAG + date.isoformat(value).encode("ascii")


def _enc_datetime(value: datetime) -> bytes:
    return _DATETIME_TAG + datetime.isoformat(value).encode("ascii")


def _enc_uuid(value: UUID) -> bytes:
    return _UUID_TAG + value.bytes


# Checked in order for subclasses (bool before int, datetime before date).
_BY_BASE: Final[tuple[tuple[type | tuple[type, ...], Callable[[Any], bytes]], ...]] = (
    (str, _enc_str),
    ((bytes, bytearray, memoryview), _enc_bytes),
    (bool, _enc_bool),
    (int, _enc_int),
    (Decimal, _enc_decimal),
    (datetime, _enc_datetime),
    (date, _enc_date),
    (UUID, _enc_uuid),
)
_BY_TYPE: Final[dict[type, Callable[[Any], bytes]]] = {
    str: _enc_str,
    bytes: _enc_bytes,
    bytearray: _enc_bytes,
    memoryview: _enc_bytes,
    bool: _enc_bool,
    int: _enc_int,
    Decimal: _enc_decimal,
    datetime: _enc_datetime,
    date: _enc_date,
    UUID: _enc_uuid,
}


def _dec_int(payload: bytes) -> int:
    if not payload:
        raise ValueError("empty int")
    return int.from_bytes(payload, "big", signed=True)


def _dec_bool(payload: bytes) -> bool:
    if payload == b"\x01":
        return True
    if payload == b"\x00":
        return False
    raise ValueError("bad bool")


def _dec_bytes(payload: bytes) -> bytes:
    return payload


def _dec_str(payload: bytes) -> str:
    return payload.decode("utf-8")


def _dec_decimal(payload: bytes) -> Decimal:
    return Decimal(payload.decode("ascii"))


def _dec_date(payload: bytes) -> date:
    return date.fromisoformat(payload.decode("ascii"))


def _dec_datetime(payload: bytes) -> datetime:
    return datetime.fromisoformat(payload.decode("ascii"))


def _dec_uuid(payload: bytes) -> UUID:
    return UUID(bytes=payload)


_DECODERS: Final[dict[int, Callable[[bytes], FieldValue]]] = {
    T_STR: _dec_str,
    T_BYTES: _dec_bytes,
    T_INT: _dec_int,
    T_BOOL: _dec_bool,
    T_DECIMAL: _dec_decimal,
    T_DATE: _dec_date,
    T_DATETIME: _dec_datetime,
    T_UUID: _dec_uuid,
}


def encode_value(value: object) -> bytes:
    """The typed plaintext of ``value``: one type-tag byte, then the payload.

    ====  ========  ==============================================
    tag   type      payload
    ====  ========  ==============================================
    0x01  str       UTF-8
    0x02  bytes     the bytes
    0x03  int       two's complement, big-endian, minimal length
    0x04  bool      0x00 or 0x01
    0x05  Decimal   ``str(value)`` in ASCII (keeps exponent and sign)
    0x06  date      ISO 8601 ``YYYY-MM-DD``
    0x07  datetime  ``datetime.isoformat()`` (offset kept if aware)
    0x08  UUID      the 16 bytes
    ====  ========  ==============================================

    Subclasses encode as their base type (a ``str`` enum member decrypts as a
    plain ``str``).

    Raises:
        UnsupportedValue: any other type (``float`` included: use ``Decimal``).
    """
    encoder = _BY_TYPE.get(type(value))
    if encoder is None:
        for base, fn in _BY_BASE:
            if isinstance(value, base):
                encoder = fn
                break
        else:
            raise UnsupportedValue(f"values of type {type(value).__name__} cannot be encrypted")
    return encoder(value)


def decode_value(plain: bytes) -> FieldValue:
    """The Python value of a typed plaintext made by :func:`encode_value`.

    Raises:
        EnvelopeError: unknown type tag or a payload that does not parse.
    """
    decoder = _DECODERS.get(plain[0]) if plain else None
    if decoder is None:
        raise EnvelopeError("unknown plaintext type tag")
    try:
        return decoder(plain[1:])
    except (ValueError, InvalidOperation):
        raise EnvelopeError("plaintext payload does not parse") from None
