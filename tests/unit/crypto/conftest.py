"""Shared fixtures for the crypto tests: a fixed root key, a keyring, a cipher, an indexer."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from crmcore.crypto import BlindIndexer, FieldCipher, Keyring, StaticKeyProvider

ROOT_KEY = bytes(range(32))


def _secret_forms(key: bytes) -> list[str]:
    return [
        key.decode("latin-1"),
        key.hex(),
        base64.b64encode(key).decode().rstrip("="),
        base64.urlsafe_b64encode(key).decode().rstrip("="),
        repr(key),
    ]


@pytest.fixture
def root_key() -> bytes:
    return ROOT_KEY


@pytest.fixture
def secret_forms() -> Callable[[bytes], list[str]]:
    """The ways a key could leak into text: raw, hex, base64 (both alphabets), repr."""
    return _secret_forms


@pytest.fixture
def provider() -> StaticKeyProvider:
    return StaticKeyProvider(ROOT_KEY)


@pytest.fixture
def keyring(provider: StaticKeyProvider) -> Keyring:
    return Keyring(provider)


@pytest.fixture
def cipher(keyring: Keyring) -> FieldCipher:
    return FieldCipher(keyring)


@pytest.fixture
def indexer(keyring: Keyring) -> BlindIndexer:
    return BlindIndexer(keyring)
