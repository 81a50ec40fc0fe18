"""The HTTP API end to end through the test client: CRUD, find, conflicts, transitions, errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

import crmcore
from crmcore import Customer, Principal
from crmcore.api import api_error_status, bearer_tokens, create_app
from crmcore.errors import (
    AlreadyExists,
    ConfigurationError,
    Conflict,
    InvalidTransition,
    KeyShredded,
    NotFound,
    PermissionDenied,
    QueryError,
    StorageError,
    Unauthenticated,
    ValidationError,
)


def new_customer(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "伟", "last_name": "张", "phone": "138 0013 8000", **fields}
    r = client.post("/customers", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_create_get_update_delete(client: TestClient) -> None:
    made = new_customer(client, tags=["vip"], custom={"tier": "gold"})
    assert made["version"] == 1 and made["tenant_id"].startswith("t-")
    assert made["phone"] == "+8613800138000"  # the session's validation normalised it
    assert "sealed" not in made and "search_keys" not in made
    got = client.get(f"/customers/{made['id']}").json()
    assert got == made
    r = client.patch(
        f"/customers/{made['id']}", json={"version": 1, "email": "Wei@Example.COM", "tags": []}
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["version"], changed["email"], changed["tags"]) == (2, "Wei@example.com", [])
    assert (changed["first_name"], changed["custom"]) == ("伟", {"tier": "gold"})
    assert client.delete(f"/customers/{made['id']}", params={"version": 2}).status_code == 204
    assert client.get(f"/customers/{made['id']}").status_code == 404
    found = client.post("/customers/find", json={"include_deleted": True}).json()["items"]
    assert [c["id"] for c in found] == [made["id"]] and found[0]["deleted_at"] is not None
    assert client.delete(f"/customers/{made['id']}", params={"hard": True}).status_code == 204
    assert client.post("/customers/find", json={"include_deleted": True}).json()["items"] == []


def test_nested_values_and_decimals_round_trip(client: TestClient) -> None:
    product = client.post(
        "/products",
        json={"sku": "A-1", "name": "茶", "price": {"amount": "12.50", "currency": "CNY"}},
    ).json()
    assert product["price"] == {"amount": "12.50", "currency": "CNY"}
    order = client.post(
        "/orders",
        json={
            "currency": "CNY",
            "lines": [{"sku": "A-1", "quantity": 3, "unit_price": product["price"]}],
        },
    )
    assert order.status_code == 201, order.text
    assert order.json()["lines"][0]["quantity"] == "3"


def test_find_with_the_query_language_order_and_cursor(client: TestClient) -> None:
    for i in range(7):
        new_customer(client, first_name=f"N{i}", phone=None, custom={"n": i})
    where = {"and": [{"ge": ["custom.n", 2]}, {"not": {"eq": ["first_name", "N4"]}}]}
    seen: list[str] = []
    after = None
    while True:
        body = {"where": where, "order_by": ["-custom.n"], "limit": 2, "after": after}
        page = client.post("/customers/find", json=body).json()
        seen += [c["first_name"] for c in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == ["N6", "N5", "N3", "N2"]
    listed = client.get("/customers", params={"order_by": "first_name", "limit": 3}).json()
    assert [c["first_name"] for c in listed["items"]] == ["N0", "N1", "N2"]
    nxt = client.get(
        "/customers", params={"order_by": "first_name", "limit": 3, "after": listed["next_cursor"]}
    ).json()
    assert [c["first_name"] for c in nxt["items"]] == ["N3", "N4", "N5"]


def test_query_from_to_dict_matches_the_library(client: TestClient) -> None:
    from crmcore.query import field, to_dict

    for name in ("Anna", "Anne", "Bob"):
        new_customer(client, first_name=name, last_name="Smith", phone=None)
    where = field("first_name").startswith("an", ignore_case=True) & (field("last_name") == "Smith")
    items = client.post("/customers/find", json={"where": to_dict(where)}).json()["items"]
    assert sorted(c["first_name"] for c in items) == ["Anna", "Anne"]


def test_stale_versions_and_taken_ids_are_conflicts(client: TestClient) -> None:
    made = new_customer(client)
    path = f"/customers/{made['id']}"
    assert client.patch(path, json={"version": 1, "first_name": "A"}).status_code == 200
    stale = client.patch(path, json={"version": 1, "first_name": "B"})
    assert stale.status_code == 409
    error = stale.json()["error"]
    assert (error["code"], error["codes"]) == ("conflict", ["conflict"])
    assert (error["expected_version"], error["actual_version"]) == (1, 2)
    assert client.delete(path, params={"version": 1}).status_code == 409
    assert client.get(path).json()["first_name"] == "A"  # nothing of the stale calls was written
    taken = client.post("/customers", json={"id": made["id"], "first_name": "dup"})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "already_exists"


def test_transitions_fire_with_history_and_refuse_what_the_machine_forbids(
    client: TestClient,
) -> None:
    lead = client.post("/leads", json={"first_name": "Li", "company": "Acme"}).json()
    path = f"/leads/{lead['id']}/transitions"
    shown = client.get(path).json()
    assert "qualify" in shown["allowed"] and "convert" not in shown["allowed"]
    r = client.post(path, json={"event": "qualify", "version": lead["version"], "comment": "ok"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "qualified"
    history = client.get(path).json()["history"]
    assert [(h["from_state"], h["to_state"], h["comment"]) for h in history] == [
        ("new", "qualified", "ok")
    ]
    stale = client.post(path, json={"event": "convert", "version": lead["version"]})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    bad = client.post(path, json={"event": "contact", "version": r.json()["version"]})
    assert bad.status_code == 409
    error = bad.json()["error"]
    assert error["code"] == "invalid_transition" and error["state"] == "qualified"
    assert "convert" in error["allowed"]
    assert client.get(f"/leads/{lead['id']}").json()["status"] == "qualified"
    # only entities a machine moves have transition routes
    product_routes = [p for p in client.get("/openapi.json").json()["paths"] if "products" in p]
    assert not any(p.endswith("/transitions") for p in product_routes)


def test_audit_history_of_a_record(client: TestClient) -> None:
    made = new_customer(client)
    client.patch(f"/customers/{made['id']}", json={"version": 1, "last_name": "王"})
    entries = client.get(f"/customers/{made['id']}/history").json()
    assert [e["action"] for e in entries] == ["create", "update"]
    assert entries[1]["changes"]["last_name"] == {"from": "张", "to": "王"}
    assert entries[0]["actor"] == "system"


def test_dedupe_check_finds_the_existing_customer(client: TestClient) -> None:
    made = new_customer(client, email="wei@example.cn")
    new_customer(client, first_name="Anna", last_name="Smith", phone="+8613900000000")
    r = client.post(
        "/customers/duplicates",
        json={"first_name": "伟", "last_name": "张", "phone": "13800138000"},
    )
    assert r.status_code == 200, r.text
    pairs = r.json()
    assert pairs and pairs[0]["customer_id"] == made["id"] and pairs[0]["status"] == "match"
    phone = next(f for f in pairs[0]["fields"] if f["field"] == "phone")
    assert phone["level"] == "exact"
    assert all(p["customer_id"] != made["id"] or p is pairs[0] for p in pairs)
    nothing = client.post(
        "/customers/duplicates", json={"first_name": "Zed", "phone": "+14155550100"}
    )
    assert nothing.json() == []


def test_missing_or_unknown_credentials_are_401(anonymous: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}):
        r = anonymous.get("/customers", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["codes"] == ["unauthenticated"]


def test_bearer_token_mapping(memory_crm: crmcore.Crm) -> None:
    app = create_app(memory_crm, {"s3cret-token": Principal.system_principal("t9")})
    ok = TestClient(app, headers={"Authorization": "Bearer s3cret-token"})
    assert ok.post("/accounts", json={"name": "Acme"}).json()["tenant_id"] == "t9"
    wrong = TestClient(app, headers={"Authorization": "Bearer s3cret-tokeN"})
    r = wrong.get("/accounts")
    assert r.status_code == 401 and "s3cret" not in r.text
    with pytest.raises(ConfigurationError):
        bearer_tokens({"": Principal.system_principal()})
    with pytest.raises(ConfigurationError):
        create_app(memory_crm, {}, max_page_size=0)


def test_tenants_are_isolated(client_for: Any) -> None:
    a = client_for(Principal.system_principal("tenant-a"))
    b = client_for(Principal.system_principal("tenant-b"))
    made = new_customer(a)
    assert b.get(f"/customers/{made['id']}").status_code == 404
    assert b.post("/customers/find", json={}).json()["items"] == []
    assert b.patch(f"/customers/{made['id']}", json={"version": 1}).status_code == 404


def test_errors_map_to_statuses_with_codes(client: TestClient) -> None:
    r = client.get(f"/customers/{uuid.uuid4()}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert client.get("/customers/not-a-uuid").status_code == 422
    r = client.post("/customers/find", json={"where": {"bogus": 1}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_query"
    r = client.post("/customers/find", json={"where": {"eq": ["no_such_field", 1]}})
    assert r.status_code == 400
    r = client.post("/customers/find", json={"after": "garbage"})
    assert r.status_code == 400 and r.json()["error"]["message"] == "malformed cursor"
    r = client.post("/customers/find", json={"limit": 5000})
    assert r.status_code == 422 and r.json()["error"]["codes"] == ["max_page_size"]
    r = client.post("/customers", json={"first_name": 5, "lifecycle_stage": None, "bogus": 1})
    assert r.status_code == 422
    error = r.json()["error"]
    assert {e["path"] for e in error["errors"]} == {"$.first_name", "$.lifecycle_stage", "$.bogus"}
    assert len(error["codes"]) == 3 and '"input"' not in r.text
    r = client.post("/surveys", json={})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.post("/survey_responses", json={"kind": "nps", "score": 11})
    assert r.status_code == 422 and r.json()["error"]["codes"] == ["score_out_of_range"]
    # bookkeeping is read-only
    assert client.post("/audit_entries", json={}).status_code == 405
    assert client.post("/transitions", json={}).status_code == 405
    assert client.post("/audit_entries/find", json={}).status_code == 200


def test_an_invalid_protected_value_is_not_echoed(client: TestClient) -> None:
    secret = "11010519491231002Y"
    r = client.post("/customers", json={"first_name": "A", "national_id": secret})
    assert r.status_code == 422, r.text
    assert secret not in r.text
    assert "national_id" in r.text


def test_every_crmcore_error_has_a_client_status() -> None:
    cases = [
        (Unauthenticated(), 401),
        (PermissionDenied("read", "Customer"), 403),
        (NotFound("Customer", 1), 404),
        (Conflict("Customer", 1), 409),
        (AlreadyExists("Customer", 1), 409),
        (InvalidTransition("lead", "new", "x"), 409),
        (KeyShredded("k"), 410),
        (ValidationError([]), 422),
        (QueryError("bad"), 400),
        (ConfigurationError("bad"), 400),
        (StorageError("down"), 503),
    ]
    assert [api_error_status(e) for e, _ in cases] == [s for _, s in cases]


def test_each_request_is_one_unit_of_work(
    memory_crm: crmcore.Crm, client: TestClient, api_tenant: str
) -> None:
    r = client.post("/survey_responses", json={"kind": "csat", "score": 9})
    assert r.status_code == 422
    with memory_crm.session(Principal.system_principal(api_tenant)) as s:
        assert s.survey_responses.count() == 0
        assert s.audit_entries.count() == 0
    made = new_customer(client)
    with memory_crm.session(Principal.system_principal(api_tenant)) as s:
        assert isinstance(s.customers.get(made["id"]), Customer)


def test_request_id_becomes_the_correlation_id(client: TestClient) -> None:
    made = client.post(
        "/customers", json={"first_name": "A"}, headers={"X-Request-ID": "req-42.a"}
    ).json()
    entries = client.get(f"/customers/{made['id']}/history").json()
    assert entries[0]["correlation_id"] == "req-42.a"
    odd = client.post("/customers", json={"first_name": "B"}, headers={"X-Request-ID": "a b\\c"})
    entry = client.get(f"/customers/{odd.json()['id']}/history").json()[0]
    assert entry["correlation_id"] != "a b\\c"


def test_the_openapi_document_covers_every_collection(client: TestClient) -> None:
    from crmcore.model import COLLECTIONS

    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    for name in COLLECTIONS:
        if name == "merges":
            assert f"/{name}" not in paths
            continue
        assert {"get"} <= set(paths[f"/{name}"]) and "post" in paths[f"/{name}/find"]
        assert "get" in paths[f"/{name}/{{id}}"]
    assert set(paths["/customers/{id}"]) == {"get", "patch", "delete"}
    assert set(paths["/audit_entries/{id}"]) == {"get"}
    schemas = doc["components"]["schemas"]
    assert schemas["CustomerCreate"]["additionalProperties"] is False
    assert "version" in schemas["CustomerPatch"]["required"]
    assert schemas["AccountCreate"]["required"] == ["name"]
    assert "ApiError" in schemas and "HTTPBearer" in doc["components"]["securitySchemes"]
    create = paths["/customers"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409", "422"} <= set(create)


def test_encrypted_fields_through_the_api(make_clients: Any) -> None:
    import os

    from crmcore.crypto import Encryption, Keyring, StaticKeyProvider
    from crmcore.services import shred_subject

    encryption = Encryption(keyring=Keyring(StaticKeyProvider([os.urandom(32)])))
    crm = crmcore.connect("memory://", encryption=encryption)
    client_for, _ = make_clients(crm)
    client = client_for(Principal.system_principal("enc"))
    made = new_customer(client, email="wei@example.cn", national_id="11010519491231002X")
    assert "sealed" not in made and made["email"] == "wei@example.cn"
    found = client.post("/customers/find", json={"where": {"eq": ["email", "wei@example.cn"]}})
    assert [c["id"] for c in found.json()["items"]] == [made["id"]]  # via the blind index
    with crm.session(Principal.system_principal("enc")) as s:
        stored = s.inner(Customer).get(uuid.UUID(made["id"]))
        assert "wei@example.cn" not in repr(stored.sealed) and stored.email is None
        shred_subject(s, encryption, uuid.UUID(made["id"]))
    r = client.get(f"/customers/{made['id']}")
    assert r.status_code == 200, r.text  # erased fields read as null, the rest stays
    assert (r.json()["email"], r.json()["national_id"], r.json()["first_name"]) == (
        None,
        None,
        "伟",
    )
    assert "wei@example.cn" not in r.text and "11010519491231002X" not in r.text
    crm.close()


def test_malformed_bodies_are_client_errors(client: TestClient) -> None:
    headers = {"Content-Type": "application/json"}
    deep = '{"where":' + '{"not":' * 50_000 + '{"const": true}' + "}" * 50_001
    for content, status in (
        ("[" * 100_000 + "]" * 100_000, 400),  # nesting the JSON parser refuses
        (deep, 400),
        ('{"where": ' + '{"not": ' * 100 + '{"const": true}' + "}" * 101, 400),  # too deep
        ("{not json", 422),
        ('{"first_name": "\\ud800"}', 422),  # a lone surrogate
    ):
        r = client.post("/customers/find", content=content, headers=headers)
        if content.startswith('{"first'):
            r = client.post("/customers", content=content, headers=headers)
        assert r.status_code == status, (content[:40], r.text[:200])
        assert r.json()["error"]["codes"]
