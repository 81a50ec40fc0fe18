"""Issue #13: a principal who sees values masked or hidden works with validation on,
and never writes a mask over real data (updates, transitions, merges, unmerges).

Every test runs on memory and SQLite (and PostgreSQL/MariaDB when their URLs are
set), with the default validation rules on, as ``connect()`` sets them.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import pytest

import crmcore
from crmcore import Customer, Principal
from crmcore.audit import AuditLayer
from crmcore.errors import PermissionDenied
from crmcore.model import MergeRecord, to_data
from crmcore.policy import Policy, PolicyGuard
from crmcore.services import (
    export_trail,
    field_history,
    history,
    merge,
    preview_merge,
    transition,
    unmerge,
)

PHONE_A, PHONE_B = "+8613800138001", "+8613900139000"
NID = "11010519491231002X"
EMAIL_B = "zhang.secret@example.com"
SALARY = 91234
SECRETS = (PHONE_A[3:], PHONE_B[3:], NID, EMAIL_B, str(SALARY))
BOOKS = ["AuditEntry", "MergeRecord", "TransitionRecord"]

POLICY = Policy.from_dict(
    {
        "roles": {"agent": {}, "reader": {}},
        "rules": [
            {
                "name": "agent",
                "roles": ["agent"],
                "entities": ["Customer", *BOOKS],
                "actions": ["read", "update", "create", "delete", "merge", "transition:*"],
            },
            {"name": "reader", "roles": ["reader"], "entities": BOOKS, "actions": ["read"]},
            {"name": "reader-c", "roles": ["reader"], "entities": ["Customer"], "actions": "read"},
        ],
        "field_rules": [
            {
                "roles": ["agent", "reader"],
                "entities": ["Customer"],
                "fields": {
                    "phone": "masked:phone",
                    "phones": "masked:phone",
                    "email": "masked:email",
                    "emails": "hidden",
                    "national_id": "hidden",
                    "custom.salary": "hidden",
                    "*": "write",
                },
            },
        ],
    }
)
VALIDATORS = crmcore.connect("memory://").validators  # the default rules, as connect() sets them


@pytest.fixture
def app(crm: crmcore.Crm) -> crmcore.Crm:
    return crmcore.Crm(
        crm.store,
        validators=VALIDATORS,
        layers=[PolicyGuard(POLICY), AuditLayer()],
        policy=POLICY,
    )


def _agent(tenant: str) -> Principal:
    return Principal(user_id="agent-1", tenant_id=tenant, roles={"agent"})


def _seed(app: crmcore.Crm, tenant: str) -> tuple[Customer, Customer]:
    with app.session(Principal.system_principal(tenant)) as s:
        a = s.customers.add(
            Customer(
                first_name="伟",
                last_name="张",
                phone=PHONE_A,
                national_id=NID,
                custom={"salary": SALARY, "tier": "gold"},
            )
        )
        b = s.customers.add(Customer(first_name="Wei", phone=PHONE_B, email=EMAIL_B))
        return a, b


def _stored(app: crmcore.Crm, tenant: str, id: uuid.UUID) -> Customer:
    with app.session(Principal.system_principal(tenant)) as s:
        return s.customers.get(id, include_deleted=True)


def _plain(c: Customer) -> dict[str, Any]:
    data = to_data(c)
    for k in ("version", "updated_at"):
        data.pop(k)
    return data


def test_a_masked_principal_updates_with_validation_on(app: crmcore.Crm, tenant: str) -> None:
    a, _ = _seed(app, tenant)
    with app.session(_agent(tenant)) as s:
        seen = s.customers.get(a.id)
        assert seen.phone == "+86 138****8001" and seen.national_id is None
        assert seen.custom == {"salary": None, "tier": "gold"}
        saved = s.customers.update(attrs.evolve(seen, last_name="Zhang"))
        assert saved.phone == "+86 138****8001"  # shown masked, stored real
        # a changed custom key beside the hidden one is written, the hidden one kept
        again = s.customers.update(attrs.evolve(saved, custom={**saved.custom, "tier": "platinum"}))
        assert again.custom == {"salary": None, "tier": "platinum"}
    real = _stored(app, tenant, a.id)
    assert (real.last_name, real.phone, real.national_id) == ("Zhang", PHONE_A, NID)
    assert real.custom == {"salary": SALARY, "tier": "platinum"}


def test_changing_a_value_one_cannot_see_is_refused_as_permission(
    app: crmcore.Crm, tenant: str
) -> None:
    a, _ = _seed(app, tenant)
    with app.session(_agent(tenant)) as s:
        seen = s.customers.get(a.id)
        for change, name in [
            ({"phone": "+8613700137000"}, "phone"),
            ({"national_id": "110105194912310021"}, "national_id"),
            ({"custom": {"salary": 1, "tier": "gold"}}, "custom.salary"),
        ]:
            with pytest.raises(PermissionDenied) as refused:
                s.customers.update(attrs.evolve(seen, **change))
            assert refused.value.field == name
            assert not any(v in str(refused.value) for v in SECRETS)
    assert _plain(_stored(app, tenant, a.id)) == _plain(a)


def test_a_masked_principal_fires_a_transition(app: crmcore.Crm, tenant: str) -> None:
    a, _ = _seed(app, tenant)
    with app.session(_agent(tenant)) as s:
        moved = transition(s, s.customers.get(a.id), "advance")
        assert moved.lifecycle_stage == "lead" and moved.phone == "+86 138****8001"
    real = _stored(app, tenant, a.id)
    assert (real.lifecycle_stage, real.phone, real.national_id) == ("lead", PHONE_A, NID)
    assert real.custom["salary"] == SALARY


def test_merge_and_unmerge_by_a_masked_principal_keep_every_real_value(
    app: crmcore.Crm, tenant: str
) -> None:
    a, b = _seed(app, tenant)
    before = {r.id: _plain(r) for r in (a, b)}
    with app.session(_agent(tenant)) as s:
        preview = preview_merge(s, Customer, a.id, [b.id])
        assert not [v for v in SECRETS if v in repr(to_data(preview.survivor))]
        done = merge(s, Customer, a.id, [b.id])
        assert done.merge_id is not None
        shown = to_data(done.survivor)
        assert shown["phone"] == "+86 138****8001" and shown["national_id"] is None
        assert not [v for v in SECRETS if v in repr(shown)]
    survivor = _stored(app, tenant, a.id)
    assert (survivor.phone, survivor.national_id, survivor.email) == (PHONE_A, NID, EMAIL_B)
    assert survivor.custom["salary"] == SALARY
    assert [p.number for p in survivor.phones] == [PHONE_B]
    with app.session(Principal.system_principal(tenant)) as s:  # the journal holds real values
        journal = s.merges.get(done.merge_id).journal
        assert journal["survivor_before"]["phone"] == PHONE_A
        assert journal["survivor_before"]["custom"]["salary"] == SALARY
        assert journal["survivor_after"]["national_id"] == NID
        assert journal["merged"][0]["phone"] == PHONE_B
        assert "****" not in repr(journal)
    with app.session(_agent(tenant)) as s:
        undone = unmerge(s, done.merge_id)
        assert undone.survivor.phone == "+86 138****8001"
    for rid, data in before.items():
        assert _plain(_stored(app, tenant, rid)) == data


def test_journals_never_show_full_values_to_a_principal_without_full_read(
    app: crmcore.Crm, tenant: str
) -> None:
    a, b = _seed(app, tenant)
    with app.session(Principal.system_principal(tenant)) as s:
        done = merge(s, Customer, a.id, [b.id])
        assert done.merge_id is not None
    reader = Principal(user_id="r1", tenant_id=tenant, roles={"reader"})
    with app.session(reader) as s:
        paths = {
            "get": s.merges.get(done.merge_id),
            "find": s.merges.find().items,
            "stream": list(s.merges.stream()),
            "get_many": s.merges.get_many([done.merge_id]),
            "audit": [to_data(e) for e in s.audit_entries.stream()],
            "history of the journal": [to_data(e) for e in history(s, MergeRecord, done.merge_id)],
            "history of the customer": [to_data(e) for e in history(s, Customer, a.id)],
            "field history": field_history(s, MergeRecord, done.merge_id, "journal"),
            "export": list(export_trail(s)),
        }
        for path, rows in paths.items():
            text = repr(rows if path != "get" else to_data(rows))  # type: ignore[arg-type]
            assert [v for v in SECRETS if v in text] == [], path
