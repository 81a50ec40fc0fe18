"""Field-level encryption: keyring and key providers, field cipher, blind indexes.

Importing this package imports ``cryptography``; ``import crmcore`` does not.
:class:`SqlKeyStore` (wrapped keys in a SQL table) loads SQLAlchemy on first use.
See docs/encryption.md for the formats, the key hierarchy and the trade-offs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmcore.crypto._blind import BlindIndexer, Normalizer
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
    "Normalizer",
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


def __getattr__(name: str) -> Any:
    """Import :class:`SqlKeyStore` on first use (it needs SQLAlchemy; the rest does not)."""
    if name == "SqlKeyStore":
        from crmcore.crypto._sqlstore import SqlKeyStore

        return SqlKeyStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
