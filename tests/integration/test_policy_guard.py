"""The policy guard in real sessions, on every backend: filters, checks, masks, write rules."""

from __future__ import annotations

import uuid

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import Customer, Principal
from crmcore.audit import AuditLayer
from crmcore.errors import PermissionDenied, QueryError
from crmcore.policy import Policy, PolicyGuard
from crmcore.query import field
from crmcore.services import export_trail

POLICY = Policy.from_dict(
    {
        "name": "acme",
        "sensitive_fields": ["national_id"],
        "roles": {
            "sales_rep": {},
            "manager": {"inherits": ["sales_rep"]},
            "support": {},
            "admin": {},
        },
        "rules": [
            {
                "name": "reps-create",
                "roles": ["sales_rep"],
                "entities": ["Customer"],
                "actions": ["create"],
                "condition": "resource.owner_id == principal.user_id",
            },
            {
                "name": "reps-own",
                "roles": ["sales_rep"],
                "entities": ["Customer"],
                "actions": ["read", "update"],
                "condition": "resource.owner_id == principal.user_id",
            },
            {
                "name": "managers-team",
                "roles": ["manager"],
                "entities": ["Customer"],
                "actions": ["read", "update", "delete"],
                "condition": "resource.team_id in principal.teams",
            },
            {
                "name": "support-reads",
                "roles": ["support"],
                "entities": ["Customer"],
                "actions": ["read", "update"],
            },
            {
                "name": "no-vip-delete",
                "effect": "deny",
                "roles": "*",
                "entities": ["Customer"],
                "actions": ["delete"],
                "condition": "resource.lifecycle_stage == 'evangelist'",
            },
            {"name": "admin-all", "roles": ["admin"], "actions": "*"},
        ],
        "field_rules": [
            {
                "roles": ["support"],
                "entities": ["Customer"],
                "fields": {
                    "phone": "masked:phone",
                    "email": "masked:email",
                    "national_id": "hidden",
                    "first_name": "read",
                    "*": "write",
                },
            },
        ],
    }
)


@pytest.fixture
def guarded(crm: crmcore.Crm) -> crmcore.Crm:
    return crmcore.Crm(crm.store, layers=[PolicyGuard(POLICY), AuditLayer()], policy=POLICY)


def who(tenant: str, user: str, *roles: str, teams: tuple[str, ...] = ()) -> Principal:
    return Principal(user_id=user, tenant_id=tenant, roles=frozenset(roles), teams=frozenset(teams))


def seed(guarded: crmcore.Crm, tenant: str) -> list[Customer]:
    rows = [
        Customer(
            first_name="A",
            owner_id="u1",
            team_id="east",
            phone="+8613800138000",
            email="a@example.cn",
            national_id="11010519491231002X",
        ),
        Customer(first_name="B", owner_id="u2", team_id="east", phone="+8613900000000"),
        Customer(first_name="C", owner_id="u3", team_id="west", lifecycle_stage="evangelist"),
        Customer(first_name="D", owner_id=None, team_id=None),
    ]
    with guarded.session(Principal.system_principal(tenant)) as s:
        return s.customers.add_many(rows)


def test_lists_show_exactly_what_check_allows(guarded: crmcore.Crm, tenant: str) -> None:
    rows = seed(guarded, tenant)
    for principal, expected in [
        (who(tenant, "u1", "sales_rep"), {"A"}),
        (who(tenant, "u2", "manager", teams=("east",)), {"A", "B"}),
        (who(tenant, "x", "support"), {"A", "B", "C", "D"}),
        (who(tenant, "nobody"), set()),
    ]:
        with guarded.session(principal) as s:
            got = {c.first_name for c in s.customers.find()}
            assert got == expected
            assert s.customers.count() == len(expected)
            allowed = {r.first_name for r in rows if POLICY.check(principal, "read", r).allowed}
            assert allowed == got


def test_refusals_name_the_rule_or_missing_permission(guarded: crmcore.Crm, tenant: str) -> None:
    rows = seed(guarded, tenant)
    with guarded.session(who(tenant, "u1", "sales_rep")) as s:
        with pytest.raises(PermissionDenied) as err:
            s.customers.get(rows[1].id)
        assert "reps-own" in str(err.value) or "no rule" in str(err.value)
        assert err.value.id == rows[1].id
        with pytest.raises(PermissionDenied) as err2:
            s.customers.delete(rows[0].id)
        assert "delete" in str(err2.value)
    with (
        guarded.session(who(tenant, "boss", "admin")) as s,
        pytest.raises(PermissionDenied) as err3,
    ):
        s.customers.delete(rows[2].id)
    assert "no-vip-delete" in str(err3.value)


