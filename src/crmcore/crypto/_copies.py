"""Copies of protected values in bookkeeping rows, sealed like the records (issue #13).

A merge journal copies whole records; a transition row may snapshot fields.
For entity types declaring ``__crm_copies__`` (:class:`crmcore.model.ValueCopies`),
the encryption layer seals the protected fields of every ``data`` copy of a
protected entity into one envelope stored in the copy under :data:`SEALED_COPY`
(the fields themselves stored as ``None``), bound to the tenant, the entity
and the copied record, under the copied subject's key where there is one: so
a shredded subject is erased from journals too. Reading through the layer
opens them again; :func:`crmcore.services.unmerge` restores exactly.

Audit ``changes`` are not sealed here: the audit layer redacts encrypted
fields before they are written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from crmcore.crypto._packed import collection_fields, held, pack_data, unpack_data
from crmcore.errors import DecryptionError
from crmcore.model import ENTITY_TYPES, Entity, map_value_copies, value_copies
from crmcore.query import Filter, OrderSpec, Page
from crmcore.storage.ports import ForwardingRepository, Repository

if TYPE_CHECKING:
    from crmcore.crypto._layer import Encryption

__all__ = ["SEALED_COPY", "CopySealingRepository", "copies_stale", "open_copies", "seal_copies"]

E = TypeVar("E", bound=Entity)

#: the key of a copy holding the envelope of its protected fields
SEALED_COPY = "__sealed__"


def _about_id(record: Entity, copy: Mapping[str, Any]) -> str:
    spec = value_copies(type(record))
    own = copy.get("id")
    if own is not None:
        return str(own)
    assert spec is not None
    return str(getattr(record, spec.record))


def seal_copies(enc: Encryption, record: E) -> E:
    """``record`` with the protected values of its copies sealed."""

    def seal(entity: str, shape: str, copy: Mapping[str, Any]) -> Mapping[str, Any]:
        spec = enc.protection.get(entity)
        if shape != "data" or spec is None or not spec.encrypted or SEALED_COPY in copy:
            return copy
        values = {f: copy[f] for f in spec.encrypted if held(copy.get(f))}
        if not values:
            return copy
        about = _about_id(record, copy)
        kind = ENTITY_TYPES.get(entity)
        lists = collection_fields(kind) if kind is not None else {}
        cleared: dict[str, Any] = {f: [] if f in lists else None for f in values}
        for f in lists.keys() & values.keys():  # emails, phones: JSON text in the envelope
            values[f] = pack_data(values[f])
        subject = about if kind is not None and enc.keys_per_subject(kind) else None
        token = enc.cipher.encrypt_record(
            values,
            tenant=record.tenant_id,
            entity=entity,
            record_id=about,
            subject_id=subject,
        )
        out = dict(copy)
        out.update(cleared)
        out[SEALED_COPY] = token
        return out

    return map_value_copies(record, seal)  # type: ignore[no-any-return]


def open_copies(enc: Encryption, record: E, *, migrating: bool | None = None) -> E:
    """``record`` with the sealed copies opened (fields of a shredded subject stay ``None``).

    Protected values are read from the envelope only, as for records: a copy
    holding a protected field in plaintext (beside its envelope, or without
    one) is refused unless ``migrating`` (default: ``enc.migrating``), which
    reads journals written before sealing as they are.

    Raises:
        DecryptionError: an envelope was tampered with, moved, or cannot be
            opened, or a protected value is stored in plaintext in a copy.
    """
    from crmcore.crypto._layer import _PLAINTEXT, _shredded

    allow = enc.migrating if migrating is None else migrating

    def refuse(entity: str, about: str, fields: Iterable[str], reason: str) -> DecryptionError:
        return DecryptionError(
            entity=type(record).entity_name(),
            id=record.id,
            field=f"copy of {entity} {about}: {', '.join(sorted(fields))}",
            reason=reason,
        )

    def open_(entity: str, shape: str, copy: Mapping[str, Any]) -> Mapping[str, Any]:
        if shape != "data":
            return copy
        token = copy.get(SEALED_COPY)
        spec = enc.protection.get(entity)
        plain = [f for f in spec.encrypted if held(copy.get(f))] if spec is not None else []
        if token is None:
            if plain and not allow:
                raise refuse(entity, _about_id(record, copy), plain, _PLAINTEXT)
            return copy
        about = _about_id(record, copy)
        try:
            values: Mapping[str, Any] = enc.cipher.decrypt_record(
                token, tenant=record.tenant_id, entity=entity, record_id=about
            )
        except DecryptionError as exc:
            if not _shredded(token, exc):
                raise DecryptionError(
                    entity=type(record).entity_name(),
                    id=record.id,
                    field=f"copy of {entity} {about}",
                    reason=exc.reason,
                ) from exc.__cause__
            values = {}
        beside = [f for f in plain if f in values or not allow]
        if beside:
            raise refuse(entity, about, beside, _PLAINTEXT)
        kind = ENTITY_TYPES.get(entity)
        lists = collection_fields(kind) if kind is not None else {}
        opened = dict(values)
        for f in lists.keys() & opened.keys():
            try:
                opened[f] = unpack_data(opened[f])
            except ValueError as exc:
                raise refuse(entity, about, [f], "the sealed value is not a valid list") from exc
        out = {k: v for k, v in copy.items() if k != SEALED_COPY}
        out.update(opened)
        return out

    return map_value_copies(record, open_)  # type: ignore[no-any-return]


def copies_stale(enc: Encryption, record: Entity) -> bool:
    """Whether a bookkeeping row holds a protected value in plaintext or under an old key.

    Such rows (journals written before encryption was on, or before a field
    was protected; copies sealed with a retired data key) are what
    :func:`crmcore.services.reencrypt_all` rewrites.
    """
    found: list[bool] = []

    def check(entity: str, shape: str, copy: Mapping[str, Any]) -> Mapping[str, Any]:
        spec = enc.protection.get(entity)
        if shape != "data" or spec is None or not spec.encrypted:
            return copy
        token = copy.get(SEALED_COPY)
        if any(held(copy.get(f)) for f in spec.encrypted) or (
            isinstance(token, str) and enc.cipher.needs_rotation(token, tenant=record.tenant_id)
        ):
            found.append(True)
        return copy

    map_value_copies(record, check)
    return bool(found)


class CopySealingRepository(ForwardingRepository[E]):
    """Seals copies of protected values on the way down, opens them on the way up."""

    def __init__(self, inner: Repository[E], encryption: Encryption) -> None:
        super().__init__(inner)
        self._enc = encryption

    def _seal(self, record: E) -> E:
        return seal_copies(self._enc, record)

    def _open(self, record: E) -> E:
        return open_copies(self._enc, record)

    def add(self, entity: E) -> E:
        return self._open(self._inner.add(self._seal(entity)))

    def add_many(self, entities: Iterable[E]) -> list[E]:
        return [self._open(r) for r in self._inner.add_many([self._seal(e) for e in entities])]

    def update(self, entity: E) -> E:
        return self._open(self._inner.update(self._seal(entity)))

    def get(self, id: uuid.UUID) -> E:
        return self._open(self._inner.get(id))

    def get_many(self, ids: Iterable[uuid.UUID]) -> list[E]:
        return [self._open(r) for r in self._inner.get_many(ids)]

    def find(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[E]:
        page = self._inner.find(where, order_by=order_by, limit=limit, after=after)
        return Page(tuple(self._open(r) for r in page.items), page.next_cursor)

    def stream(
        self, where: Filter | None = None, *, order_by: OrderSpec = None, batch_size: int = 1000
    ) -> Iterator[E]:
        for r in self._inner.stream(where, order_by=order_by, batch_size=batch_size):
            yield self._open(r)
