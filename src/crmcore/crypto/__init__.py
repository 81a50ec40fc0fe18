"""Field-level encryption: keyring and key providers, field cipher, blind indexes.

Importing this package imports ``cryptography``; ``import crmcore`` does not.
:class:`SqlKeyStore` (wrapped keys in a SQL table) loads SQLAlchemy on first use.
See docs/encryption.md for the formats, the key hierarchy and the trade-offs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmcore._lazy import lazy_exports
from crmcore.crypto._audit_keys import KeyringAuditKeys
from crmcore.crypto._blind import BlindIndexer
from crmcore.crypto._cipher import FieldCipher, Token, key_id_of
from crmcore.crypto._envelope import TEXT_PREFIX, FieldValue
from crmcore.crypto._keys import (
    EnvKeyProvider,
    FileKeyProvider,
    InMemoryKeyStore,
    KeyProvider,
    KeyPurpose,
    Keyring,
    KeyStore,
    StaticKeyProvider,
    WrappedKey,
    generate_root_key,
)
from crmcore.crypto._layer import (
    RECORD,
    EncryptingRepository,
    Encryption,
    default_normalizers,
)
from crmcore.crypto._protection import DEFAULT_PROTECTION, FieldProtection, Protection
from crmcore.crypto._rotation import RotationProgress, rotate_all

if TYPE_CHECKING:
    from crmcore.crypto._sqlstore import SqlKeyStore

__all__ = [
    "DEFAULT_PROTECTION",
    "RECORD",
    "TEXT_PREFIX",
    "BlindIndexer",
    "EncryptingRepository",
    "Encryption",
    "EnvKeyProvider",
    "FieldCipher",
    "FieldProtection",
    "FieldValue",
    "FileKeyProvider",
    "InMemoryKeyStore",
    "KeyProvider",
    "KeyPurpose",
    "KeyStore",
    "Keyring",
    "KeyringAuditKeys",
    "Protection",
    "RotationProgress",
    "SqlKeyStore",
    "StaticKeyProvider",
    "Token",
    "WrappedKey",
    "default_normalizers",
    "generate_root_key",
    "key_id_of",
    "rotate_all",
]


# SqlKeyStore needs SQLAlchemy; the rest of the package does not
__getattr__, __dir__ = lazy_exports(__name__, {"SqlKeyStore": "crmcore.crypto._sqlstore"})