def test_masked_fields_never_leak(guarded: crmcore.Crm, tenant: str) -> None:
    rows = seed(guarded, tenant)
    agent = who(tenant, "x", "support")
    with guarded.session(agent) as s:
        got = s.customers.get(rows[0].id)
        assert got.phone == "+86 138****8000"
        assert got.email is not None and got.email != "a@example.cn"
        assert got.national_id is None
        listed = {c.id: c for c in s.customers.find()}[rows[0].id]
        streamed = {c.id: c for c in s.customers.stream()}[rows[0].id]
        for c in (listed, streamed):
            assert (c.phone, c.national_id) == ("+86 138****8000", None)
        text = repr(list(s.customers.find())) + repr(list(export_trail(s)))
        assert "13800138000" not in text and "11010519491231002X" not in text
        with pytest.raises(QueryError) as err:
            s.customers.find(field("national_id") == "11010519491231002X")
        assert "11010519491231002X" not in str(err.value)
        with pytest.raises(QueryError):
            s.customers.find(order_by="phone")


def test_saving_a_masked_record_keeps_the_real_values(guarded: crmcore.Crm, tenant: str) -> None:
    rows = seed(guarded, tenant)
    agent = who(tenant, "x", "support")
    with guarded.session(agent) as s:
        seen = s.customers.get(rows[0].id)
        s.customers.update(attrs.evolve(seen, last_name="Changed"))
    with guarded.session(Principal.system_principal(tenant)) as s:
        real = s.customers.get(rows[0].id)
    assert (real.last_name, real.phone, real.national_id) == (
        "Changed",
        "+8613800138000",
        "11010519491231002X",
    )


def test_writing_a_field_you_may_not_write_is_refused(guarded: crmcore.Crm, tenant: str) -> None:
    rows = seed(guarded, tenant)
    with guarded.session(who(tenant, "x", "support")) as s:
        seen = s.customers.get(rows[0].id)
        with pytest.raises(PermissionDenied) as err:
            s.customers.update(attrs.evolve(seen, first_name="Hacked"))
        assert err.value.field == "first_name"
        with pytest.raises(PermissionDenied) as err2:
            s.customers.update(attrs.evolve(seen, phone="+8613700000000"))
        assert err2.value.field == "phone"


def test_an_update_cannot_move_a_record_out_of_reach(guarded: crmcore.Crm, tenant: str) -> None:
    rows = seed(guarded, tenant)
    with guarded.session(who(tenant, "u1", "sales_rep")) as s:
        mine = s.customers.get(rows[0].id)
        with pytest.raises(PermissionDenied):
            s.customers.update(attrs.evolve(mine, owner_id="u2"))
        with pytest.raises(PermissionDenied):
            s.customers.add(Customer(first_name="E", owner_id="u9"))
        s.customers.add(Customer(first_name="E", owner_id="u1"))


def test_system_principal_passes_and_is_recorded(guarded: crmcore.Crm, tenant: str) -> None:
    seed(guarded, tenant)
    with guarded.session(Principal.system_principal(tenant, name="nightly-import")) as s:
        assert s.customers.count() == 4
        s.customers.add(Customer(first_name="imported"))
    with guarded.session(Principal.system_principal(tenant)) as s:
        last = s.audit_entries.find(order_by="-seq", limit=1).items[0]
        assert last.system is True
        assert last.actor == "nightly-import"


principals = st.builds(
    lambda user, roles, teams: (user, roles, teams),
    st.sampled_from(["u1", "u2", "u3", "x"]),
    st.frozensets(st.sampled_from(["sales_rep", "manager", "support"]), max_size=2),
    st.frozensets(st.sampled_from(["east", "west"]), max_size=2),
)
HYPO = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_random_principals_see_exactly_the_rows_check_allows(
    guarded: crmcore.Crm, tenant: str
) -> None:
    owners = st.sampled_from(["u1", "u2", "u3", None])
    teams = st.sampled_from(["east", "west", None])
    stages = st.sampled_from(["customer", "evangelist"])
    people = st.lists(
        st.builds(
            lambda o, t, g: Customer(first_name="p", owner_id=o, team_id=t, lifecycle_stage=g),
            owners,
            teams,
            stages,
        ),
        min_size=1,
        max_size=6,
    )

    @HYPO
    @given(rows=people, p=principals)
    def check(rows: list[Customer], p: tuple[str, frozenset[str], frozenset[str]]) -> None:
        t = f"{tenant}-{uuid.uuid4().hex[:6]}"
        with guarded.session(Principal.system_principal(t)) as s:
            stored = s.customers.add_many(rows)
        principal = Principal(user_id=p[0], tenant_id=t, roles=p[1], teams=p[2])
        expected = {r.id for r in stored if POLICY.check(principal, "read", r).allowed}
        with guarded.session(principal) as s:
            assert {c.id for c in s.customers.find()} == expected
            assert s.customers.count() == len(expected)

    check()


