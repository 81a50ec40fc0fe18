"""Wrapped key records and key stores: KeyPurpose, WrappedKey, KeyStore, InMemoryKeyStore."""

from __future__ import annotations

import base64
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

import attrs

from crmcore.crypto._envelope import (
    length_prefixed,
)
from crmcore.crypto._keys._providers import _KEY_DOMAIN
from crmcore.errors import ConfigurationError


class KeyPurpose(str, Enum):
    """What a wrapped key is for."""

    DATA = "data"
    """A tenant data key: encrypts fields; the newest generation takes new writes."""
    SUBJECT = "subject"
    """A per-subject key (one person's data); destroyed by ``Keyring.shred``."""
    INDEX = "index"
    """A tenant blind-index key; ``generation`` is the index version."""
    AUDIT = "audit"
    """A tenant audit-chain key; ``generation`` is its version (recorded in each entry hash)."""


def _wrap_aad(
    tenant: str, key_id: str, purpose: KeyPurpose, generation: int, subject_id: str | None
) -> bytes:
    return (
        _KEY_DOMAIN
        + length_prefixed(tenant.encode("utf-8"))
        + length_prefixed(key_id.encode("ascii"))
        + length_prefixed(purpose.value.encode("ascii"))
        + generation.to_bytes(8, "big", signed=True)
        + length_prefixed((subject_id or "").encode("utf-8"))
    )


