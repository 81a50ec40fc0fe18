"""Policy documents: plain data (dict, JSON, TOML) a tenant administrator can edit.

The format (TOML shown; JSON and dicts have the same shape)::

    name = "acme"
    sensitive_fields = ["national_id"]

    [roles]
    sales_rep = {}
    manager = { inherits = ["sales_rep"] }

    [[rules]]
    name = "reps-own-records"
    effect = "allow"                     # default "allow"
    roles = ["sales_rep"]
    entities = ["Customer", "Opportunity"]   # or "*" (default)
    actions = ["read", "update"]
    condition = "resource.owner_id == principal.user_id"

    [[field_rules]]
    roles = ["support"]
    entities = ["Customer"]
    fields = { phone = "masked:phone", national_id = "hidden" }

    [principals.alice]                   # named fixtures for the tests
    user_id = "u1"
    tenant_id = "t1"
    roles = ["sales_rep"]

    [[tests]]
    name = "a rep reads her own customer"
    principal = "alice"
    entity = "Customer"
    resource = { tenant_id = "t1", owner_id = "u1" }
    actions = { read = "allow", delete = "deny" }

Every mistake is refused with a :class:`~crmcore.errors.ConfigurationError`
that says where (``rules[2] ('reps-own'): unknown key 'condtion'``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

from crmcore.errors import ConfigurationError
from crmcore.policy._condition import ConditionError
from crmcore.policy._fields import FieldLevelRule
from crmcore.policy._policy import Policy
from crmcore.policy._rules import Role, Rule

__all__ = ["load_toml", "policy_from_dict", "resolve_tests"]

_TOP = frozenset(
    {
        "name",
        "description",
        "version",
        "roles",
        "rules",
        "field_rules",
        "sensitive_fields",
        "tests",
        "principals",
        "resources",
    }
)
_RULE_KEYS = frozenset(
    {
        "name",
        "effect",
        "roles",
        "role",
        "entities",
        "entity",
        "actions",
        "action",
        "condition",
        "description",
    }
)
_ROLE_KEYS = frozenset({"name", "inherits", "description"})
_FIELD_KEYS = frozenset({"name", "roles", "role", "entities", "entity", "fields"})
_CASE_KEYS = frozenset(
    {
        "name",
        "principal",
        "resource",
        "entity",
        "action",
        "actions",
        "expect",
        "rule",
        "context",
        "fields",
    }
)
_PRINCIPAL_KEYS = frozenset({"user_id", "tenant_id", "roles", "teams", "attributes", "system"})


def load_toml(text: str) -> dict[str, Any]:
    """Parse TOML text with ``tomllib`` (Python 3.11+) or ``tomli``.

    Raises:
        ConfigurationError: invalid TOML, or no TOML parser on this Python.
    """
    if sys.version_info >= (3, 11):
        import tomllib as toml_mod
    else:  # pragma: no cover - exercised on 3.10 only
        try:
            toml_mod = importlib.import_module("tomli")
        except ImportError:
            raise ConfigurationError(
                "TOML policies need Python 3.11+ (tomllib) or the 'tomli' package;"
                " pass a dict or JSON instead"
            ) from None
    try:
        return dict(toml_mod.loads(text))
    except ValueError as exc:  # TOMLDecodeError is a ValueError
        raise ConfigurationError(f"policy TOML is invalid: {exc}") from None


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where}: expected a table/object, got {type(value).__name__}")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigurationError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _keys(data: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown key {unknown[0]!r} (expected: {', '.join(sorted(allowed))})"
        )


def _one_of(data: Mapping[str, Any], plural: str, singular: str, where: str, default: Any) -> Any:
    if plural in data and singular in data:
        raise ConfigurationError(f"{where}: give {plural!r} or {singular!r}, not both")
    return data.get(plural, data.get(singular, default))


def _roles(value: object) -> list[Role]:
    roles: list[Role] = []
    if isinstance(value, Mapping):
        items: list[tuple[str, object]] = list(value.items())
    else:
        items = []
        for i, entry in enumerate(_list(value, "roles")):
            if isinstance(entry, str):
                items.append((entry, {}))
            else:
                entry = _mapping(entry, f"roles[{i}]")
                if "name" not in entry:
                    raise ConfigurationError(f"roles[{i}]: missing 'name'")
                items.append((entry["name"], entry))
    for name, spec in items:
        where = f"role {name!r}"
        spec = _mapping(spec if spec is not None else {}, where)
        _keys(spec, _ROLE_KEYS, where)
        roles.append(Role(name, spec.get("inherits", ()), str(spec.get("description", ""))))
    return roles


def _rule(i: int, data: object) -> Rule:
    spec = _mapping(data, f"rules[{i}]")
    name = spec.get("name")
    where = f"rules[{i}]" + (f" ({name!r})" if name else "")
    _keys(spec, _RULE_KEYS, where)
    if "roles" not in spec and "role" not in spec:
        raise ConfigurationError(f"{where}: missing 'roles'")
    if "actions" not in spec and "action" not in spec:
        raise ConfigurationError(f"{where}: missing 'actions'")
    try:
        return Rule(
            name=name,
            effect=spec.get("effect", "allow"),
            roles=_one_of(spec, "roles", "role", where, None),
            entities=_one_of(spec, "entities", "entity", where, "*"),
            actions=_one_of(spec, "actions", "action", where, None),
            condition=spec.get("condition"),
            description=str(spec.get("description", "")),
        )
    except ConditionError as exc:
        raise exc.for_rule(name or where) from None
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def _field_rule(i: int, data: object) -> FieldLevelRule:
    spec = _mapping(data, f"field_rules[{i}]")
    name = spec.get("name")
    where = f"field_rules[{i}]" + (f" ({name!r})" if name else "")
    _keys(spec, _FIELD_KEYS, where)
    if "fields" not in spec:
        raise ConfigurationError(f"{where}: missing 'fields'")
    try:
        return FieldLevelRule(
            roles=_one_of(spec, "roles", "role", where, "*"),
            entities=_one_of(spec, "entities", "entity", where, "*"),
            fields=_mapping(spec["fields"], f"{where}.fields"),
            name=name,
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def resolve_tests(
    cases: object, principals: Mapping[str, Any], resources: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Check the shape of test cases and replace named fixtures by their data.

    Raises:
        ConfigurationError: a malformed case or an unknown fixture name.
    """
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(_list(cases, "tests")):
        case = dict(_mapping(raw, f"tests[{i}]"))
        where = f"tests[{i}]" + (f" ({case['name']!r})" if "name" in case else "")
        _keys(case, _CASE_KEYS, where)
        who = case.get("principal")
        if isinstance(who, str):
            if who not in principals:
                raise ConfigurationError(f"{where}: unknown principal {who!r}")
            case["principal"] = dict(_mapping(principals[who], f"principals.{who}"))
        elif who is None:
            raise ConfigurationError(f"{where}: missing 'principal'")
        _keys(
            _mapping(case["principal"], f"{where}.principal"), _PRINCIPAL_KEYS, f"{where}.principal"
        )
        what = case.get("resource")
        if isinstance(what, str):
            if what not in resources:
                raise ConfigurationError(f"{where}: unknown resource {what!r}")
            fixture = _mapping(resources[what], f"resources.{what}")
            _keys(fixture, frozenset({"entity", "fields"}), f"resources.{what}")
            if "entity" in fixture:
                if case.get("entity", fixture["entity"]) != fixture["entity"]:
                    raise ConfigurationError(
                        f"{where}: entity {case['entity']!r} but resource {what!r} is a"
                        f" {fixture['entity']}"
                    )
                case["entity"] = fixture["entity"]
            case["resource"] = dict(_mapping(fixture.get("fields", {}), f"resources.{what}.fields"))
        elif what is not None:
            case["resource"] = dict(_mapping(what, f"{where}.resource"))
        if "entity" not in case:
            raise ConfigurationError(f"{where}: missing 'entity'")
        has_single = "action" in case or "expect" in case
        if has_single == ("actions" in case) and "fields" not in case:
            raise ConfigurationError(
                f"{where}: give 'action' and 'expect', or 'actions' = {{action = allow|deny}}"
            )
        if has_single and ("action" not in case or "expect" not in case):
            raise ConfigurationError(f"{where}: 'action' and 'expect' go together")
        expectations = (
            dict(_mapping(case["actions"], f"{where}.actions")) if "actions" in case else {}
        )
        if has_single:
            expectations[case["action"]] = case["expect"]
        for action, expect in expectations.items():
            if expect not in ("allow", "deny"):
                raise ConfigurationError(
                    f"{where}: expected 'allow' or 'deny' for {action!r}, got {expect!r}"
                )
        if "fields" in case:
            _mapping(case["fields"], f"{where}.fields")
        out.append(case)
    return out


