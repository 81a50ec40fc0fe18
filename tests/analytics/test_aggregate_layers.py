"""``aggregate`` through the session's layers: policy guard, encryption, audit; every backend."""

from __future__ import annotations

import datetime as dt
import os

import pytest

import crmcore
from crmcore import Customer, Principal
from crmcore.audit import AuditLayer
from crmcore.crypto import Encryption, Keyring, StaticKeyProvider
from crmcore.errors import PermissionDenied, QueryError
from crmcore.policy import Policy, PolicyGuard
from crmcore.storage.aggregate import avg, bucket, count, count_distinct, max_, sum_

POLICY = Policy.from_dict(
    {
        "name": "acme",
        "roles": {"sales_rep": {}, "support": {}},
        "rules": [
            {
                "name": "reps-own",
                "roles": ["sales_rep"],
                "entities": ["Customer"],
                "actions": ["read"],
                "condition": "resource.owner_id == principal.user_id",
            },
            {
                "name": "support-reads",
                "roles": ["support"],
                "entities": ["Customer"],
                "actions": ["read"],
            },
        ],
        "field_rules": [
            {
                "roles": ["support"],
                "entities": ["Customer"],
                "fields": {"phone": "masked:phone", "source": "hidden", "*": "read"},
            }
        ],
    }
)


def _people() -> list[Customer]:
    return [
        Customer(first_name="A", owner_id="u1", source="web", phone="+8613800138000"),
        Customer(first_name="B", owner_id="u1", source="fair", phone="+8613900000000"),
        Customer(first_name="C", owner_id="u2", source="web"),
        Customer(first_name="D", owner_id=None, source=None),
    ]


def test_guard_scopes_to_readable_rows(crm: crmcore.Crm, tenant: str) -> None:
    guarded = crmcore.Crm(crm.store, layers=[PolicyGuard(POLICY), AuditLayer()], policy=POLICY)
    with guarded.session(Principal.system_principal(tenant)) as s:
        s.customers.add_many(_people())
    rep = Principal(user_id="u1", tenant_id=tenant, roles=frozenset({"sales_rep"}))
    with guarded.session(rep) as s:
        got = s.customers.aggregate(group_by=["source"], measures={"n": count()})
        assert got == [{"source": "fair", "n": 1}, {"source": "web", "n": 1}]
    nobody = Principal(user_id="x", tenant_id=tenant)
    with guarded.session(nobody) as s:
        assert s.customers.aggregate(measures={"n": count()}) == [{"n": 0}]
    with guarded.session(Principal.system_principal(tenant)) as s:
        assert s.customers.aggregate(measures={"owners": count_distinct("owner_id")}) == [
            {"owners": 2}
        ]


def test_guard_refuses_fields_the_principal_cannot_read(crm: crmcore.Crm, tenant: str) -> None:
    guarded = crmcore.Crm(crm.store, layers=[PolicyGuard(POLICY)], policy=POLICY)
    with guarded.session(Principal.system_principal(tenant)) as s:
        s.customers.add_many(_people())
    support = Principal(user_id="s", tenant_id=tenant, roles=frozenset({"support"}))
    with guarded.session(support) as s:
        assert s.customers.aggregate(group_by=["owner_id"], measures={"n": count()})[0] == {
            "owner_id": None,
            "n": 1,
        }
        for group_by, measures in [
            (["source"], {"n": count()}),
            ([], {"phones": count_distinct("phone")}),
            ([], {"last": max_("phone")}),
        ]:
            with pytest.raises(PermissionDenied) as err:
                s.customers.aggregate(group_by=group_by, measures=measures)
            assert err.value.action == "aggregate"
            assert err.value.field in ("source", "phone")
            assert "+86" not in str(err.value)
        with pytest.raises(QueryError, match="source"):
            s.customers.aggregate(source="web", measures={"n": count()})


