"""Issue #13: ``in_()`` with more values than a driver binds (PostgreSQL stops at 65,535).

70,000 values on every backend, on a column, on ids, negated and on a custom
key; the answers equal the in-memory reference.
"""

from __future__ import annotations

import datetime as _dt
import uuid

import crmcore
from crmcore import Customer, Principal
from crmcore.query import Filter, in_, not_

MANY = 70_000


def _rows() -> list[Customer]:
    return [
        Customer(first_name=f"c{i}", owner_id=f"o{i}", custom={"k": v})
        for i, v in enumerate(["o1", "o5", True, 3, "3", None, 2.5, "x"])
    ]


def _filters(ids: list[uuid.UUID]) -> dict[str, Filter]:
    names = [f"o{i}" for i in range(MANY)]
    other = [uuid.uuid4() for _ in range(MANY)]
    return {
        "column": in_("owner_id", [*names, None]),
        "ids": in_("id", [*other, ids[0], ids[3]]),
        "negated": not_(in_("owner_id", names[2:])),
        "custom": in_("custom.k", [*names, True, 2.5]),
    }


def _answers(crm: crmcore.Crm, tenant: str, ids: list[uuid.UUID]) -> dict[str, object]:
    with crm.session(Principal.system_principal(tenant)) as s:
        return {
            name: sorted(c.first_name or "" for c in s.customers.stream(f))
            for name, f in _filters(ids).items()
        }


def test_in_with_70000_values_answers_as_memory(crm: crmcore.Crm, tenant: str) -> None:
    with crm.session(Principal.system_principal(tenant)) as s:
        ids = [c.id for c in s.customers.add_many(_rows())]
    reference = crmcore.connect("memory://", validation=False)
    with reference.session(Principal.system_principal(tenant)) as s:
        s.customers.add_many(_rows())
    # the same ids in the reference, so the id filter has the same meaning
    with reference.session(Principal.system_principal(tenant)) as s:
        ref_ids = [c.id for c in s.customers.find(order_by="first_name").items]
    got = _answers(crm, tenant, ids)
    expected = _answers(reference, tenant, ref_ids)
    assert got == expected
    assert got["column"] == ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"]
    assert got["ids"] == ["c0", "c3"]
    assert got["custom"] == ["c0", "c1", "c2", "c6"]
    with crm.session(Principal.system_principal(tenant)) as s:  # paged, with a cursor
        where = in_("owner_id", [f"o{i}" for i in range(MANY)])
        page = s.customers.find(where, limit=3)
        rest = s.customers.find(where, limit=10, after=page.next_cursor)
        assert len(page.items) == 3 and len(rest.items) == 5
        assert s.customers.count(where) == 8


def test_long_in_lists_of_every_column_kind(crm: crmcore.Crm, tenant: str) -> None:
    """Past the bind-one-by-one threshold, each column type still renders its values right."""
    n = 1_500
    with crm.session(Principal.system_principal(tenant)) as s:
        c = s.customers.add(Customer(first_name="it's a\\b", date_of_birth=_dt.date(1990, 1, 1)))
    now = _dt.datetime.now(_dt.timezone.utc)
    filters = [
        in_("created_at", [c.created_at, *(now - _dt.timedelta(seconds=i) for i in range(n))]),
        in_(
            "date_of_birth",
            [
                _dt.date(1990, 1, 1),
                *(_dt.date(2000, 1, 1) + _dt.timedelta(days=i) for i in range(n)),
            ],
        ),
        in_("lifecycle_stage", ["subscriber", *(f"s{i}" for i in range(n))]),
        in_("version", list(range(n))),
        in_("first_name", ["it's a\\b", *(f"n{i}" for i in range(n))]),
    ]
    with crm.session(Principal.system_principal(tenant)) as s:
        assert [s.customers.count(f) for f in filters] == [1] * len(filters)
