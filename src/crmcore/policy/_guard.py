"""The policy guard: the outermost repository layer of a session (DESIGN.md).

Every single-record action is checked with :meth:`Policy.check`; every query
has :meth:`Policy.filter` ANDed into it, so a list never shows a row that
``check`` would refuse; returned records are masked field by field; writes of
fields the principal may not write are refused, naming the field. Filtering
or sorting on a field the principal cannot read in full is refused too: a
filter is a question about the value and would leak it.

A masked or hidden value that comes back unchanged in an update (the caller
read ``+86 138****8000`` and saved the record) keeps the stored value: the
mask is never written over real data. The guard offers that restoration to the
session (:data:`~crmcore.storage.ports.UNSEEN_VALUES`), which applies it
before validation, so a masked phone or a hidden ``custom.*`` key is never
validated (or refused) in place of the stored value; use cases authorised as
a whole (merge, unmerge) read the stored values through it and write under
:meth:`GuardedRepository.granted`.

Bookkeeping rows that copy another record's values (audit entries, merge
journals, transition rows: entity types declaring ``__crm_copies__``) are
readable only where the principal may read the record they are about (rows
of records erased since stay readable), and their copies show at the
principal's field levels of that record's entity, masked or hidden exactly as
on the record. Use cases that need the raw copies (unmerge) read them through
``uow.inner(...)`` after this layer authorised the row.

The system principal passes through (it is still confined to its tenant by
the session) and the audit trail records it as such.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

from crmcore.errors import PermissionDenied, QueryError
from crmcore.model import (
    COLLECTIONS,
    Entity,
    Principal,
    ValueCopies,
    replace_trusted,
    shown_copies,
    value_copies,
)
from crmcore.policy._fields import FieldAccess, FieldLevel
from crmcore.policy._policy import Policy
from crmcore.query import FALSE, TRUE, Filter, Page, all_of, any_of, eq, in_, not_, related
from crmcore.query.adapter import (
    And,
    Not,
    Or,
    OrderSpec,
    Related,
    field_names,
    normalize_order,
    related_nodes,
)
from crmcore.storage.aggregate import GroupKey, Measure, plan_aggregate
from crmcore.storage.ports import UNSEEN_VALUES, Repository, UnitOfWorkContext

__all__ = ["GuardedRepository", "PolicyGuard"]

E = TypeVar("E", bound=Entity)
_BOOKKEEPING = frozenset(
    {"id", "tenant_id", "created_at", "updated_at", "version", "sealed", "search_keys"}
)
_FULL = FieldLevel.READ.rank


@attrs.frozen
class PolicyGuard:
    """The guard layer for ``connect(policy=...)``, and the authoriser of use cases' actions."""

    policy: Policy

    def __call__(self, inner: Repository[Any], uow: UnitOfWorkContext) -> Repository[Any]:
        if uow.principal.system:
            return inner
        guarded = GuardedRepository(inner, self.policy, uow.principal, uow.context)
        offered: dict[type[Entity], Any] = uow.extension(UNSEEN_VALUES, dict)
        offered[inner.entity_type] = guarded
        return guarded

    def authorize(
        self, principal: Principal, action: str, record: Entity, context: Mapping[str, Any]
    ) -> None:
        """Raise PermissionDenied unless the policy grants ``action`` on ``record``.

        The :data:`~crmcore.storage.ports.Authorizer` of a CRM with this policy:
        use cases ask it for actions that are more than a repository call
        (``transition:<event>``, ``merge``, ``shred``).
        """
        name = type(record).entity_name()
        decision = self.policy.check(principal, action, record, name, context)
        if not decision.allowed:
            raise PermissionDenied(
                action,
                name,
                id=record.id,
                reason=decision.public_reason,
                principal=principal.user_id,
            )


