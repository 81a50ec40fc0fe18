"""Bad find() input is the same QueryError on every backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import crmcore
from crmcore import Customer
from crmcore.errors import QueryError
from crmcore.query import MAX_LIMIT, field

Factory = Callable[[], crmcore.Session]


@pytest.mark.parametrize("limit", ["5", 2.5, 2**62 + 1, 2**63, 2**70, -1])
def test_find_refuses_bad_limits(session: Factory, tenant: str, limit: object) -> None:
    with session() as s:
        s.customers.add(Customer(tenant_id=tenant, first_name="A"))
        with pytest.raises(QueryError, match="limit"):
            s.customers.find(limit=limit)  # type: ignore[arg-type]


def test_find_accepts_the_largest_limit(session: Factory, tenant: str) -> None:
    with session() as s:
        s.customers.add(Customer(tenant_id=tenant, first_name="A"))
        assert len(s.customers.find(limit=MAX_LIMIT)) == 1


@pytest.mark.parametrize("value", ["a\ud800", "a\x00", 2**70])
def test_find_refuses_unstorable_filter_values(session: Factory, value: object) -> None:
    with session() as s, pytest.raises(QueryError) as err:
        s.customers.find(field("custom.x") == value)
    assert err.value.field == "custom.x"


def test_find_refuses_a_crafted_cursor(session: Factory) -> None:
    with session() as s, pytest.raises(QueryError, match="malformed cursor"):
        s.customers.find(after="eyJvIjpbImlkIl0sImsiOlt7IiRkZWNpbWFsIjoieCJ9XX0")