def policy_from_dict(
    data: Mapping[str, Any], *, masks: Mapping[str, Callable[[str], str]] | None = None
) -> Policy:
    """Build a :class:`Policy` from a document (see the module docstring).

    Raises:
        ConfigurationError: the document is malformed; the message says where.
    """
    doc = _mapping(data, "policy document")
    _keys(doc, _TOP, "policy document")
    roles = _roles(doc["roles"]) if "roles" in doc else None
    rules = [_rule(i, r) for i, r in enumerate(_list(doc.get("rules", []), "rules"))]
    field_rules = [
        _field_rule(i, r) for i, r in enumerate(_list(doc.get("field_rules", []), "field_rules"))
    ]
    sensitive = _list(doc.get("sensitive_fields", []), "sensitive_fields")
    if not all(isinstance(s, str) for s in sensitive):
        raise ConfigurationError("sensitive_fields: expected a list of field names")
    tests = resolve_tests(
        doc.get("tests", []),
        _mapping(doc.get("principals", {}), "principals"),
        _mapping(doc.get("resources", {}), "resources"),
    )
    name = doc.get("name")
    return Policy(
        rules,
        roles=roles,
        field_rules=field_rules,
        masks=masks,
        tests=tests,
        sensitive_fields=sensitive,
        name=None if name is None else str(name),
    )
