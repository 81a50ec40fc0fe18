"""``add_many(progress=...)``: the bulk insert reports as it checks records."""

# Project convention: assert expected == actual (constants on the left).
# ruff: noqa: SIM300

from __future__ import annotations

import io

import pytest

import crmcore
from crmcore import Customer
from crmcore.errors import ConfigurationError, ValidationError


def test_add_many_reports_progress_as_records_are_checked() -> None:
    calls: list[tuple[str, int, int]] = []
    crm = crmcore.connect("memory://")
    with crm.session() as s:
        added = s.customers.add_many(
            [Customer(first_name=f"n{i}") for i in range(2500)],
            progress=lambda stage, done, total: calls.append((stage, done, total)),
        )
    assert 2500 == len(added)
    assert [("add_many", 1000, 2500), ("add_many", 2000, 2500), ("add_many", 2500, 2500)] == calls
    with crm.session() as s:
        assert 2500 == s.customers.count()


def test_add_many_with_progress_stores_nothing_when_a_record_is_invalid() -> None:
    crm = crmcore.connect("memory://")
    rows = [Customer(first_name="a"), Customer(email="not an address")]
    with pytest.raises(ValidationError), crm.session() as s:
        s.customers.add_many(rows, progress=lambda *_: None)
    with crm.session() as s:
        assert 0 == s.customers.count()


def test_add_many_progress_must_be_a_callback_or_a_bool() -> None:
    crm = crmcore.connect("memory://")
    with pytest.raises(ConfigurationError), crm.session() as s:
        s.customers.add_many([Customer(first_name="a")], progress=io.StringIO())  # type: ignore[arg-type]
