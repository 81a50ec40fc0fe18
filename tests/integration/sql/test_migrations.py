"""Schema lifecycle on SQLite, PostgreSQL and MariaDB: migrations, revision checks, the CLI.

Creating the schema takes seconds on MariaDB, so each test walks one database
through several steps.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import crmcore
from crmcore.__main__ import main
from crmcore.errors import SchemaError
from crmcore.query import field
from crmcore.storage import sql
from crmcore.storage.sql import _migrate


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _diff(url: str) -> list[object]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": _migrate.compare_type,
                    "version_table": _migrate.VERSION_TABLE,
                },
            )
            return list(compare_metadata(context, sql.metadata()))
    finally:
        engine.dispose()


def test_migrations_build_the_code_schema_and_step_back(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    crm_tables = set(sql.metadata().tables)
    head = sql.head_revision()
    # empty -> head through the shipped migrations
    sql.upgrade(empty_url)
    assert head == sql.current_revision(empty_url)
    assert crm_tables <= _tables(empty_url)
    # the migrations and the code's MetaData agree exactly (autogenerate finds
    # nothing), and no table the code no longer has is left behind
    assert _diff(empty_url) == []
    assert _tables(empty_url) - crm_tables == {_migrate.VERSION_TABLE}
    # down to the first revision, then back up: each downgrade undoes its upgrade
    sql.downgrade(empty_url, "-1")
    assert sql.current_revision(empty_url) == "0003"
    assert "total_amount" not in _columns(empty_url, "orders")
    sql.downgrade(empty_url, "-1")
    assert sql.current_revision(empty_url) == "0002"
    assert "agents" not in _tables(empty_url)
    sql.downgrade(empty_url, "0001")
    assert sql.current_revision(empty_url) == "0001"
    assert "tickets_search_keys" in _tables(empty_url)
    sql.upgrade(empty_url)
    assert _diff(empty_url) == []
    # down to nothing
    sql.downgrade(empty_url, "base")
    assert sql.current_revision(empty_url) is None
    assert set() == crm_tables & _tables(empty_url)
    if "sqlite" not in empty_url:
        return  # the command line is the same on every backend; DDL is slow on servers
    # and the same through the command line
    assert main(["db", "current", empty_url]) == 0
    assert "none" in capsys.readouterr().out
    assert main(["db", "upgrade", empty_url]) == 0
    assert head in capsys.readouterr().out
    assert main(["db", "current", empty_url]) == 0
    assert f"{head} (up to date)" in capsys.readouterr().out
    assert main(["db", "downgrade", empty_url, "base"]) == 0
    assert "base" in capsys.readouterr().out
    assert sql.current_revision(empty_url) is None


def _columns(url: str, table: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_0004_computes_the_total_of_existing_orders(empty_url: str) -> None:
    """Orders stored before 0004 get the total Order computes, on every backend."""
    crm = crmcore.connect(empty_url)
    lines = (
        crmcore.OrderLine(
            unit_price=crmcore.Money("333.333333", "CNY"), quantity=3, discount="0.1"
        ),
        crmcore.OrderLine(unit_price=crmcore.Money("19.99", "CNY"), quantity="2.5"),
    )
    with crm.session() as s:
        big = s.orders.add(crmcore.Order(lines=lines))
        empty = s.orders.add(crmcore.Order(currency="USD"))
    crm.store.close()  # type: ignore[attr-defined]
    sql.downgrade(empty_url, "0003")
    assert "total_amount" not in _columns(empty_url, "orders")
    sql.upgrade(empty_url)
    assert _diff(empty_url) == []
    crm = crmcore.connect(empty_url)
    with crm.session() as s:
        assert s.orders.get(big.id).total == big.total
        assert big.total == crmcore.Money("949.974999", "CNY")
        assert s.orders.get(empty.id).total == crmcore.Money("0", "USD")
        assert [o.id for o in s.orders.find(field("total.amount") > 900)] == [big.id]
    crm.store.close()  # type: ignore[attr-defined]


def test_store_creates_the_schema_and_checks_the_revision(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql.SqlStore(empty_url).close()  # empty: create_all + stamp head
    head = sql.head_revision()
    assert head == sql.current_revision(empty_url)
    assert _diff(empty_url) == []
    sql.SqlStore(empty_url).close()  # at head: just checked
    # code newer than the database
    monkeypatch.setattr(_migrate, "head_revision", lambda: "9999_future")
    with pytest.raises(SchemaError) as err:
        sql.SqlStore(empty_url)
    message = str(err.value)
    assert f"database schema is at revision {head}, code expects 9999_future" in message
    assert "crmcore db upgrade" in message
    assert "crmcore.storage.sql.upgrade(url)" in message
    monkeypatch.undo()
    # database newer than the code
    engine = sa.create_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {_migrate.VERSION_TABLE} SET version_num = 'abc123'"))
    finally:
        engine.dispose()
    with pytest.raises(SchemaError, match="abc123"):
        crmcore.connect(empty_url)


def test_empty_and_unversioned_databases(empty_url: str) -> None:
    sql.SqlStore(empty_url, create_schema=False).close()
    assert sql.current_revision(empty_url) is None
    assert set() == _tables(empty_url)
    engine = sa.create_engine(empty_url)
    try:
        sql.metadata().create_all(engine)  # tables, but no revision
    finally:
        engine.dispose()
    with pytest.raises(SchemaError, match="no schema revision"):
        sql.SqlStore(empty_url)


def test_cli_reports_errors_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current", "nosuchdialect://x"]) == 1
    assert capsys.readouterr().err.startswith("crmcore: ")


def test_stepping_over_0002_keeps_the_data(empty_url: str) -> None:
    """Rows survive 0002's down and up steps (it drops and re-adds the sealed column)."""
    if "sqlite" not in empty_url:
        pytest.skip("one backend is enough for the data path; DDL is slow on servers")
    admin = crmcore.Principal(user_id="u", tenant_id="t", roles={"admin"})
    crm = crmcore.connect(empty_url)
    with crm.session(admin) as s:
        ticket = s.tickets.add(crmcore.Ticket(subject="Printer"))
        customer = s.customers.add(crmcore.Customer(first_name="伟", last_name="张"))
    crm.store.close()  # type: ignore[attr-defined]
    sql.downgrade(empty_url, "0001")
    sql.upgrade(empty_url)
    assert _diff(empty_url) == []
    crm = crmcore.connect(empty_url)
    with crm.session(admin) as s:
        assert s.tickets.get(ticket.id).subject == "Printer"
        assert s.customers.get(customer.id).last_name == "张"
    assert not hasattr(ticket, "sealed") and hasattr(customer, "sealed")