SALARY_HIDDEN = Policy.from_dict(
    {
        "rules": [{"name": "support-read", "roles": ["support"], "actions": ["read"]}],
        "field_rules": [
            {"roles": ["support"], "entities": ["Customer"], "fields": {"custom.salary": "hidden"}}
        ],
    }
)


@pytest.mark.parametrize(
    ("where", "order_by"),
    [
        (field("custom.salary.amount") > 1500, None),
        (None, "-custom.salary.amount"),
        (field("custom.salary").is_null(), None),
    ],
)
def test_a_hidden_field_cannot_be_probed_through_a_deeper_path(
    crm: crmcore.Crm, tenant: str, where: object, order_by: str | None
) -> None:
    guarded = crmcore.Crm(crm.store, layers=[PolicyGuard(SALARY_HIDDEN)], policy=SALARY_HIDDEN)
    with guarded.session(Principal.system_principal(tenant)) as s:
        s.customers.add(Customer(first_name="A", custom={"salary": {"amount": 2000}}))
    with guarded.session(who(tenant, "x", "support")) as s:
        with pytest.raises(QueryError) as err:
            s.customers.find(where, order_by=order_by)  # type: ignore[arg-type]
        assert err.value.field is not None and err.value.field.startswith("custom.salary")
        assert "2000" not in str(err.value)
        assert [c.custom.get("salary") for c in s.customers.find()] == [None]


def test_a_refusal_names_rules_and_fields_never_the_records_values(tenant: str) -> None:
    crm = crmcore.connect("memory://", policy=POLICY, validation=False)
    with crm.session(Principal.system_principal(tenant)) as s:
        theirs = s.customers.add(
            Customer(first_name="Secret", owner_id="owner-u2-secret", team_id="team-secret")
        )
    rep = Principal(user_id="u1", tenant_id=tenant, roles={"sales_rep"})
    with crm.session(rep) as s, pytest.raises(PermissionDenied) as refused:
        s.customers.get(theirs.id)
    text = str(refused.value)
    assert "reps-own" in text and "resource.owner_id" in text
    assert "owner-u2-secret" not in text
    # the system-facing decision keeps its values for whoever may see them
    full = POLICY.check(rep, "read", theirs, "Customer")
    assert "owner-u2-secret" in full.reason


HISTORY_POLICY = Policy.from_dict(
    {
        "roles": {"support": {}, "outsider": {}},
        "rules": [
            {
                "name": "support",
                "roles": ["support"],
                "entities": ["Customer", "AuditEntry"],
                "actions": ["read"],
            },
            {
                "name": "outsider",
                "roles": ["outsider"],
                "entities": ["AuditEntry"],
                "actions": ["read"],
            },
        ],
        "field_rules": [
            {
                "roles": ["support"],
                "entities": ["Customer"],
                "fields": {"phone": "masked:phone", "national_id": "hidden"},
            },
        ],
    }
)


def test_history_shows_changes_at_the_principals_field_levels(
    crm: crmcore.Crm, tenant: str
) -> None:
    from crmcore.services import field_history, history

    audited = crmcore.Crm(
        crm.store, layers=[PolicyGuard(HISTORY_POLICY), AuditLayer()], policy=HISTORY_POLICY
    )
    with audited.session(Principal.system_principal(tenant)) as s:
        c = s.customers.add(
            Customer(first_name="Wei", phone="+8613800138000", national_id="110105194912310021")
        )
        s.customers.update(attrs.evolve(c, phone="+8613900139000"))
    support = Principal(user_id="s1", tenant_id=tenant, roles={"support"})
    with audited.session(support) as s:
        entries = history(s, Customer, c.id)
        shown = repr([e.changes for e in entries])
        assert "13800138000" not in shown and "13900139000" not in shown
        assert "110105194912310021" not in shown
        assert entries[0].changes["national_id"] == {"changed": True, "redacted": True}
        assert entries[0].changes["first_name"] == {"from": None, "to": "Wei"}
        phones = field_history(s, Customer, c.id, "phone")
        assert [p.after for p in phones] == ["+86 138****8000", "+86 139****9000"]
    outsider = Principal(user_id="o1", tenant_id=tenant, roles={"outsider"})
    with audited.session(outsider) as s, pytest.raises(PermissionDenied):
        history(s, Customer, c.id)  # may read audit entries, not this customer
    with audited.session(Principal.system_principal(tenant)) as s:
        assert field_history(s, Customer, c.id, "phone")[1].after == "+8613900139000"