@attrs.frozen
class WrappedKey:
    """One stored key: plain data, safe to persist (the key itself is wrapped by a root).

    Attributes:
        tenant: the tenant that owns the key.
        key_id: unique within the tenant; data keys start with ``d``, subject
            keys with ``s``, index keys are ``i<version>``.
        purpose: data, subject or index key.
        root_id: the root key that wrapped it.
        wrapped: the wrapped key blob (opaque; never shown in ``repr``).
        created_at: when the key was made (aware UTC).
        generation: the rotation generation (data keys) or version (index keys).
        subject_id: the subject a subject key belongs to.
    """

    tenant: str
    key_id: str
    purpose: KeyPurpose
    root_id: str
    wrapped: bytes = attrs.field(repr=False)
    created_at: datetime
    generation: int = 0
    subject_id: str | None = None

    @property
    def destroyed(self) -> bool:
        """Whether this is the tombstone of a shredded key: the record stays, the key is gone."""
        return not self.wrapped

    def aad(self) -> bytes:
        """The associated data this record's key is wrapped with (binds every field but dates)."""
        return _wrap_aad(self.tenant, self.key_id, self.purpose, self.generation, self.subject_id)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (``wrapped`` as base64, ``created_at`` as ISO 8601)."""
        return {
            "tenant": self.tenant,
            "key_id": self.key_id,
            "purpose": self.purpose.value,
            "root_id": self.root_id,
            "wrapped": base64.b64encode(self.wrapped).decode("ascii"),
            "created_at": self.created_at.isoformat(),
            "generation": self.generation,
            "subject_id": self.subject_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WrappedKey:
        """Read a record written by :meth:`to_dict`.

        Raises:
            ConfigurationError: a field is missing or has the wrong shape.
        """
        try:
            subject = data.get("subject_id")
            return cls(
                tenant=str(data["tenant"]),
                key_id=str(data["key_id"]),
                purpose=KeyPurpose(data["purpose"]),
                root_id=str(data["root_id"]),
                wrapped=base64.b64decode(data["wrapped"], validate=True),
                created_at=datetime.fromisoformat(data["created_at"]),
                generation=int(data.get("generation", 0)),
                subject_id=None if subject is None else str(subject),
            )
        except (KeyError, TypeError, ValueError) as exc:
            what = exc.args[0] if isinstance(exc, KeyError) else type(exc).__name__
            raise ConfigurationError(f"malformed wrapped key record ({what})") from None


class KeyStore(Protocol):
    """Where wrapped keys live; the storage layer implements it (a table of ``WrappedKey``).

    ``(tenant, key_id)`` is unique. Records are plain data: losing the store
    loses every key, so back it up with (but apart from) the data.
    """

    def add(self, key: WrappedKey) -> bool:
        """Insert ``key`` unless ``(tenant, key_id)`` exists; return whether it was inserted."""
        ...

    def add_many(self, keys: Sequence[WrappedKey]) -> bool:
        """Insert every key, or none of them if any ``(tenant, key_id)`` exists already.

        Returns:
            Whether they were inserted. One durable write for the lot: a bulk
            import creates one subject key per customer through this.
        """
        ...

    def replace(self, key: WrappedKey) -> None:
        """Overwrite the record with the same ``(tenant, key_id)`` (used when rewrapping)."""
        ...

    def get(self, tenant: str, key_id: str) -> WrappedKey | None:
        """The record for ``(tenant, key_id)``, or ``None``."""
        ...

    def get_many(self, tenant: str, key_ids: Collection[str]) -> dict[str, WrappedKey]:
        """The records of ``tenant`` among ``key_ids``, by key id (missing ones left out)."""
        ...

    def find(
        self, tenant: str, purpose: KeyPurpose, subject_id: str | None = None
    ) -> Sequence[WrappedKey]:
        """Every record of ``tenant`` with ``purpose``, of ``subject_id`` if given (else any).

        Only subject keys have a subject: data and index keys are found with
        ``subject_id=None``.
        """
        ...

    def find_subjects(
        self, tenant: str, subject_ids: Collection[str]
    ) -> dict[str, list[WrappedKey]]:
        """The subject keys of ``tenant`` owned by ``subject_ids``, by subject id."""
        ...

    def delete(self, tenant: str, key_id: str) -> bool:
        """Remove the record for good; return whether there was one."""
        ...

    def scan(self) -> Iterable[WrappedKey]:
        """Every record (export, rewrap)."""
        ...


class InMemoryKeyStore:
    """A :class:`KeyStore` in a dict; tests and embedders that persist via ``export``.

    Args:
        records: initial records (``WrappedKey`` or dicts from ``to_dict``).
    """

    __slots__ = ("_by_owner", "_keys", "_lock")

    def __init__(self, records: Iterable[WrappedKey | Mapping[str, Any]] = ()) -> None:
        self._keys: dict[tuple[str, str], WrappedKey] = {}
        # (tenant, purpose, subject_id) -> key ids: a lookup never scans every key
        # (there is one subject key per customer, so a tenant may hold millions)
        self._by_owner: dict[tuple[str, KeyPurpose, str | None], dict[str, WrappedKey]] = {}
        self._lock = threading.Lock()
        for rec in records:
            key = rec if isinstance(rec, WrappedKey) else WrappedKey.from_dict(rec)
            self._put(key)

    def _put(self, key: WrappedKey) -> None:
        old = self._keys.get((key.tenant, key.key_id))
        if old is not None:
            self._drop(old)
        self._keys[(key.tenant, key.key_id)] = key
        self._by_owner.setdefault((key.tenant, key.purpose, key.subject_id), {})[key.key_id] = key

    def _drop(self, key: WrappedKey) -> None:
        owned = self._by_owner.get((key.tenant, key.purpose, key.subject_id))
        if owned is not None:
            owned.pop(key.key_id, None)
            if not owned:
                del self._by_owner[(key.tenant, key.purpose, key.subject_id)]

    def add(self, key: WrappedKey) -> bool:
        """Insert ``key`` unless ``(tenant, key_id)`` exists; return whether it was inserted."""
        with self._lock:
            if (key.tenant, key.key_id) in self._keys:
                return False
            self._put(key)
            return True

    def add_many(self, keys: Sequence[WrappedKey]) -> bool:
        """Insert every key, or none if any ``(tenant, key_id)`` exists (or repeats)."""
        with self._lock:
            ids = {(k.tenant, k.key_id) for k in keys}
            if len(ids) != len(keys) or any(i in self._keys for i in ids):
                return False
            for key in keys:
                self._put(key)
            return True

    def replace(self, key: WrappedKey) -> None:
        """Overwrite the record with the same ``(tenant, key_id)``."""
        with self._lock:
            self._put(key)

    def get(self, tenant: str, key_id: str) -> WrappedKey | None:
        """The record for ``(tenant, key_id)``, or ``None``."""
        return self._keys.get((tenant, key_id))

    def get_many(self, tenant: str, key_ids: Collection[str]) -> dict[str, WrappedKey]:
        """The records of ``tenant`` among ``key_ids``, by key id."""
        keys = self._keys
        return {k: rec for k in key_ids if (rec := keys.get((tenant, k))) is not None}

    def find_subjects(
        self, tenant: str, subject_ids: Collection[str]
    ) -> dict[str, list[WrappedKey]]:
        """The subject keys of ``tenant`` owned by ``subject_ids``, by subject."""
        with self._lock:
            owners = self._by_owner
            found: dict[str, list[WrappedKey]] = {}
            for subject in subject_ids:
                owned = owners.get((tenant, KeyPurpose.SUBJECT, subject))
                if owned:
                    found[subject] = list(owned.values())
            return found

    def find(
        self, tenant: str, purpose: KeyPurpose, subject_id: str | None = None
    ) -> list[WrappedKey]:
        """Every record of ``tenant`` with ``purpose`` (and ``subject_id`` if given)."""
        with self._lock:
            if subject_id is not None or purpose is not KeyPurpose.SUBJECT:
                return list(self._by_owner.get((tenant, purpose, subject_id), {}).values())
            return [
                k
                for (t, p, _), owned in self._by_owner.items()
                if t == tenant and p is purpose
                for k in owned.values()
            ]

    def delete(self, tenant: str, key_id: str) -> bool:
        """Remove the record for good; return whether there was one."""
        with self._lock:
            key = self._keys.pop((tenant, key_id), None)
            if key is None:
                return False
            self._drop(key)
            return True

    def scan(self) -> list[WrappedKey]:
        """Every record."""
        with self._lock:
            return list(self._keys.values())

    def export(self) -> list[dict[str, Any]]:
        """Every record as plain data (see :meth:`WrappedKey.to_dict`)."""
        return [k.to_dict() for k in self.scan()]

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"InMemoryKeyStore(keys={len(self._keys)})"
