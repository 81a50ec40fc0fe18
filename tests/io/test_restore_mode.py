"""Restore mode keeps records' own times and versions; new records start in their initial state."""

from __future__ import annotations

import datetime as dt

import pytest

import crmcore
from crmcore import Campaign, Customer, Lead, Opportunity, Ticket
from crmcore.errors import ValidationError
from crmcore.lifecycle import Machine, State, Transition

OLD = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
LATER = dt.datetime(2021, 6, 7, 8, 9, 10, tzinfo=dt.timezone.utc)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

NOT_INITIAL = [
    (Lead, lambda: Lead(first_name="Wei", status="qualified"), "status"),
    (Opportunity, lambda: Opportunity(name="Deal", stage="negotiation"), "stage"),
    (Ticket, lambda: Ticket(subject="Help", status="resolved"), "status"),
    (Campaign, lambda: Campaign(name="Spring", status="running"), "status"),
]


@pytest.fixture
def crm() -> crmcore.Crm:
    return crmcore.connect("memory://", clock=lambda: NOW)


def test_a_normal_add_stamps_times_and_version(crm: crmcore.Crm) -> None:
    with crm.session() as s:
        c = s.customers.add(Customer(first_name="A", created_at=OLD, updated_at=LATER, version=7))
    assert (c.created_at, c.updated_at, c.version) == (NOW, NOW, 1)


@pytest.mark.parametrize("many", [False, True])
def test_restore_mode_keeps_times_and_version(crm: crmcore.Crm, many: bool) -> None:
    record = Customer(first_name="A", created_at=OLD, updated_at=LATER, version=7)
    with crm.session(restore=True) as s:
        assert s.restore
        stored = s.customers.add_many([record])[0] if many else s.customers.add(record)
    with crm.session() as s:
        again = s.customers.get(record.id)
    assert (stored.created_at, stored.updated_at, stored.version) == (OLD, LATER, 7)
    assert (again.created_at, again.updated_at, again.version) == (OLD, LATER, 7)
    assert again.tenant_id == crmcore.Principal.system_principal().tenant_id


def test_restore_mode_still_validates(crm: crmcore.Crm) -> None:
    with crm.session(restore=True) as s, pytest.raises(ValidationError) as err:
        s.customers.add(Customer(first_name="A", email="not an email", created_at=OLD))
    assert "email" in str(err.value)


def test_updates_in_restore_mode_still_move_the_version(crm: crmcore.Crm) -> None:
    with crm.session(restore=True) as s:
        c = s.customers.add(Customer(first_name="A", created_at=OLD, updated_at=OLD, version=3))
        u = s.customers.update(c.__class__(**{**_fields(c), "first_name": "B"}))
    assert (u.version, u.created_at, u.updated_at) == (4, OLD, NOW)


def _fields(c: Customer) -> dict[str, object]:
    import attrs

    return {a.name: getattr(c, a.name) for a in attrs.fields(type(c))}


@pytest.mark.parametrize(("kind", "make", "field"), NOT_INITIAL)
def test_a_new_record_must_start_in_the_initial_state(
    crm: crmcore.Crm, kind: type, make: object, field: str
) -> None:
    with crm.session() as s, pytest.raises(ValidationError) as err:
        s.repo(kind).add(make())  # type: ignore[operator]
    assert [(e.path, e.code) for e in err.value.errors] == [(f"$.{field}", "not_initial_state")]
    with crm.session() as s:
        assert s.repo(kind).count() == 0
        with pytest.raises(ValidationError):
            s.repo(kind).add_many([make()])  # type: ignore[operator]


@pytest.mark.parametrize(("kind", "make", "field"), NOT_INITIAL)
def test_restore_mode_admits_any_known_state(
    crm: crmcore.Crm, kind: type, make: object, field: str
) -> None:
    record = make()  # type: ignore[operator]
    with crm.session(restore=True) as s:
        stored = s.repo(kind).add(record)
    assert getattr(stored, field) == getattr(record, field)
    with crm.session(restore=True) as s, pytest.raises(ValidationError) as err:
        s.repo(kind).add(
            type(record)(**{**_fields(record), "id": crmcore.model.new_id(), field: "bogus"})
        )
    assert err.value.errors[0].code == "unknown_state"


@pytest.mark.parametrize(("kind", "make", "field"), NOT_INITIAL)
def test_the_initial_state_is_accepted(
    crm: crmcore.Crm, kind: type, make: object, field: str
) -> None:
    with crm.session() as s:
        stored = s.repo(kind).add(
            kind(
                **(
                    {"name": "x"}
                    if kind in (Opportunity, Campaign)
                    else {"subject": "x"}
                    if kind is Ticket
                    else {}
                )
            )
        )
    assert getattr(stored, field) in ("new", "prospecting", "draft")


def test_without_validation_any_state_is_stored() -> None:
    crm = crmcore.connect("memory://", validation=False)
    with crm.session() as s:
        assert s.leads.add(Lead(status="qualified")).status == "qualified"


def test_a_configured_machine_sets_the_initial_state() -> None:
    deals = Machine(
        "deal",
        field="stage",
        states=["discovery", State("won", final=True)],
        initial="discovery",
        transitions=[Transition("win", "discovery", "won")],
    )
    crm = crmcore.connect("memory://", machines={Opportunity: deals})
    with crm.session() as s:
        assert s.opportunities.add(Opportunity(name="d", stage="discovery")).stage == "discovery"
        with pytest.raises(ValidationError) as err:
            s.opportunities.add(Opportunity(name="d", stage="won"))
    assert err.value.errors[0].code == "not_initial_state"


def test_customers_may_be_added_at_any_lifecycle_stage(crm: crmcore.Crm) -> None:
    with crm.session() as s:
        assert (
            s.customers.add(Customer(first_name="A", lifecycle_stage="customer")).lifecycle_stage
            == "customer"
        )
