"""The keyring as the source of the audit chain's HMAC keys.

``AuditLayer(key=KeyringAuditKeys(keyring))`` chains each tenant's audit
entries with the keyring's ``audit`` key of that tenant (made on first use,
wrapped by the root like every other key, kept in the key store outside the
audited database). ``keyring.rotate_audit_key(tenant)`` starts a new version:
each entry's hash names the version that chained it (``"hmac:v2:..."``), so
``verify_trail(s, key=KeyringAuditKeys(keyring))`` checks old entries with the
old version and reports an entry chained with an older version than the one
before it.
"""

from __future__ import annotations

from crmcore.crypto._keys import Keyring

__all__ = ["KeyringAuditKeys"]


class KeyringAuditKeys:
    """Versioned per-tenant audit keys from a :class:`Keyring` (an ``AuditKeys``).

    Args:
        keyring: holds the ``audit`` keys (purpose ``KeyPurpose.AUDIT``).
    """

    __slots__ = ("keyring",)

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def current(self, tenant_id: str) -> tuple[int, bytes]:
        """``(version, key)`` new entries of ``tenant_id`` are chained with."""
        return self.keyring.audit_key(tenant_id)

    def get(self, tenant_id: str, version: int) -> bytes:
        """The key of ``version``.

        Raises:
            KeyUnavailable: no such version, or the provider cannot unwrap it.
        """
        return self.keyring.audit_key(tenant_id, version)[1]

    def __repr__(self) -> str:
        return f"KeyringAuditKeys({self.keyring!r})"
