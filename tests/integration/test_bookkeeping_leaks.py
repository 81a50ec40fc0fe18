"""Issue #13: values leaking through bookkeeping records (audit, merge journals, transitions).

Every test runs on memory and SQLite (and PostgreSQL/MariaDB when their URLs are set).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import attrs
import pytest

import crmcore
from crmcore import Customer, Principal
from crmcore.audit import AuditLayer
from crmcore.crypto import Encryption, Keyring, StaticKeyProvider
from crmcore.errors import PermissionDenied
from crmcore.model import COLLECTIONS, TransitionRecord, to_data
from crmcore.policy import Policy, PolicyGuard
from crmcore.services import merge, unmerge, visible_audit_entries, visible_transitions

PHONE_A, PHONE_B = "+8613800138000", "+8613900139000"
NID = "11010519491231002X"
EMAIL_A, EMAIL_B = "wei.secret@example.cn", "zhang.secret@example.com"
BOOKS = ["AuditEntry", "MergeRecord", "TransitionRecord"]

POLICY = Policy.from_dict(
    {
        "roles": {"support": {}, "outsider": {}, "merger": {}, "editor": {}},
        "rules": [
            {
                "name": "support",
                "roles": ["support"],
                "entities": ["Customer", *BOOKS],
                "actions": ["read"],
            },
            {"name": "outsider", "roles": ["outsider"], "entities": BOOKS, "actions": ["read"]},
            {
                "name": "merger",
                "roles": ["merger"],
                "entities": ["Customer", *BOOKS],
                "actions": ["read", "update", "create", "delete", "merge"],
            },
            {
                "name": "editor-read",
                "roles": ["editor"],
                "entities": ["Customer", *BOOKS],
                "actions": ["read"],
            },
            {
                "name": "editor",
                "roles": ["editor"],
                "entities": ["MergeRecord"],
                "actions": ["update"],
            },
        ],
        "field_rules": [
            {
                "roles": ["support", "editor"],
                "entities": ["Customer"],
                "fields": {
                    "phone": "masked:phone",
                    "national_id": "hidden",
                    "email": "hidden",
                    "emails": "hidden",
                    "phones": "hidden",
                },
            },
        ],
    }
)


def _crm(crm: crmcore.Crm, encryption: Encryption | None = None) -> crmcore.Crm:
    redact = encryption.redacted_fields() if encryption is not None else {}
    layers: list[Any] = [PolicyGuard(POLICY), AuditLayer(redact=redact)]
    if encryption is not None:
        layers.append(encryption)
    return crmcore.Crm(crm.store, layers=layers, policy=POLICY)


def _seed(app: crmcore.Crm, tenant: str) -> tuple[Customer, Customer, uuid.UUID]:
    with app.session(Principal.system_principal(tenant)) as s:
        a = s.customers.add(Customer(first_name="伟", last_name="张", email=EMAIL_A, phone=PHONE_A))
        b = s.customers.add(
            Customer(
                first_name="Wei", last_name="Zhang", email=EMAIL_B, phone=PHONE_B, national_id=NID
            )
        )
        s.customers.update(attrs.evolve(a, phone=PHONE_B))
        a = s.customers.get(a.id)
        s.transitions.add(
            TransitionRecord(
                entity="Customer",
                record_id=a.id,
                machine="m",
                event="verify",
                from_state="new",
                to_state="verified",
                data={"phone": PHONE_A, "national_id": NID, "first_name": "伟"},
            )
        )
        result = merge(s, Customer, a.id, [b.id])
        assert result.merge_id is not None
        return a, b, result.merge_id


SECRETS = (PHONE_A[3:], PHONE_B[3:], NID, EMAIL_A, EMAIL_B)


def _leaks(rows: Any) -> list[str]:
    text = repr(rows)
    return [v for v in SECRETS if v in text]


def test_bookkeeping_repositories_show_copies_at_the_principals_field_levels(
    crm: crmcore.Crm, tenant: str
) -> None:
    app = _crm(crm)
    a, _, merge_id = _seed(app, tenant)
    support = Principal(user_id="s1", tenant_id=tenant, roles={"support"})
    with app.session(support) as s:
        entries = list(s.audit_entries.stream())
        assert entries and _leaks(entries) == []
        about_a = [e for e in entries if e.record_id == a.id and "phone" in e.changes]
        about_a.sort(key=lambda e: e.seq)
        assert about_a[-1].changes["phone"]["to"] == "+86 139****9000"
        assert s.audit_entries.get(about_a[0].id).changes == about_a[0].changes
        journal = s.merges.get(merge_id).journal
        assert _leaks(journal) == []
        assert journal["merged"][0]["phone"] == "+86 139****9000"
        assert journal["merged"][0]["national_id"] is None
        assert journal["survivor_before"]["first_name"] == "伟"  # readable fields stay
        assert _leaks(s.merges.find().items) == []
        rows = s.transitions.find().items
        assert rows and _leaks(rows) == []
        assert rows[0].data == {"phone": "+86 138****8000", "national_id": None, "first_name": "伟"}
        assert _leaks(visible_audit_entries(s, entries)) == []
        assert _leaks(visible_transitions(s, rows)) == []
    with app.session(Principal.system_principal(tenant)) as s:  # stored as they were
        raw = s.merges.get(merge_id).journal
        assert raw["merged"][0]["national_id"] == NID
        assert s.transitions.find().items[0].data["phone"] == PHONE_A


def test_bookkeeping_of_records_a_principal_cannot_read_is_not_shown(
    crm: crmcore.Crm, tenant: str
) -> None:
    app = _crm(crm)
    a, _, merge_id = _seed(app, tenant)
    outsider = Principal(user_id="o1", tenant_id=tenant, roles={"outsider"})
    with app.session(outsider) as s:
        assert [e for e in s.audit_entries.stream() if e.entity == "Customer"] == []
        assert s.audit_entries.count() == len(list(s.audit_entries.stream()))
        assert s.merges.find().items == () and s.merges.count() == 0
        assert s.transitions.find().items == () and s.transitions.count() == 0
        with pytest.raises(PermissionDenied):
            s.merges.get(merge_id)
        assert _leaks(list(s.audit_entries.stream())) == []
    with app.session(Principal.system_principal(tenant)) as s:
        ids = [e.id for e in s.audit_entries.stream() if e.record_id == a.id]
        assert s.transitions.count() == 1 and s.merges.count() == 1
    with app.session(outsider) as s:
        assert s.audit_entries.get_many(ids) == []
        with pytest.raises(PermissionDenied):
            s.audit_entries.get(ids[0])


def test_bookkeeping_of_erased_records_stays_readable(crm: crmcore.Crm, tenant: str) -> None:
    app = _crm(crm)
    with app.session(Principal.system_principal(tenant)) as s:
        gone = s.customers.add(Customer(first_name="Gone", phone=PHONE_A))
        s.customers.delete(gone.id, hard=True)
    outsider = Principal(user_id="o1", tenant_id=tenant, roles={"outsider"})
    with app.session(outsider) as s:
        entries = [e for e in s.audit_entries.stream() if e.record_id == gone.id]
        assert len(entries) >= 1


def test_a_journal_saved_back_masked_keeps_its_copies_and_unmerge_restores_exactly(
    crm: crmcore.Crm, tenant: str
) -> None:
    app = _crm(crm)
    with app.session(Principal.system_principal(tenant)) as s:
        a = s.customers.add(Customer(first_name="伟", email=EMAIL_A, phone=PHONE_A))
        b = s.customers.add(
            Customer(first_name="Wei", email=EMAIL_B, phone=PHONE_B, national_id=NID)
        )
        before = {r.id: to_data(r) for r in (a, b)}
    merger = Principal(user_id="m1", tenant_id=tenant, roles={"merger"})
    with app.session(merger) as s:
        done = merge(s, Customer, a.id, [b.id])
        assert done.merge_id is not None
    editor = Principal(user_id="e1", tenant_id=tenant, roles={"editor"})
    with app.session(editor) as s:
        # a journal read masked and saved back keeps the stored copies
        shown = s.merges.get(done.merge_id)
        assert shown.journal["merged"][0]["national_id"] is None
        s.merges.update(attrs.evolve(shown, actor="edited"))
    with app.session(Principal.system_principal(tenant)) as s:
        stored = s.merges.get(done.merge_id)
        assert stored.actor == "edited" and stored.journal["merged"][0]["national_id"] == NID
    with app.session(merger) as s:
        unmerge(s, done.merge_id)
    with app.session(Principal.system_principal(tenant)) as s:
        for rid, data in before.items():
            now = to_data(s.customers.get(rid, include_deleted=True))
            for k in ("version", "updated_at"):
                now.pop(k), data.pop(k, None)
            assert now == {k: v for k, v in data.items() if k not in ("version", "updated_at")}


# -- 2. merges with encryption on write no protected value in plaintext


def _every_stored_row(s: crmcore.Session) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for kind in COLLECTIONS.values():
        rows.extend(to_data(r) for r in s.inner(kind).stream())
    return rows


@pytest.mark.parametrize("guarded", [False, True])
def test_merge_with_encryption_stores_no_plaintext_anywhere(
    crm: crmcore.Crm, tenant: str, guarded: bool
) -> None:
    enc = Encryption(keyring=Keyring(StaticKeyProvider([os.urandom(32)])))
    if guarded:
        app = _crm(crm, enc)
        actor = Principal(user_id="m1", tenant_id=tenant, roles={"merger"})
    else:
        app = crmcore.Crm(crm.store, layers=[AuditLayer(redact=enc.redacted_fields()), enc])
        actor = Principal.system_principal(tenant)
    with app.session(Principal.system_principal(tenant)) as s:
        a = s.customers.add(Customer(first_name="伟", email=EMAIL_A, phone=PHONE_A))
        b = s.customers.add(
            Customer(first_name="Wei", email=EMAIL_B, phone=PHONE_B, national_id=NID)
        )
        before = {r.id: to_data(r) for r in (a, b)}
    with app.session(actor) as s:
        done = merge(s, Customer, a.id, [b.id])
        assert done.merge_id is not None
    with app.session(actor) as s:
        rows = [r for r in _every_stored_row(s) if r.get("tenant_id") == tenant]
        assert any(r.get("survivor_id") == str(a.id) for r in rows)  # the journal is there
        assert _leaks(rows) == []
    with app.session(Principal.system_principal(tenant)) as s:  # read through the layers
        journal = s.merges.get(done.merge_id).journal
        assert journal["merged"][0]["email"] == EMAIL_B
        assert journal["merged"][0]["national_id"] == NID
    with app.session(actor) as s:
        unmerge(s, done.merge_id)
    with app.session(Principal.system_principal(tenant)) as s:
        for rid, data in before.items():
            now = to_data(s.customers.get(rid, include_deleted=True))
            skip = ("version", "updated_at")
            assert {k: v for k, v in now.items() if k not in skip} == {
                k: v for k, v in data.items() if k not in skip
            }
        rows = [r for r in _every_stored_row(s) if r.get("tenant_id") == tenant]
        assert _leaks(rows) == []


def test_filters_on_copied_values_are_refused_where_they_would_leak(
    crm: crmcore.Crm, tenant: str
) -> None:
    from crmcore.errors import QueryError
    from crmcore.query import field

    app = _crm(crm)
    a, _, _ = _seed(app, tenant)
    support = Principal(user_id="s1", tenant_id=tenant, roles={"support"})
    with app.session(support) as s:
        with pytest.raises(QueryError) as refused:
            s.transitions.find(field("data.national_id") == NID)
        assert NID not in str(refused.value)
        with pytest.raises(QueryError):
            s.audit_entries.count(field("changes.phone.to") == PHONE_B)
        with pytest.raises(QueryError):
            s.merges.find(order_by="journal")
        assert s.transitions.count(field("record_id") == a.id) == 1  # own fields still work
    with app.session(Principal.system_principal(tenant)) as s:
        assert s.transitions.count(field("data.national_id") == NID) == 1


OWNER_POLICY = Policy.from_dict(
    {
        "roles": {"rep": {}},
        "rules": [
            {
                "name": "reps-own",
                "roles": ["rep"],
                "entities": ["Customer"],
                "actions": ["read"],
                "condition": "resource.owner_id == principal.user_id",
            },
            {"name": "rep-books", "roles": ["rep"], "entities": BOOKS, "actions": ["read"]},
        ],
    }
)


def test_bookkeeping_follows_a_conditional_read_rule_like_a_brute_force_check(
    crm: crmcore.Crm, tenant: str
) -> None:
    app = crmcore.Crm(
        crm.store, layers=[PolicyGuard(OWNER_POLICY), AuditLayer()], policy=OWNER_POLICY
    )
    owners = ["u1", "u2", None, "u1", "u3", "u2"]
    with app.session(Principal.system_principal(tenant)) as s:
        rows = [
            s.customers.add(Customer(first_name=f"c{i}", owner_id=o)) for i, o in enumerate(owners)
        ]
        s.customers.delete(rows[1].id)  # soft-deleted: still about an existing record
        s.customers.delete(rows[5].id, hard=True)  # erased: its history stays readable
        for r in rows[:5]:
            s.transitions.add(
                TransitionRecord(
                    entity="Customer",
                    record_id=r.id,
                    machine="m",
                    event="e",
                    from_state="a",
                    to_state="b",
                )
            )
    with app.session(Principal.system_principal(tenant)) as s:
        raw = list(s.audit_entries.stream())
        raw_t = list(s.transitions.stream())
        assert len(raw) >= 9 and len(raw_t) == 5
    owner_of = {r.id: r.owner_id for r in rows}
    erased = {rows[5].id}
    for user in ("u1", "u2", "u3"):

        def expected(record_id: uuid.UUID | None, user: str = user) -> bool:
            return record_id in erased or owner_of.get(record_id) == user

        with app.session(Principal(user_id=user, tenant_id=tenant, roles={"rep"})) as s:
            got = {e.id for e in s.audit_entries.stream()}
            # entries about transition rows follow the TransitionRecord rule (read: all)
            assert got == {e.id for e in raw if e.entity != "Customer" or expected(e.record_id)}
            assert s.audit_entries.count() == len(got)
            assert {t.id for t in s.transitions.find().items} == {
                t.id for t in raw_t if expected(t.record_id)
            }
            page = s.audit_entries.find(limit=2)
            assert len(page.items) == min(2, len(got))
