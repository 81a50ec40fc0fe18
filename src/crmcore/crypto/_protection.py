"""Declarations of which fields of an entity type are encrypted or searchable.

A :class:`FieldProtection` maps field names of one entity type (by name, such as
``"Customer"``) to a :class:`Protection`. The storage encryption layer reads it
to decide what to encrypt and which blind indexes to keep. Undeclared fields
are plaintext.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from types import MappingProxyType
from typing import TypeAlias

import attrs

from crmcore.errors import ConfigurationError

__all__ = ["DEFAULT_PROTECTION", "FieldProtection", "Protection"]


class Protection(str, Enum):
    """How one field is stored."""

    PLAINTEXT = "plaintext"
    """Stored as is."""
    ENCRYPTED = "encrypted"
    """Stored as ciphertext; cannot be filtered or sorted on."""
    SEARCHABLE = "searchable"
    """Stored as ciphertext plus a blind index: equality filters work, nothing else."""

    @property
    def encrypted(self) -> bool:
        """Whether the value is stored as ciphertext."""
        return self is not Protection.PLAINTEXT


_FieldsInput: TypeAlias = Mapping[str, Protection | str] | Iterable[tuple[str, Protection | str]]


def _to_fields(value: _FieldsInput) -> tuple[tuple[str, Protection], ...]:
    pairs = value.items() if isinstance(value, Mapping) else value
    out: dict[str, Protection] = {}
    for name, level in pairs:
        if not isinstance(name, str) or not name:
            raise ConfigurationError("field names in a FieldProtection must be non-empty strings")
        try:
            out[name] = Protection(level)
        except ValueError:
            allowed = ", ".join(p.value for p in Protection)
            raise ConfigurationError(
                f"field {name!r}: unknown protection {level!r} (expected one of {allowed})"
            ) from None
    return tuple(sorted(out.items()))


def _check_entity(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigurationError("FieldProtection.entity must be a non-empty entity type name")


@attrs.frozen
class FieldProtection:
    """Which fields of one entity type are plaintext, encrypted or searchable.

    Args:
        entity: the entity type name, ``"Customer"``.
        fields: ``{field: Protection}`` (or the strings ``"encrypted"``...);
            kept sorted by field name. Fields not listed are plaintext.
        subject_keys: seal each record under a key of its own (its subject
            key), so that shredding that key erases exactly that record's
            protected values (right to erasure); the built-in protection sets
            it for customers.

    Raises:
        ConfigurationError: empty names or an unknown protection.
    """

    entity: str = attrs.field(validator=_check_entity)
    fields: tuple[tuple[str, Protection], ...] = attrs.field(converter=_to_fields, factory=tuple)
    subject_keys: bool = False
    _encrypted: frozenset[str] = attrs.field(init=False, repr=False, eq=False)
    _searchable: frozenset[str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        # asked for on every record sealed and every filter rewritten: computed once
        encrypted = frozenset(name for name, level in self.fields if level.encrypted)
        searchable = frozenset(n for n, level in self.fields if level is Protection.SEARCHABLE)
        object.__setattr__(self, "_encrypted", encrypted)
        object.__setattr__(self, "_searchable", searchable)

    def of(self, field: str) -> Protection:
        """The protection of ``field`` (``PLAINTEXT`` when not declared)."""
        for name, level in self.fields:
            if name == field:
                return level
        return Protection.PLAINTEXT

    @property
    def encrypted(self) -> frozenset[str]:
        """Fields stored as ciphertext (``ENCRYPTED`` and ``SEARCHABLE``)."""
        return self._encrypted

    @property
    def searchable(self) -> frozenset[str]:
        """Fields that also keep a blind index."""
        return self._searchable

    def as_dict(self) -> dict[str, Protection]:
        """The declared fields as a plain dict."""
        return dict(self.fields)

    def with_fields(self, fields: _FieldsInput) -> FieldProtection:
        """A copy with ``fields`` added or changed (set ``PLAINTEXT`` to undo one)."""
        merged = self.as_dict()
        merged.update(dict(_to_fields(fields)))
        return FieldProtection(self.entity, merged, subject_keys=self.subject_keys)


DEFAULT_PROTECTION: Mapping[str, FieldProtection] = MappingProxyType(
    {
        "Customer": FieldProtection(
            "Customer",
            {
                "email": Protection.SEARCHABLE,
                "phone": Protection.SEARCHABLE,
                "national_id": Protection.SEARCHABLE,
                "date_of_birth": Protection.ENCRYPTED,
                # further contact points: copies of the same kind of value as email/phone
                "emails": Protection.ENCRYPTED,
                "phones": Protection.ENCRYPTED,
            },
            subject_keys=True,
        ),
    }
)
"""The built-in protection per entity type name (read-only; build your own with ``with_fields``)."""
