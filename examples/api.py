"""The HTTP API over a CRM with a policy and an audit trail, driven by FastAPI's test client.

Runs in a second or two with no server: a sales rep and a support agent use
the same API; each sees what the policy lets them see. Run it::

    python examples/api.py
"""

from __future__ import annotations

import warnings
from typing import Any

import crmcore
from crmcore import Principal
from crmcore.policy import Policy

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient

from crmcore.api import create_app

POLICY = Policy.from_dict(
    {
        "roles": {"sales_rep": {}, "support": {}},
        "rules": [
            {
                "name": "reps-own",
                "roles": ["sales_rep"],
                "entities": ["Customer", "Lead"],
                "actions": ["create", "read", "update", "transition:*"],
                "condition": "resource.owner_id == principal.user_id",
            },
            {
                "name": "support-reads",
                "roles": ["support"],
                "entities": ["Customer", "AuditEntry"],
                "actions": ["read"],
            },
        ],
        "field_rules": [
            {
                "roles": ["support"],
                "entities": ["Customer"],
                "fields": {"phone": "masked:phone", "national_id": "hidden"},
            }
        ],
    }
)


_SHOWN = ("first_name", "last_name", "phone", "email", "status", "version")


def _summary(body: Any) -> str:
    if isinstance(body, dict) and "error" in body:
        return f"{body['error']['code']}: {body['error']['message'][:90]}"
    if isinstance(body, dict):
        return ", ".join(f"{k}={body[k]!r}" for k in _SHOWN if body.get(k) is not None)
    if isinstance(body, list):
        items = [
            e.get("action") or f"{e.get('status')} p={e.get('probability', 0):.3f}" for e in body
        ]
        return f"{len(body)} item(s): {items}"
    return repr(body)


def show(label: str, response: Any) -> None:
    """Print a response's status and the interesting part of its body."""
    body = response.json() if response.status_code != 204 else None
    print(f"{label:<42} {response.status_code}  {_summary(body)}")


def main() -> None:
    crm = crmcore.connect("memory://", policy=POLICY, audit=True)
    rep = Principal(user_id="li", tenant_id="acme", roles={"sales_rep"})
    agent = Principal(user_id="wang", tenant_id="acme", roles={"support"})
    app = create_app(crm, {"rep-token": rep, "agent-token": agent})
    as_rep = TestClient(app, headers={"Authorization": "Bearer rep-token"})
    as_agent = TestClient(app, headers={"Authorization": "Bearer agent-token"})

    made = as_rep.post(
        "/customers",
        json={"first_name": "伟", "last_name": "张", "phone": "138 0013 8000", "owner_id": "li"},
    )
    show("rep creates a customer", made)
    customer = made.json()
    show(
        "rep tries to create one for someone else",
        as_rep.post("/customers", json={"first_name": "X", "owner_id": "zhao"}),
    )
    show(
        "rep updates it",
        as_rep.patch(
            f"/customers/{customer['id']}",
            json={"version": customer["version"], "email": "wei@example.cn"},
        ),
    )
    show(
        "rep updates with the old version again",
        as_rep.patch(f"/customers/{customer['id']}", json={"version": customer["version"]}),
    )
    show("agent reads it (phone masked)", as_agent.get(f"/customers/{customer['id']}"))
    show(
        "agent filters on the masked phone",
        as_agent.post("/customers/find", json={"where": {"eq": ["phone", "+8613800138000"]}}),
    )
    show("agent reads its history", as_agent.get(f"/customers/{customer['id']}/history"))
    lead = as_rep.post("/leads", json={"first_name": "Anna", "owner_id": "li"}).json()
    show(
        "rep qualifies a lead",
        as_rep.post(
            f"/leads/{lead['id']}/transitions",
            json={"event": "qualify", "version": lead["version"]},
        ),
    )
    show(
        "duplicate check for a new contact",
        as_rep.post(
            "/customers/duplicates",
            json={"first_name": "伟", "last_name": "张", "phone": "+86 138 0013 8000"},
        ),
    )
    show("no token", TestClient(app).get("/customers"))
    paths = app.openapi()["paths"]
    print(f"OpenAPI document: {len(paths)} paths, e.g. {sorted(paths)[:3]}")


if __name__ == "__main__":
    main()
