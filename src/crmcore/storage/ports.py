"""The storage ports: what every adapter (and every layer around one) provides.

An adapter stores plain records: it knows the model and :mod:`crmcore.query`,
nothing of tenants, policies or keys; the session's layers add those. Every
adapter passes the same contract suite (``tests/contract``), so memory and SQL
give the same answers to the same calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar, runtime_checkable

from crmcore.model import Entity
from crmcore.query import Filter, OrderSpec, Page

__all__ = ["ForwardingRepository", "Repository", "Store", "UnitOfWork"]

E = TypeVar("E", bound=Entity)


@runtime_checkable
class Repository(Protocol[E]):
    """All records of one aggregate type, seen through one unit of work."""

    entity_type: type[E]

    def add(self, entity: E) -> E:
        """Store a new record and return it as stored.

        Raises:
            AlreadyExists: a record with that id is stored.
        """
        ...

    def add_many(self, entities: Iterable[E]) -> list[E]:
        """Store many new records at once (batched by the adapter); all or nothing.

        Raises:
            AlreadyExists: an id is taken; adapters that stage writes may only
                find out at commit, which then writes nothing.
        """
        ...

    def get(self, id: uuid.UUID) -> E:
        """The record with that id.

        Raises:
            NotFound: no such record.
        """
        ...

    def get_many(self, ids: Iterable[uuid.UUID]) -> list[E]:
        """The records with those ids that exist, in the order asked."""
        ...

    def update(self, entity: E) -> E:
        """Replace a record if its stored version equals ``entity.version``.

        Returns:
            The stored record, its version incremented.

        Raises:
            Conflict: the stored version differs or the record is gone.
        """
        ...

    def delete(self, id: uuid.UUID, *, expected_version: int | None = None) -> None:
        """Remove a record for good (soft deletes are updates of ``deleted_at``).

        Raises:
            NotFound: no such record.
            Conflict: ``expected_version`` is given and differs.
        """
        ...

    def find(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[E]:
        """Records matching ``where`` in ``order_by`` order (ties by id), one page.

        ``after`` is the ``next_cursor`` of the previous page.
        """
        ...

    def count(self, where: Filter | None = None) -> int:
        """How many records match ``where``."""
        ...

    def stream(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        batch_size: int = 1000,
    ) -> Iterator[E]:
        """Every matching record, fetched ``batch_size`` at a time (never all at once)."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository: commit whole or not at all."""

    def repository(self, entity_type: type[E]) -> Repository[E]:
        """The repository of ``entity_type`` inside this unit of work."""
        ...

    def commit(self) -> None:
        """Make every change of this unit of work durable and visible, or none.

        Raises:
            Conflict: a concurrent change won; nothing of this unit was written.
        """
        ...

    def rollback(self) -> None:
        """Discard every change of this unit of work."""
        ...

    def close(self) -> None:
        """Release resources; an uncommitted unit of work is rolled back."""
        ...


class Store(Protocol):
    """A storage backend: hands out units of work."""

    url: str

    def begin(self) -> UnitOfWork:
        """Start a unit of work."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


class ForwardingRepository(Repository[E]):
    """A layer that passes every call to ``inner``; subclasses override what they change.

    The session's layers (guard, audit, encryption) wrap a repository the same
    way; starting from this base, a layer states only the calls it alters.
    """

    def __init__(self, inner: Repository[E]) -> None:
        self._inner = inner
        self.entity_type = inner.entity_type

    def add(self, entity: E) -> E:
        return self._inner.add(entity)

    def add_many(self, entities: Iterable[E]) -> list[E]:
        return self._inner.add_many(entities)

    def get(self, id: uuid.UUID) -> E:
        return self._inner.get(id)

    def get_many(self, ids: Iterable[uuid.UUID]) -> list[E]:
        return self._inner.get_many(ids)

    def update(self, entity: E) -> E:
        return self._inner.update(entity)

    def delete(self, id: uuid.UUID, *, expected_version: int | None = None) -> None:
        self._inner.delete(id, expected_version=expected_version)

    def find(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[E]:
        return self._inner.find(where, order_by=order_by, limit=limit, after=after)

    def count(self, where: Filter | None = None) -> int:
        return self._inner.count(where)

    def stream(
        self, where: Filter | None = None, *, order_by: OrderSpec = None, batch_size: int = 1000
    ) -> Iterator[E]:
        return self._inner.stream(where, order_by=order_by, batch_size=batch_size)
