"""The storage ports: what every adapter (and every layer around one) provides.

An adapter stores plain records: it knows the model and :mod:`crmcore.query`,
nothing of tenants, policies or keys; the session's layers add those. Every
adapter passes the same contract suite (:mod:`crmcore.testing.contract`), so
memory and SQL give the same answers to the same calls.

:class:`UnitOfWorkContext` is what the layers (policy guard, audit,
encryption) and the use cases (:mod:`crmcore.services`) see of a unit of work:
who acts in which tenant, the clock, commit hooks and the repositories. The
facade's ``Session`` implements it; nothing below the facade imports the facade.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from crmcore.errors import CrmError
from crmcore.model import Entity, Principal
from crmcore.query import Filter, Page
from crmcore.query.adapter import OrderSpec
from crmcore.storage.aggregate import GroupKey, Measure, aggregate_records, plan_aggregate

__all__ = [
    "UNSEEN_VALUES",
    "Authorizer",
    "CommitErrorHook",
    "ForwardingRepository",
    "Layer",
    "Repository",
    "ScopedRepository",
    "Store",
    "UnitOfWork",
    "UnitOfWorkContext",
    "UnseenValues",
]

E = TypeVar("E", bound=Entity)
S = TypeVar("S")


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

    def aggregate(
        self,
        where: Filter | None = None,
        *,
        group_by: Sequence[GroupKey] = (),
        measures: Mapping[str, Measure],
    ) -> list[dict[str, Any]]:
        """Group the records matching ``where`` and measure each group.

        Group keys and measures are those of :mod:`crmcore.storage.aggregate`.

        Returns one dict per group (its keys, then the measures), sorted by the
        group keys with missing values first; one row when ``group_by`` is empty.
        Adapters push it into the engine; this default (for an adapter that
        subclasses the protocol) computes it over :meth:`stream`.

        Raises:
            QueryError: an unknown or non-scalar field, a sum of text...
        """
        plan = plan_aggregate(self.entity_type, group_by, measures)
        return aggregate_records(self.stream(where), plan)


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

    def aggregate(
        self,
        where: Filter | None = None,
        *,
        group_by: Sequence[GroupKey] = (),
        measures: Mapping[str, Measure],
    ) -> list[dict[str, Any]]:
        return self._inner.aggregate(where, group_by=group_by, measures=measures)


class ScopedRepository(Protocol[E]):
    """The repository a unit of work hands out: one tenant's records, soft deletes, equalities.

    What an application holds as ``session.customers``: every read is confined
    to the unit's tenant and hides soft-deleted records unless asked; writes
    are stamped (tenant, times, version) and validated.
    """

    entity_type: type[E]

    def add(self, entity: E) -> E:
        """Store a new record and return it as stored."""
        ...

    def add_many(self, entities: Iterable[E]) -> list[E]:
        """Store many new records; if any is invalid, none is written."""
        ...

    def update(self, entity: E) -> E:
        """Store a changed record; its ``version`` must be the stored one."""
        ...

    def delete(
        self, id: uuid.UUID, *, hard: bool = False, expected_version: int | None = None
    ) -> None:
        """Delete a record: soft by default, for good with ``hard``."""
        ...

    def restore(self, id: uuid.UUID) -> E:
        """Undo a soft delete."""
        ...

    def get(self, id: uuid.UUID | str, *, include_deleted: bool = False) -> E:
        """The record with that id (NotFound outside the tenant or soft-deleted)."""
        ...

    def get_many(self, ids: Iterable[uuid.UUID], *, include_deleted: bool = False) -> list[E]:
        """The records among ``ids`` that exist in the tenant, in the order asked."""
        ...

    def find(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        limit: int | None = None,
        after: str | None = None,
        include_deleted: bool = False,
        **equals: Any,
    ) -> Page[E]:
        """One page of records matching a filter and/or ``field=value`` equalities."""
        ...

    def first(
        self, where: Filter | None = None, *, order_by: OrderSpec = None, **equals: Any
    ) -> E | None:
        """The first matching record, or None."""
        ...

    def count(
        self, where: Filter | None = None, *, include_deleted: bool = False, **equals: Any
    ) -> int:
        """How many records match."""
        ...

    def stream(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        batch_size: int = 1000,
        include_deleted: bool = False,
        **equals: Any,
    ) -> Iterator[E]:
        """Every matching record, fetched ``batch_size`` at a time."""
        ...

    def aggregate(
        self,
        where: Filter | None = None,
        *,
        group_by: Sequence[GroupKey] = (),
        measures: Mapping[str, Measure],
        include_deleted: bool = False,
        **equals: Any,
    ) -> list[dict[str, Any]]:
        """Groups of matching records with their measures, computed by the engine."""
        ...


#: decides whether a principal may do an action on a record; raises PermissionDenied if not
Authorizer = Callable[[Principal, str, Entity, Mapping[str, Any]], None]
#: the session extension (a dict: entity type -> :class:`UnseenValues`) where the
#: policy guard offers the values a principal cannot see (issue #13)
UNSEEN_VALUES = "crmcore.unseen_values"


class UnseenValues(Protocol[E]):
    """What the policy guard offers the session and use cases about values a principal cannot see.

    A masked or hidden value is never replaced by its mask: the session puts
    the stored value back before validation (:meth:`restore`), and use cases
    that the policy authorised as a whole (merge, unmerge) work on the stored
    values (:meth:`stored`), write them back under :meth:`granted` and show the
    principal only :meth:`shown`.
    """

    def restore(self, entity: E) -> tuple[E, Mapping[str, Any]]:
        """``entity`` with every masked or hidden value it carries unchanged set to the stored one.

        Returns the record and the whole fields put back (to keep after
        validation normalised the rest).

        Raises:
            PermissionDenied: the principal may not update the record, or
                changed a value it cannot write.
        """
        ...

    def stored(self, id: uuid.UUID) -> E:
        """The record as stored (below the guard); for use cases already authorised."""
        ...

    def shown(self, record: E) -> E:
        """``record`` as the principal may see it."""
        ...

    def granted(self) -> Any:
        """A context manager: inside it, updates skip the field-level write check.

        For a use case authorised as a whole (``merge``): the fields it
        changes follow its own rules (survivorship), not the principal's
        field levels. Row-level checks still apply.
        """
        ...


#: turns an error raised at commit into the error the caller should see (or None: keep it)
CommitErrorHook = Callable[[CrmError], "CrmError | None"]


class UnitOfWorkContext(Protocol):
    """One unit of work as the layers and use cases see it (the facade's Session is one).

    Everything a concern needs and nothing more: who acts in which tenant,
    the clock, a correlation id, hooks around commit, and the repositories,
    either layered (what an application sees) or the adapter's own below
    every layer (an explicit bypass for bookkeeping written by a layer or a
    use case that has already been authorised).
    """

    @property
    def tenant_id(self) -> str:
        """The tenant every read and write of this unit is confined to."""
        ...

    @property
    def principal(self) -> Principal:
        """Who acts."""
        ...

    @property
    def correlation_id(self) -> str:
        """An id tying this unit's audit entries and events to one request or job."""
        ...

    @property
    def context(self) -> Mapping[str, Any]:
        """Facts policy conditions may read (``context.hour``...)."""
        ...

    @property
    def machines(self) -> Mapping[type[Entity], Any]:
        """Per entity type, the lifecycle machine configured for it (empty: the built-in ones)."""
        ...

    def now(self) -> _dt.datetime:
        """The current aware UTC time from the configured clock."""
        ...

    def repo(self, entity_type: type[E]) -> ScopedRepository[E]:
        """The layered repository of ``entity_type`` (tenant scope, policy, audit, encryption)."""
        ...

    def inner(self, entity_type: type[E]) -> Repository[E]:
        """The adapter's repository of ``entity_type``, below every layer.

        It bypasses tenant scope, validation, policy, audit and encryption:
        for a layer's own bookkeeping and for use cases writing what they
        have already authorised (history rows, journals).
        """
        ...

    def authorize(self, action: str, record: Entity) -> None:
        """Raise PermissionDenied unless the principal may do ``action`` on ``record``.

        For actions that are more than a repository call
        (``transition:<event>``, ``merge``, ``shred``); the policy decides.
        """
        ...

    def can(self, action: str, record: Entity) -> bool:
        """Whether :meth:`authorize` would let ``action`` on ``record`` through."""
        ...

    def field_view(self, entity: str) -> Callable[[Mapping[str, Any]], Mapping[str, Any]]:
        """A function showing ``{field: value}`` of ``entity`` as the principal may read it.

        Hidden fields come back as ``None``, masked ones masked, the rest as
        they are; the identity when no policy restricts the principal. For use
        cases that show copies of record values (audit history, journals).
        """
        ...

    def extension(self, name: str, factory: Callable[[], S]) -> S:
        """Per-unit state of a layer (an auditor, a cache), made by ``factory`` on first use."""
        ...

    def before_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` just before the unit commits, inside it (its writes commit with it)."""
        ...

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once after the next successful commit."""
        ...

    def on_rollback(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` after every rollback (drop what a layer collected)."""
        ...

    def on_commit_error(self, hook: CommitErrorHook) -> None:
        """Let a layer translate an error its own writes cause at commit."""
        ...

    def commit(self) -> None:
        """Commit everything so far; the unit stays usable."""
        ...

    def rollback(self) -> None:
        """Discard everything not yet committed."""
        ...


#: wraps a repository in one concern (guard, audit, encryption) for one unit of work
Layer = Callable[[Repository[Any], UnitOfWorkContext], Repository[Any]]
