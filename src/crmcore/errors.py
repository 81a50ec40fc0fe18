"""The one exception tree of crmcore.

Every error a caller can cause is a :class:`CrmError`. Leaves also subclass the
natural builtin (``NotFound`` is a ``LookupError``, ``ValidationError`` a
``ValueError``) so generic handlers keep working. Each error carries its facts
as attributes (``entity``, ``id``, ``field``, ``code``) and builds its message
from them; messages never contain the value of a sensitive field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "AlreadyExists",
    "BackupError",
    "ConfigurationError",
    "Conflict",
    "CrmError",
    "DecryptionError",
    "DeliveryError",
    "FieldError",
    "InvalidTransition",
    "KeyShredded",
    "KeyUnavailable",
    "NotFound",
    "PermissionDenied",
    "QueryError",
    "SchemaError",
    "StorageError",
    "Unauthenticated",
    "ValidationError",
]


def _subject(entity: str | None, id: object | None) -> str:
    if entity is None and id is None:
        return ""
    if id is None:
        return f"{entity}"
    return f"{entity or 'record'} {id}"


class CrmError(Exception):
    """Base of every crmcore error.

    Attributes:
        code: a short machine-readable code (``"not_found"``, ``"conflict"``...).
    """

    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class FieldError:
    """One problem with one field: where, what kind, and a readable reason.

    Args:
        path: a JSON-path-like location, ``"$.phones[1].number"`` or ``"email"``.
        code: machine-readable code such as ``"required"`` or ``"invalid_phone"``.
        message: a human-readable reason.
        value: the offending value; pass ``redact=True`` for sensitive fields and
            it is never kept.
    """

    __slots__ = ("code", "message", "path", "value")

    def __init__(
        self,
        path: str,
        code: str,
        message: str,
        value: object = None,
        *,
        redact: bool = False,
    ) -> None:
        self.path = path
        self.code = code
        self.message = message
        self.value = None if redact else value

    @property
    def field(self) -> str:
        """The top-level field name the path starts with."""
        p = self.path[2:] if self.path.startswith("$.") else self.path
        for sep in (".", "["):
            p = p.split(sep, 1)[0]
        return p

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldError):
            return NotImplemented
        return (self.path, self.code, self.message, self.value) == (
            other.path,
            other.code,
            other.message,
            other.value,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.code, self.message))

    def __repr__(self) -> str:
        return f"FieldError(path={self.path!r}, code={self.code!r}, message={self.message!r})"

    def __str__(self) -> str:
        return f"{self.message} @ {self.path}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for APIs and logs (the value only if it was not redacted)."""
        data: dict[str, Any] = {"path": self.path, "code": self.code, "message": self.message}
        if self.value is not None:
            data["value"] = self.value
        return data

    def at(self, prefix: str) -> FieldError:
        """The same error nested under ``prefix`` (``"$.phones[1]"``)."""
        inner = self.path[2:] if self.path.startswith("$.") else self.path
        joiner = "" if inner.startswith("[") else "."
        base = prefix if prefix.startswith("$") else f"$.{prefix}"
        return FieldError(f"{base}{joiner}{inner}", self.code, self.message, self.value)


class ValidationError(CrmError, ValueError):
    """Input was refused; ``errors`` lists every field problem at once."""

    code = "invalid"

    def __init__(
        self,
        errors: Iterable[FieldError],
        *,
        entity: str | None = None,
        id: object | None = None,
    ) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        self.entity = entity
        self.id = id
        subject = _subject(entity, id)
        lines = "; ".join(str(e) for e in self.errors) or "invalid input"
        super().__init__(f"{subject}: {lines}" if subject else lines)

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of every field error, in order."""
        return tuple(e.code for e in self.errors)

    @classmethod
    def single(
        cls,
        path: str,
        code: str,
        message: str,
        value: object = None,
        *,
        redact: bool = False,
        entity: str | None = None,
        id: object | None = None,
    ) -> ValidationError:
        """A validation error with exactly one field problem."""
        return cls([FieldError(path, code, message, value, redact=redact)], entity=entity, id=id)


class NotFound(CrmError, LookupError):
    """No record of that kind with that id (in this tenant)."""

    code = "not_found"

    def __init__(self, entity: str, id: object) -> None:
        self.entity = entity
        self.id = id
        super().__init__(f"{entity} {id} not found")


class AlreadyExists(CrmError, ValueError):
    """A record with the same id (or unique key) is already stored."""

    code = "already_exists"

    def __init__(self, entity: str, id: object, *, key: str = "id") -> None:
        self.entity = entity
        self.id = id
        self.key = key
        super().__init__(f"{entity} {id} already exists ({key})")


class Conflict(CrmError):
    """An update was based on a stale version: someone else changed the record."""

    code = "conflict"

    def __init__(
        self,
        entity: str,
        id: object,
        *,
        expected_version: int | None = None,
        actual_version: int | None = None,
        reason: str | None = None,
    ) -> None:
        self.entity = entity
        self.id = id
        self.expected_version = expected_version
        self.actual_version = actual_version
        detail = reason or "it was changed by someone else"
        if expected_version is not None:
            found = "deleted" if actual_version is None else f"at version {actual_version}"
            detail = f"expected version {expected_version}, found {found}"
        super().__init__(f"{entity} {id}: conflicting update ({detail})")


class PermissionDenied(CrmError, PermissionError):
    """The principal may not do this; ``reason`` says which rule or permission."""

    code = "permission_denied"

    def __init__(
        self,
        action: str,
        entity: str,
        *,
        id: object | None = None,
        field: str | None = None,
        reason: str = "not allowed",
        principal: str | None = None,
    ) -> None:
        self.action = action
        self.entity = entity
        self.id = id
        self.field = field
        self.reason = reason
        self.principal = principal
        who = f"{principal} " if principal else ""
        target = _subject(entity, id)
        where = f" field {field!r} of" if field else ""
        super().__init__(f"{who}may not {action}{where} {target}: {reason}")


class InvalidTransition(CrmError):
    """An event cannot fire from the record's current state."""

    code = "invalid_transition"

    def __init__(
        self,
        machine: str,
        state: str,
        event: str,
        allowed: Sequence[str] = (),
        *,
        entity: str | None = None,
        id: object | None = None,
        reason: str | None = None,
    ) -> None:
        self.machine = machine
        self.state = state
        self.event = event
        self.allowed = tuple(allowed)
        self.entity = entity
        self.id = id
        self.reason = reason
        subject = _subject(entity, id)
        allowed_text = ", ".join(self.allowed) if self.allowed else "none"
        why = f": {reason}" if reason else ""
        prefix = f"{subject}: " if subject else ""
        super().__init__(
            f"{prefix}{machine}: event {event!r} not allowed in state {state!r}{why}"
            f" (allowed: {allowed_text})"
        )