class GuardedRepository(Repository[E], Generic[E]):
    """Checks, filters and masks every call of one principal on one entity type."""

    def __init__(
        self,
        inner: Repository[E],
        policy: Policy,
        principal: Principal,
        context: Mapping[str, Any] | None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._principal = principal
        self._context = context
        self.entity_type = inner.entity_type
        self._name = self.entity_type.entity_name()
        self._fields: FieldAccess = policy.field_access(principal, self._name)
        self._copies: ValueCopies | None = value_copies(self.entity_type)
        self._about_filter: Filter | None = None
        self._views: dict[str, FieldAccess] = {}
        self._granted = 0

    # -- helpers

    def _check(self, action: str, record: Entity) -> None:
        decision = self._policy.check(self._principal, action, record, self._name, self._context)
        if not decision.allowed:
            raise PermissionDenied(
                action,
                self._name,
                id=record.id,
                reason=decision.public_reason,
                principal=self._principal.user_id,
            )

    def _mask(self, record: E) -> E:
        if self._copies is not None:
            record = shown_copies(record, self._view)
        return record if self._fields.unrestricted else self._fields.mask(record)

    def _view(self, entity: str) -> Any:
        access = self._views.get(entity)
        if access is None:
            access = self._views[entity] = self._policy.field_access(self._principal, entity)
        return _as_is if access.unrestricted else access.mask

    def _about(self) -> Filter:
        """Rows about records the principal may read, or about none (erased, or no entity)."""
        spec = self._copies
        if spec is None:
            return TRUE
        if self._about_filter is None:
            known = {cls.entity_name(): coll for coll, cls in COLLECTIONS.items()}
            open_: list[str] = []
            clauses: list[Filter] = []
            for name, coll in sorted(known.items()):
                allowed = self._policy.filter(self._principal, "read", name, context=self._context)
                if allowed == TRUE:
                    open_.append(name)
                    continue
                erased = related(coll, "id", field=spec.record, op="eq", n=0, include_deleted=True)
                if allowed == FALSE:
                    clauses.append(all_of(eq(spec.entity, name), erased))
                    continue
                clauses.append(
                    all_of(
                        eq(spec.entity, name),
                        any_of(
                            related(coll, "id", allowed, field=spec.record, include_deleted=True),
                            erased,
                        ),
                    )
                )
            if not clauses:
                self._about_filter = TRUE
            else:
                others = not_(in_(spec.entity, sorted(set(known) - set(open_))))
                self._about_filter = any_of(others, *clauses)
        return self._about_filter

    def _about_ok(self, record: Entity) -> bool:
        if self._copies is None:
            return True
        about = self._about()
        if about == TRUE:
            return True
        return self._inner.count(all_of(eq("id", record.id), about)) > 0

    def _check_about(self, record: Entity) -> None:
        if not self._about_ok(record):
            raise PermissionDenied(
                "read",
                self._name,
                id=record.id,
                reason="you may not read the record this row is about",
                principal=self._principal.user_id,
            )

    def _changed(self, before: Entity | None, after: Entity) -> list[str]:
        names = [a.name for a in attrs.fields(type(after)) if a.name not in _BOOKKEEPING]
        if before is None:
            return [
                a.name
                for a in attrs.fields(type(after))
                if a.name in names and getattr(after, a.name) != _default(a)
            ]
        subs = self._fields.sub_fields()
        out: list[str] = []
        for n in names:
            old, new = getattr(before, n), getattr(after, n)
            if old == new:
                continue
            if n in subs and isinstance(old, Mapping) and isinstance(new, Mapping):
                # a mapping with restricted keys changed: name the keys that changed
                every = old.keys() | new.keys()
                keys = sorted(k for k in every if old.get(k, _NO) != new.get(k, _NO))
                out.extend(f"{n}.{k}" for k in keys)
            else:
                out.append(n)
        return out

    def _keep_masked(self, current: E, entity: E) -> E:
        """Fields the caller only saw masked or hidden keep their stored value if unchanged."""
        return self._kept(current, entity)[0]

    def _kept(self, current: E, entity: E) -> tuple[E, dict[str, Any]]:
        """:meth:`_keep_masked` and the whole fields it put back."""
        keep: dict[str, Any] = {}
        if self._copies is not None:  # copies read masked and saved back keep the stored copies
            shown = shown_copies(current, self._view)
            for f in {p.split(".", 1)[0] for p in self._copies.paths}:
                if getattr(entity, f) == getattr(shown, f):
                    keep[f] = getattr(current, f)
        if not self._fields.unrestricted:
            seen = self._fields.mask(current)
            for a in attrs.fields(type(entity)):
                if self._fields.level(a.name).rank >= _FULL:
                    continue
                if getattr(entity, a.name) == getattr(seen, a.name):
                    keep[a.name] = getattr(current, a.name)
            subs = self._kept_keys(current, entity, seen, keep)
        else:
            subs = {}
        if not keep and not subs:
            return entity, {}
        return replace_trusted(entity, **keep, **subs), keep

    def _kept_keys(
        self, current: E, entity: E, seen: E, whole: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Mapping fields (``custom``) whose masked or hidden keys came back as shown."""
        out: dict[str, Any] = {}
        for name, named in self._fields.sub_fields().items():
            if name in whole:
                continue
            new, old, shown = (getattr(r, name, None) for r in (entity, current, seen))
            if not (
                isinstance(new, Mapping) and isinstance(old, Mapping) and isinstance(shown, Mapping)
            ):
                continue
            fixed: dict[str, Any] | None = None
            for key in named:
                if key not in new or key not in old:
                    continue
                if self._fields.level(f"{name}.{key}").rank >= _FULL:
                    continue
                if new[key] == shown.get(key) and new[key] != old[key]:
                    fixed = dict(new) if fixed is None else fixed
                    fixed[key] = old[key]
            if fixed is not None:
                out[name] = fixed
        return out

    # -- what the session and use cases may ask about unseen values (UnseenValues)

    def restore(self, entity: E) -> tuple[E, Mapping[str, Any]]:
        """``entity`` with its unchanged masked or hidden values set to the stored ones."""
        if self._fields.unrestricted and self._copies is None:
            return entity, {}
        current = self._inner.get(entity.id)
        self._check_about(current)
        self._check("update", current)
        restored, kept = self._kept(current, entity)
        if not self._granted and not self._fields.unrestricted:
            # a value the principal cannot read in full was changed: refuse it now,
            # before validation could judge (and quote) it
            subs = self._fields.sub_fields()
            unseen = [
                n
                for n in self._changed(current, restored)
                if n in subs or self._fields.level(n).rank < _FULL
            ]
            if unseen:
                self._policy.check_write_fields(self._principal, self._name, unseen, current)
        return restored, kept

    def stored(self, id: uuid.UUID) -> E:
        """The record as stored below the guard (for use cases already authorised)."""
        return self._inner.get(id)

    def shown(self, record: E) -> E:
        """``record`` as this principal may see it."""
        return self._mask(record)

    @contextlib.contextmanager
    def granted(self) -> Iterator[None]:
        """Updates inside skip the field-level write check (a use case authorised as a whole)."""
        self._granted += 1
        try:
            yield
        finally:
            self._granted -= 1

    def _copies_restricted(self) -> bool:
        """Whether some entity's copies show masked or hidden to this principal."""
        if self._copies is None:
            return False
        return any(
            not self._policy.field_access(self._principal, cls.entity_name()).unrestricted
            for cls in COLLECTIONS.values()
        )

    def _no_copy_fields(self, names: Iterable[str], what: str) -> None:
        """A filter, sort or aggregate on copied values would ask about them (issue #13)."""
        if self._copies is None:
            return
        copies = {p.split(".", 1)[0] for p in self._copies.paths}
        named = sorted(n for n in names if n.split(".", 1)[0] in copies)
        if named and self._copies_restricted():
            raise QueryError(
                f"you may not {what} on copies of values you cannot read in full",
                field=named[0],
                entity=self._name,
            )

    def _readable(self, where: Filter | None, order_by: OrderSpec) -> None:
        names = set(field_names(where)) if where is not None else set()
        names |= {t.field for t in normalize_order(order_by)}
        self._no_copy_fields(names, "filter or sort")
        if where is not None:
            self._related_readable(where)
        if self._fields.unrestricted:
            return
        for name in sorted(names):
            if self._fields.level(name).rank < _FULL:
                raise QueryError(
                    "you may not filter or sort on a field you cannot read in full",
                    field=name,
                    entity=self._name,
                )

    def _related_readable(self, where: Filter) -> None:
        """A related filter may only ask about the related records' fully readable fields."""
        for node in related_nodes(where):
            other = COLLECTIONS.get(node.collection)
            if other is None:
                continue  # the adapter names the unknown collection
            name = other.entity_name()
            access = self._policy.field_access(self._principal, name)
            if not access.unrestricted:
                # the key too: counting by a hidden link would reveal it
                for field in sorted(field_names(node.where) | {node.key}):
                    if access.level(field).rank < _FULL:
                        raise QueryError(
                            "you may not filter or sort on a field you cannot read in full",
                            field=field,
                            entity=name,
                        )
            self._related_readable(node.where)

    def _scope(self, where: Filter | None) -> Filter:
        allowed = self._policy.filter(self._principal, "read", self._name, context=self._context)
        allowed = all_of(allowed, self._about())
        return all_of(allowed, self._related_scope(where)) if where is not None else allowed

    def _related_scope(self, f: Filter) -> Filter:
        """Confine every related filter to the related records the principal may read."""
        if isinstance(f, And):
            return all_of(*(self._related_scope(i) for i in f.items))
        if isinstance(f, Or):
            return any_of(*(self._related_scope(i) for i in f.items))
        if isinstance(f, Not):
            return not_(self._related_scope(f.item))
        if isinstance(f, Related):
            other = COLLECTIONS.get(f.collection)
            if other is None:
                return f  # the adapter names the unknown collection
            allowed = self._policy.filter(
                self._principal, "read", other.entity_name(), context=self._context
            )
            return attrs.evolve(f, where=all_of(allowed, self._related_scope(f.where)))
        return f

    # -- writes

    def add(self, entity: E) -> E:
        self._check("create", entity)
        self._policy.check_write_fields(
            self._principal, self._name, self._changed(None, entity), entity, action="create"
        )
        return self._mask(self._inner.add(entity))

    def add_many(self, entities: Iterable[E]) -> list[E]:
        batch = list(entities)
        for e in batch:
            self._check("create", e)
            self._policy.check_write_fields(
                self._principal, self._name, self._changed(None, e), e, action="create"
            )
        return [self._mask(e) for e in self._inner.add_many(batch)]

    def update(self, entity: E) -> E:
        current = self._inner.get(entity.id)
        self._check_about(current)
        if (current.deleted_at is None) != (entity.deleted_at is None):
            # a soft delete (or its undo) is a delete as far as permissions go
            self._check("delete", current)
        self._check("update", current)
        entity = self._keep_masked(current, entity)
        changed = self._changed(current, entity)
        if not self._granted:
            self._policy.check_write_fields(self._principal, self._name, changed, current)
        if changed:
            self._check("update", entity)  # the new state must be allowed too (no escaping)
        return self._mask(self._inner.update(entity))

    def delete(self, id: uuid.UUID, *, expected_version: int | None = None) -> None:
        current = self._inner.get(id)
        self._check_about(current)
        self._check("delete", current)
        self._inner.delete(id, expected_version=expected_version)

    # -- reads

    def get(self, id: uuid.UUID) -> E:
        record = self._inner.get(id)
        self._check("read", record)
        self._check_about(record)
        return self._mask(record)

    def get_many(self, ids: Iterable[uuid.UUID]) -> list[E]:
        found = self._inner.get_many(ids)
        about = self._about()
        if about != TRUE and found:
            ok = {r.id for r in self._inner.stream(all_of(in_("id", [r.id for r in found]), about))}
            found = [r for r in found if r.id in ok]
        out = []
        for r in found:
            decision = self._policy.check(self._principal, "read", r, self._name, self._context)
            if decision.allowed:
                out.append(self._mask(r))
        return out

    def find(
        self,
        where: Filter | None = None,
        *,
        order_by: OrderSpec = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Page[E]:
        self._readable(where, order_by)
        page = self._inner.find(self._scope(where), order_by=order_by, limit=limit, after=after)
        return Page(tuple(self._mask(r) for r in page.items), page.next_cursor)

    def count(self, where: Filter | None = None) -> int:
        self._readable(where, None)
        return self._inner.count(self._scope(where))

    def stream(
        self, where: Filter | None = None, *, order_by: OrderSpec = None, batch_size: int = 1000
    ) -> Iterator[E]:
        self._readable(where, order_by)
        for r in self._inner.stream(self._scope(where), order_by=order_by, batch_size=batch_size):
            yield self._mask(r)

    def aggregate(
        self,
        where: Filter | None = None,
        *,
        group_by: Sequence[GroupKey] = (),
        measures: Mapping[str, Measure],
    ) -> list[dict[str, Any]]:
        """The aggregate over the rows the principal may read, of fields it may read in full.

        A group key or a measure is a question about the values (a sum of
        hidden amounts, groups of masked phones), so each field needs full
        read access, like a filter.
        """
        self._readable(where, None)
        if self._copies is not None:
            self._no_copy_fields(
                plan_aggregate(self.entity_type, group_by, measures).fields, "group by or measure"
            )
        if not self._fields.unrestricted:
            plan = plan_aggregate(self.entity_type, group_by, measures)
            for name in sorted(plan.fields):
                if self._fields.level(name).rank < _FULL:
                    raise PermissionDenied(
                        "aggregate",
                        self._name,
                        field=name,
                        reason="you may not group by or measure a field you cannot read in full",
                        principal=self._principal.user_id,
                    )
        return self._inner.aggregate(self._scope(where), group_by=group_by, measures=measures)


_NO = object()


def _as_is(values: Any) -> Any:
    return values


def _default(a: attrs.Attribute[Any]) -> Any:
    default: Any = a.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return default.factory()
    return default
