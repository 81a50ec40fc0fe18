"""Policy documents (dict / JSON / TOML) and policy tests as data."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from crmcore import query as q
from crmcore.errors import ConfigurationError
from crmcore.policy import ConditionError, FieldLevel, Policy, Principal, run_policy_tests

DOC: dict[str, Any] = {
    "name": "acme",
    "sensitive_fields": ["national_id"],
    "roles": {
        "sales_rep": {"description": "works own accounts"},
        "manager": {"inherits": ["sales_rep"]},
        "support": {},
    },
    "rules": [
        {
            "name": "reps-own-records",
            "roles": ["sales_rep"],
            "entities": ["Customer", "Opportunity"],
            "actions": ["read", "update"],
            "condition": "resource.owner_id == principal.user_id",
        },
        {
            "name": "managers-region",
            "roles": "manager",
            "entity": "Customer",
            "actions": ["read", "update", "delete"],
            "condition": "resource.region == principal.region",
        },
        {
            "name": "no-big-deletes",
            "effect": "deny",
            "roles": "*",
            "actions": "delete",
            "condition": "resource.amount.amount >= 10000",
            "description": "large deals are archived, never deleted",
        },
        {"name": "support-reads", "roles": ["support"], "entities": "*", "action": "read"},
    ],
    "field_rules": [
        {
            "roles": ["support"],
            "entities": ["Customer"],
            "fields": {"phone": "masked:phone", "national_id": "hidden"},
        }
    ],
    "principals": {
        "alice": {"user_id": "u1", "tenant_id": "t1", "roles": ["sales_rep"]},
        "mona": {
            "user_id": "m1",
            "tenant_id": "t1",
            "roles": ["manager"],
            "attributes": {"region": "east"},
        },
        "sam": {"user_id": "s1", "tenant_id": "t1", "roles": ["support"]},
    },
    "resources": {
        "alices-customer": {"entity": "Customer", "fields": {"owner_id": "u1", "region": "west"}},
        "east-customer": {"entity": "Customer", "fields": {"owner_id": "u9", "region": "east"}},
    },
    "tests": [
        {
            "name": "alice works her own customer",
            "principal": "alice",
            "resource": "alices-customer",
            "actions": {"read": "allow", "update": "allow", "delete": "deny"},
        },
        {
            "name": "mona manages the east",
            "principal": "mona",
            "resource": "east-customer",
            "action": "delete",
            "expect": "allow",
            "rule": "managers-region",
        },
        {
            "name": "no big deletes",
            "principal": "mona",
            "entity": "Customer",
            "resource": {"region": "east", "amount": {"amount": 20000}},
            "action": "delete",
            "expect": "deny",
            "rule": "no-big-deletes",
        },
        {
            "name": "sam sees masked phones",
            "principal": "sam",
            "resource": "east-customer",
            "actions": {"read": "allow", "update": "deny"},
            "fields": {"phone": "masked", "national_id": "hidden", "notes": "write"},
        },
    ],
}

TOML = """
name = "acme"

[roles]
sales_rep = {}
manager = { inherits = ["sales_rep"] }

[[rules]]
name = "reps-own-records"
roles = ["sales_rep"]
entities = ["Customer"]
actions = ["read", "update"]
condition = "resource.owner_id == principal.user_id"

[[rules]]
name = "managers-region"
roles = ["manager"]
entities = ["Customer"]
actions = ["read"]
condition = "resource.region == principal.region and context.hour < 18"

[[field_rules]]
roles = ["sales_rep"]
entities = ["Customer"]
fields = { national_id = "masked" }

[principals.alice]
user_id = "u1"
tenant_id = "t1"
roles = ["sales_rep"]

