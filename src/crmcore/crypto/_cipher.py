"""FieldCipher: encrypt and decrypt field values bound to their tenant, record and field.

This is what the storage encryption layer calls, one field at a time
(``encrypt``/``decrypt``) or one record at a time (``encrypt_fields``/
``decrypt_fields``, faster: one nonce read and one binding per record). Every
failure to decrypt is a :class:`crmcore.errors.DecryptionError` naming the
entity, record and field; a value is never returned unless it authenticated
under the binding asked for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from struct import Struct
from struct import error as StructError
from typing import Final, Literal, TypeAlias, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crmcore.crypto._envelope import (
    _BY_TYPE,
    _DECODERS,
    NONCE_SIZE,
    TAG_SIZE,
    EnvelopeError,
    FieldValue,
    UnsupportedValue,
    binding_prefix,
    encode_value,
    from_text,
    length_prefixed,
    make_header,
    parse_header,
    record_binding_prefix,
    to_text,
)
from crmcore.crypto._keys import Keyring
from crmcore.crypto._keys._keyring import _tenant_text
from crmcore.crypto._keys._providers import _SUBJECT_PREFIX
from crmcore.errors import ConfigurationError, CrmError, DecryptionError, ValidationError

__all__ = ["FieldCipher", "Token", "key_id_of"]

Token: TypeAlias = str | bytes | bytearray | memoryview
"""A ciphertext as stored: text (``"crm1:..."``) or the binary envelope."""

_urandom = os.urandom
_STR_TAG: Final = b"\x01"
_MAX_CACHE: Final = 4096
_TAIL: Final = NONCE_SIZE + TAG_SIZE
_AUTH_FAILED: Final = (
    "ciphertext could not be authenticated (altered, or bound to another tenant, record or field)"
)


def _as_bytes(token: object) -> bytes:
    """The binary envelope of a stored token (raises ``EnvelopeError``)."""
    if isinstance(token, str):
        return from_text(token)
    if isinstance(token, (bytes, bytearray, memoryview)):
        return bytes(token)
    raise EnvelopeError(f"a token must be str or bytes, not {type(token).__name__}")


def key_id_of(token: Token) -> str:
    """The key id in a token's header, read without decrypting (so not yet authenticated).

    Args:
        token: a text or binary token.

    Returns:
        The key id.

    Raises:
        DecryptionError: the token is not a well-formed envelope.
    """
    try:
        return parse_header(_as_bytes(token))[1]
    except EnvelopeError as exc:
        raise DecryptionError(reason=str(exc)) from None


def _record_bytes(record_id: object) -> bytes:
    rid = (record_id if type(record_id) is str else str(record_id)).encode()
    return len(rid).to_bytes(4, "big") + rid


class FieldCipher:
    """Encrypts field values under a tenant (or subject) key, bound to where they belong.

    The associated data binds tenant, entity type, record id and field name, so a
    ciphertext copied to another record, field or tenant fails to decrypt.
    ``None`` is never encrypted: it stays ``None`` (whether a value is present
    is not hidden). Tenant and record ids are bound as ``str()`` of them.

    Args:
        keyring: where keys come from.
        subject_keys: when true, ``subject_id=`` selects the subject's own key
            (crypto-shredding); when false it is ignored and the tenant key is used.
    """

    __slots__ = (
        "_by_header",
        "_current",
        "_dirs_in",
        "_dirs_out",
        "_fields",
        "_keyring",
        "_prefixes",
        "_record_prefixes",
        "_subject_keys",
    )

    def __init__(self, keyring: Keyring, *, subject_keys: bool = True) -> None:
        self._keyring = keyring
        self._subject_keys = subject_keys
        # The keyring's caches, shared so retire/shred/clear_cache apply here at once.
        self._current = keyring._current
        self._by_header = keyring._by_header
        self._prefixes: dict[tuple[str, str], bytes] = {}
        self._fields: dict[str, bytes] = {}
        self._record_prefixes: dict[tuple[str, str], bytes] = {}
        # record envelope directories: field names -> bytes, and bytes -> names
        self._dirs_out: dict[tuple[str, ...], tuple[bytes, Struct]] = {}
        self._dirs_in: dict[bytes, tuple[tuple[str, ...], Struct]] = {}

    @property
    def keyring(self) -> Keyring:
        """The keyring this cipher draws keys from."""
        return self._keyring

    # ------------------------------------------------------------------ helpers

    def _prefix(self, tenant: str, entity: str) -> bytes:
        return self._binding(self._prefixes, binding_prefix, tenant, entity)

    @staticmethod
    def _binding(
        cache: dict[tuple[str, str], bytes],
        make: Callable[[str, str], bytes],
        tenant: str,
        entity: str,
    ) -> bytes:
        """Check and cache the binding prefix of a field token or record envelope."""
        if not tenant:
            raise ConfigurationError("tenant id must not be empty")
        if not isinstance(entity, str) or not entity:
            raise ConfigurationError("entity must be a non-empty string")
        if len(cache) >= _MAX_CACHE:
            cache.clear()
        prefix = cache[(tenant, entity)] = make(tenant, entity)
        return prefix

    def _field(self, field: str) -> bytes:
        if not isinstance(field, str) or not field:
            raise ConfigurationError("field must be a non-empty string")
        if len(self._fields) >= _MAX_CACHE:
            self._fields.clear()
        lp = length_prefixed(field.encode("utf-8"))
        self._fields[field] = lp
        return lp

    def _key(self, tenant: str, subject_id: object | None) -> tuple[bytes, AESGCM]:
        if subject_id is not None and self._subject_keys:
            return self._keyring._subject_key(tenant, subject_id)
        entry = self._current.get(tenant)
        return entry if entry is not None else self._keyring._current_key(tenant)

    @staticmethod
    def _encode(value: object, entity: str, record_id: object, field: str) -> bytes:
        try:
            return encode_value(value)
        except UnsupportedValue as exc:
            raise ValidationError.single(
                field, "unsupported_type", str(exc), entity=entity, id=record_id
            ) from None

    @staticmethod
    def _fail(entity: str, record_id: object, field: str | None, reason: str) -> DecryptionError:
        return DecryptionError(entity=entity, id=record_id, field=field, reason=reason)

    def _open_slow(
        self, data: bytes, tenant: str, entity: str, record_id: object, field: str | None
    ) -> tuple[bytes, AESGCM]:
        """Header and cipher of a token whose header is not cached, or a DecryptionError."""
        try:
            header, key_id = parse_header(data)
        except EnvelopeError as exc:
            raise self._fail(entity, record_id, field, str(exc)) from None
        try:
            return header, self._keyring._aead_for(tenant, header, key_id)
        except CrmError as exc:  # KeyUnavailable, or an embedder provider's own error
            raise self._fail(entity, record_id, field, str(exc)) from exc

    def _token_bytes(
        self, token: object, entity: str, record_id: object, field: str | None
    ) -> bytes:
        try:
            return _as_bytes(token)
        except EnvelopeError as exc:
            raise self._fail(entity, record_id, field, str(exc)) from None

    # ------------------------------------------------------------------ one field

    @overload
    def encrypt_bytes(
        self,
        value: None,
        *,
        tenant: object,
        entity: str,
        record_id: object,
        field: str,
        subject_id: object | None = None,
    ) -> None: ...

    @overload
    def encrypt_bytes(
        self,
        value: FieldValue,
        *,
        tenant: object,
        entity: str,
        record_id: object,
        field: str,
        subject_id: object | None = None,
    ) -> bytes: ...

    def encrypt_bytes(
        self,
        value: FieldValue | None,
        *,
        tenant: object,
        entity: str,
        record_id: object,
        field: str,
        subject_id: object | None = None,
    ) -> bytes | None:
        """Encrypt ``value`` into a binary envelope (for a BLOB/BYTEA column).

        Args:
            value: str, bytes, int, bool, Decimal, date, datetime or UUID; ``None``
                passes through as ``None``.
            tenant: the owning tenant.
            entity: the entity type name, ``"Customer"``.
            record_id: the record's id.
            field: the field name.
            subject_id: the data subject; with subject keys enabled, the value is
                encrypted under that subject's key so ``Keyring.shred`` can erase it.

        Returns:
            The envelope bytes, or ``None``.

        Raises:
            ValidationError: the value's type cannot be encrypted (code ``unsupported_type``).
            ConfigurationError: empty tenant, entity or field.
            KeyUnavailable: the key provider could not supply a key.
        """
        if value is None:
            return None
        t = tenant if type(tenant) is str else _tenant_text(tenant)
        try:
            prefix = self._prefixes[t, entity]
        except KeyError:
            prefix = self._prefix(t, entity)
        try:
            lpf = self._fields[field]
        except KeyError:
            lpf = self._field(field)
        if subject_id is None or not self._subject_keys:
            try:
                header, aead = self._current[t]
            except KeyError:
                header, aead = self._keyring._current_key(t)
        else:
            header, aead = self._keyring._subject_key(t, subject_id)
        if type(value) is str:
            plain = _STR_TAG + value.encode()
        else:
            plain = self._encode(value, entity, record_id, field)
        rid = (record_id if type(record_id) is str else str(record_id)).encode()
        nonce = _urandom(NONCE_SIZE)
        aad = header + prefix + len(rid).to_bytes(4, "big") + rid + lpf
        return header + nonce + aead.encrypt(nonce, plain, aad)

    @overload
    def encrypt(
        self,
        value: None,
        *,
        tenant: object,
        entity: str,
        record_id: object,
        field: str,
        subject_id: object | None = None,
    ) -> None: ...

    @overload
    def encrypt(
        self,
        value: FieldValue,
        *,
        tenant: object,
        entity: str,
        record_id: object,
        field: str,
        subject_id: object | None = None,
    ) -> str: ...

    def encrypt(
        self,
        value: FieldValue | None,
        *,
        tenant: object,
        entity: str,
        record_id: object,
        field: str,
        subject_id: object | None = None,
    ) -> str | None:
        """Encrypt ``value`` into a text token ``"crm1:..."`` (for a text column).

        Same arguments and errors as :meth:`encrypt_bytes`.

        Returns:
            The text token, or ``None`` for ``None``.
        """
        if value is None:
            return None
        data = self.encrypt_bytes(
            value,
            tenant=tenant,
            entity=entity,
            record_id=record_id,
            field=field,
            subject_id=subject_id,
        )
        return to_text(data)

    def decrypt(
        self,
        token: Token | None,
        *,
        tenant: object,
        entity: str,
        record_id: object,
        field: str,
    ) -> FieldValue | None:
        """Decrypt a token made by :meth:`encrypt` or :meth:`encrypt_bytes` for this binding.

        Args:
            token: the stored text or bytes (``bytearray``/``memoryview`` too);
                ``None`` gives ``None``.
            tenant: the tenant the record belongs to.
            entity: the entity type name.
            record_id: the record id.
            field: the field name.

        Returns:
            The original value with its original type (see docs/encryption.md).

        Raises:
            DecryptionError: malformed or truncated token, unknown, retired or
                shredded key, tampering, or a binding that does not match. The
                cause (``__cause__``) is the ``KeyUnavailable`` where a key was missing.
        """
        if token is None:
            return None
        data = token if type(token) is bytes else self._token_bytes(token, entity, record_id, field)
        t = tenant if type(tenant) is str else _tenant_text(tenant)
        try:
            hend = 3 + data[2]
            header = data[:hend]
            aead = self._by_header[t, header]
        except (IndexError, KeyError):
            header, aead = self._open_slow(data, t, entity, record_id, field)
            hend = len(header)
        try:
            prefix = self._prefixes[t, entity]
        except KeyError:
            prefix = self._prefix(t, entity)
        try:
            lpf = self._fields[field]
        except KeyError:
            lpf = self._field(field)
        rid = (record_id if type(record_id) is str else str(record_id)).encode()
        aad = header + prefix + len(rid).to_bytes(4, "big") + rid + lpf
        try:
            # a token too short for its nonce and tag fails here too (the header was cached)
            plain = aead.decrypt(data[hend : hend + NONCE_SIZE], data[hend + NONCE_SIZE :], aad)
        except (InvalidTag, ValueError):
            reason = "token is truncated" if len(data) < hend + _TAIL else _AUTH_FAILED
            raise self._fail(entity, record_id, field, reason) from None
        try:
            tag = plain[0]
            return plain[1:].decode() if tag == 1 else _DECODERS[tag](plain[1:])
        except (IndexError, KeyError, ValueError, ArithmeticError):
            raise self._fail(entity, record_id, field, "plaintext has an unknown format") from None

    # ------------------------------------------------------------------ one record

    def _directory(self, names: tuple[str, ...]) -> tuple[bytes, Struct]:
        """The directory of a record envelope holding ``names``, and the packer of its lengths."""
        parts = []
        for name in names:
            if not isinstance(name, str) or not name:
                raise ConfigurationError("field must be a non-empty string")
            raw = name.encode("utf-8")
            if len(raw) > 255:
                raise ConfigurationError(f"field name {name[:40]!r}... is longer than 255 bytes")
            parts.append(bytes((len(raw),)) + raw)
        body = b"".join(parts)
        if len(body) > 0xFFFF:
            raise ConfigurationError("too many fields for one record envelope")
        entry = (len(body).to_bytes(2, "big") + body, Struct(f">{len(names)}I"))
        if len(self._dirs_out) >= _MAX_CACHE:
            self._dirs_out.clear()
        self._dirs_out[names] = entry
        return entry

    def _read_directory(self, body: bytes) -> tuple[tuple[str, ...], Struct]:
        """The field names in a record envelope's directory (authenticated already)."""
        names = []
        at = 0
        while at < len(body):
            stop = at + 1 + body[at]
            if stop > len(body) or stop == at + 1:
                raise ValueError("bad directory")
            names.append(body[at + 1 : stop].decode("utf-8"))
            at = stop
        if len(set(names)) != len(names):
            raise ValueError("repeated field")
        entry = (tuple(names), Struct(f">{len(names)}I"))
        if len(self._dirs_in) >= _MAX_CACHE:
            self._dirs_in.clear()
        self._dirs_in[body] = entry
        return entry

    def _record_prefix(self, tenant: str, entity: str) -> bytes:
        return self._binding(self._record_prefixes, record_binding_prefix, tenant, entity)

    def _typed_slow(
        self, values: Mapping[str, FieldValue | None], entity: str, record_id: object
    ) -> tuple[tuple[str, ...], list[bytes]]:
        """Names and typed plaintexts of the non-``None`` values; errors name the field."""
        names = tuple(f for f, v in values.items() if v is not None)
        return names, [self._encode(values[f], entity, record_id, f) for f in names]

    @overload
    def encrypt_record(
        self,
        values: Mapping[str, FieldValue | None],
        *,
        tenant: object,
        entity: str,
        record_id: object,
        subject_id: object | None = None,
        text: Literal[True] = True,
    ) -> str | None: ...

    @overload
    def encrypt_record(
        self,
        values: Mapping[str, FieldValue | None],
        *,
        tenant: object,
        entity: str,
        record_id: object,
        subject_id: object | None = None,
        text: Literal[False],
    ) -> bytes | None: ...

    def encrypt_record(
        self,
        values: Mapping[str, FieldValue | None],
        *,
        tenant: object,
        entity: str,
        record_id: object,
        subject_id: object | None = None,
        text: bool = True,
    ) -> str | bytes | None:
        """Encrypt several fields of one record into one record envelope.

        One AES-GCM call seals every field: the field names travel inside the
        ciphertext and the associated data binds tenant, entity and record, so
        the envelope opens only for this record, and no field can be moved,
        renamed, dropped or swapped without failing. This is what the storage
        encryption layer stores; the per-field tokens of :meth:`encrypt` are
        for values kept in columns of their own.

        Args:
            values: ``{field: value}``; ``None`` values are left out (absent).
            tenant: the owning tenant.
            entity: the entity type name.
            record_id: the record's id.
            subject_id: the data subject (see :meth:`encrypt_bytes`).
            text: a text token (default) or the binary envelope.

        Returns:
            The token, or ``None`` when every value is ``None``.

        Raises:
            ValidationError: a value's type cannot be encrypted.
            ConfigurationError: empty tenant or entity, or a bad field name.
            KeyUnavailable: the key provider could not supply a key.
        """
        typed: list[bytes] = []
        append = typed.append
        for value in values.values():
            if type(value) is str:
                append(_STR_TAG + value.encode())
                continue
            encoder = _BY_TYPE.get(type(value))
            if encoder is None:  # None, a subclass, or a type no envelope carries
                key, typed = self._typed_slow(values, entity, record_id)
                break
            append(encoder(value))
        else:
            key = tuple(values)
        if not key:
            return None
        try:
            directory, lengths = self._dirs_out[key]
        except KeyError:
            directory, lengths = self._directory(key)
        plain = directory + lengths.pack(*map(len, typed)) + b"".join(typed)
        t = tenant if type(tenant) is str else _tenant_text(tenant)
        try:
            prefix = self._record_prefixes[t, entity]
        except KeyError:
            prefix = self._record_prefix(t, entity)
        if subject_id is None or not self._subject_keys:
            try:
                header, aead = self._current[t]
            except KeyError:
                header, aead = self._keyring._current_key(t)
        else:
            header, aead = self._keyring._subject_key(t, subject_id)
        nonce = _urandom(NONCE_SIZE)
        # the record id ends the binding: every part before it is length-prefixed
        aad = header + prefix + (record_id if type(record_id) is str else str(record_id)).encode()
        data = header + nonce + aead.encrypt(nonce, plain, aad)
        return to_text(data) if text else data

    def decrypt_record(
        self,
        token: Token | None,
        *,
        tenant: object,
        entity: str,
        record_id: object,
    ) -> dict[str, FieldValue]:
        """Open a record envelope made by :meth:`encrypt_record` for this record.

        Args:
            token: the stored text or bytes; ``None`` gives ``{}``.
            tenant: the tenant the record belongs to.
            entity: the entity type name.
            record_id: the record id.

        Returns:
            ``{field: value}`` for every non-``None`` value sealed, in the order
            they were given, each with its original type.

        Raises:
            DecryptionError: malformed or truncated token, unknown, retired or
                shredded key (its ``KeyUnavailable`` is the ``__cause__``),
                tampering, or another record's envelope. ``field`` is unset:
                the envelope is opened as a whole.
        """
        if token is None:
            return {}
        data = token if type(token) is bytes else self._token_bytes(token, entity, record_id, None)
        t = tenant if type(tenant) is str else _tenant_text(tenant)
        try:
            hend = 3 + data[2]
            header = data[:hend]
            aead = self._by_header[t, header]
        except (IndexError, KeyError):
            header, aead = self._open_slow(data, t, entity, record_id, None)
            hend = len(header)
        try:
            prefix = self._record_prefixes[t, entity]
        except KeyError:
            prefix = self._record_prefix(t, entity)
        aad = header + prefix + (record_id if type(record_id) is str else str(record_id)).encode()
        try:
            # a token too short for its nonce and tag fails here too (the header was cached)
            plain = aead.decrypt(data[hend : hend + NONCE_SIZE], data[hend + NONCE_SIZE :], aad)
        except (InvalidTag, ValueError):
            reason = "token is truncated" if len(data) < hend + _TAIL else _AUTH_FAILED
            raise self._fail(entity, record_id, None, reason) from None
        try:
            at = 2 + (plain[0] << 8 | plain[1])
            body = plain[2:at]
            try:
                names, lengths = self._dirs_in[body]
            except KeyError:
                names, lengths = self._read_directory(body)
            sizes = lengths.unpack_from(plain, at)
            at += lengths.size
            out: dict[str, FieldValue] = {}
            for name, size in zip(names, sizes):  # noqa: B905 - one size per name, by construction
                stop = at + size
                if plain[at] == 1:
                    out[name] = plain[at + 1 : stop].decode()
                else:
                    out[name] = _DECODERS[plain[at]](plain[at + 1 : stop])
                at = stop
        except (IndexError, KeyError, ValueError, ArithmeticError, StructError):
            raise self._fail(entity, record_id, None, "plaintext has an unknown format") from None
        if at != len(plain) or not out:
            raise self._fail(entity, record_id, None, "plaintext has an unknown format")
        return out

    # ------------------------------------------------------------------ rotation

    def needs_rotation(self, token: Token, *, tenant: object) -> bool:
        """Whether a token is under an older tenant data key (reads the header only).

        Tokens under a subject key are not moved by tenant key rotation: ``False``.

        Raises:
            DecryptionError: the token is not a well-formed envelope.
        """
        key_id = key_id_of(token)
        if key_id.startswith(_SUBJECT_PREFIX):
            return False
        return key_id != self._keyring.current_key_id(tenant)

    @overload
    def reencrypt(
        self,
        token: str,
        *,
        tenant: object,
        entity: str,
        record_id: object,
        field: str,
        subject_id: object | None = None,
    ) -> str: ...

    @overload
    def reencrypt(
        self,
        token: bytes | bytearray | memoryview,
        *,
        tenant: object,
        entity: str,
        record_id: object,
        field: str,
        subject_id: object | None = None,
    ) -> bytes: ...

    def reencrypt(
        self,
        token: Token,
        *,
        tenant: object,
        entity: str,
        record_id: object,
        field: str,
        subject_id: object | None = None,
    ) -> str | bytes:
        """Decrypt with whichever key made ``token`` and encrypt again under the current key.

        A token under a subject key stays under that subject key (fresh nonce),
        so re-encryption never moves a subject's data out of shredding reach.
        With ``subject_id`` given (and subject keys enabled), the value moves to
        that subject's key.

        Returns:
            A new token in the same form (text or bytes) as ``token``.

        Raises:
            DecryptionError: the token does not decrypt for this binding.
        """
        value = self.decrypt(token, tenant=tenant, entity=entity, record_id=record_id, field=field)
        assert value is not None
        key_id = key_id_of(token)
        t = _tenant_text(tenant)
        if key_id.startswith(_SUBJECT_PREFIX) and (subject_id is None or not self._subject_keys):
            header = make_header(key_id)
            try:
                aead = self._keyring._aead_for(t, header, key_id)
            except CrmError as exc:
                raise self._fail(entity, record_id, field, str(exc)) from exc
        else:
            header, aead = self._key(t, subject_id)
        nonce = _urandom(NONCE_SIZE)
        aad = header + self._prefix(t, entity) + _record_bytes(record_id) + self._field(field)
        data = header + nonce + aead.encrypt(nonce, encode_value(value), aad)
        return to_text(data) if isinstance(token, str) else data

    def __repr__(self) -> str:
        return f"FieldCipher(keyring={self._keyring!r}, subject_keys={self._subject_keys})"

    __str__ = __repr__
