"""The in-memory adapter: real transactions, optimistic concurrency, hash indexes.

Committed records live in per-type tables guarded by one lock. A unit of work
stages its writes privately (reads see committed rows overlaid with its own
staged ones: read-committed isolation) and applies them at commit after
checking, under the lock, that every record it updates or deletes still has
the version it read. So a rollback restores the prior state exactly and two
threads can never lose an update: the second commit gets a Conflict.

Fields listed in an entity's ``__crm_indexes__`` (plus ``tenant_id``) get hash
indexes; an equality or ``in_`` condition on one narrows a find before the
compiled predicate runs on the candidates.
"""

from __future__ import annotations

import enum
import heapq
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cmp_to_key
from operator import attrgetter
from typing import Any, Generic, TypeVar, cast

from crmcore.errors import AlreadyExists, Conflict, NotFound, QueryError
from crmcore.model import COLLECTIONS, Entity, Protectable, fields_of, replace_trusted
from crmcore.query import Filter, Page, Sort, bind
from crmcore.query.adapter import (
    And,
    Compare,
    Has,
    In,
    OrderSpec,
    Related,
    check_limit,
    check_order,
    compare_keys,
    compile_predicate,
    decode_cursor,
    encode_cursor,
    getter,
    native_key,
    normalize_order,
    sort_key_values,
)
from crmcore.storage.aggregate import GroupKey, Measure, aggregate_records, plan_aggregate
from crmcore.storage.ports import Repository, UnitOfWork

__all__ = ["MemoryStore"]

E = TypeVar("E", bound=Entity)
_DELETED: Any = object()


class _Table:
    """Committed rows of one entity type (keyed by ``id.int``), with hash indexes."""

    __slots__ = ("_fast", "indexed", "indexes", "rows")

    def __init__(self, entity_type: type[Entity]) -> None:
        self.rows: dict[int, Entity] = {}
        sealable = ("search_keys",) if issubclass(entity_type, Protectable) else ()
        names = ("tenant_id", *sealable, *entity_type.__crm_indexes__)
        self.indexes: dict[str, dict[Any, set[int]]] = {n: {} for n in names}
        self.indexed = tuple((getter(n), self.indexes[n]) for n in names)
        # index names are plain attributes of the type: read them with C getters
        plain = all(n in fields_of(entity_type) for n in names)
        self._fast = tuple((attrgetter(n), self.indexes[n]) for n in names) if plain else None

    def put(self, row: Entity) -> None:
        key = row.id.int
        old = self.rows.get(key)
        if old is not None:
            self._unindex(old, key)
        self.rows[key] = row
        if self._fast is not None:
            for read, idx in self._fast:
                value = read(row)
                if value.__class__ in _PLAIN:  # one key, inline: the common case
                    ids = idx.get(value)
                    if ids is None:
                        idx[value] = {key}
                    else:
                        ids.add(key)
                    continue
                self._add_keys(idx, value, key)
            return
        for get, idx in self.indexed:
            self._add_keys(idx, get(row), key)

    @staticmethod
    def _add_keys(idx: dict[Any, set[int]], value: Any, key: int) -> None:
        for v in _index_values(value):
            ids = idx.get(v)
            if ids is None:
                idx[v] = {key}
            else:
                ids.add(key)

    def _unindex(self, row: Entity, key: int) -> None:
        for get, idx in self.indexed:
            for value in _index_values(get(row)):
                ids = idx.get(value)
                if ids is not None:
                    ids.discard(key)
                    if not ids:
                        del idx[value]

    def remove(self, id: uuid.UUID) -> None:
        old = self.rows.pop(id.int, None)
        if old is not None:
            self._unindex(old, id.int)

    def candidates(self, where: Filter) -> set[int] | None:
        """Row keys that may match, from the most selective usable index; None: scan all."""
        terms = where.items if isinstance(where, And) else (where,)
        best: set[int] | None = None
        for term in terms:
            ids: set[int] | None = None
            exact = isinstance(term, Has) or (isinstance(term, Compare) and term.op == "eq")
            if exact and term.field in self.indexes:  # type: ignore[attr-defined]
                ids = self.indexes[term.field].get(_hashable(term.value), set())  # type: ignore[attr-defined]
            elif isinstance(term, In) and term.field in self.indexes:
                idx = self.indexes[term.field]
                ids = set().union(*(idx.get(_hashable(v), set()) for v in term.values))
            if ids is not None and (best is None or len(ids) < len(best)):
                best = ids
        return best


_PLAIN = frozenset((str, type(None), int, bool))