[[tests]]
name = "alice reads her own"
principal = "alice"
entity = "Customer"
resource = { owner_id = "u1" }
actions = { read = "allow", delete = "deny" }
"""

ALICE = Principal(user_id="u1", tenant_id="t1", roles="sales_rep")
MONA = Principal(user_id="m1", tenant_id="t1", roles="manager", attributes={"region": "east"})


def test_load_from_dict() -> None:
    policy = Policy.from_dict(DOC)
    assert policy.name == "acme"
    assert tuple(r.name for r in policy.rules) == (
        "reps-own-records",
        "managers-region",
        "no-big-deletes",
        "support-reads",
    )
    assert policy.check(MONA, "read", {"tenant_id": "t1", "owner_id": "m1"}, entity="Customer")
    d = policy.check(
        MONA,
        "delete",
        {"tenant_id": "t1", "region": "east", "amount": {"amount": 10000}},
        entity="Customer",
    )
    assert d.rule == "no-big-deletes"
    assert FieldLevel.HIDDEN is policy.field_access(
        Principal(user_id="s", tenant_id="t1", roles="support"), "Customer"
    ).level("national_id")
    assert policy.rules[2].description == "large deals are archived, never deleted"


def test_document_tests_pass() -> None:
    report = run_policy_tests(DOC)
    assert report.ok, str(report)
    assert report.passed == 12
    assert str(report) == "12 passed, 0 failed"
    report.raise_if_failed()
    assert report == Policy.from_dict(DOC).run_tests()


def test_document_tests_report_failures() -> None:
    doc = dict(DOC)
    doc["tests"] = [
        {
            "name": "wrong expectation",
            "principal": "alice",
            "resource": "east-customer",
            "actions": {"read": "allow"},
        },
        {
            "name": "wrong rule",
            "principal": "mona",
            "resource": "east-customer",
            "action": "read",
            "expect": "allow",
            "rule": "reps-own-records",
        },
    ]
    report = run_policy_tests(doc)
    assert not report.ok
    assert len(report.failures) == 2
    text = str(report)
    assert (
        "FAIL wrong expectation: 'read' expected allow, got deny (rule 'reps-own-records' did not"
        " apply: resource.owner_id ('u9') != principal.user_id ('u1'))"
    ) in text
    assert (
        "FAIL wrong rule: 'read' deciding rule expected reps-own-records, got managers-region"
        in text
    )
    assert text.endswith("1 passed, 2 failed")
    with pytest.raises(ConfigurationError, match="policy tests failed"):
        report.raise_if_failed()


def test_run_tests_with_inline_cases() -> None:
    policy = Policy.from_dict(DOC)
    report = policy.run_tests(
        [
            {
                "principal": {"user_id": "u1", "tenant_id": "t1", "roles": ["sales_rep"]},
                "entity": "Opportunity",
                "resource": {"owner_id": "u1", "tenant_id": "t2"},
                "action": "read",
                "expect": "deny",
            }
        ]
    )
    assert report.ok


def test_load_from_json_and_files(tmp_path: Path) -> None:
    text = json.dumps(DOC)
    assert Policy.from_dict(DOC).to_dict() == Policy.from_json(text).to_dict()
    path = tmp_path / "policy.json"
    path.write_text(text, encoding="utf-8")
    assert run_policy_tests(path).ok
    with pytest.raises(ConfigurationError, match="policy JSON is invalid"):
        Policy.from_json("{nope")
    with pytest.raises(ConfigurationError, match=r"expected a \.json or \.toml file"):
        Policy.load(tmp_path / "policy.yaml")
    with pytest.raises(ConfigurationError, match="cannot read policy file"):
        Policy.load(tmp_path / "missing.json")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_load_from_toml(tmp_path: Path) -> None:
    policy = Policy.from_toml(TOML)
    assert policy.run_tests().ok
    rec = {"tenant_id": "t1", "region": "east"}
    assert policy.check(MONA, "read", rec, entity="Customer", context={"hour": 9}).allowed
    assert not policy.check(MONA, "read", rec, entity="Customer", context={"hour": 19}).allowed
    path = tmp_path / "policy.toml"
    path.write_text(TOML, encoding="utf-8")
    assert run_policy_tests(path).ok
    with pytest.raises(ConfigurationError, match="policy TOML is invalid"):
        Policy.from_toml("[[rules]\nname=")


def test_round_trip_through_to_dict() -> None:
    policy = Policy.from_dict(DOC)
    again = Policy.from_dict(policy.to_dict())
    assert policy.to_dict() == again.to_dict()
    assert policy.rules == again.rules
    for p in (ALICE, MONA):
        assert policy.filter(p, "read", "Customer") == again.filter(p, "read", "Customer")
    assert again.run_tests().ok


def test_builder_equals_document() -> None:
    built = (
        Policy.builder()
        .role("sales_rep")
        .role("manager", inherits="sales_rep")
        .allow(
            "reps-own-records",
            roles="sales_rep",
            entities="Customer",
            actions=["read", "update"],
            when="resource.owner_id == principal.user_id",
        )
        .fields(roles="sales_rep", entities="Customer", national_id="masked", all="read")
        .build()
    )
    doc = {
        "roles": {"sales_rep": {}, "manager": {"inherits": ["sales_rep"]}},
        "rules": [
            {
                "name": "reps-own-records",
                "roles": ["sales_rep"],
                "entities": ["Customer"],
                "actions": ["read", "update"],
                "condition": "resource.owner_id == principal.user_id",
            }
        ],
        "field_rules": [
            {
                "roles": ["sales_rep"],
                "entities": ["Customer"],
                "fields": {"national_id": "masked", "*": "read"},
            }
        ],
    }
    assert Policy.from_dict(doc).to_dict() == built.to_dict()
    assert q.all_of(q.eq("tenant_id", "t1"), q.eq("owner_id", "u1")) == built.filter(
        ALICE, "read", "Customer"
    )


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"rulez": []}, "policy document: unknown key 'rulez'"),
        (
            {"rules": [{"name": "x", "roles": "r", "actions": "read", "condtion": "true"}]},
            "rules[0] ('x'): unknown key 'condtion'",
        ),
        ({"rules": [{"name": "x", "roles": "sales_rep"}]}, "rules[0] ('x'): missing 'actions'"),
        (
            {"rules": [{"name": "x", "roles": "sales_rep", "actions": "raed"}]},
            "unknown action 'raed'",
        ),
        (
            {"rules": [{"name": "x", "roles": "nobody", "actions": "read"}]},
            "rule 'x' names unknown role 'nobody'",
        ),
        ({"rules": {"name": "x"}}, "rules: expected a list"),
        (
            {"roles": {"a": {"inherits": ["b"]}, "b": {"inherits": ["a"]}}},
            "role inheritance cycle: a -> b -> a",
        ),
        ({"roles": {"a": {"inherit": ["b"]}}}, "role 'a': unknown key 'inherit'"),
        (
            {"field_rules": [{"roles": "support", "fields": {"phone": "blurred"}}]},
            "unknown field level 'blurred'",
        ),
        (
            {
                "tests": [
                    {
                        "principal": "ghost",
                        "entity": "Customer",
                        "action": "read",
                        "expect": "allow",
                    }
                ]
            },
            "unknown principal 'ghost'",
        ),
        (
            {
                "tests": [
                    {"principal": "alice", "entity": "Customer", "action": "read", "expect": "yes"}
                ]
            },
            "expected 'allow' or 'deny'",
        ),
        (
            {"tests": [{"principal": "alice", "action": "read", "expect": "allow"}]},
            "missing 'entity'",
        ),
    ],
)
def test_document_errors_say_where(patch: dict[str, Any], message: str) -> None:
    doc = {**DOC, **patch}
    if "roles" in patch:
        doc["rules"] = []
        doc["field_rules"] = []
        doc["tests"] = []
    with pytest.raises(ConfigurationError) as info:
        Policy.from_dict(doc)
    assert message in str(info.value)


def test_condition_errors_in_documents_name_rule_and_position() -> None:
    doc = {
        "rules": [
            {
                "name": "reps-own",
                "roles": "r",
                "actions": "read",
                "condition": "resource.owner_id == ",
            }
        ]
    }
    with pytest.raises(ConditionError) as info:
        Policy.from_dict(doc)
    assert info.value.rule == "reps-own"
    assert info.value.position == 21
    assert str(info.value).startswith("rule 'reps-own': condition error at position 21")


_R = {"name": "r", "roles": ["*"]}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {
                "rules": [
                    {"name": "r", "roles": ["*"], "entities": ["customer"], "actions": ["read"]}
                ]
            },
            "rule 'r': unknown entity 'customer'; did you mean 'Customer'?",
        ),
        (
            {
                "rules": [
                    {"name": "r", "roles": ["*"], "entities": ["Custmer"], "actions": ["read"]}
                ]
            },
            "unknown entity 'Custmer'; did you mean 'Customer'?",
        ),
        (
            {
                "rules": [
                    {"name": "r", "roles": ["*"], "entities": ["Customer"], "actions": ["raed"]}
                ]
            },
            "unknown action 'raed'; did you mean 'read'?",
        ),
        (
            {
                "field_rules": [
                    {"roles": ["*"], "entities": ["Customer"], "fields": {"emial": "hidden"}}
                ]
            },
            "Customer has no field 'emial'; did you mean 'email'?",
        ),
    ],
)
def test_unknown_entities_actions_and_fields_are_refused_at_load(
    document: dict[str, object], message: str
) -> None:
    from crmcore.errors import ConfigurationError
    from crmcore.policy import Policy

    with pytest.raises(ConfigurationError) as refused:
        Policy.from_dict(document)
    assert message in str(refused.value)
