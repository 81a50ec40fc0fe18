"""A third-party adapter, written from scratch here, passes ``crmcore.testing.contract``.

``DictStore`` keeps committed records in a dict of dicts; a unit of work stages
its writes (plus the version each one expects) and applies them at commit under
one lock, so a concurrent change makes the commit a Conflict and writes nothing.
It evaluates filters with the public helpers ``crmcore.query`` offers adapter
writers (``bind``, ``compile_predicate``, ``normalize_order``, cursors) and
nothing of crmcore's own adapters. This is the shape a project embedding
crmcore would follow; see docs/storage-adapter.md.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator
from functools import cmp_to_key
from typing import Any, Generic, TypeVar, cast

import attrs
import pytest

from crmcore.errors import AlreadyExists, Conflict, NotFound, QueryError
from crmcore.model import Entity
from crmcore.query import Filter, Page, bind
from crmcore.query.adapter import (
    OrderSpec,
    check_order,
    compare_keys,
    compile_predicate,
    decode_cursor,
    encode_cursor,
    normalize_order,
    sort_key_values,
)
from crmcore.storage.ports import Repository, Store, UnitOfWork
from crmcore.testing.contract import RepositoryContract

E = TypeVar("E", bound=Entity)
_GONE: Any = object()


class DictStore:
    url = "dict://"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[type[Entity], dict[uuid.UUID, Entity]] = {}

    def begin(self) -> DictUnitOfWork:
        return DictUnitOfWork(self)

    def close(self) -> None:
        self.rows.clear()


class DictUnitOfWork(UnitOfWork):
    def __init__(self, store: DictStore) -> None:
        self.store = store
        self.staged: dict[tuple[type[Entity], uuid.UUID], Any] = {}
        self.expect: dict[tuple[type[Entity], uuid.UUID], int | None] = {}

    def repository(self, entity_type: type[E]) -> DictRepository[E]:
        return DictRepository(self, entity_type)

    def visible(self, etype: type[Entity], id: uuid.UUID) -> Entity | None:
        row = self.staged.get((etype, id))
        if row is not None:
            return None if row is _GONE else cast(Entity, row)
        with self.store.lock:
            return self.store.rows.get(etype, {}).get(id)

    def stage(self, etype: type[Entity], id: uuid.UUID, row: Any, expect: int | None) -> None:
        self.expect.setdefault((etype, id), expect)
        self.staged[(etype, id)] = row

    def commit(self) -> None:
        try:
            with self.store.lock:
                for (etype, id), version in self.expect.items():
                    now = self.store.rows.get(etype, {}).get(id)
                    if version is None and now is not None:
                        raise AlreadyExists(etype.__name__, id)
                    if version is not None and (now is None or now.version != version):
                        actual = None if now is None else now.version
                        raise Conflict(
                            etype.__name__, id, expected_version=version, actual_version=actual
                        )
                for (etype, id), row in self.staged.items():
                    table = self.store.rows.setdefault(etype, {})
                    if row is _GONE:
                        table.pop(id, None)
                    else:
                        table[id] = row
        finally:
            self.rollback()

    def rollback(self) -> None:
        self.staged.clear()
        self.expect.clear()

    def close(self) -> None:
        self.rollback()


class DictRepository(Repository[E], Generic[E]):
    def __init__(self, uow: DictUnitOfWork, entity_type: type[E]) -> None:
        self.uow = uow
        self.entity_type = entity_type

    def add(self, entity: E) -> E:
        if self.uow.visible(self.entity_type, entity.id) is not None:
            raise AlreadyExists(self.entity_type.__name__, entity.id)
        self.uow.stage(self.entity_type, entity.id, entity, None)
        return entity

    def add_many(self, entities: Iterable[E]) -> list[E]:
        batch = list(entities)
        ids = [e.id for e in batch]
        for id in ids:
            if ids.count(id) > 1 or self.uow.visible(self.entity_type, id) is not None:
                raise AlreadyExists(self.entity_type.__name__, id)
        return [self.add(e) for e in batch]

    def get(self, id: uuid.UUID) -> E:
        row = self.uow.visible(self.entity_type, id)
        if row is None:
            raise NotFound(self.entity_type.__name__, id)
        return cast(E, row)

    def get_many(self, ids: Iterable[uuid.UUID]) -> list[E]:
        rows = (self.uow.visible(self.entity_type, id) for id in ids)
        return [cast(E, r) for r in rows if r is not None]

    def update(self, entity: E) -> E:
        now = self.uow.visible(self.entity_type, entity.id)
        if now is None or now.version != entity.version:
            actual = None if now is None else now.version
            raise Conflict(
                self.entity_type.__name__,
                entity.id,
                expected_version=entity.version,
                actual_version=actual,
            )
        stored = attrs.evolve(entity, version=entity.version + 1)
        self.uow.stage(self.entity_type, entity.id, stored, entity.version)
        return stored

    def delete(self, id: uuid.UUID, *, expected_version: int | None = None) -> None:
        now = self.get(id)
        if expected_version is not None and now.version != expected_version:
            raise Conflict(
                self.entity_type.__name__,
                id,
                expected_version=expected_version,
                actual_version=now.version,
            )
        self.uow.stage(self.entity_type, id, _GONE, now.version)

    def _matching(self, where: Filter | None) -> list[E]:
        keep = compile_predicate(bind(where, self.entity_type)) if where is not None else None
        with self.uow.store.lock:
            ids = set(self.uow.store.rows.get(self.entity_type, {}))
        ids |= {id for (etype, id) in self.uow.staged if etype is self.entity_type}
        rows = (self.uow.visible(self.entity_type, id) for id in ids)
        return [cast(E, r) for r in rows if r is not None and (keep is None or keep(r))]

    def find(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[E]:
        order = normalize_order(order_by)
        check_order(order, self.entity_type)
        if limit is not None and limit < 0:
            raise QueryError("limit must not be negative")
        keyed = [(sort_key_values(r, order), r) for r in self._matching(where)]
        keyed.sort(key=cmp_to_key(lambda a, b: compare_keys(a[0], b[0], order)))
        if after is not None:
            start = decode_cursor(after, order)
            keyed = [kr for kr in keyed if compare_keys(kr[0], start, order) > 0]
        page = keyed if limit is None else keyed[:limit]
        more = limit is not None and len(keyed) > limit and limit > 0
        cursor = encode_cursor(order, page[-1][0]) if more and page else None
        return Page([r for _, r in page], cursor)

    def count(self, where: Filter | None = None) -> int:
        return len(self._matching(where))

    def stream(
        self, where: Filter | None = None, *, order_by: OrderSpec = None, batch_size: int = 1000
    ) -> Iterator[E]:
        after = None
        while True:
            page = self.find(where, order_by=order_by, limit=batch_size, after=after)
            yield from page
            if page.next_cursor is None:
                return
            after = page.next_cursor


class TestDictStore(RepositoryContract):
    def make_store(self) -> Store:
        return DictStore()


def test_the_suite_catches_a_broken_adapter() -> None:
    """The suite can fail: an adapter whose update forgets the version check is caught."""

    class Careless(DictRepository[E]):
        def update(self, entity: E) -> E:
            stored = attrs.evolve(entity, version=entity.version + 1)
            self.uow.staged[(self.entity_type, entity.id)] = stored
            return stored

    class CarelessUow(DictUnitOfWork):
        def repository(self, entity_type: type[E]) -> DictRepository[E]:
            return Careless(self, entity_type)

    class CarelessStore(DictStore):
        def begin(self) -> DictUnitOfWork:
            return CarelessUow(self)

    suite = RepositoryContract()
    with pytest.raises(pytest.fail.Exception):
        suite.test_stale_update_is_a_conflict(CarelessStore(), "t-careless")