def _index_values(value: Any) -> tuple[Any, ...]:
    """The keys a field value is indexed under: itself, or each member of a collection.

    A collection field is only ever queried with ``has``, a scalar one with
    ``eq``/``in_``, so the two kinds never meet in one index.
    """
    if type(value) in _PLAIN:
        return (value,)
    if isinstance(value, (frozenset, tuple, list, set)):
        return tuple(_hashable(v) for v in value)
    return (_hashable(value),)


def _hashable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _id_of(row: Any, key: int) -> uuid.UUID:
    return row.id if isinstance(row, Entity) else uuid.UUID(int=key)


class MemoryStore:
    """A store that keeps everything in this process; ``connect("memory://")`` builds one.

    Thread-safe: units of work may run concurrently in many threads.
    """

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._tables: dict[type[Entity], _Table] = {}

    def _table(self, entity_type: type[Entity]) -> _Table:
        table = self._tables.get(entity_type)
        if table is None:
            with self._lock:
                table = self._tables.setdefault(entity_type, _Table(entity_type))
        return table

    def begin(self) -> MemoryUnitOfWork:
        """Start a unit of work."""
        return MemoryUnitOfWork(self)

    def related_counts(self, node: Related) -> dict[tuple[str, Any], int]:
        """Committed records of ``node.collection`` matching ``node.where``, counted per key.

        A unit of work with staged writes counts through
        :meth:`MemoryUnitOfWork.related_counts`, which overlays them.
        """
        etype = COLLECTIONS[node.collection]
        pred = compile_predicate(node.where, self.related_counts)
        get_key = getter(node.key)
        counts: dict[tuple[str, Any], int] = {}
        with self._lock:
            table = self._table(etype)
            ids = table.candidates(node.where)
            rows = list(table.rows.values()) if ids is None else [table.rows[i] for i in ids]
        for row in rows:
            if pred(row):
                value = get_key(row)
                if value is not None:
                    k = (row.tenant_id, _hashable(value))
                    counts[k] = counts.get(k, 0) + 1
        return counts

    def close(self) -> None:
        """Nothing to release; kept for the Store protocol."""

    def __repr__(self) -> str:
        counts = {t.__name__: len(tb.rows) for t, tb in self._tables.items()}
        return f"MemoryStore({self.url!r}, {counts})"


#: records a unit of work's identity map holds per type before it starts afresh
_SEEN_MAX = 10_000