def test_encrypted_fields_are_only_counted(crm: crmcore.Crm, tenant: str) -> None:
    enc = Encryption(keyring=Keyring(StaticKeyProvider([os.urandom(32)])))
    ecrm = crmcore.Crm(crm.store, layers=[AuditLayer(redact=enc.redacted_fields()), enc])
    born = dt.date(1990, 5, 17)
    with ecrm.session(Principal.system_principal(tenant)) as s:
        s.customers.add_many(
            [
                Customer(first_name="A", owner_id="u1", phone="+8613800138000", date_of_birth=born),
                Customer(first_name="B", owner_id="u1", email="b@example.cn"),
                Customer(first_name="C", owner_id="u2", phone="+8613900000000"),
            ]
        )
    with ecrm.session(Principal.system_principal(tenant)) as s:
        got = s.customers.aggregate(
            group_by=["owner_id"],
            measures={"n": count(), "phones": count("phone"), "emails": count("email")},
        )
        assert got == [
            {"owner_id": "u1", "n": 2, "phones": 1, "emails": 1},
            {"owner_id": "u2", "n": 1, "phones": 1, "emails": 0},
        ]
        # an equality on a searchable field runs on the blind index
        assert s.customers.aggregate(phone="+8613900000000", measures={"n": count()}) == [{"n": 1}]
        for group_by, measures, what in [
            (["phone"], {"n": count()}, "group by an encrypted"),
            ([bucket("date_of_birth", "year")], {"n": count()}, "group by an encrypted"),
            ([], {"d": count_distinct("email")}, "only be counted"),
            ([], {"d": max_("date_of_birth")}, "only be counted"),
        ]:
            with pytest.raises(QueryError, match=what):
                s.customers.aggregate(group_by=group_by, measures=measures)


def test_audit_passes_aggregates_through_and_records_nothing(crm: crmcore.Crm, tenant: str) -> None:
    audited = crmcore.Crm(crm.store, layers=[AuditLayer()])
    with audited.session(Principal.system_principal(tenant)) as s:
        s.customers.add_many(_people())
    with audited.session(Principal.system_principal(tenant)) as s:
        before = s.audit_entries.count()
        got = s.customers.aggregate(measures={"n": count(), "v": sum_("version")})
        assert got == [{"n": 4, "v": 4}]
        assert s.customers.aggregate(measures={"v": avg("version")}) == [{"v": 1.0}]
        assert s.audit_entries.count() == before


def test_reports_see_only_what_the_principal_may_read(crm: crmcore.Crm, tenant: str) -> None:
    from crmcore import Money, Opportunity
    from crmcore.analytics import sales_performance, win_rate

    policy = Policy.from_dict(
        {
            "name": "deals",
            "roles": {"sales_rep": {}},
            "rules": [
                {
                    "name": "own-deals",
                    "roles": ["sales_rep"],
                    "entities": ["Opportunity"],
                    "actions": ["read"],
                    "condition": "resource.owner_id == principal.user_id",
                }
            ],
        }
    )
    guarded = crmcore.Crm(crm.store, layers=[PolicyGuard(policy)], policy=policy)
    closed = dt.datetime(2025, 5, 1, tzinfo=dt.timezone.utc)
    with guarded.session(Principal.system_principal(tenant)) as s:
        s.opportunities.add_many(
            [
                Opportunity(
                    name=f"d{i}",
                    owner_id=owner,
                    stage=stage,
                    closed_at=closed,
                    amount=Money(100, "CNY"),
                )
                for i, (owner, stage) in enumerate(
                    [
                        ("u1", "closed_won"),
                        ("u1", "closed_lost"),
                        ("u2", "closed_won"),
                        ("u2", "closed_won"),
                    ]
                )
            ]
        )
    rep = Principal(user_id="u1", tenant_id=tenant, roles=frozenset({"sales_rep"}))
    with guarded.session(rep) as s:
        mine = win_rate(s, period=None).frame.iloc[0]
        owners = sales_performance(s).frame
    assert (mine["won"], mine["lost"], mine["won_amount"]) == (1, 1, 100.0)
    assert list(owners["owner_id"]) == ["u1"]
    with guarded.session(Principal.system_principal(tenant)) as s:
        assert win_rate(s, period=None).frame.iloc[0]["won"] == 3
