"""The repository contract suite: the tests every storage adapter must pass.

Subclass :class:`RepositoryContract` in a test module, implement
:meth:`~RepositoryContract.make_store` and declare what the adapter can do;
pytest then collects every case against that store::

    class TestMyStore(RepositoryContract):
        supports_concurrent_threads = False

        def make_store(self) -> Store:
            return MyStore()

The suite drives the port (:class:`crmcore.storage.ports.Store`) directly, not
a session: it hands records down as a session would (tenant set, version 1,
times stamped) and scopes every query to a fresh tenant per test, so a shared
database needs no cleaning between tests. Expected rows of the operator and
ordering cases are written out by hand, never computed by crmcore's own
evaluator. This module needs pytest and hypothesis (the ``test`` extra).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from crmcore.errors import AlreadyExists, Conflict, NotFound, QueryError
from crmcore.model import COLLECTIONS, Account, Customer, Entity, Money, Opportunity
from crmcore.query import (
    Filter,
    all_of,
    any_of,
    eq,
    field,
    ge,
    gt,
    has,
    in_,
    is_null,
    le,
    lt,
    ne,
    not_,
)
from crmcore.storage.aggregate import Bucket, bucket, count, count_distinct, max_, sum_
from crmcore.storage.ports import Repository, Store, UnitOfWork
from crmcore.testing.strategies import entity_of

__all__ = ["FILTER_CASES", "ORDER_CASES", "PEOPLE", "RepositoryContract", "stamp"]

E = TypeVar("E", bound=Entity)
_UTC = dt.timezone.utc
_T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=_UTC)

#: The fixed dataset: label -> the customer's fields. Ids are fresh per test but
#: assigned in this order, ascending, so ties (broken by id) sort in label order.
PEOPLE: dict[str, dict[str, Any]] = {
    "wei": dict(
        first_name="伟",
        last_name="张",
        email="wei@example.cn",
        tags={"vip"},
        custom={"tier": "gold", "score": 90},
        date_of_birth=dt.date(1990, 5, 1),
    ),
    "anna": dict(
        first_name="Anna",
        last_name="Smith",
        email="anna@example.com",
        tags={"vip", "b2b"},
        custom={"tier": "silver", "score": 75.5},
        owner_id="u1",
    ),
    "anna_lc": dict(
        first_name="anna",
        last_name="smith",
        email=None,
        custom={"tier": "gold", "score": "90"},
        owner_id="u2",
    ),
    "bob": dict(
        first_name="Bob",
        last_name="Smith",
        email="bob@example.com",
        owner_id="u1",
        date_of_birth=dt.date(1985, 1, 2),
    ),
    "obrien": dict(
        first_name=None,
        last_name="O'Brien",
        email="ob@example.ie",
        owner_id="u2",
        custom={"score": 10},
    ),
    "fang": dict(
        first_name="芳",
        last_name="王",
        email="fang@example.cn",
        tags={"b2b"},
        custom={"tier": "bronze"},
        date_of_birth=dt.date(1990, 5, 1),
    ),
    "zoe": dict(
        first_name="Zoë",
        last_name="Ångström",
        email="zoe@example.se",
        owner_id="u3",
        custom={"flag": True},
    ),
    "carl": dict(first_name="Carl", last_name="Smith", email="carl@EXAMPLE.com", tags={"vip"}),
}

#: (label, filter, labels of the matching people), written by hand. Text compares
#: by code point and case-sensitively unless ``ignore_case``; ``ne``/``not_`` are
#: null-safe (a missing value differs from any value); a number never equals text.
FILTER_CASES: list[tuple[str, Filter, set[str]]] = [
    ("eq", eq("last_name", "Smith"), {"anna", "bob", "carl"}),
    ("eq-none", eq("first_name", None), {"obrien"}),
    ("ne-null-safe", ne("owner_id", "u1"), {"wei", "anna_lc", "obrien", "fang", "zoe", "carl"}),
    ("lt-date", lt("date_of_birth", dt.date(1990, 1, 1)), {"bob"}),
    ("le-date", le("date_of_birth", dt.date(1990, 5, 1)), {"wei", "bob", "fang"}),
    ("gt-text", gt("last_name", "Smith"), {"wei", "anna_lc", "fang", "zoe"}),
    ("ge-text", ge("first_name", "anna"), {"wei", "anna_lc", "fang"}),
    ("in", in_("owner_id", ["u1", "u3"]), {"anna", "bob", "zoe"}),
    ("in-with-none", in_("owner_id", ["u3", None]), {"wei", "fang", "zoe", "carl"}),
    ("contains", field("email").contains("example.c"), {"wei", "anna", "bob", "fang"}),
    (
        "contains-ci",
        field("email").contains("EXAMPLE.COM", ignore_case=True),
        {"anna", "bob", "carl"},
    ),
    ("startswith", field("last_name").startswith("Sm"), {"anna", "bob", "carl"}),
    (
        "startswith-ci",
        field("first_name").startswith("AN", ignore_case=True),
        {"anna", "anna_lc"},
    ),
    ("contains-unicode-ci", field("last_name").contains("ångs", ignore_case=True), {"zoe"}),
    ("is-null", is_null("email"), {"anna_lc"}),
    ("not-null", field("owner_id").not_null(), {"anna", "anna_lc", "bob", "obrien", "zoe"}),
    ("has-tag", has("tags", "vip"), {"wei", "anna", "carl"}),
    ("has-missing-tag", has("tags", "nope"), set()),
    ("and", all_of(eq("last_name", "Smith"), has("tags", "vip")), {"anna", "carl"}),
    ("or", any_of(eq("first_name", "伟"), eq("owner_id", "u3")), {"wei", "zoe"}),
    ("not-eq", not_(eq("owner_id", "u1")), {"wei", "anna_lc", "obrien", "fang", "zoe", "carl"}),
    (
        "not-lt",
        not_(lt("date_of_birth", dt.date(1990, 1, 1))),
        {"wei", "anna", "anna_lc", "obrien", "fang", "zoe", "carl"},
    ),
    (
        "not-contains",
        not_(field("email").contains("example.com")),
        {"wei", "anna_lc", "obrien", "fang", "zoe", "carl"},
    ),
    ("custom-eq", eq("custom.tier", "gold"), {"wei", "anna_lc"}),
    ("custom-number", ge("custom.score", 75), {"wei", "anna"}),
    ("custom-number-vs-text", eq("custom.score", 90), {"wei"}),
    ("custom-bool", eq("custom.flag", True), {"zoe"}),
    ("custom-null", is_null("custom.tier"), {"bob", "obrien", "zoe", "carl"}),
    ("custom-ne", ne("custom.tier", "gold"), {"anna", "bob", "obrien", "fang", "zoe", "carl"}),
    ("custom-in", in_("custom.tier", ["silver", "bronze"]), {"anna", "fang"}),
    (
        "custom-not-gt",
        not_(gt("custom.score", 50)),
        {"anna_lc", "bob", "obrien", "fang", "zoe", "carl"},
    ),
    ("custom-startswith", field("custom.tier").startswith("go"), {"wei", "anna_lc"}),
    (
        "between",
        field("date_of_birth").between(dt.date(1985, 1, 1), dt.date(1990, 5, 1)),
        {"wei", "bob", "fang"},
    ),
]

#: (order_by, labels in the expected order), written by hand. NULLs sort first
#: ascending and last descending; ties are broken by ascending id.
ORDER_CASES: list[tuple[list[str], list[str]]] = [
    (["last_name"], ["obrien", "anna", "bob", "carl", "anna_lc", "zoe", "wei", "fang"]),
    (["-last_name"], ["fang", "wei", "zoe", "anna_lc", "anna", "bob", "carl", "obrien"]),
    (
        ["last_name", "-first_name"],
        ["obrien", "carl", "bob", "anna", "anna_lc", "zoe", "wei", "fang"],
    ),
    (["owner_id"], ["wei", "fang", "carl", "anna", "bob", "anna_lc", "obrien", "zoe"]),
    (
        ["-owner_id", "last_name"],
        ["zoe", "obrien", "anna_lc", "anna", "bob", "carl", "wei", "fang"],
    ),
    (["date_of_birth"], ["anna", "anna_lc", "obrien", "zoe", "carl", "bob", "wei", "fang"]),
    (["-date_of_birth"], ["wei", "fang", "bob", "anna", "anna_lc", "obrien", "zoe", "carl"]),
    (["email"], ["anna_lc", "anna", "bob", "carl", "fang", "obrien", "wei", "zoe"]),
]

_HYPO = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def stamp(entity: E, tenant: str, *, at: dt.datetime = _T0) -> E:
    """``entity`` as a session hands it to an adapter's ``add``.

    Args:
        entity: a new record.
        tenant: the tenant id to set.
        at: the creation time to stamp (also ``updated_at``).

    Returns:
        A copy with ``tenant_id``, ``created_at``/``updated_at`` and version 1.
    """
    return attrs.evolve(entity, tenant_id=tenant, created_at=at, updated_at=at, version=1)


class RepositoryContract:
    """The contract cases; subclass it and implement :meth:`make_store`.

    Capabilities are class attributes; a case that needs one the adapter
    lacks skips and says why.
    """

    #: units of work may run in several threads at once
    supports_concurrent_threads: ClassVar[bool] = True
    #: the most values one ``in_`` may hold; ``None``: no limit
    max_in_list: ClassVar[int | None] = None

    def make_store(self) -> Store:
        """The store under test (may be shared between tests; each uses its own tenant).

        Returns:
            A store; :meth:`release_store` is called on it after each test.

        Raises:
            NotImplementedError: the subclass did not implement it.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement make_store()")

    def release_store(self, store: Store) -> None:
        """Called after each test with the store :meth:`make_store` gave; closes it.

        Args:
            store: the store of the test that ended. Override to keep a shared one.
        """
        store.close()

    # -- fixtures and helpers

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        """The store of one test."""
        store = self.make_store()
        try:
            yield store
        finally:
            self.release_store(store)

    @pytest.fixture
    def tenant(self) -> str:
        """A fresh tenant per test."""
        return f"t-{uuid.uuid4().hex[:12]}"

    @staticmethod
    def scoped(tenant: str, where: Filter | None = None) -> Filter:
        """``where`` within ``tenant`` (what the session adds to every query).

        Args:
            tenant: the test's tenant.
            where: the condition, or ``None`` for every record.

        Returns:
            The combined filter.
        """
        base = eq("tenant_id", tenant)
        return base if where is None else all_of(base, where)

    def commit(self, store: Store, records: Sequence[E]) -> list[E]:
        """Add ``records`` (already stamped) in one committed unit of work.

        Args:
            store: the store.
            records: records of any types.

        Returns:
            The records as stored.
        """
        uow = store.begin()
        try:
            out = [uow.repository(type(r)).add(r) for r in records]
            uow.commit()
        finally:
            uow.close()
        return out

    def seed(self, store: Store, tenant: str) -> dict[str, Customer]:
        """Store :data:`PEOPLE` in ``tenant``, ids ascending in label order.

        Args:
            store: the store.
            tenant: the test's tenant.

        Returns:
            label -> the stored customer.
        """
        ids = sorted(uuid.uuid4() for _ in PEOPLE)
        rows = [
            stamp(Customer(id=id, **fields), tenant)
            for id, fields in zip(ids, PEOPLE.values(), strict=True)
        ]
        uow = store.begin()
        try:
            stored = uow.repository(Customer).add_many(rows)
            uow.commit()
        finally:
            uow.close()
        return dict(zip(PEOPLE, stored, strict=True))

    @staticmethod
    def labels(people: dict[str, Customer], rows: Sequence[Customer]) -> list[str]:
        """The labels of ``rows``, in their order."""
        by_id = {c.id: label for label, c in people.items()}
        return [by_id[c.id] for c in rows]

    @staticmethod
    def _read(store: Store) -> tuple[UnitOfWork, Repository[Customer]]:
        uow = store.begin()
        return uow, uow.repository(Customer)

    # -- CRUD

    @pytest.mark.parametrize("cls", list(COLLECTIONS.values()), ids=list(COLLECTIONS))
    def test_every_entity_round_trips(self, store: Store, tenant: str, cls: type[Entity]) -> None:
        @_HYPO
        @given(entity=entity_of(cls))
        def check(entity: Entity) -> None:
            raw = stamp(entity, tenant)
            (stored,) = self.commit(store, [raw])
            uow = store.begin()
            try:
                loaded = uow.repository(cls).get(entity.id)
            finally:
                uow.close()
            assert stored == raw
            assert loaded == raw

        check()

    def test_get_missing_raises_not_found(self, store: Store) -> None:
        uow, repo = self._read(store)
        try:
            with pytest.raises(NotFound) as err:
                repo.get(uuid.uuid4())
            assert err.value.entity == "Customer"
        finally:
            uow.close()

    def test_duplicate_id_is_refused(self, store: Store, tenant: str) -> None:
        c = stamp(Customer(first_name="A"), tenant)
        self.commit(store, [c])
        uow, repo = self._read(store)
        try:
            with pytest.raises(AlreadyExists):
                repo.add(c)
                uow.commit()  # adapters that stage writes may find out only here
        finally:
            uow.close()

    def test_update_increments_version_and_keeps_the_rest(self, store: Store, tenant: str) -> None:
        (c,) = self.commit(store, [stamp(Customer(first_name="A"), tenant)])
        uow, repo = self._read(store)
        try:
            c2 = repo.update(attrs.evolve(c, first_name="B"))
            uow.commit()
        finally:
            uow.close()
        assert (c2.version, c2.first_name, c2.created_at) == (2, "B", c.created_at)
        uow, repo = self._read(store)
        try:
            assert repo.get(c.id) == c2
        finally:
            uow.close()

    def test_stale_update_is_a_conflict(self, store: Store, tenant: str) -> None:
        (c,) = self.commit(store, [stamp(Customer(first_name="A"), tenant)])
        uow, repo = self._read(store)
        try:
            repo.update(attrs.evolve(c, first_name="B"))
            uow.commit()
        finally:
            uow.close()
        uow, repo = self._read(store)
        try:
            with pytest.raises(Conflict) as err:
                repo.update(attrs.evolve(c, first_name="C"))
                uow.commit()
            assert (err.value.expected_version, err.value.actual_version) == (1, 2)
        finally:
            uow.close()
        uow, repo = self._read(store)
        try:
            assert repo.get(c.id).first_name == "B"
        finally:
            uow.close()

    def test_update_of_a_missing_record_is_a_conflict(self, store: Store, tenant: str) -> None:
        uow, repo = self._read(store)
        try:
            with pytest.raises(Conflict):
                repo.update(stamp(Customer(first_name="ghost"), tenant))
                uow.commit()
        finally:
            uow.close()

    def test_delete_removes_and_checks_the_version(self, store: Store, tenant: str) -> None:
        (c,) = self.commit(store, [stamp(Customer(first_name="A"), tenant)])
        uow, repo = self._read(store)
        try:
            with pytest.raises(Conflict):
                repo.delete(c.id, expected_version=7)
                uow.commit()
        finally:
            uow.close()
        uow, repo = self._read(store)
        try:
            repo.delete(c.id, expected_version=1)
            uow.commit()
        finally:
            uow.close()
        uow, repo = self._read(store)
        try:
            with pytest.raises(NotFound):
                repo.get(c.id)
            with pytest.raises(NotFound):
                repo.delete(c.id)
        finally:
            uow.close()

    def test_get_many_skips_missing_and_keeps_order(self, store: Store, tenant: str) -> None:
        p = self.seed(store, tenant)
        uow, repo = self._read(store)
        try:
            got = repo.get_many([p["bob"].id, uuid.uuid4(), p["wei"].id])
        finally:
            uow.close()
        assert [c.id for c in got] == [p["bob"].id, p["wei"].id]

    def test_add_many_with_a_taken_id_writes_nothing(self, store: Store, tenant: str) -> None:
        (taken,) = self.commit(store, [stamp(Customer(first_name="taken"), tenant)])
        twice = stamp(Customer(first_name="twice"), tenant)
        for batch in (
            [stamp(Customer(first_name="new"), tenant), taken],
            [twice, stamp(Customer(first_name="y"), tenant), twice],
        ):
            uow, repo = self._read(store)
            try:
                with pytest.raises(AlreadyExists):
                    repo.add_many(batch)
                    uow.commit()
            finally:
                uow.close()
        uow, repo = self._read(store)
        try:
            assert [c.first_name for c in repo.find(self.scoped(tenant))] == ["taken"]
        finally:
            uow.close()

    # -- transactions

    def test_rollback_discards_every_repository(self, store: Store, tenant: str) -> None:
        uow = store.begin()
        try:
            uow.repository(Customer).add(stamp(Customer(first_name="A"), tenant))
            uow.repository(Account).add(stamp(Account(name="ACME"), tenant))
            uow.rollback()
            uow.repository(Customer).add(stamp(Customer(first_name="kept"), tenant))
            uow.commit()
        finally:
            uow.close()
        uow = store.begin()
        try:
            names = [c.first_name for c in uow.repository(Customer).find(self.scoped(tenant))]
            assert names == ["kept"]
            assert uow.repository(Account).count(self.scoped(tenant)) == 0
        finally:
            uow.close()

    def test_close_without_commit_rolls_back(self, store: Store, tenant: str) -> None:
        uow, repo = self._read(store)
        c = repo.add(stamp(Customer(first_name="A"), tenant))
        assert repo.get(c.id) == c  # a unit sees its own writes
        other, other_repo = self._read(store)
        try:
            with pytest.raises(NotFound):  # nobody else does before commit
                other_repo.get(c.id)
        finally:
            other.close()
        uow.close()
        uow, repo = self._read(store)
        try:
            assert repo.count(self.scoped(tenant)) == 0
        finally:
            uow.close()

    def test_failed_commit_writes_nothing(self, store: Store, tenant: str) -> None:
        (existing,) = self.commit(store, [stamp(Customer(first_name="A"), tenant)])
        late, late_repo = self._read(store)
        late_repo.add(stamp(Customer(first_name="B"), tenant))
        stale = late_repo.get(existing.id)
        uow, repo = self._read(store)
        try:
            repo.update(attrs.evolve(existing, first_name="A2"))
            uow.commit()
        finally:
            uow.close()
        try:
            with pytest.raises(Conflict):
                late_repo.update(attrs.evolve(stale, first_name="A3"))
                late.commit()
        finally:
            late.close()
        uow, repo = self._read(store)
        try:
            assert [c.first_name for c in repo.find(self.scoped(tenant))] == ["A2"]
        finally:
            uow.close()

    def test_threads_updating_one_record_never_lose_an_update(
        self, store: Store, tenant: str
    ) -> None:
        if not self.supports_concurrent_threads:
            pytest.skip(f"{type(self).__name__}: supports_concurrent_threads is False")
        (c,) = self.commit(store, [stamp(Customer(first_name="n", custom={"n": 0}), tenant)])
        landed: list[int] = []
        conflicts: list[int] = []
        lock = threading.Lock()

        def worker(k: int) -> None:
            for _ in range(5):
                uow, repo = self._read(store)
                try:
                    cur = repo.get(c.id)
                    repo.update(attrs.evolve(cur, custom={"n": cur.custom["n"] + 1}))
                    uow.commit()
                    with lock:
                        landed.append(k)
                except Conflict:
                    with lock:
                        conflicts.append(k)
                finally:
                    uow.close()

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        uow, repo = self._read(store)
        try:
            final = repo.get(c.id)
        finally:
            uow.close()
        assert (final.custom["n"], final.version) == (len(landed), 1 + len(landed))
        assert len(landed) + len(conflicts) == 20

    # -- queries

    @pytest.mark.parametrize(
        ("label", "where", "expected"), FILTER_CASES, ids=[c[0] for c in FILTER_CASES]
    )
    def test_filter_operators(
        self, store: Store, tenant: str, label: str, where: Filter, expected: set[str]
    ) -> None:
        p = self.seed(store, tenant)
        uow, repo = self._read(store)
        try:
            got = self.labels(p, repo.find(self.scoped(tenant, where)))
            count = repo.count(self.scoped(tenant, where))
        finally:
            uow.close()
        assert sorted(got) == sorted(expected), label
        assert count == len(expected)

    def test_unknown_field_is_a_query_error(self, store: Store, tenant: str) -> None:
        uow, repo = self._read(store)
        try:
            with pytest.raises(QueryError) as err:
                repo.find(self.scoped(tenant, eq("shoe_size", 42)))
            assert err.value.field == "shoe_size"
        finally:
            uow.close()

    def test_wrong_value_type_is_a_query_error(self, store: Store, tenant: str) -> None:
        uow, repo = self._read(store)
        try:
            with pytest.raises(QueryError):
                repo.find(self.scoped(tenant, eq("date_of_birth", "not a date")))
        finally:
            uow.close()

    def test_money_subfields_filter_and_sort(self, store: Store, tenant: str) -> None:
        rows = [
            Opportunity(name="a", amount=Money("100.50", "CNY")),
            Opportunity(name="b", amount=Money("99", "USD")),
            Opportunity(name="c", amount=None),
            Opportunity(name="d", amount=Money("2500", "CNY")),
        ]
        self.commit(store, [stamp(o, tenant) for o in rows])
        uow = store.begin()
        try:
            repo = uow.repository(Opportunity)
            big = repo.find(
                self.scoped(tenant, gt("amount.amount", Decimal("100"))), order_by="amount.amount"
            )
            cny = repo.find(
                self.scoped(tenant, eq("amount.currency", "CNY")), order_by="-amount.amount"
            )
        finally:
            uow.close()
        assert [o.name for o in big] == ["a", "d"]
        assert [o.name for o in cny] == ["d", "a"]

    def test_aggregate_groups_buckets_and_measures(self, store: Store, tenant: str) -> None:
        rows = [
            Opportunity(
                name="a",
                stage="proposal",
                amount=Money("100.50", "CNY"),
                expected_close_date=dt.date(2024, 1, 31),
            ),
            Opportunity(
                name="b",
                stage="proposal",
                amount=Money("-0.5", "CNY"),
                expected_close_date=dt.date(2024, 2, 1),
            ),
            Opportunity(name="c", stage="closed_won"),
            Opportunity(
                name="d",
                stage="closed_won",
                amount=Money("2500", "USD"),
                expected_close_date=dt.date(2024, 3, 4),
            ),
        ]
        self.commit(store, [stamp(o, tenant) for o in rows])
        group_by: list[str | Bucket] = ["stage", bucket("expected_close_date", "quarter", name="q")]
        measures = {
            "n": count(),
            "total": sum_("amount.amount"),
            "currencies": count_distinct("amount.currency"),
            "last": max_("name"),
        }
        uow = store.begin()
        try:
            repo = uow.repository(Opportunity)
            got = repo.aggregate(self.scoped(tenant), group_by=group_by, measures=measures)
            nothing = repo.aggregate(
                self.scoped(f"{tenant}-empty"), measures={"n": count(), "t": sum_("amount.amount")}
            )
            repo.add(
                stamp(Opportunity(name="e", stage="proposal", amount=Money("1", "CNY")), tenant)
            )
            staged = repo.aggregate(
                self.scoped(tenant, eq("stage", "proposal")), measures={"n": count()}
            )
        finally:
            uow.close()
        q1 = dt.date(2024, 1, 1)
        assert got == [
            {"stage": "closed_won", "q": None, "n": 1, "total": None, "currencies": 0, "last": "c"},
            {
                "stage": "closed_won",
                "q": q1,
                "n": 1,
                "total": Decimal("2500"),
                "currencies": 1,
                "last": "d",
            },
            {
                "stage": "proposal",
                "q": q1,
                "n": 2,
                "total": Decimal("100"),
                "currencies": 1,
                "last": "b",
            },
        ]
        assert nothing == [{"n": 0, "t": None}]
        assert staged == [{"n": 3}]  # a unit sees its own staged writes

    @pytest.mark.parametrize(
        ("order", "expected"), ORDER_CASES, ids=["|".join(o) for o, _ in ORDER_CASES]
    )
    def test_ordering_with_ties_and_nulls(
        self, store: Store, tenant: str, order: list[str], expected: list[str]
    ) -> None:
        p = self.seed(store, tenant)
        uow, repo = self._read(store)
        try:
            got = self.labels(p, repo.find(self.scoped(tenant), order_by=order))
        finally:
            uow.close()
        assert got == expected

    @pytest.mark.parametrize(
        ("order", "expected"), ORDER_CASES, ids=["|".join(o) for o, _ in ORDER_CASES]
    )
    def test_keyset_pages_cover_every_row_once(
        self, store: Store, tenant: str, order: list[str], expected: list[str]
    ) -> None:
        p = self.seed(store, tenant)
        seen: list[Customer] = []
        after = None
        uow, repo = self._read(store)
        try:
            while True:
                page = repo.find(self.scoped(tenant), order_by=order, limit=3, after=after)
                assert len(page) <= 3
                seen.extend(page)
                if page.next_cursor is None:
                    break
                after = page.next_cursor
        finally:
            uow.close()
        assert self.labels(p, seen) == expected

    def test_cursor_for_another_order_is_refused(self, store: Store, tenant: str) -> None:
        self.seed(store, tenant)
        uow, repo = self._read(store)
        try:
            page = repo.find(self.scoped(tenant), order_by="last_name", limit=2)
            assert page.next_cursor is not None
            with pytest.raises(QueryError):
                repo.find(self.scoped(tenant), order_by="first_name", after=page.next_cursor)
            with pytest.raises(QueryError):
                repo.find(self.scoped(tenant), order_by="last_name", after="garbage!")
        finally:
            uow.close()

    def test_stream_yields_everything_in_batches(self, store: Store, tenant: str) -> None:
        self.commit(store, [stamp(Customer(first_name=f"c{i:03}"), tenant) for i in range(57)])
        uow, repo = self._read(store)
        try:
            got = [
                c.first_name
                for c in repo.stream(self.scoped(tenant), order_by="first_name", batch_size=10)
            ]
        finally:
            uow.close()
        assert got == [f"c{i:03}" for i in range(57)]

    def test_limit_zero_and_empty_in(self, store: Store, tenant: str) -> None:
        self.seed(store, tenant)
        uow, repo = self._read(store)
        try:
            assert list(repo.find(self.scoped(tenant), limit=0)) == []
            assert list(repo.find(self.scoped(tenant, in_("owner_id", [])))) == []
        finally:
            uow.close()

    def test_long_in_list(self, store: Store, tenant: str) -> None:
        size = 2000 if self.max_in_list is None else self.max_in_list
        p = self.seed(store, tenant)
        values = [p["bob"].id, *(uuid.uuid4() for _ in range(size - 2)), p["wei"].id]
        uow, repo = self._read(store)
        try:
            got = repo.find(self.scoped(tenant, in_("id", values)), order_by="last_name")
        finally:
            uow.close()
        assert self.labels(p, got) == ["bob", "wei"]

    def test_tenants_do_not_see_each_other_through_the_tenant_filter(
        self, store: Store, tenant: str
    ) -> None:
        self.seed(store, tenant)
        uow, repo = self._read(store)
        try:
            assert repo.count(self.scoped(f"other-{tenant}")) == 0
            assert repo.count(self.scoped(tenant)) == len(PEOPLE)
        finally:
            uow.close()