class MemoryUnitOfWork(UnitOfWork):
    """Staged writes plus the versions they expect; applied atomically at commit."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        # per type: id.int -> staged row, or _DELETED
        self._staged: dict[type[Entity], dict[int, Any]] = {}
        # per type: id.int -> version the committed row must have at commit; None: must not exist
        self._expect: dict[type[Entity], dict[int, int | None]] = {}
        self._repos: dict[type[Entity], MemoryRepository[Any]] = {}
        # the identity map: per type, the committed records this unit has read, by id
        # (answered again without a lookup until commit or rollback)
        self._seen: dict[type[Entity], dict[uuid.UUID, Entity]] = {}
        self._closed = False

    def repository(self, entity_type: type[E]) -> MemoryRepository[E]:
        """The repository of ``entity_type`` in this unit of work."""
        repo = self._repos.get(entity_type)
        if repo is None:
            repo = self._repos[entity_type] = MemoryRepository(self, entity_type)
        return cast(MemoryRepository[E], repo)

    def commit(self) -> None:
        """Check every expected version, then apply every staged write; or nothing."""
        with self._store._lock:
            for etype, expects in self._expect.items():
                committed = self._store._table(etype).rows
                name = etype.__name__
                staged = self._staged[etype]
                for key, expected in expects.items():
                    current = committed.get(key)
                    if expected is None:
                        if current is not None:
                            raise AlreadyExists(name, uuid.UUID(int=key))
                    elif current is None or current.version != expected:
                        raise Conflict(
                            name,
                            _id_of(staged[key], key),
                            expected_version=expected,
                            actual_version=None if current is None else current.version,
                        )
            for etype, rows in self._staged.items():
                table = self._store._table(etype)
                put = table.put
                for key, row in rows.items():
                    if row is _DELETED:
                        table.remove(uuid.UUID(int=key))
                    else:
                        put(row)
        self._staged.clear()
        self._expect.clear()
        self._seen.clear()

    def rollback(self) -> None:
        """Forget every staged write, and what this unit has read."""
        self._staged.clear()
        self._expect.clear()
        self._seen.clear()

    def close(self) -> None:
        """Roll back anything uncommitted."""
        self.rollback()
        self._closed = True

    # -- helpers for the repositories

    def _visible(self, etype: type[Entity], id: uuid.UUID) -> Entity | None:
        staged = self._staged.get(etype)
        if staged is not None:
            row = staged.get(id.int)
            if row is not None:
                return None if row is _DELETED else cast(Entity, row)
        seen = self._seen.get(etype)
        if seen is not None:
            known = seen.get(id)
            if known is not None:
                return known
        row = self._store._table(etype).rows.get(id.int)
        if row is not None:
            if seen is None:
                seen = self._seen[etype] = {}
            elif len(seen) >= _SEEN_MAX:
                seen.clear()
            seen[id] = row
        return row

    def related_counts(self, node: Related) -> dict[tuple[str, Any], int]:
        """Records of ``node.collection`` this unit sees (its own writes too), counted per key.

        A related filter reads the unit's staged rows exactly as a plain find
        does: committed rows overlaid with the staged ones.
        """
        etype = COLLECTIONS[node.collection]
        staged = self._staged.get(etype)
        if not staged and not any(self._staged.values()):
            return self._store.related_counts(node)
        pred = compile_predicate(node.where, self.related_counts)
        get_key = getter(node.key)
        store = self._store
        with store._lock:
            table = store._table(etype)
            ids = table.candidates(node.where)
            rows = list(table.rows.values()) if ids is None else [table.rows[i] for i in ids]
        if staged:
            rows = [r for r in rows if r.id.int not in staged]
            rows += [r for r in staged.values() if r is not _DELETED]
        counts: dict[tuple[str, Any], int] = {}
        for row in rows:
            if pred(row):
                value = get_key(row)
                if value is not None:
                    k = (row.tenant_id, _hashable(value))
                    counts[k] = counts.get(k, 0) + 1
        return counts

    def _stage(self, etype: type[Entity], id: uuid.UUID, row: Any, expect: int | None) -> None:
        key = id.int
        self._expect.setdefault(etype, {}).setdefault(key, expect)
        self._staged.setdefault(etype, {})[key] = row


class MemoryRepository(Repository[E], Generic[E]):
    """One entity type inside a :class:`MemoryUnitOfWork`."""

    def __init__(self, uow: MemoryUnitOfWork, entity_type: type[E]) -> None:
        self._uow = uow
        self.entity_type = entity_type
        self._name = entity_type.__name__

    def add(self, entity: E) -> E:
        """Stage a new record."""
        if not isinstance(entity, self.entity_type):
            raise QueryError(f"expected a {self._name}, got {type(entity).__name__}")
        if self._uow._visible(self.entity_type, entity.id) is not None:
            raise AlreadyExists(self._name, entity.id)
        # re-adding a row deleted in this unit of work replaces it: the expectation
        # staged with the delete (if any) stands
        self._uow._stage(self.entity_type, entity.id, entity, None)
        return entity

    def add_many(self, entities: Iterable[E]) -> list[E]:
        """Stage many new records; if any id is taken (or repeated), none is staged."""
        batch = list(entities)
        etype, uow = self.entity_type, self._uow
        staged = uow._staged.get(etype) or {}
        committed = uow._store._table(etype).rows
        seen = uow._seen.get(etype)
        keys: list[int] = []
        fresh: set[int] = set()
        for e in batch:
            if e.__class__ is not etype and not isinstance(e, etype):
                raise QueryError(f"expected a {self._name}, got {type(e).__name__}")
            key = e.id.int
            if key in fresh:
                raise AlreadyExists(self._name, e.id)
            row = staged.get(key)
            # visible: staged (not deleted) here, or committed and not deleted here
            if row is not None and row is not _DELETED:
                raise AlreadyExists(self._name, e.id)
            if row is None and (key in committed or (seen and e.id in seen)):
                raise AlreadyExists(self._name, e.id)
            fresh.add(key)
            keys.append(key)
        if not batch:
            return batch
        staged = uow._staged.setdefault(etype, {})
        expect = uow._expect.setdefault(etype, {})
        for key, e in zip(keys, batch, strict=True):
            staged[key] = e
            expect.setdefault(key, None)
        return batch

    def get(self, id: uuid.UUID) -> E:
        """The visible record with that id."""
        row = self._uow._visible(self.entity_type, id)
        if row is None:
            raise NotFound(self._name, id)
        return cast(E, row)

    def get_many(self, ids: Iterable[uuid.UUID]) -> list[E]:
        """The visible records among ``ids``, in order."""
        out = []
        for id in ids:
            row = self._uow._visible(self.entity_type, id)
            if row is not None:
                out.append(cast(E, row))
        return out

    def update(self, entity: E) -> E:
        """Stage a replacement if ``entity.version`` is the visible version."""
        current = self._uow._visible(self.entity_type, entity.id)
        if current is None or current.version != entity.version:
            raise Conflict(
                self._name,
                entity.id,
                expected_version=entity.version,
                actual_version=None if current is None else current.version,
            )
        stored = replace_trusted(entity, version=entity.version + 1)
        self._uow._stage(self.entity_type, entity.id, stored, entity.version)
        return stored

    def delete(self, id: uuid.UUID, *, expected_version: int | None = None) -> None:
        """Stage removal of a record."""
        current = self._uow._visible(self.entity_type, id)
        if current is None:
            raise NotFound(self._name, id)
        if expected_version is not None and current.version != expected_version:
            raise Conflict(
                self._name, id, expected_version=expected_version, actual_version=current.version
            )
        self._uow._stage(self.entity_type, id, _DELETED, current.version)

    # -- queries

    def _matching(self, where: Filter | None) -> list[E]:
        etype = self.entity_type
        bound = bind(where, etype) if where is not None else None
        store = self._uow._store
        pred = compile_predicate(bound, self._uow.related_counts) if bound is not None else None
        staged = self._uow._staged.get(etype, {})
        with store._lock:
            table = store._table(etype)
            ids = table.candidates(bound) if bound is not None else None
            if ids is None:
                rows: Iterable[Entity] = list(table.rows.values())
            else:
                found = table.rows
                rows = [found[i] for i in ids]
        out: list[E] = []
        for row in rows:
            if row.id.int in staged:
                continue
            if pred is None or pred(row):
                out.append(cast(E, row))
        for row in staged.values():
            if row is not _DELETED and (pred is None or pred(row)):
                out.append(cast(E, row))
        return out

    def find(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[E]:
        """One page of matching records."""
        order = normalize_order(order_by)
        check_order(order, self.entity_type)
        check_limit(limit)
        rows = self._matching(where)
        keyed = [(sort_key_values(r, order), r) for r in rows]
        try:
            items, last, more = _page_native(keyed, order, limit, after)
        except TypeError:  # mixed kinds in one sort term: compare the slow, total way
            items, last, more = _page_total(keyed, order, limit, after)
        next_cursor = encode_cursor(order, last) if more and last is not None else None
        return Page(items, next_cursor)

    def count(self, where: Filter | None = None) -> int:
        """How many visible records match."""
        return len(self._matching(where))

    def aggregate(
        self,
        where: Filter | None = None,
        *,
        group_by: Sequence[GroupKey] = (),
        measures: Mapping[str, Measure],
    ) -> list[dict[str, Any]]:
        """Groups of the visible matching records, measured in one pass (no sorting)."""
        plan = plan_aggregate(self.entity_type, group_by, measures)
        return aggregate_records(self._matching(where), plan)

    def stream(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        batch_size: int = 1000,
    ) -> Iterator[E]:
        """Matching records in order, a page at a time."""
        if batch_size < 1:
            raise QueryError("batch_size must be positive")
        after: str | None = None
        while True:
            page = self.find(where, order_by=order_by, limit=batch_size, after=after)
            yield from page.items
            if page.next_cursor is None:
                return
            after = page.next_cursor


Keyed = list[tuple[tuple[object, ...], Any]]


def _page_native(
    keyed: Keyed, order: tuple[Sort, ...], limit: int | None, after: str | None
) -> tuple[tuple[Any, ...], tuple[object, ...] | None, bool]:
    rows = [(native_key(k, order), k, r) for k, r in keyed]
    if after is not None:
        start = native_key(decode_cursor(after, order), order)
        rows = [row for row in rows if row[0] > start]
    return _cut(rows, limit, key=lambda row: row[0])


def _page_total(
    keyed: Keyed, order: tuple[Sort, ...], limit: int | None, after: str | None
) -> tuple[tuple[Any, ...], tuple[object, ...] | None, bool]:
    rows = [(None, k, r) for k, r in keyed]
    if after is not None:
        cursor = decode_cursor(after, order)
        rows = [row for row in rows if compare_keys(row[1], cursor, order) > 0]

    def cmp(a: tuple[Any, tuple[object, ...], Any], b: tuple[Any, tuple[object, ...], Any]) -> int:
        return compare_keys(a[1], b[1], order)

    return _cut(rows, limit, key=cmp_to_key(cmp))


def _cut(
    rows: list[tuple[Any, tuple[object, ...], Any]],
    limit: int | None,
    key: Callable[[Any], Any],
) -> tuple[tuple[Any, ...], tuple[object, ...] | None, bool]:
    if limit is None:
        top = sorted(rows, key=key)
        more = False
    else:
        top = heapq.nsmallest(limit + 1, rows, key=key)
        more = len(top) > limit
        top = top[:limit]
    last = top[-1][1] if top else None
    return tuple(r for _, _, r in top), last, more