class DecryptionError(CrmError):
    """A ciphertext could not be opened: tampered, bound elsewhere, or key gone.

    The message names the record and field, never the value.
    """

    code = "decryption_failed"

    def __init__(
        self,
        *,
        entity: str | None = None,
        id: object | None = None,
        field: str | None = None,
        reason: str = "ciphertext could not be authenticated",
    ) -> None:
        self.entity = entity
        self.id = id
        self.field = field
        self.reason = reason
        subject = _subject(entity, id)
        where = f"field {field!r} of {subject}" if field else subject or "value"
        super().__init__(f"cannot decrypt {where}: {reason}")


class KeyUnavailable(CrmError, LookupError):
    """A key is unknown, destroyed (crypto-shredded) or its provider is missing."""

    code = "key_unavailable"

    def __init__(self, key_id: str, reason: str = "unknown key") -> None:
        self.key_id = key_id
        self.reason = reason
        super().__init__(f"key {key_id!r} unavailable: {reason}")


class KeyShredded(KeyUnavailable):
    """A key was destroyed on purpose (crypto-shredding): what it sealed is erased for good.

    Unlike a key that is merely unavailable (a provider outage, a key of another
    tenant), this is a recorded fact: the key store keeps a tombstone for it.
    """

    code = "key_shredded"

    def __init__(self, key_id: str, reason: str = "destroyed by shredding") -> None:
        super().__init__(key_id, reason)


class QueryError(CrmError, ValueError):
    """A filter, ordering or cursor is malformed or cannot run on that field."""

    code = "invalid_query"

    def __init__(self, message: str, *, field: str | None = None, entity: str | None = None):
        self.field = field
        self.entity = entity
        where = " ".join(p for p in (entity, f"field {field!r}" if field else None) if p)
        super().__init__(f"{where}: {message}" if where else message)


class SchemaError(CrmError):
    """The database schema or a custom-field schema does not fit what the code expects."""

    code = "schema"


class StorageError(CrmError):
    """The storage backend failed in a way the caller did not cause directly."""

    code = "storage"


class ConfigurationError(CrmError, ValueError):
    """crmcore was set up with arguments that cannot work (unknown URL scheme...)."""

    code = "configuration"


class BackupError(CrmError, ValueError):
    """A backup file is damaged, truncated or not a crmcore backup; nothing was restored.

    Attributes:
        member: the part of the backup that failed (``"customers.jsonl"``,
            ``"manifest.json"``), if one did.
        reason: what is wrong.
    """

    code = "backup"

    def __init__(self, reason: str, *, member: str | None = None) -> None:
        self.member = member
        self.reason = reason
        where = f" ({member})" if member else ""
        super().__init__(f"backup refused{where}: {reason}")


class Unauthenticated(CrmError, PermissionError):
    """A caller could not be identified (no credentials, or ones nobody issued).

    Unlike :class:`PermissionDenied` (a known principal may not do something),
    nobody is acting yet; the HTTP API answers 401. The message never repeats
    the credentials.
    """

    code = "unauthenticated"

    def __init__(self, reason: str = "no valid credentials") -> None:
        self.reason = reason
        super().__init__(f"not authenticated: {reason}")


class DeliveryError(CrmError):
    """An event could not be delivered (a broker refused it, a webhook answered an error).

    The relay retries it with backoff, then dead-letters it; ``event_id`` names
    the event and ``target`` where it was going.
    """

    code = "delivery_failed"

    def __init__(self, reason: str, *, event_id: object = None, target: str | None = None) -> None:
        self.reason = reason
        self.event_id = event_id
        self.target = target
        where = " ".join(p for p in (f"event {event_id}" if event_id else "", target or "") if p)
        super().__init__(f"{where}: {reason}" if where else reason)
