"""The Keyring: finds or makes, unwraps and caches tenant, subject and blind-index keys."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crmcore.crypto._envelope import (
    EnvelopeError,
    key_id_from_header,
    make_header,
)
from crmcore.crypto._keys._providers import (
    _DATA_PREFIX,
    _INDEX_DOMAIN,
    _INDEX_PREFIX,
    _SUBJECT_PREFIX,
    KEY_SIZE,
    KeyProvider,
    _random_id,
    _utcnow,
)
from crmcore.crypto._keys._store import (
    InMemoryKeyStore,
    KeyPurpose,
    KeyStore,
    WrappedKey,
    _wrap_aad,
)
from crmcore.errors import ConfigurationError, CrmError, KeyShredded, KeyUnavailable

_AUDIT_PREFIX = "a"
_AUDIT_DOMAIN = b"crmcore/audit-chain/v1\0"


def _tenant_text(tenant: object) -> str:
    text = tenant if type(tenant) is str else str(tenant)
    if not text:
        raise ConfigurationError("tenant id must not be empty")
    return text


class Keyring:
    """Per-tenant data keys, per-subject keys and blind-index keys, wrapped by a root.

    New writes use the tenant's current data key (the newest generation); every
    older key still decrypts until it is retired. Keys are unwrapped once and
    cached in this object: after another process rotates, retires or shreds,
    call :meth:`clear_cache` (old keys cached here keep working until then).

    Args:
        provider: holds the root key(s).
        store: where wrapped keys live (default: a new :class:`InMemoryKeyStore`).
        clock: returns aware UTC now (for ``created_at``).
        id_factory: returns the random part of new key ids (hex text).
        max_cached_keys: unwrapped data and subject keys kept in memory; past
            it the older half is forgotten (current keys stay) and unwrapped
            again when next needed.
    """

    __slots__ = (
        "_audit_current",
        "_audit_keys",
        "_by_header",
        "_clock",
        "_current",
        "_default_store",
        "_index_current",
        "_index_keys",
        "_index_live",
        "_lock",
        "_max_cached",
        "_new_id",
        "_provider",
        "_store",
        "_subjects",
    )

    def __init__(
        self,
        provider: KeyProvider,
        store: KeyStore | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        id_factory: Callable[[], str] | None = None,
        max_cached_keys: int = 10_000,
    ) -> None:
        self._provider = provider
        self._max_cached = max_cached_keys
        self._store: KeyStore = store if store is not None else InMemoryKeyStore()
        self._default_store = store is None
        self._clock = clock or _utcnow
        self._new_id = id_factory or _random_id
        self._lock = threading.RLock()
        # tenant -> (header, aead) of the current data key
        self._current: dict[str, tuple[bytes, AESGCM]] = {}
        # (tenant, envelope header) -> aead, for every key unwrapped so far
        self._by_header: dict[tuple[str, bytes], AESGCM] = {}
        # (tenant, subject) -> (header, aead) of the subject's key
        self._subjects: dict[tuple[str, str], tuple[bytes, AESGCM]] = {}
        self._index_current: dict[str, int] = {}
        self._index_live: dict[str, tuple[int, ...]] = {}
        self._audit_current: dict[str, int] = {}
        self._audit_keys: dict[tuple[str, int], bytes] = {}
        self._index_keys: dict[tuple[str, int], bytes] = {}

    # ---- construction helpers

    @classmethod
    def load(
        cls,
        provider: KeyProvider,
        records: Iterable[WrappedKey | Mapping[str, Any]],
        **kwargs: Any,
    ) -> Keyring:
        """A keyring over an in-memory store filled from :meth:`export_wrapped` output.

        Raises:
            ConfigurationError: a record is malformed.
        """
        return cls(provider, InMemoryKeyStore(records), **kwargs)

    def export_wrapped(self) -> list[dict[str, Any]]:
        """Every wrapped key as plain JSON-ready data (no key material in the clear)."""
        return [k.to_dict() for k in self._store.scan()]

    @property
    def provider(self) -> KeyProvider:
        """The root key provider."""
        return self._provider

    @property
    def store(self) -> KeyStore:
        """The key store."""
        return self._store

    @property
    def default_store(self) -> bool:
        """Whether no store was given: the keys then live in this process only.

        ``connect()`` refuses such a keyring for durable storage: data written
        under it could not be decrypted after a restart.
        """
        return self._default_store

    def clear_cache(self) -> None:
        """Forget every unwrapped key; the next use reads the store again."""
        with self._lock:
            self._current.clear()
            self._by_header.clear()
            self._subjects.clear()
            self._index_current.clear()
            self._index_live.clear()
            self._index_keys.clear()
            self._audit_current.clear()
            self._audit_keys.clear()

    # ---- internals

    def _unwrap(self, rec: WrappedKey) -> bytes:
        if rec.destroyed:
            raise KeyShredded(rec.key_id)
        try:
            raw = self._provider.unwrap(rec.root_id, rec.wrapped, rec.aad())
        except KeyUnavailable as exc:
            raise KeyUnavailable(rec.key_id, f"cannot unwrap: {exc.reason}") from exc
        except CrmError:
            raise
        except Exception as exc:
            raise KeyUnavailable(rec.key_id, f"key provider failed ({type(exc).__name__})") from exc
        if len(raw) != KEY_SIZE:
            raise KeyUnavailable(rec.key_id, "unwrapped key has the wrong size")
        return raw

    def _new_key_id(self, prefix: str) -> str:
        kid = prefix + self._new_id()
        try:
            make_header(kid)
        except EnvelopeError as exc:
            raise ConfigurationError(f"id_factory produced a bad key id: {exc}") from None
        return kid

    def _make(
        self,
        tenant: str,
        purpose: KeyPurpose,
        key_id: str,
        generation: int,
        subject_id: str | None,
    ) -> tuple[WrappedKey, bytes]:
        """A new random key and its wrapped record (not stored yet)."""
        material = os.urandom(KEY_SIZE)
        root_id = self._provider.current_root_id()
        aad = _wrap_aad(tenant, key_id, purpose, generation, subject_id)
        try:
            blob = self._provider.wrap(root_id, material, aad)
        except CrmError:
            raise
        except Exception as exc:
            raise KeyUnavailable(root_id, f"key provider failed ({type(exc).__name__})") from exc
        rec = WrappedKey(
            tenant=tenant,
            key_id=key_id,
            purpose=purpose,
            root_id=root_id,
            wrapped=blob,
            created_at=self._clock(),
            generation=generation,
            subject_id=subject_id,
        )
        return rec, material

    def _create(
        self,
        tenant: str,
        purpose: KeyPurpose,
        *,
        key_id: str | None = None,
        generation: int = 0,
        subject_id: str | None = None,
    ) -> tuple[WrappedKey, bytes] | None:
        """Make, wrap and store a new key; ``None`` if a fixed ``key_id`` was taken."""
        prefix = _SUBJECT_PREFIX if purpose is KeyPurpose.SUBJECT else _DATA_PREFIX
        for _ in range(5):
            kid = key_id if key_id is not None else self._new_key_id(prefix)
            made = self._make(tenant, purpose, kid, generation, subject_id)
            if self._store.add(made[0]):
                return made
            if key_id is not None:
                return None
        raise ConfigurationError("could not allocate a unique key id (check id_factory)")

    def _remember(self, tenant: str, key_id: str, material: bytes) -> tuple[bytes, AESGCM]:
        header = make_header(key_id)
        aead = AESGCM(material)
        if len(self._by_header) >= self._max_cached:
            self._evict_oldest()
        self._by_header[(tenant, header)] = aead
        return header, aead

    def _evict_oldest(self) -> None:
        """Forget the older half of the unwrapped keys (current keys stay in ``_current``).

        Millions of subject keys must not pile up, and the keys just made for a
        batch (``ensure_subject_keys``) must survive until the batch is sealed:
        dicts keep insertion order, so the oldest go first.
        """
        keep = self._max_cached // 2
        headers, subjects = self._by_header, self._subjects
        for old_header in list(itertools.islice(headers, max(0, len(headers) - keep))):
            del headers[old_header]
        for old_subject in list(itertools.islice(subjects, max(0, len(subjects) - keep))):
            del subjects[old_subject]

    @staticmethod
    def _newest(records: Iterable[WrappedKey]) -> WrappedKey | None:
        """A tenant's current data or index key: the highest generation."""
        return max(records, key=lambda k: (k.generation, k.key_id), default=None)

    @staticmethod
    def _oldest(records: Iterable[WrappedKey]) -> WrappedKey | None:
        """The key a subject's data goes under: its first (racing processes agree on it)."""
        live = (k for k in records if not k.destroyed)
        return min(live, key=lambda k: (k.created_at, k.key_id), default=None)

    def _current_key(self, tenant: str) -> tuple[bytes, AESGCM]:
        """(header, aead) of the tenant's current data key, creating the first one."""
        cached = self._current.get(tenant)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._current.get(tenant)
            if cached is not None:
                return cached
            newest = self._newest(self._store.find(tenant, KeyPurpose.DATA))
            if newest is None:
                made = self._create(tenant, KeyPurpose.DATA, generation=1)
                assert made is not None
                entry = self._remember(tenant, made[0].key_id, made[1])
            else:
                header = make_header(newest.key_id)
                aead = self._by_header.get((tenant, header))
                if aead is None:
                    entry = self._remember(tenant, newest.key_id, self._unwrap(newest))
                else:
                    entry = (header, aead)
            self._current[tenant] = entry
            return entry

    def _aead_for(self, tenant: str, header: bytes, key_id: str) -> AESGCM:
        """The cipher of data or subject key ``key_id`` (named by ``header``).

        Raises:
            KeyUnavailable: unknown, retired or shredded key, or unwrap failed.
        """
        aead = self._by_header.get((tenant, header))
        if aead is not None:
            return aead
        rec = self._store.get(tenant, key_id)
        if rec is None or rec.purpose is KeyPurpose.INDEX:
            raise KeyUnavailable(key_id, "unknown, retired or destroyed key")
        material = self._unwrap(rec)
        with self._lock:
            return self._remember(tenant, key_id, material)[1]

    def _subject_key(self, tenant: str, subject_id: object) -> tuple[bytes, AESGCM]:
        subject = subject_id if type(subject_id) is str else str(subject_id)
        cached = self._subjects.get((tenant, subject))
        if cached is not None:
            return cached
        with self._lock:
            cached = self._subjects.get((tenant, subject))
            if cached is not None:
                return cached
            found = self._store.find(tenant, KeyPurpose.SUBJECT, subject)
            oldest = self._oldest(found)
            if oldest is None:
                made = self._create(tenant, KeyPurpose.SUBJECT, subject_id=subject)
                assert made is not None
                entry = self._remember(tenant, made[0].key_id, made[1])
            else:
                header = make_header(oldest.key_id)
                aead = self._by_header.get((tenant, header))
                if aead is None:
                    entry = self._remember(tenant, oldest.key_id, self._unwrap(oldest))
                else:
                    entry = (header, aead)
            self._subjects[(tenant, subject)] = entry
            return entry

    def _forget(self, tenant: str, key_id: str) -> None:
        header = make_header(key_id)
        self._by_header.pop((tenant, header), None)
        current = self._current.get(tenant)
        if current is not None and current[0] == header:
            del self._current[tenant]
        for ref, (h, _) in list(self._subjects.items()):
            if ref[0] == tenant and h == header:
                self._subjects.pop(ref, None)

    # ---- data keys

    def current_key_id(self, tenant: object) -> str:
        """The id of the data key that encrypts new writes for ``tenant`` (made on first use).

        Raises:
            KeyUnavailable: the provider could not wrap or unwrap the key.
        """
        header = self._current_key(_tenant_text(tenant))[0]
        return header[3:].decode("ascii")

    def rotate(self, tenant: object) -> str:
        """Make a new data key for ``tenant`` and use it for new writes; old keys still decrypt.

        Returns:
            The new key id.

        Raises:
            KeyUnavailable: the provider could not wrap the key.
        """
        t = _tenant_text(tenant)
        with self._lock:
            newest = self._newest(self._store.find(t, KeyPurpose.DATA))
            generation = 1 if newest is None else newest.generation + 1
            made = self._create(t, KeyPurpose.DATA, generation=generation)
            assert made is not None
            self._current[t] = self._remember(t, made[0].key_id, made[1])
            return made[0].key_id

    def key_ids(self, tenant: object) -> list[str]:
        """The ids of ``tenant``'s data keys, current first."""
        found = self._store.find(_tenant_text(tenant), KeyPurpose.DATA)
        return [
            k.key_id for k in sorted(found, key=lambda k: (k.generation, k.key_id), reverse=True)
        ]

    def retire(self, tenant: object, key_id: str) -> None:
        """Destroy an old data key once nothing is encrypted under it any more.

        Raises:
            KeyUnavailable: no such data key.
            ConfigurationError: it is the current key (rotate first).
        """
        t = _tenant_text(tenant)
        with self._lock:
            rec = self._store.get(t, key_id)
            if rec is None or rec.purpose is not KeyPurpose.DATA:
                raise KeyUnavailable(key_id, "no such data key")
            if key_id == self.current_key_id(t):
                raise ConfigurationError(
                    f"key {key_id!r} is the current data key of tenant {t}; rotate first"
                )
            self._store.delete(t, key_id)
            self._forget(t, key_id)

    # ---- subject keys

    @staticmethod
    def is_subject_key_id(key_id: str) -> bool:
        """Whether a key id (see ``key_id_of``) names a subject key: their ids start with ``s``."""
        return key_id.startswith(_SUBJECT_PREFIX)

    def subject_key(self, tenant: object, subject_id: object, *, create: bool = True) -> str | None:
        """The id of the key that encrypts one subject's data (made on first use).

        Args:
            tenant: the tenant.
            subject_id: the data subject (usually the customer id).
            create: make the key if the subject has none; else return ``None``.

        Raises:
            KeyUnavailable: the provider could not wrap or unwrap the key.
        """
        t = _tenant_text(tenant)
        subject = str(subject_id)
        if not create and self._oldest(self._store.find(t, KeyPurpose.SUBJECT, subject)) is None:
            return None
        return self._subject_key(t, subject)[0][3:].decode("ascii")

    def preload(self, tenant: object, headers: Iterable[bytes]) -> int:
        """Unwrap, with one key-store lookup, the keys named by envelope headers not cached yet.

        Reading a page of customers sealed under subject keys needs a key per
        customer; looked up one at a time, that is one key-store query each.
        Headers that name no stored data or subject key are skipped: opening
        those envelopes reports the error.

        Args:
            tenant: the tenant the envelopes belong to.
            headers: envelope headers (see ``header_of``).

        Returns:
            How many keys were unwrapped (one that fails to unwrap is left to
            the decryption that needs it, which reports it).
        """
        t = _tenant_text(tenant)
        cached = self._by_header
        wanted: dict[str, bytes] = {}
        for header in headers:
            if (t, header) not in cached:
                try:
                    wanted[key_id_from_header(header)] = header
                except EnvelopeError:
                    continue
        if not wanted:
            return 0
        found = self._store.get_many(t, list(wanted))
        with self._lock:
            count = 0
            for key_id, rec in found.items():
                if rec.purpose is KeyPurpose.INDEX or (t, wanted[key_id]) in cached:
                    continue
                try:
                    material = self._unwrap(rec)
                except CrmError:
                    continue  # opening the envelope reports it, naming the record
                self._remember(t, key_id, material)
                count += 1
            return count

    def ensure_subject_keys(self, tenant: object, subject_ids: Iterable[object]) -> int:
        """Load or make the keys of many subjects at once, with one key-store write.

        A bulk import seals each new customer under a key of its own; made one
        at a time, that is one durable key-store write per customer. This finds
        the subjects' existing keys with one lookup, makes every missing key,
        stores them with one ``add_many`` and caches them all.

        Args:
            tenant: the tenant.
            subject_ids: the data subjects (usually customer ids).

        Returns:
            How many keys were made.

        Raises:
            KeyUnavailable: the provider could not wrap or unwrap a key.
        """
        t = _tenant_text(tenant)
        wanted = [
            s
            for s in dict.fromkeys(x if type(x) is str else str(x) for x in subject_ids)
            if (t, s) not in self._subjects
        ]
        if not wanted:
            return 0
        with self._lock:
            found = self._store.find_subjects(t, wanted)
            live: set[str] = set()
            for subject, records in found.items():
                oldest = self._oldest(records)
                if oldest is None:
                    continue  # only tombstones: the subject was shredded and gets a new key
                live.add(subject)
                self._subjects[(t, subject)] = self._remember(
                    t, oldest.key_id, self._unwrap(oldest)
                )
            made = [
                self._make(t, KeyPurpose.SUBJECT, self._new_key_id(_SUBJECT_PREFIX), 0, subject)
                for subject in wanted
                if subject not in live
            ]
            if not made:
                return 0
            if not self._store.add_many([rec for rec, _ in made]):
                # a key id was taken (or a store refused the batch): one at a time
                for rec, _ in made:
                    self._subject_key(t, rec.subject_id)
                return len(made)
            for rec, material in made:
                self._subjects[(t, rec.subject_id or "")] = self._remember(t, rec.key_id, material)
            return len(made)

    def shred(self, tenant: object, subject_id: object) -> int:
        """Destroy every key of a subject: their ciphertexts can never be decrypted again.

        Other processes holding the key in cache keep it until their
        :meth:`clear_cache`; backups of the key store keep it too.

        Returns:
            How many keys were destroyed (0 if the subject had none).
        """
        t = _tenant_text(tenant)
        subject = str(subject_id)
        with self._lock:
            found = [k for k in self._store.find(t, KeyPurpose.SUBJECT, subject) if not k.destroyed]
            for rec in found:
                # a tombstone, not a deletion: that the key was shredded is a recorded fact,
                # so a record sealed under it reads as erased, while a key that merely
                # cannot be reached (a provider outage, another tenant's key) is an error
                self._store.replace(attrs.evolve(rec, wrapped=b""))
                self._forget(t, rec.key_id)
            self._subjects.pop((t, subject), None)
            return len(found)

    # ---- blind-index keys

    def index_version(self, tenant: object) -> int:
        """The blind-index key version used for new indexes of ``tenant`` (made on first use)."""
        t = _tenant_text(tenant)
        version = self._index_current.get(t)
        if version is not None:
            return version
        with self._lock:
            versions = self.index_versions(t)
            if not versions:
                self._create_index_key(t, 1)
                versions = self.index_versions(t)
            self._index_current[t] = versions[0]
            return versions[0]

    def index_versions(self, tenant: object) -> list[int]:
        """Every live blind-index key version of ``tenant``, newest first (read from the store)."""
        found = self._store.find(_tenant_text(tenant), KeyPurpose.INDEX)
        return sorted((k.generation for k in found), reverse=True)

    def search_versions(self, tenant: object) -> tuple[int, ...]:
        """The versions a lookup searches: the current one first, then every other live one.

        Cached like the current version (``clear_cache`` after another process
        rotates or retires), so a lookup during a rotation costs no key-store query.
        """
        t = _tenant_text(tenant)
        live = self._index_live.get(t)
        if live is None:
            current = self.index_version(t)
            live = (current, *(v for v in self.index_versions(t) if v != current))
            self._index_live[t] = live
        return live

    def _create_index_key(self, tenant: str, version: int) -> None:
        made = self._create(
            tenant, KeyPurpose.INDEX, key_id=f"{_INDEX_PREFIX}{version}", generation=version
        )
        if made is not None:
            self._index_keys[(tenant, version)] = made[1]

    def rotate_index(self, tenant: object) -> int:
        """Make a new blind-index key version for ``tenant`` and use it for new indexes.

        Returns:
            The new version.
        """
        t = _tenant_text(tenant)
        with self._lock:
            versions = self.index_versions(t)
            version = (versions[0] if versions else 0) + 1
            self._create_index_key(t, version)
            self._index_current[t] = self.index_versions(t)[0]
            self._index_live.pop(t, None)
            return self._index_current[t]

    def retire_index(self, tenant: object, version: int) -> None:
        """Destroy an old blind-index key version once every index was recomputed.

        Raises:
            KeyUnavailable: no such version.
            ConfigurationError: it is the current version.
        """
        t = _tenant_text(tenant)
        with self._lock:
            if version not in self.index_versions(t):
                raise KeyUnavailable(f"{_INDEX_PREFIX}{version}", "no such blind-index key")
            if version == self.index_version(t):
                raise ConfigurationError(
                    f"blind-index version {version} is current for tenant {t}; rotate first"
                )
            self._store.delete(t, f"{_INDEX_PREFIX}{version}")
            self._index_keys.pop((t, version), None)
            self._index_live.pop(t, None)

    def _index_subkey(self, tenant: str, version: int, info: bytes) -> bytes:
        """An HMAC key derived (HKDF-SHA256) from the tenant's index key ``version``."""
        key = self._index_keys.get((tenant, version))
        if key is None:
            kid = f"{_INDEX_PREFIX}{version}"
            rec = self._store.get(tenant, kid)
            if rec is None or rec.purpose is not KeyPurpose.INDEX:
                raise KeyUnavailable(kid, f"no blind-index key version {version}")
            key = self._unwrap(rec)
            self._index_keys[(tenant, version)] = key
        hkdf = HKDF(
            algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=_INDEX_DOMAIN + info
        )
        return hkdf.derive(key)

    # ---- audit-chain keys

    def audit_versions(self, tenant: object) -> list[int]:
        """Every audit key version of ``tenant``, newest first (read from the store)."""
        found = self._store.find(_tenant_text(tenant), KeyPurpose.AUDIT)
        return sorted((k.generation for k in found), reverse=True)

    def audit_key(self, tenant: object, version: int | None = None) -> tuple[int, bytes]:
        """``(version, key)`` of the tenant's audit-chain HMAC key; the current one by default.

        The first call makes version 1. The key is derived (HKDF-SHA256) from a
        wrapped key of purpose ``audit``, so it is never the stored key itself.
        Old versions stay in the store, so entries written under them still verify.

        Raises:
            KeyUnavailable: no such version, or the provider cannot unwrap it.
        """
        t = _tenant_text(tenant)
        if version is None:
            version = self._audit_current.get(t)
            if version is None:
                with self._lock:
                    versions = self.audit_versions(t)
                    if not versions:
                        self._create(t, KeyPurpose.AUDIT, key_id=f"{_AUDIT_PREFIX}1", generation=1)
                        versions = self.audit_versions(t)
                    version = self._audit_current[t] = versions[0]
        key = self._audit_keys.get((t, version))
        if key is None:
            kid = f"{_AUDIT_PREFIX}{version}"
            rec = self._store.get(t, kid)
            if rec is None or rec.purpose is not KeyPurpose.AUDIT:
                raise KeyUnavailable(kid, f"no audit key version {version}")
            info = _AUDIT_DOMAIN + t.encode("utf-8")
            hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info)
            key = self._audit_keys[(t, version)] = hkdf.derive(self._unwrap(rec))
        return version, key

    def rotate_audit_key(self, tenant: object) -> int:
        """Make a new audit key version for ``tenant``; later entries are chained with it.

        Returns:
            The new version.
        """
        t = _tenant_text(tenant)
        with self._lock:
            versions = self.audit_versions(t)
            version = (versions[0] if versions else 0) + 1
            self._create(
                t, KeyPurpose.AUDIT, key_id=f"{_AUDIT_PREFIX}{version}", generation=version
            )
            self._audit_current[t] = self.audit_versions(t)[0]
            return self._audit_current[t]

    # ---- root rotation

    def rewrap(self, *, provider: KeyProvider | None = None) -> int:
        """Re-wrap every stored key under the current root (of ``provider``, if given).

        Unwraps with the keyring's provider, wraps with ``provider`` (default:
        the same provider's current root), replaces the records and switches
        the keyring to ``provider``. Ciphertexts are untouched.

        Returns:
            How many records were rewritten.

        Raises:
            KeyUnavailable: a key could not be unwrapped or wrapped.
        """
        target = provider if provider is not None else self._provider
        root_id = target.current_root_id()
        count = 0
        with self._lock:
            for rec in list(self._store.scan()):
                if rec.root_id == root_id and target is self._provider:
                    continue
                material = self._unwrap(rec)
                try:
                    blob = target.wrap(root_id, material, rec.aad())
                except CrmError:
                    raise
                except Exception as exc:
                    raise KeyUnavailable(
                        root_id, f"key provider failed ({type(exc).__name__})"
                    ) from exc
                self._store.replace(attrs.evolve(rec, root_id=root_id, wrapped=blob))
                count += 1
            self._provider = target
        return count

    def __repr__(self) -> str:
        return (
            f"Keyring(provider={self._provider!r}, store={type(self._store).__name__}, "
            f"cached_keys={len(self._by_header) + len(self._index_keys)})"
        )

    __str__ = __repr__
