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

from crmcore.errors import DecryptionError
from crmcore.model import ENTITY_TYPES, Entity, map_value_copies, value_copies
from crmcore.query import Filter, OrderSpec, Page
from crmcore.storage.ports import ForwardingRepository, Repository

if TYPE_CHECKING:
    from crmcore.crypto._layer import Encryption

__all__ = ["SEALED_COPY", "CopySealingRepository"]

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
        values = {f: copy[f] for f in spec.encrypted if copy.get(f) is not None}
        if not values:
            return copy
        about = _about_id(record, copy)
        kind = ENTITY_TYPES.get(entity)
        subject = about if kind is not None and enc.keys_per_subject(kind) else None
        token = enc.cipher.encrypt_record(
            values,
            tenant=record.tenant_id,
            entity=entity,
            record_id=about,
            subject_id=subject,
        )
        out = dict(copy)
        out.update(dict.fromkeys(values))
        out[SEALED_COPY] = token
        return out

    return map_value_copies(record, seal)  # type: ignore[no-any-return]


def open_copies(enc: Encryption, record: E) -> E:
    """``record`` with the sealed copies opened (fields of a shredded subject stay ``None``).

    Raises:
        DecryptionError: an envelope was tampered with, moved, or cannot be opened.
    """
    from crmcore.crypto._layer import _shredded

    def open_(entity: str, shape: str, copy: Mapping[str, Any]) -> Mapping[str, Any]:
        token = copy.get(SEALED_COPY)
        if shape != "data" or token is None:
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
        out = {k: v for k, v in copy.items() if k != SEALED_COPY}
        out.update(values)
        return out

    return map_value_copies(record, open_)  # type: ignore[no-any-return]


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
