"""Key hierarchy: root key providers, wrapped key records, key stores and the Keyring.

A *root key* never leaves its :class:`KeyProvider` (a KMS, Vault, an env var, a
file). Per-tenant *data keys*, per-subject keys (for crypto-shredding) and
per-tenant *blind-index keys* are random 256-bit keys, wrapped by the root and
kept as plain :class:`WrappedKey` records in a :class:`KeyStore`. The
:class:`Keyring` unwraps a key once and caches the ready-to-use cipher object.

No key material appears in any ``repr``, ``str`` or exception message.

One module per concept: ``_providers`` (root keys), ``_store`` (wrapped key
records and stores) and ``_keyring``.
"""

from __future__ import annotations

from crmcore.crypto._keys._keyring import Keyring
from crmcore.crypto._keys._providers import KEY_SIZE as KEY_SIZE
from crmcore.crypto._keys._providers import (
    EnvKeyProvider,
    FileKeyProvider,
    KeyProvider,
    StaticKeyProvider,
    generate_root_key,
)
from crmcore.crypto._keys._providers import root_id_of as root_id_of
from crmcore.crypto._keys._store import InMemoryKeyStore, KeyPurpose, KeyStore, WrappedKey

__all__ = [
    "EnvKeyProvider",
    "FileKeyProvider",
    "InMemoryKeyStore",
    "KeyProvider",
    "KeyPurpose",
    "KeyStore",
    "Keyring",
    "StaticKeyProvider",
    "WrappedKey",
    "generate_root_key",
]
