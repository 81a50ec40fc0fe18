"""What the SQL adapter must get right per database: settings, text, JSON, money, errors."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

import crmcore
from crmcore import Customer, Money, Opportunity, Principal
from crmcore.errors import ConfigurationError, CrmError, QueryError, ValidationError
from crmcore.model import Activity, ActivityType, MergeRecord, TransitionRecord
from crmcore.query import (
    eq,
    field,
    ge,
    gt,
    has,
    in_,
    is_null,
    lt,
    ne,
    normalize_order,
    not_,
    sort_records,
)
from crmcore.storage.sql import SqlStore

Factory = Callable[[], crmcore.Session]


@pytest.fixture(scope="module")
def crm(module_url: str) -> Iterator[crmcore.Crm]:
    crm = crmcore.connect(module_url, validation=False)
    yield crm
    crm.close()


@pytest.fixture
def session(crm: crmcore.Crm) -> Factory:
    principal = Principal.system_principal(f"t-{uuid.uuid4().hex[:8]}")
    return lambda: crm.session(principal)


# --------------------------------------------------------------------------- SQLite settings


def test_sqlite_file_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    store = SqlStore(url)
    try:
        uow = store.begin()
        conn = uow.connection()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) > 0
        uow.close()
    finally:
        store.close()


def test_in_memory_sqlite_is_shared_by_every_session() -> None:
    crm = crmcore.connect("sqlite://", validation=False)
    with crm.session() as s:
        c = s.customers.add(Customer(first_name="mem"))
    with crm.session() as s:
        assert s.customers.get(c.id).first_name == "mem"
    crm.close()


def test_an_engine_passed_in_is_not_disposed(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'own.db'}")
    crm = crmcore.connect(engine=engine, validation=False)
    with crm.session() as s:
        s.customers.add(Customer(first_name="kept"))
    crm.close()
    with engine.connect() as conn:  # still usable: crmcore did not dispose of it
        assert conn.exec_driver_sql("SELECT count(*) FROM customers").scalar() == 1
    engine.dispose()


def test_bad_urls_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        SqlStore("not a url")
    with pytest.raises(ConfigurationError):
        SqlStore("sqlite://", no_such_engine_option=1)
    with pytest.raises(ConfigurationError):
        SqlStore(sa.create_engine("sqlite://"), echo=True)


# --------------------------------------------------------------------------- text


NAMES = [
    "张伟",
    "Zoë Ångström",
    "O'Brien; DROP TABLE customers; --",
    "trailing space ",
    "Smith",
    "smith",
    "emoji 😀 and 𠀀",
    "e\u0301 combining",
    "עברית",
    "tab\tand\nnewline",
    "100% _under_score\\",
]


def test_unicode_text_round_trips_exactly(session: Factory) -> None:
    rows = [Customer(first_name=n, last_name=n, custom={"name": n}, tags={n}) for n in NAMES]
    with session() as s:
        s.customers.add_many(rows)
    with session() as s:
        got = s.customers.get_many([r.id for r in rows])
    assert [(r.first_name, r.last_name, r.custom, r.tags) for r in rows] == [
        (g.first_name, g.last_name, g.custom, g.tags) for g in got
    ]


def test_text_compares_by_code_point_and_case(session: Factory) -> None:
    rows = [Customer(last_name=n) for n in NAMES]
    with session() as s:
        s.customers.add_many(rows)
    with session() as s:
        assert [c.last_name for c in s.customers.find(eq("last_name", "Smith"))] == ["Smith"]
        assert [c.last_name for c in s.customers.find(eq("last_name", "trailing space "))] == [
            "trailing space "
        ]
        assert list(s.customers.find(eq("last_name", "trailing space"))) == []
        ordered = [c.last_name for c in s.customers.find(order_by="last_name")]
        assert sorted(NAMES) == ordered
        # LIKE wildcards in the value are matched literally
        assert [c.last_name for c in s.customers.find(field("last_name").contains("% _"))] == [
            "100% _under_score\\"
        ]
        assert list(s.customers.find(field("last_name").contains("%x"))) == []
        assert {"Zoë Ångström"} == {
            c.last_name
            for c in s.customers.find(field("last_name").contains("ÅNGSTRÖM", ignore_case=True))
        }


def test_too_long_indexed_text_is_a_validation_error(session: Factory) -> None:
    with pytest.raises(ValidationError) as err, session() as s:
        s.customers.add(Customer(email="x" * 400 + "@example.com"))
    assert "too_long" in err.value.codes


# --------------------------------------------------------------------------- JSON


def _seed_custom(session: Factory) -> list[Customer]:
    values: list[dict[str, Any]] = [
        {"tier": "gold", "score": 90, "flags": ["a", "b"], "nested": {"level": 2}},
        {"tier": "silver", "score": 75.5, "flags": [], "nested": {"level": "2"}},
        {"tier": "Gold", "score": "90", "nested": None},
        {"score": True, "flags": ["b"], "tier": None},
        {"score": 1.5e300, "big": 2**53, "tiny": 5e-324},
        {"score": -0.25, "nested": {"level": [2]}},
        {},
    ]
    rows = [Customer(first_name=f"c{i}", custom=v) for i, v in enumerate(values)]
    with session() as s:
        return s.customers.add_many(rows)


JSON_FILTERS = [
    eq("custom.tier", "gold"),
    ne("custom.tier", "gold"),
    eq("custom.score", 90),
    eq("custom.score", "90"),
    eq("custom.score", True),
    eq("custom.score", 1),
    gt("custom.score", 80),
    lt("custom.score", 0),
    not_(ge("custom.score", 75.5)),
    in_("custom.tier", ["silver", None]),
    is_null("custom.tier"),
    is_null("custom.nested.level"),
    eq("custom.nested.level", 2),
    eq("custom.nested.level", "2"),
    eq("custom.nested.level.0", 2),
    has("custom.flags", "b"),
    has("custom.nested", "level"),
    field("custom.tier").startswith("G"),
    field("custom.tier").contains("OL", ignore_case=True),
    eq("custom.big", 2**53),
]


def test_json_custom_filters_match_the_reference(session: Factory) -> None:
    from crmcore.query import compile_predicate

    rows = _seed_custom(session)
    with session() as s:
        for where in JSON_FILTERS:
            expected = sorted(r.first_name or "" for r in rows if compile_predicate(where)(r))
            got = sorted(c.first_name or "" for c in s.customers.find(where))
            assert (where, expected) == (where, got)


def test_json_numbers_round_trip_exactly(session: Factory) -> None:
    rows = _seed_custom(session)
    with session() as s:
        got = s.customers.get(rows[4].id)
    assert got.custom == {"score": 1.5e300, "big": 2**53, "tiny": 5e-324}
    assert isinstance(got.custom["score"], float)
    assert isinstance(got.custom["big"], int)


def test_ordering_by_a_custom_field_pages_like_the_reference(session: Factory) -> None:
    rows = [
        r
        for r in _seed_custom(session)
        if not isinstance(r.custom.get("score"), bool)  # bool vs number: Python's quirk
    ]
    with session() as s:
        for order in (["custom.score"], ["-custom.score"], ["custom.tier", "-first_name"]):
            expected = [
                c.first_name
                for c in sort_records(
                    [r for r in rows if not isinstance(r.custom.get("score"), bool)],
                    normalize_order(order),
                )
            ]
            seen: list[str | None] = []
            after = None
            while True:
                page = s.customers.find(
                    not_(eq("custom.score", True)), order_by=order, limit=2, after=after
                )
                seen += [c.first_name for c in page]
                if page.next_cursor is None:
                    break
                after = page.next_cursor
            assert (order, expected) == (order, seen)


def test_json_arrays_and_mappings_of_other_entities(session: Factory) -> None:
    a = Activity(type=ActivityType.CALL, subject="call", participants=("ann", "bob"))
    survivor = uuid.uuid4()
    merged = [uuid.uuid4(), uuid.uuid4()]
    m = MergeRecord(entity="Customer", survivor_id=survivor, merged_ids=merged, journal={"x": 1})
    t = TransitionRecord(
        entity="Lead",
        record_id=uuid.uuid4(),
        machine="lead",
        event="qualify",
        from_state="new",
        to_state="qualified",
        data={"reason": "budget", "score": 3},
    )
    with session() as s:
        s.activities.add(a)
        s.merges.add(m)
        s.transitions.add(t)
    with session() as s:
        assert [a.id] == [x.id for x in s.activities.find(has("participants", "bob"))]
        assert list(s.activities.find(has("participants", "carl"))) == []
        assert [m.id] == [x.id for x in s.merges.find(has("merged_ids", merged[1]))]
        assert m.merged_ids == s.merges.get(m.id).merged_ids
        assert [t.id] == [x.id for x in s.transitions.find(eq("data.reason", "budget"))]
        assert [t.id] == [x.id for x in s.transitions.find(has("data", "score"))]


def test_json_keys_that_cannot_be_quoted_are_refused(session: Factory) -> None:
    with session() as s, pytest.raises(QueryError):
        s.customers.find(eq('custom.we"ird', 1))


# --------------------------------------------------------------------------- money and time


def test_money_keeps_fourteen_digits_and_six_places_and_sorts(session: Factory) -> None:
    amounts = [
        "-99999999999999.999999",
        "-0.000001",
        "0",
        "0.000001",
        "12.5",
        "99999999999999.999999",
    ]
    rows = [Opportunity(name=a, amount=Money(a, "CNY")) for a in reversed(amounts)]
    with session() as s:
        s.opportunities.add_many(rows)
    with session() as s:
        got = s.opportunities.find(order_by="amount.amount")
        assert amounts == [o.name for o in got]
        assert [Decimal(a) for a in amounts] == [o.amount.amount for o in got if o.amount]
        assert [
            o.name for o in s.opportunities.find(eq("amount.amount", Decimal("12.500000")))
        ] == ["12.5"]


def test_money_beyond_the_column_is_refused_not_rounded(session: Factory) -> None:
    with pytest.raises(ValidationError), session() as s:
        s.opportunities.add(Opportunity(name="x", amount=Money("0.0000001", "CNY")))


def test_timestamps_come_back_aware_utc(session: Factory) -> None:
    tz = dt.timezone(dt.timedelta(hours=8))
    when = dt.datetime(2024, 3, 1, 20, 0, 0, 123456, tzinfo=tz)
    with session() as s:
        c = s.customers.add(Customer(first_name="t"))
        s.customers.update(attrs.evolve(c, deleted_at=when))
    with session() as s:
        got = s.customers.get(c.id, include_deleted=True)
    assert got.deleted_at == when
    assert got.deleted_at is not None and got.deleted_at.utcoffset() == dt.timedelta(0)
    with session() as s:
        hits = s.customers.find(
            eq("deleted_at", dt.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)),
            include_deleted=True,
        )
        assert [c.id] == [h.id for h in hits]


# --------------------------------------------------------------------------- errors


def test_no_driver_error_reaches_the_caller(empty_url: str) -> None:
    crm = crmcore.connect(empty_url, create_schema=False, validation=False)  # no tables
    try:
        with pytest.raises(CrmError) as err, crm.session() as s:
            s.customers.get(uuid.uuid4())
    finally:
        crm.close()
    assert type(err.value).__module__ == "crmcore.errors"
    assert isinstance(err.value.__cause__, sa.exc.SQLAlchemyError)
