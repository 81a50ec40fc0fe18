"""Merge and unmerge on every backend: lossless, exact, nothing orphaned."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import Activity, ActivityType, Customer, Opportunity, Ticket
from crmcore.dedupe import SurvivorRule as Rule
from crmcore.dedupe import Survivorship
from crmcore.errors import Conflict, NotFound, ValidationError
from crmcore.model import Consent, ConsentStatus, Entity, to_data
from crmcore.services import merge, preview_merge, unmerge
from crmcore.testing.strategies import entity_of

Factory = Callable[[], crmcore.Session]


def state(s: crmcore.Session) -> dict[str, dict[str, Any]]:
    """Everything stored in the tenant, minus the bookkeeping a write always moves."""
    out: dict[str, dict[str, Any]] = {}
    for repo in (s.customers, s.activities, s.opportunities, s.tickets, s.consents):
        for r in repo.stream(include_deleted=True):
            data = to_data(r)
            data.pop("version")
            data.pop("updated_at")
            out[str(r.id)] = data
    return out


def seed(session: Factory) -> tuple[Customer, Customer, Customer, list[Entity]]:
    with session() as s:
        a = s.customers.add(
            Customer(
                first_name="伟",
                last_name="张",
                email="wei@a.cn",
                phone="+8613800138000",
                tags={"vip"},
                custom={"tier": "gold"},
                source="web",
            )
        )
        b = s.customers.add(
            Customer(
                first_name="Wei",
                last_name="Zhang",
                email="zhang.wei@b.com",
                phone="+8613800138000",
                national_id="11010519491231002X",
                tags={"b2b"},
                custom={"tier": "silver", "score": 3},
                source="import",
            )
        )
        c = s.customers.add(Customer(first_name="W.", last_name="Zhang", phone="+8613900000000"))
        related: list[Entity] = [
            s.activities.add(Activity(type=ActivityType.CALL, subject="call", customer_id=b.id)),
            s.opportunities.add(Opportunity(name="deal", customer_id=c.id)),
            s.tickets.add(Ticket(subject="help", customer_id=b.id)),
            s.consents.add(
                Consent(customer_id=c.id, purpose="marketing", status=ConsentStatus.GRANTED)
            ),
            s.activities.add(Activity(type=ActivityType.NOTE, subject="own", customer_id=a.id)),
        ]
        s.tickets.delete(related[2].id)  # a soft-deleted relation must move too
    return a, b, c, related


def test_merge_keeps_everything_and_repoints_relations(session: Factory) -> None:
    a, b, c, related = seed(session)
    with session() as s:
        result = merge(s, Customer, a.id, [b.id, c.id])
    with session() as s:
        survivor = s.customers.get(a.id)
        assert survivor.first_name == "伟"
        assert survivor.national_id == "11010519491231002X"  # filled from b
        assert survivor.tags == {"vip", "b2b"}
        assert survivor.custom == {"tier": "gold", "score": 3}
        others = {e.address for e in survivor.emails} | {p.number for p in survivor.phones}
        assert others == {"zhang.wei@b.com", "+8613900000000"}  # nothing dropped
        for r in related:
            fresh = s.repo(type(r)).get(r.id, include_deleted=True)
            assert fresh.customer_id == a.id  # type: ignore[attr-defined]
        with pytest.raises(NotFound):
            s.customers.get(b.id)
        assert s.customers.get(b.id, include_deleted=True).deleted_at is not None
        assert len(result.repointed) == 4
        assert s.merges.get(result.merge_id).merged_ids == (b.id, c.id)  # type: ignore[arg-type]


def test_unmerge_restores_the_exact_prior_state(session: Factory) -> None:
    seed(session)
    with session() as s:
        before = state(s)
        ids = [c.id for c in s.customers.find(order_by="created_at")]
    with session() as s:
        result = merge(s, Customer, ids[0], ids[1:])
    with session() as s:
        assert state(s) != before
        undone = unmerge(s, result.merge_id)  # type: ignore[arg-type]
    with session() as s:
        assert state(s) == before
        assert undone.kept == ()
        with pytest.raises(Conflict):
            unmerge(s, result.merge_id)  # type: ignore[arg-type]


def test_later_edits_to_the_survivor_win_over_unmerge(session: Factory) -> None:
    a, b, _, _ = seed(session)
    with session() as s:
        result = merge(s, Customer, a.id, [b.id])
    with session() as s:
        cur = s.customers.get(a.id)
        s.customers.update(attrs.evolve(cur, first_name="伟 (edited)", national_id=None))
    with session() as s:
        undone = unmerge(s, result.merge_id)  # type: ignore[arg-type]
    with session() as s:
        survivor = s.customers.get(a.id)
        assert survivor.first_name == "伟 (edited)"  # changed after the merge: kept
        assert survivor.national_id is None  # edited back after the merge: stays None
        assert survivor.tags == {"vip"}  # untouched since the merge: restored
        assert undone.kept == ("first_name",)
        assert s.customers.get(b.id).deleted_at is None


def test_preview_writes_nothing(session: Factory) -> None:
    a, b, c, _ = seed(session)
    with session() as s:
        before = state(s)
        preview = preview_merge(s, Customer, a.id, [b.id, c.id])
        assert preview.dry_run
        assert preview.survivor.tags == {"vip", "b2b"}
        assert len(preview.repointed) == 4
    with session() as s:
        assert state(s) == before
        assert s.merges.count() == 0


def test_failed_merge_leaves_nothing(session: Factory) -> None:
    a, b, _, _ = seed(session)
    with session() as s:
        before = state(s)
    with pytest.raises(NotFound), session() as s:
        merge(s, Customer, a.id, [b.id, uuid.uuid4()])
    with pytest.raises(ValidationError), session() as s:
        merge(s, Customer, a.id, [a.id])
    with session() as s:
        assert state(s) == before


def test_survivorship_rules(session: Factory) -> None:
    a, b, _, _ = seed(session)
    rules = Survivorship(
        fields={"first_name": Rule.TRUSTED_SOURCE, "email": Rule.LONGEST, "tags": Rule.UNION},
        trusted_sources=("import", "web"),
    )
    with session() as s:
        preview = preview_merge(s, Customer, a.id, [b.id], survivorship=rules)
    assert preview.survivor.first_name == "Wei"
    assert preview.survivor.email == "zhang.wei@b.com"
    assert preview.sources["first_name"] == b.id


HYPO = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_merge_then_unmerge_is_lossless_for_random_records(session: Factory) -> None:
    @HYPO
    @given(
        people=st.lists(entity_of(Customer), min_size=2, max_size=4),
        links=st.lists(st.integers(min_value=0, max_value=3), max_size=5),
    )
    def check(people: list[Customer], links: list[int]) -> None:
        with session() as s:
            stored = s.customers.add_many(people)
            for k in links:
                target = stored[k % len(stored)]
                s.activities.add(
                    Activity(type=ActivityType.TASK, subject=f"t{k}", customer_id=target.id)
                )
            ids = [c.id for c in stored]
            before = state(s)
        with session() as s:
            result = merge(s, Customer, ids[0], ids[1:])
        with session() as s:
            moved = s.activities.find(customer_id=ids[0])
            assert len(moved) == len(links)  # nothing orphaned or dropped
            unmerge(s, result.merge_id)  # type: ignore[arg-type]
        with session() as s:
            after = state(s)
            for key in before:
                assert before[key] == after[key]
            # clean up for the next example
            for c in s.customers.stream(include_deleted=True):
                s.customers.delete(c.id, hard=True)
            for act in s.activities.stream(include_deleted=True):
                s.activities.delete(act.id, hard=True)

    check()
