"""The policy guard's cases (tests/integration/test_policy_guard.py) re-run through HTTP.

Whatever the policy hides in a session stays hidden over the API: rows a
principal may not read are not listed, counted, fetched or found by probing;
masked fields come back masked in every route (get, list, find, history,
dedupe explanations); refused actions are 403s naming the rule, never a value.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmcore
from crmcore import Customer, Principal
from crmcore.audit import AuditLayer
from crmcore.policy import Policy, PolicyGuard

POLICY = Policy.from_dict(
    {
        "name": "acme",
        "sensitive_fields": ["national_id"],
        "roles": {
            "sales_rep": {},
            "manager": {"inherits": ["sales_rep"]},
            "support": {},
            "admin": {},
            "outsider": {},
            "analyst": {},
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
                "entities": ["Customer", "AuditEntry"],
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
            {
                "name": "outsider-audit",
                "roles": ["outsider"],
                "entities": ["AuditEntry"],
                "actions": ["read"],
            },
            {
                "name": "analyst-reads",
                "roles": ["analyst"],
                "entities": ["Customer"],
                "actions": ["read"],
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
            {
                "roles": ["analyst"],
                "entities": ["Customer"],
                "fields": {"custom.salary": "hidden", "national_id": "hidden"},
            },
        ],
    }
)

PHONE, EMAIL, NATIONAL_ID, SALARY = "+8613800138000", "a@example.cn", "11010519491231002X", 98765


SERVERS = {"postgresql": "CRMCORE_TEST_POSTGRES_URL", "mysql": "CRMCORE_TEST_MYSQL_URL"}


@pytest.fixture(scope="module", params=["memory", "sqlite", "postgresql", "mysql"])
def guarded_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, make_clients: Any
) -> Iterator[tuple[crmcore.Crm, Any]]:
    """A guarded CRM with audit on a backend, and its app's ``client_for`` (one per module).

    Every test acts in a tenant of its own, so a server database needs no cleaning.
    """
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('policy') / 'p.db'}"
    else:
        url = os.environ.get(SERVERS[request.param], "")
        if not url:
            pytest.skip(f"{SERVERS[request.param]} is not set: no {request.param} server")
    crm = crmcore.connect(url, validation=False)
    guarded = crmcore.Crm(crm.store, layers=[PolicyGuard(POLICY), AuditLayer()], policy=POLICY)
    client_for, _ = make_clients(guarded)
    yield guarded, client_for
    crm.close()


@pytest.fixture
def guarded(guarded_app: tuple[crmcore.Crm, Any]) -> crmcore.Crm:
    return guarded_app[0]


@pytest.fixture
def tenant() -> str:
    return f"acme-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def as_(guarded_app: tuple[crmcore.Crm, Any], tenant: str) -> Callable[..., TestClient]:
    client_for = guarded_app[1]

    def make(user: str, *roles: str, teams: tuple[str, ...] = ()) -> TestClient:
        return client_for(
            Principal(
                user_id=user, tenant_id=tenant, roles=frozenset(roles), teams=frozenset(teams)
            )
        )

    return make


def seed(guarded: crmcore.Crm, tenant: str) -> list[Customer]:
    rows = [
        Customer(
            first_name="A",
            owner_id="u1",
            team_id="east",
            phone=PHONE,
            email=EMAIL,
            national_id=NATIONAL_ID,
            custom={"salary": SALARY},
        ),
        Customer(first_name="B", owner_id="u2", team_id="east", phone="+8613900000000"),
        Customer(first_name="C", owner_id="u3", team_id="west", lifecycle_stage="evangelist"),
        Customer(first_name="D", owner_id=None, team_id=None),
    ]
    with guarded.session(Principal.system_principal(tenant)) as s:
        return s.customers.add_many(rows)


def names(client: TestClient, path: str = "/customers/find", **body: Any) -> set[str]:
    r = client.post(path, json=body)
    assert r.status_code == 200, r.text
    return {c["first_name"] for c in r.json()["items"]}


def test_lists_show_exactly_what_check_allows(guarded: crmcore.Crm, as_: Any, tenant: str) -> None:
    rows = seed(guarded, tenant)
    for args, kw, expected in [
        (("u1", "sales_rep"), {}, {"A"}),
        (("u2", "manager"), {"teams": ("east",)}, {"A", "B"}),
        (("x", "support"), {}, {"A", "B", "C", "D"}),
        (("nobody",), {}, set()),
    ]:
        client = as_(*args, **kw)
        assert names(client) == expected
        listed = client.get("/customers").json()["items"]
        assert {c["first_name"] for c in listed} == expected
        for row in rows:  # a row the list hides cannot be fetched by id either
            status = client.get(f"/customers/{row.id}").status_code
            assert status == (200 if row.first_name in expected else 403)


def test_refusals_are_403_naming_the_rule_never_the_values(
    guarded: crmcore.Crm, as_: Any, tenant: str
) -> None:
    rows = seed(guarded, tenant)
    rep = as_("u1", "sales_rep")
    r = rep.get(f"/customers/{rows[1].id}")
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "permission_denied" and error["codes"] == ["permission_denied"]
    assert "reps-own" in error["message"] or "no rule" in error["message"]
    assert "u2" not in r.text and "+8613900000000" not in r.text
    r = rep.delete(f"/customers/{rows[0].id}")
    assert r.status_code == 403 and "delete" in r.json()["error"]["message"]
    r = as_("boss", "admin").delete(f"/customers/{rows[2].id}")
    assert r.status_code == 403 and "no-vip-delete" in r.json()["error"]["message"]
    with guarded.session(Principal.system_principal(tenant)) as s:
        assert s.customers.count() == 4  # nothing was deleted


def test_masked_fields_never_leak_through_any_route(
    guarded: crmcore.Crm, as_: Any, tenant: str
) -> None:
    rows = seed(guarded, tenant)
    agent = as_("x", "support")
    got = agent.get(f"/customers/{rows[0].id}").json()
    assert got["phone"] == "+86 138****8000"
    assert got["email"] not in (None, EMAIL)
    assert got["national_id"] is None
    analyst = as_("y", "analyst").get(f"/customers/{rows[0].id}").json()
    assert analyst["custom"]["salary"] is None and analyst["phone"] == PHONE
    analyst_text = as_("y", "analyst").post("/customers/find", json={}).text
    assert str(SALARY) not in analyst_text and NATIONAL_ID not in analyst_text
    texts = [
        agent.get(f"/customers/{rows[0].id}").text,
        agent.get("/customers").text,
        agent.post("/customers/find", json={}).text,
        agent.get(f"/customers/{rows[0].id}/history").text,
        agent.post("/audit_entries/find", json={}).text,
        agent.post(
            "/customers/duplicates", json={"first_name": "A", "phone": PHONE, "email": EMAIL}
        ).text,
    ]
    for text in texts:
        for secret in ("13800138000", NATIONAL_ID, EMAIL):
            assert secret not in text
    history = agent.get(f"/customers/{rows[0].id}/history").json()
    assert history[0]["changes"]["national_id"] == {"changed": True, "redacted": True}
    assert history[0]["changes"]["phone"]["to"] == "+86 138****8000"


@pytest.mark.parametrize(
    "query",
    [
        {"where": {"eq": ["national_id", NATIONAL_ID]}},
        {"where": {"startswith": ["phone", "+86138"], "ignore_case": False}},
        {"where": {"gt": ["custom.salary", 1000]}},
        {"where": {"is_null": "custom.salary"}},
        {"order_by": "phone"},
        {"order_by": ["-custom.salary"]},
    ],
)
def test_a_hidden_or_masked_field_cannot_be_probed(
    guarded: crmcore.Crm, as_: Any, tenant: str, query: dict[str, Any]
) -> None:
    seed(guarded, tenant)
    salary = "salary" in str(query)
    r = as_("y", "analyst" if salary else "support").post("/customers/find", json=query)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_query"
    for secret in ("13800138000", NATIONAL_ID, str(SALARY)):
        assert secret not in r.text


def test_saving_a_masked_record_keeps_the_real_values(
    guarded: crmcore.Crm, as_: Any, tenant: str
) -> None:
    rows = seed(guarded, tenant)
    agent = as_("x", "support")
    seen = agent.get(f"/customers/{rows[0].id}").json()
    r = agent.patch(
        f"/customers/{rows[0].id}", json={"version": seen["version"], "last_name": "Changed"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "+86 138****8000" and r.json()["national_id"] is None
    echoed = {"version": r.json()["version"], "phone": seen["phone"], "email": seen["email"]}
    assert agent.patch(f"/customers/{rows[0].id}", json=echoed).status_code == 200
    with guarded.session(Principal.system_principal(tenant)) as s:
        real = s.customers.get(rows[0].id)
    assert (real.last_name, real.phone, real.national_id, real.custom) == (
        "Changed",
        PHONE,
        NATIONAL_ID,
        {"salary": SALARY},
    )


def test_writing_a_field_you_may_not_write_is_refused(
    guarded: crmcore.Crm, as_: Any, tenant: str
) -> None:
    rows = seed(guarded, tenant)
    agent = as_("x", "support")
    for change, field in (
        ({"first_name": "Hacked"}, "first_name"),
        ({"phone": "+8613700000000"}, "phone"),
    ):
        r = agent.patch(f"/customers/{rows[0].id}", json={"version": rows[0].version, **change})
        assert r.status_code == 403, r.text
        assert r.json()["error"]["field"] == field
    with guarded.session(Principal.system_principal(tenant)) as s:
        assert s.customers.get(rows[0].id).version == rows[0].version


def test_an_update_cannot_move_a_record_out_of_reach(
    guarded: crmcore.Crm, as_: Any, tenant: str
) -> None:
    rows = seed(guarded, tenant)
    rep = as_("u1", "sales_rep")
    r = rep.patch(f"/customers/{rows[0].id}", json={"version": rows[0].version, "owner_id": "u2"})
    assert r.status_code == 403
    assert rep.post("/customers", json={"first_name": "E", "owner_id": "u9"}).status_code == 403
    assert rep.post("/customers", json={"first_name": "E", "owner_id": "u1"}).status_code == 201


def test_history_needs_read_permission_on_the_record(
    guarded: crmcore.Crm, as_: Any, tenant: str
) -> None:
    rows = seed(guarded, tenant)
    r = as_("o1", "outsider").get(f"/customers/{rows[0].id}/history")
    assert r.status_code == 403
    assert "13800138000" not in r.text


def test_a_refused_transition_is_403(guarded: crmcore.Crm, as_: Any, tenant: str) -> None:
    rows = seed(guarded, tenant)
    agent = as_("x", "support")  # may read and update customers, holds no transition:* right
    shown = agent.get(f"/customers/{rows[3].id}/transitions").json()
    assert shown["allowed"] == []
    r = agent.post(
        f"/customers/{rows[3].id}/transitions",
        json={"event": "advance", "version": rows[3].version},
    )
    assert r.status_code == 403 and "transition:advance" in r.json()["error"]["message"]
    admin = as_("boss", "admin").post(
        f"/customers/{rows[3].id}/transitions",
        json={"event": "advance", "version": rows[3].version},
    )
    assert admin.status_code == 200, admin.text


principals = st.tuples(
    st.sampled_from(["u1", "u2", "u3", "x"]),
    st.frozensets(st.sampled_from(["sales_rep", "manager", "support"]), max_size=2),
    st.frozensets(st.sampled_from(["east", "west"]), max_size=2),
)


def test_random_principals_see_exactly_the_rows_check_allows(
    guarded_app: tuple[crmcore.Crm, Any],
) -> None:
    guarded, client_for = guarded_app
    people = st.lists(
        st.builds(
            lambda o, t, g: Customer(first_name="p", owner_id=o, team_id=t, lifecycle_stage=g),
            st.sampled_from(["u1", "u2", "u3", None]),
            st.sampled_from(["east", "west", None]),
            st.sampled_from(["customer", "evangelist"]),
        ),
        min_size=1,
        max_size=5,
    )

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(rows=people, p=principals)
    def check(rows: list[Customer], p: tuple[str, frozenset[str], frozenset[str]]) -> None:
        tenant = f"t-{uuid.uuid4().hex[:6]}"
        with guarded.session(Principal.system_principal(tenant)) as s:
            stored = s.customers.add_many(rows)
        principal = Principal(user_id=p[0], tenant_id=tenant, roles=p[1], teams=p[2])
        expected = {str(r.id) for r in stored if POLICY.check(principal, "read", r).allowed}
        client = client_for(principal)
        got = client.post("/customers/find", json={"limit": 10}).json()["items"]
        assert {c["id"] for c in got} == expected

    check()


def test_bookkeeping_shows_only_what_the_records_allow(
    guarded: crmcore.Crm, as_: Any, tenant: str
) -> None:
    rows = seed(guarded, tenant)
    with guarded.session(Principal.system_principal(tenant)) as s:
        from crmcore.services import transition

        transition(s, s.customers.get(rows[1].id), "advance")
    rep = as_("u1", "sales_rep")  # no rule lets a rep read audit entries
    assert rep.post("/audit_entries/find", json={}).json()["items"] == []
    agent = as_("x", "support")  # reads every customer and audit entry, phone masked
    entries = agent.post("/audit_entries/find", json={"limit": 50}).json()["items"]
    assert {e["record_id"] for e in entries} == {str(r.id) for r in rows}
    first = next(e for e in entries if e["record_id"] == str(rows[0].id))
    assert first["changes"]["phone"]["to"] == "+86 138****8000"
    assert agent.get(f"/audit_entries/{first['id']}").json()["changes"] == first["changes"]
    outsider = as_("o1", "outsider")  # reads audit entries, no customer
    assert outsider.post("/audit_entries/find", json={}).json()["items"] == []
    r = outsider.get(f"/audit_entries/{first['id']}")
    assert r.status_code == 403 and "13800138000" not in r.text
    assert as_("boss", "admin").post("/transitions/find", json={}).json()["items"]
    assert outsider.post("/transitions/find", json={}).json()["items"] == []
    assert agent.get("/merges").status_code == 404  # merge journals are not served
