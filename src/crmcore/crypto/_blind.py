"""Blind indexes: keyed, truncated HMAC-SHA256 of normalised values for equality search.

Each tenant has its own blind-index key (``KeyPurpose.INDEX`` in the keyring,
random and wrapped like data keys but separate from them). From it a per
(tenant, entity, field) HMAC key is derived with HKDF-SHA256, so equal values
in two fields or two tenants index differently. An index is text:
``"v<version>:<hex>"``; lowercase hex so case-insensitive collations cannot
merge distinct indexes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from crmcore.crypto._envelope import UnsupportedValue, encode_value, length_prefixed
from crmcore.crypto._keys import Keyring
from crmcore.crypto._keys._keyring import _tenant_text
from crmcore.errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from crmcore.validation import Normalizer

__all__ = ["BlindIndexer"]

"""Turns a raw value into its canonical form (``normalize_email``...); ``None`` means no value."""

DEFAULT_SIZE: Final = 16
MIN_SIZE: Final = 4
MAX_SIZE: Final = 32
_STR_TAG: Final = b"\x01"
_MAX_CACHE: Final = 4096


class _Mac:
    """HMAC-SHA256 with the padded-key states precomputed (about 2.5x faster per value)."""

    __slots__ = ("_inner", "_outer", "prefix")

    def __init__(self, key: bytes, prefix: str) -> None:
        block = key.ljust(64, b"\x00")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self.prefix = prefix

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def __repr__(self) -> str:
        return f"_Mac(prefix={self.prefix!r})"


def _version_of(index: str) -> int | None:
    if not index.startswith("v"):
        return None
    head, sep, _ = index.partition(":")
    if not sep or not head[1:].isdigit():
        return None
    return int(head[1:])


class BlindIndexer:
    """Computes blind indexes for searchable encrypted fields.

    Leakage: equal values give equal indexes, so whoever reads the table learns
    which rows share a value (and how often), never the value itself without
    the index key. With the index key, low-entropy values (phones, birth
    dates) can be found by guessing; keep it as protected as data keys.
    Truncation to ``size`` bytes adds collisions (false positives the caller
    filters after decrypting); at 16 bytes collisions are negligible, at 4-8
    bytes they give some deniability on small tables but cost extra matches.

    Args:
        keyring: holds the per-tenant blind-index keys (pass a keyring over a
            different root to keep index keys under their own root).
        size: bytes of HMAC output kept, 4..32 (default 16); fixed per deployment.
        normalizers: ``{(entity, field): fn}`` applied before hashing; ``fn``
            returns the canonical form (or ``None`` for no value).

    Raises:
        ConfigurationError: ``size`` out of range.
    """

    __slots__ = ("_keyring", "_macs", "_normalizers", "_size")

    def __init__(
        self,
        keyring: Keyring,
        *,
        size: int = DEFAULT_SIZE,
        normalizers: Mapping[tuple[str, str], Normalizer] | None = None,
    ) -> None:
        if not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
            raise ConfigurationError(f"blind index size must be {MIN_SIZE}..{MAX_SIZE} bytes")
        self._keyring = keyring
        self._size = size
        self._normalizers = dict(normalizers or {})
        self._macs: dict[tuple[str, str, str, int], _Mac] = {}

    @property
    def size(self) -> int:
        """Bytes of HMAC output kept per index."""
        return self._size

    def _mac(self, tenant: str, entity: str, field: str, version: int) -> _Mac:
        mac = self._macs.get((tenant, entity, field, version))
        if mac is None:
            if not entity or not field:
                raise ConfigurationError("entity and field must be non-empty strings")
            info = (
                length_prefixed(tenant.encode("utf-8"))
                + length_prefixed(entity.encode("utf-8"))
                + length_prefixed(field.encode("utf-8"))
            )
            key = self._keyring._index_subkey(tenant, version, info)
            if len(self._macs) >= _MAX_CACHE:
                self._macs.clear()
            mac = _Mac(key, f"v{version}:")
            self._macs[(tenant, entity, field, version)] = mac
        return mac

    def _message(
        self, value: Any, entity: str, field: str, normalize: Normalizer | None
    ) -> bytes | None:
        fn = normalize if normalize is not None else self._normalizers.get((entity, field))
        if fn is not None:
            try:
                value = fn(value)
            except ValidationError:
                pass  # what the normaliser refuses is indexed as given: it matches itself only
        if value is None:
            return None
        if type(value) is str:
            return _STR_TAG + value.encode()
        try:
            return encode_value(value)
        except UnsupportedValue as exc:
            raise ValidationError.single(
                field, "unsupported_type", str(exc), entity=entity
            ) from None

    def index(
        self,
        value: Any,
        *,
        tenant: object,
        entity: str,
        field: str,
        version: int | None = None,
        normalize: Normalizer | None = None,
    ) -> str | None:
        """The blind index of ``value`` for a (tenant, entity, field).

        Args:
            value: the value as the caller normalised it (or raw, with a
                normaliser); any type the field cipher accepts. ``None`` gives ``None``.
            tenant: the tenant.
            entity: the entity type name.
            field: the field name.
            version: the index key version (default: the tenant's current one).
            normalize: a normaliser for this call (overrides the registered one).

        Returns:
            ``"v<version>:<2*size hex chars>"`` or ``None``.

        Raises:
            KeyUnavailable: no index key of that version.
            ValidationError: the value's type cannot be indexed.
        """
        message = self._message(value, entity, field, normalize)
        if message is None:
            return None
        t = tenant if type(tenant) is str and tenant else _tenant_text(tenant)
        v = version if version is not None else self._keyring.index_version(t)
        mac = self._mac(t, entity, field, v)
        return mac.prefix + mac.digest(message)[: self._size].hex()

    def indexes(
        self,
        value: Any,
        *,
        tenant: object,
        entity: str,
        field: str,
        normalize: Normalizer | None = None,
    ) -> tuple[str, ...]:
        """The index of ``value`` under every live key version, current first.

        Use it to search during an index key rotation: ``WHERE email_bidx IN (...)``.
        Returns ``()`` for ``None``.
        """
        message = self._message(value, entity, field, normalize)
        if message is None:
            return ()
        t = _tenant_text(tenant)
        out = []
        for v in self._keyring.search_versions(t):
            mac = self._mac(t, entity, field, v)
            out.append(mac.prefix + mac.digest(message)[: self._size].hex())
        return tuple(out)

    def canonical(self, value: Any, *, entity: str, field: str) -> bytes | None:
        """What the index of ``value`` hashes: the normalised value in its typed encoding.

        Two values have the same index (at any size, under any key) exactly
        when their canonical forms are equal, so a lookup confirms a match by
        comparing them after decrypting. ``None`` for no value.

        Raises:
            ValidationError: the value's type cannot be indexed.
        """
        return self._message(value, entity, field, None)

    def current_version(self, tenant: object) -> int:
        """The index key version new indexes of ``tenant`` use."""
        return self._keyring.index_version(tenant)

    def rotate(self, tenant: object) -> int:
        """Start a new index key version for ``tenant``; recompute stored indexes afterwards.

        Old versions keep working (for :meth:`indexes`) until
        ``Keyring.retire_index``. Recompute each row's index from its decrypted
        value with :meth:`index` (driven by ``rotate_all``), using
        :meth:`needs_reindex` to skip rows already done.

        Returns:
            The new version.
        """
        return self._keyring.rotate_index(tenant)

    @staticmethod
    def version_of(index: str) -> int:
        """The key version written in a blind index.

        Raises:
            ValidationError: not a blind index.
        """
        version = _version_of(index) if isinstance(index, str) else None
        if version is None:
            raise ValidationError.single("index", "invalid_blind_index", "not a blind index")
        return version

    def needs_reindex(self, index: str | None, *, tenant: object) -> bool:
        """Whether a stored index was made with an older key version than the current one.

        ``None`` (no value) never needs recomputing; a malformed index does.
        """
        if index is None:
            return False
        version = _version_of(index) if isinstance(index, str) else None
        return version != self._keyring.index_version(tenant)

    def __repr__(self) -> str:
        return f"BlindIndexer(size={self._size}, normalizers={len(self._normalizers)})"

    __str__ = __repr__
