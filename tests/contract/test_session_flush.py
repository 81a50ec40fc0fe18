"""``Session.flush``: staged writes go into one open transaction, still all or nothing."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

import crmcore
from crmcore import Customer
from crmcore.errors import AlreadyExists


def test_flushed_writes_are_seen_by_the_session_and_committed_together(
    session: Callable[[], crmcore.Session],
) -> None:
    with session() as s:
        first = s.customers.add(Customer(first_name="A", email="a@example.cn"))
        s.flush()
        assert s.customers.get(first.id).email == "a@example.cn"  # read after the flush
        changed = s.customers.update(attrs.evolve(s.customers.get(first.id), first_name="Ann"))
        s.customers.add(Customer(first_name="B"))
        s.flush()
        assert s.customers.count() == 2
        s.commit()
    with session() as s:
        assert sorted(c.first_name for c in s.customers.stream()) == ["Ann", "B"]
        assert s.customers.get(first.id).version == changed.version


def test_a_rollback_undoes_every_flushed_batch(session: Callable[[], crmcore.Session]) -> None:
    with session() as s:
        for i in range(3):
            s.customers.add_many([Customer(first_name=f"P{i}{j}") for j in range(4)])
            s.flush()
        s.rollback()
        assert s.customers.count() == 0
        s.customers.add(Customer(first_name="after"))  # the session goes on
        s.commit()
    with session() as s:
        assert [c.first_name for c in s.customers.stream()] == ["after"]


def test_a_clash_found_by_a_flush_undoes_the_earlier_batches(
    session: Callable[[], crmcore.Session],
) -> None:
    with session() as s:
        taken = s.customers.add(Customer(first_name="stored"))
        s.commit()
    with session() as s:
        s.customers.add(Customer(first_name="early"))
        s.flush()
        with pytest.raises(AlreadyExists):
            s.inner(Customer).add_many([attrs.evolve(taken, first_name="again")])
            s.flush()
            s.commit()
        s.rollback()
    with session() as s:
        assert [c.first_name for c in s.customers.stream()] == ["stored"]


def test_a_record_changed_twice_across_flushes_keeps_its_versions(
    session: Callable[[], crmcore.Session],
) -> None:
    with session() as s:
        stored = s.customers.add(Customer(first_name="v1"))
        s.commit()
    with session() as s:
        one = s.customers.update(attrs.evolve(s.customers.get(stored.id), first_name="v2"))
        s.flush()
        current = s.customers.get(stored.id)
        assert (current.first_name, current.version) == ("v2", one.version)
        two = s.customers.update(attrs.evolve(current, first_name="v3"))
        s.flush()
        s.commit()
    with session() as s:
        final = s.customers.get(stored.id)
        assert (final.first_name, final.version) == ("v3", two.version)
