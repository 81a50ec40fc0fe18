"""The policy engine: roles, rules and field rules compiled for fast decisions.

:class:`Policy` is immutable. Construction validates everything (unknown
roles, inheritance cycles, bad actions, conditions that cannot become a
``read`` filter) and indexes the rules per (entity type, action, role) with
the role hierarchy expanded. The first ``check`` for a given set of roles on
an (entity, action) builds a *plan*: the deny rules and allow rules that can
apply, their conditions as closures, and shared allow decisions. Later calls
run the plan: a few dict lookups and the condition closures, no tree walking,
no allocation when allowed.

Evaluation order, for ``check``:

1. tenant isolation: a record whose ``tenant_id`` is not the principal's is
   refused before any rule is read; no rule can lift it;
2. a system principal is allowed (rules bypassed, isolation kept);
3. a matching deny rule refuses (deny overrides allow);
4. a matching allow rule allows;
5. otherwise refused (default deny).

``filter`` builds the same answer as a query: ``tenant_id == principal's``
AND (any allow condition) AND NOT (any deny condition), so a record matches
the filter exactly when ``check(principal, "read", record)`` allows it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcore import query as q
from crmcore.errors import ConfigurationError
from crmcore.model import Principal
from crmcore.policy._condition import (
    EVERY_FIELD,
    Condition,
    ConditionError,
    ValueFn,
    context_value,
    principal_value,
    render,
    residual,
    why,
)
from crmcore.policy._decision import Decision, Grant, Outcome, make_decision
from crmcore.policy._fields import (
    FieldAccess,
    FieldLevel,
    FieldLevelRule,
    compile_field_access,
    parse_level,
)
from crmcore.policy._masks import MASKS
from crmcore.policy._rules import ACTIONS, Role, Rule, check_action
from crmcore.policy._values import (
    PLAIN_TYPES,
    UNSAFE,
    cache_token,
    eq_values,
    make_getter,
    mapping_type,
    show,
)

if TYPE_CHECKING:
    from crmcore.policy._testing import PolicyTestReport

__all__ = ["Policy", "PolicyBuilder"]

_get_tenant = make_getter(("tenant_id",))
_get_id = make_getter(("id",))
_MAX_PLANS = 2048
_MAX_FILTERS = 512

TENANT_REASON = "the record belongs to another tenant (tenant isolation: no rule can lift it)"
NO_TENANT_REASON = "the record has no tenant_id (tenant isolation: no rule can lift it)"
SYSTEM_REASON = "system principal: policy rules bypassed (tenant isolation still applies)"

Runner = Callable[[Any, Any, Any], Decision]
_tuple_new = tuple.__new__
_PLAIN = PLAIN_TYPES


def _roles_text(roles: Iterable[str]) -> str:
    return "{" + ", ".join(sorted(roles)) + "}"


class _Plan:
    """The rules that can decide one (entity, action) for one set of roles, compiled."""

    __slots__ = (
        "action",
        "allows",
        "considered",
        "denies",
        "entity",
        "expanded",
        "fast_dec",
        "fast_fn",
        "filter_cache",
        "key_fns",
        "policy",
        "roles",
        "run",
    )

    def __init__(
        self,
        policy: Policy,
        entity: str,
        action: str,
        roles: frozenset[str],
        expanded: frozenset[str],
        rules: list[Rule],
    ) -> None:
        self.policy = policy
        self.entity = entity
        self.action = action
        self.roles = roles
        self.expanded = expanded
        self.considered = tuple(rules)
        denies: list[Rule] = []
        for r in rules:
            if r.effect == "deny":
                denies.append(r)
                if r.condition is None:
                    break
        allows: list[Rule] = []
        for r in rules:
            if r.effect == "allow":
                allows.append(r)
                if r.condition is None:
                    break
        self.denies = tuple(denies)
        self.allows = tuple(allows)
        self.filter_cache: dict[tuple[object, ...], q.Filter] = {}
        refs: dict[str, ValueFn] = {}
        for r in (*denies, *allows):
            if r.condition is None:
                continue
            for scope in ("principal", "context"):
                for dotted in sorted(r.condition.references[scope]):
                    path = tuple(dotted.split("."))
                    refs[f"{scope}.{dotted}"] = (
                        principal_value(path) if scope == "principal" else context_value(path)
                    )
        self.key_fns = tuple(refs.values())
        self.fast_fn: Callable[[Any, Any, Any], bool] | None = None
        self.fast_dec: Decision | None = None
        self.run = self._compile()

    # ----------------------------------------------------------------- check

    def _compile(self) -> Runner:
        action, entity = self.action, self.entity
        policy = self.policy
        new, D = _tuple_new, Decision
        refusal = Outcome(action, entity, None, policy)

        def refuse(p: Any, r: Any, c: Any) -> Decision:
            return new(D, (False, None, refusal, p, r, c))

        def denied_by(rule: Rule) -> Runner:
            text = f"denied by rule {rule.name!r}"
            if rule.condition is not None:
                text += f" ({rule.condition.source})"
            name = rule.name
            out = Outcome(action, entity, text, policy)

            def run(p: Any, r: Any, c: Any) -> Decision:
                return new(D, (False, name, out, p, r, c))

            return run

        deny_steps = tuple(
            (None if d.condition is None else d.condition.evaluator, denied_by(d))
            for d in self.denies
        )
        allow_steps = tuple(
            (
                None if a.condition is None else a.condition.evaluator,
                policy._allowed(a, entity, action),
            )
            for a in self.allows
        )
        if deny_steps and deny_steps[0][0] is None:
            return deny_steps[0][1]
        if not deny_steps:
            if not allow_steps:
                return refuse
            first_fn, first_dec = allow_steps[0]
            if first_fn is None:
                return lambda p, r, c: first_dec
            # check() calls the first condition itself and runs the rest only when
            # it fails: one call level less on the common path
            self.fast_fn, self.fast_dec = first_fn, first_dec
            if len(allow_steps) == 1:
                return refuse
            if len(allow_steps) == 2:
                second_fn, second_dec = allow_steps[1]

                def second(p: Any, r: Any, c: Any) -> Decision:
                    if second_fn is None or second_fn(p, r, c):
                        return second_dec
                    return new(D, (False, None, refusal, p, r, c))

                return second
            rest = allow_steps[1:]

            def others(p: Any, r: Any, c: Any) -> Decision:
                for fn, dec in rest:
                    if fn is None or fn(p, r, c):
                        return dec
                return new(D, (False, None, refusal, p, r, c))

            return others

        def general(p: Any, r: Any, c: Any) -> Decision:
            for fn, deny in deny_steps:
                if fn is None or fn(p, r, c):
                    return deny(p, r, c)
            for fn, dec in allow_steps:
                if fn is None or fn(p, r, c):
                    return dec
            return new(D, (False, None, refusal, p, r, c))

        return general

    def decide(self, principal: Principal, resource: object, context: Any) -> Decision:
        """The decision for one record (what :meth:`Policy.check` inlines).

        ``run`` alone is what remains once ``fast_fn`` (the first allow
        condition, when the plan has one) has failed.
        """
        fn = self.fast_fn
        if fn is not None and fn(principal, resource, context):
            return self.fast_dec  # type: ignore[return-value]
        return self.run(principal, resource, context)

    # ----------------------------------------------------------------- filter

    def filter(self, principal: Principal, context: Mapping[str, Any] | None) -> q.Filter:
        key: tuple[object, ...] | None = (principal.tenant_id,)
        for fn in self.key_fns:
            token = cache_token(fn(principal, context))
            if token is UNSAFE:
                key = None
                break
            key += (token,)  # type: ignore[operator]
        if key is not None:
            cached = self.filter_cache.get(key)
            if cached is not None:
                return cached
        result = self._build_filter(principal, context)
        if key is not None:
            if len(self.filter_cache) >= _MAX_FILTERS:
                self.filter_cache.clear()
            self.filter_cache[key] = result
        return result

    def _build_filter(self, principal: Principal, context: Mapping[str, Any] | None) -> q.Filter:
        tenant = q.eq("tenant_id", principal.tenant_id)
        if not self.allows:
            return q.FALSE
        denies: list[q.Filter] = []
        for rule in self.denies:
            if rule.condition is None:
                return q.FALSE
            denies.append(self._rule_filter(rule, principal, context))
        allows: list[q.Filter] = []
        for rule in self.allows:
            allows.append(
                q.TRUE if rule.condition is None else self._rule_filter(rule, principal, context)
            )
        return q.all_of(tenant, q.any_of(*allows), q.not_(q.any_of(*denies)))

    def _rule_filter(
        self, rule: Rule, principal: Principal, context: Mapping[str, Any] | None
    ) -> q.Filter:
        assert rule.condition is not None
        try:
            return rule.condition.to_filter(principal, context)
        except ConditionError as exc:
            raise exc.for_rule(rule.name or "") from None


class Policy:
    """An immutable, compiled permission policy.

    Args:
        rules: the allow and deny rules (document order is the order reasons
            and traces follow; a deny always wins over an allow).
        roles: the roles and their inheritance. When given, every role a rule
            names must be declared (typos are refused); when ``None``, the roles
            named by the rules are declared implicitly, without inheritance.
        field_rules: field-level security (see :class:`FieldLevelRule`).
        masks: extra maskers by name, usable as ``masked:<name>``.
        tests: expected decisions (see :func:`run_policy_tests`) kept with the
            policy for :meth:`run_tests`.
        sensitive_fields: record fields whose values never appear in reasons
            and traces (``<redacted>`` instead).
        name: a name for messages.

    Raises:
        ConfigurationError: unknown roles, inheritance cycles, duplicate rule
            names, unknown actions or field levels, or a condition that cannot
            be compiled to a filter on a rule that covers ``read``.
    """

    __slots__ = (
        "_actions",
        "_allowed_cache",
        "_ancestors",
        "_entities",
        "_fa_cache",
        "_field_rules",
        "_full_access",
        "_index",
        "_maskers",
        "_plans",
        "_redact",
        "_roles",
        "_rules",
        "_system_cache",
        "_tenant_cache",
        "_tests",
        "name",
    )

    def __init__(
        self,
        rules: Iterable[Rule] = (),
        *,
        roles: Iterable[Role] | None = None,
        field_rules: Iterable[FieldLevelRule] = (),
        masks: Mapping[str, Callable[[str], str]] | None = None,
        tests: Iterable[Mapping[str, Any]] = (),
        sensitive_fields: Iterable[str] = (),
        name: str | None = None,
    ) -> None:
        self.name = name
        rule_list = list(rules)
        field_list = list(field_rules)
        for r in rule_list:
            if not isinstance(r, Rule):
                raise ConfigurationError(f"not a Rule: {r!r}")
        for fr in field_list:
            if not isinstance(fr, FieldLevelRule):
                raise ConfigurationError(f"not a FieldLevelRule: {fr!r}")
        self._rules = self._name_rules(rule_list)
        self._field_rules = tuple(field_list)
        self._roles = self._declare_roles(roles, self._rules, self._field_rules)
        self._ancestors = self._expand_hierarchy(self._roles)
        self._maskers: dict[str, Callable[[str], str]] = {**MASKS, **dict(masks or {})}
        for i, fr in enumerate(self._field_rules):
            where = f"field rule {fr.name or i + 1!r}"
            for field, spec in fr.fields:
                parse_level(spec, f"{where}, field {field!r}", self._maskers)
        self._redact = frozenset(sensitive_fields)
        self._tests = tuple(tests)
        for rule in self._rules:
            cond = rule.condition
            exc = None if cond is None else cond.filter_error
            if exc is not None and rule.covers_read():
                raise ConditionError(
                    f"{exc.problem}; a rule that covers 'read' must compile to a filter",
                    source=exc.source,
                    position=exc.position,
                    rule=rule.name,
                )
        self._entities = frozenset(e for r in self._rules for e in r.entities if e != "*")
        self._actions = frozenset(ACTIONS) | {
            a for r in self._rules for a in r.actions if a.startswith("transition:")
        }
        self._index = self._build_index()
        self._plans: dict[str, dict[str, dict[frozenset[str], _Plan]]] = {}
        self._allowed_cache: dict[tuple[str | None, str, str], Decision] = {}
        self._system_cache: dict[tuple[str, str], Decision] = {}
        self._tenant_cache: dict[tuple[str, str, bool], Decision] = {}
        self._fa_cache: dict[tuple[str, frozenset[str]], FieldAccess] = {}
        self._full_access: dict[str, FieldAccess] = {}

    # ----------------------------------------------------------------- construction

    @staticmethod
    def _name_rules(rules: list[Rule]) -> tuple[Rule, ...]:
        named: list[Rule] = []
        seen: set[str] = set()
        for i, r in enumerate(rules):
            name = r.name if r.name is not None else f"rule-{i + 1}"
            if name in seen:
                raise ConfigurationError(f"two rules are named {name!r}; rule names must be unique")
            seen.add(name)
            named.append(r if r.name is not None else r.named(name))
        return tuple(named)

    @staticmethod
    def _declare_roles(
        roles: Iterable[Role] | None,
        rules: tuple[Rule, ...],
        field_rules: tuple[FieldLevelRule, ...],
    ) -> dict[str, Role]:
        used = {n for r in rules for n in r.roles if n != "*"}
        used |= {n for fr in field_rules for n in fr.roles if n != "*"}
        if roles is None:
            return {n: Role(n) for n in sorted(used)}
        declared: dict[str, Role] = {}
        for role in roles:
            if not isinstance(role, Role):
                raise ConfigurationError(f"not a Role: {role!r}")
            if role.name in declared:
                raise ConfigurationError(f"role {role.name!r} is declared twice")
            declared[role.name] = role
        for role in declared.values():
            for parent in role.inherits:
                if parent not in declared:
                    raise ConfigurationError(f"role {role.name!r} inherits unknown role {parent!r}")
        for r in rules:
            for n in r.roles:
                if n != "*" and n not in declared:
                    raise ConfigurationError(
                        f"rule {r.name!r} names unknown role {n!r}"
                        f" (declared: {', '.join(sorted(declared)) or 'none'})"
                    )
        for fr in field_rules:
            for n in fr.roles:
                if n != "*" and n not in declared:
                    raise ConfigurationError(f"a field rule names unknown role {n!r}")
        return declared

    @staticmethod
    def _expand_hierarchy(roles: Mapping[str, Role]) -> dict[str, frozenset[str]]:
        done: dict[str, frozenset[str]] = {}

        def visit(name: str, path: tuple[str, ...]) -> frozenset[str]:
            if name in path:
                cycle = " -> ".join((*path[path.index(name) :], name))
                raise ConfigurationError(f"role inheritance cycle: {cycle}")
            if name in done:
                return done[name]
            result = {name}
            for parent in roles[name].inherits:
                result |= visit(parent, (*path, name))
            done[name] = frozenset(result)
            return done[name]

        for name in roles:
            visit(name, ())
        return done

    def _build_index(self) -> dict[tuple[str, str], dict[str, tuple[int, ...]]]:
        descendants: dict[str, set[str]] = {n: set() for n in self._roles}
        for role, ancestors in self._ancestors.items():
            for a in ancestors:
                descendants[a].add(role)
        entity_slots = (*sorted(self._entities), "*")
        action_slots = (*sorted(self._actions), "transition:*")
        transitions = [a for a in action_slots if a.startswith("transition:")]
        index: dict[tuple[str, str], dict[str, list[int]]] = {}
        for i, rule in enumerate(self._rules):
            ents = entity_slots if "*" in rule.entities else rule.entities
            acts: set[str] = set()
            for a in rule.actions:
                if a == "*":
                    acts.update(action_slots)
                elif a == "transition:*":
                    acts.update(transitions)
                else:
                    acts.add(a)
            if "*" in rule.roles:
                keys: set[str] = {"*"}
            else:
                keys = set()
                for n in rule.roles:
                    keys |= descendants[n]
            for e in ents:
                for a in acts:
                    slot = index.setdefault((e, a), {})
                    for k in keys:
                        slot.setdefault(k, []).append(i)
        return {k: {r: tuple(v) for r, v in d.items()} for k, d in index.items()}

    # ----------------------------------------------------------------- loading

    @classmethod
    def builder(cls) -> PolicyBuilder:
        """A fluent builder: ``Policy.builder().role(...).allow(...).build()``."""
        return PolicyBuilder()

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, masks: Mapping[str, Callable[[str], str]] | None = None
    ) -> Policy:
        """Load a policy document from plain data (see ``docs/policy.md`` for the format).

        Raises:
            ConfigurationError: the document is malformed; the message says where.
        """
        from crmcore.policy._document import policy_from_dict

        return policy_from_dict(data, masks=masks)

    @classmethod
    def from_json(
        cls, text: str | bytes, *, masks: Mapping[str, Callable[[str], str]] | None = None
    ) -> Policy:
        """Load a policy document from JSON text.

        Raises:
            ConfigurationError: invalid JSON or a malformed document.
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigurationError(f"policy JSON is invalid: {exc}") from None
        return cls.from_dict(data, masks=masks)

    @classmethod
    def from_toml(
        cls, text: str, *, masks: Mapping[str, Callable[[str], str]] | None = None
    ) -> Policy:
        """Load a policy document from TOML text (needs Python 3.11+ or ``tomli``).

        Raises:
            ConfigurationError: invalid TOML, no TOML parser, or a malformed document.
        """
        from crmcore.policy._document import load_toml

        return cls.from_dict(load_toml(text), masks=masks)

    @classmethod
    def load(
        cls, path: str | Path, *, masks: Mapping[str, Callable[[str], str]] | None = None
    ) -> Policy:
        """Load a policy document from a ``.json`` or ``.toml`` file.

        Raises:
            ConfigurationError: unreadable file, unknown suffix or malformed document.
        """
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix not in (".json", ".toml"):
            raise ConfigurationError(f"policy file {str(p)!r}: expected a .json or .toml file")
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read policy file {str(p)!r}: {exc.strerror}"
            ) from None
        if suffix == ".json":
            return cls.from_json(text, masks=masks)
        return cls.from_toml(text, masks=masks)

    def to_dict(self) -> dict[str, Any]:
        """The policy as a plain document (``from_dict(p.to_dict())`` rebuilds it)."""
        data: dict[str, Any] = {}
        if self.name:
            data["name"] = self.name
        data["roles"] = {
            r.name: {
                **({"inherits": list(r.inherits)} if r.inherits else {}),
                **({"description": r.description} if r.description else {}),
            }
            for r in self._roles.values()
        }
        data["rules"] = [r.to_dict() for r in self._rules]
        if self._field_rules:
            data["field_rules"] = [fr.to_dict() for fr in self._field_rules]
        if self._redact:
            data["sensitive_fields"] = sorted(self._redact)
        if self._tests:
            data["tests"] = [dict(t) for t in self._tests]
        return data

    # ----------------------------------------------------------------- introspection

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules, in document order, every one named."""
        return self._rules

    @property
    def roles(self) -> tuple[Role, ...]:
        """The declared roles."""
        return tuple(self._roles.values())

    @property
    def field_rules(self) -> tuple[FieldLevelRule, ...]:
        """The field-level rules."""
        return self._field_rules

    @property
    def tests(self) -> tuple[Mapping[str, Any], ...]:
        """The expected decisions kept with the policy."""
        return self._tests

    def expand_roles(self, roles: Iterable[str]) -> frozenset[str]:
        """The roles plus every role they inherit (unknown roles are kept as they are)."""
        out: set[str] = set()
        for r in roles:
            out |= self._ancestors.get(r, frozenset((r,)))
        return frozenset(out)

    # ----------------------------------------------------------------- plans

    def _allowed(self, rule: Rule, entity: str, action: str) -> Decision:
        key = (rule.name, entity, action)
        dec = self._allowed_cache.get(key)
        if dec is None:
            text = f"allowed by rule {rule.name!r}"
            if rule.condition is not None:
                text += f" ({rule.condition.source})"
            dec = make_decision(True, rule.name, Outcome(action, entity, text, self))
            self._allowed_cache[key] = dec
        return dec

    def _plan(self, entity: str, action: str, roles: frozenset[str]) -> _Plan:
        if not isinstance(entity, str) or not entity or entity == "*":
            raise ConfigurationError(f"invalid entity type name {entity!r}")
        check_action(action)
        if action == "*" or action == "transition:*":
            raise ConfigurationError(f"check a concrete action, not the pattern {action!r}")
        by_action = self._plans.get(entity)
        if by_action is None:
            by_action = {}
            if len(self._plans) < _MAX_PLANS:
                self._plans[entity] = by_action
        by_roles = by_action.get(action)
        if by_roles is None:
            by_roles = {}
            if len(by_action) < _MAX_PLANS:
                by_action[action] = by_roles
        plan = by_roles.get(roles)
        if plan is not None:
            return plan
        slot_e = entity if entity in self._entities else "*"
        slot_a = action if action in self._actions else "transition:*"
        by_role = self._index.get((slot_e, slot_a), {})
        found: set[int] = set(by_role.get("*", ()))
        for r in roles:
            found.update(by_role.get(r, ()))
        expanded = self.expand_roles(roles)
        plan = _Plan(self, entity, action, roles, expanded, [self._rules[i] for i in sorted(found)])
        if len(by_roles) >= _MAX_PLANS:
            by_roles.clear()
        by_roles[roles] = plan
        return plan

    def _entity_of(self, resource: object, entity: str | None) -> str:
        if entity is not None:
            return entity
        if resource is None or mapping_type(resource.__class__):
            raise ConfigurationError(
                "pass entity=<type name> when the resource is a mapping or missing"
            )
        return resource.__class__.__name__

    # ----------------------------------------------------------------- decisions

    def check(
        self,
        principal: Principal,
        action: str,
        resource: object,
        entity: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Decision:
        """May ``principal`` do ``action`` on ``resource``?

        Args:
            principal: who acts.
            action: ``read``, ``update``, ``transition:<event>``... (a concrete action).
            resource: the record (attrs object or mapping); ``None`` for actions
                on no particular record (``import``, ``create`` before the
                record exists), then ``entity`` is required and conditions see
                missing fields.
            entity: the entity type name; defaults to ``type(resource).__name__``.
            context: request facts for ``context.*`` conditions (``hour``...).

        Pass ``entity`` and ``context`` by keyword. (They are not keyword-only
        because CPython fills keyword-only defaults from a dict on every call,
        which costs this hot path about 15%.)

        Returns:
            The :class:`Decision`; allowing decisions are shared objects.

        Raises:
            ConfigurationError: unknown action, or no way to tell the entity type.
        """
        if resource is not None:
            cls = resource.__class__
            if cls in _PLAIN or not mapping_type(cls):
                tenant = getattr(resource, "tenant_id", None)
                if entity is None:
                    entity = cls.__name__
            else:
                tenant = resource.get("tenant_id")  # type: ignore[attr-defined]
                if entity is None:
                    entity = self._entity_of(resource, None)
            if tenant != principal.tenant_id and (
                tenant.__class__ is str or not eq_values(tenant, principal.tenant_id)
            ):
                refusal = self._tenant_cache.get((entity, action, tenant is None))
                if refusal is None:
                    refusal = self._tenant_refusal(entity, action, tenant)
                return refusal
        elif entity is None:
            entity = self._entity_of(resource, None)
        if principal.system:
            return self._system(entity, action)
        try:
            plan = self._plans[entity][action][principal.roles]
        except KeyError:
            plan = self._plan(entity, action, principal.roles)
        # plan.decide(), inlined: one call level less on the hot path
        fn = plan.fast_fn
        if fn is not None and fn(principal, resource, context):
            return plan.fast_dec  # type: ignore[return-value]
        return plan.run(principal, resource, context)

    def _tenant_refusal(self, entity: str, action: str, tenant: object) -> Decision:
        """The shared refusal for a record of another tenant (or of none)."""
        key = (entity, action, tenant is None)
        dec = self._tenant_cache.get(key)
        if dec is None:
            text = NO_TENANT_REASON if tenant is None else TENANT_REASON
            dec = make_decision(False, None, Outcome(action, entity, text, self))
            if len(self._tenant_cache) < _MAX_PLANS:
                self._tenant_cache[key] = dec
        return dec

    def _system(self, entity: str, action: str) -> Decision:
        dec = self._system_cache.get((entity, action))
        if dec is None:
            self._plan(entity, action, frozenset())  # validates the names
            dec = make_decision(True, None, Outcome(action, entity, SYSTEM_REASON, self))
            if len(self._system_cache) < _MAX_PLANS:
                self._system_cache[(entity, action)] = dec
        return dec

    def explain(
        self,
        principal: Principal,
        action: str,
        resource: object,
        *,
        entity: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Decision:
        """Like :meth:`check`, but the decision always carries a full trace.

        ``policy.explain(p, "update", rec).explain()`` prints every rule about
        ``update`` on that entity type, whether it applies to the principal's
        roles, and what its condition came to with the values involved.
        """
        d = self.check(principal, action, resource, entity=entity, context=context)
        if d.has_inputs:
            return d
        out = Outcome(d.action, d.entity, d.reason, self)
        return make_decision(d.allowed, d.rule, out, principal, resource, context)

    def reason_for(self, decision: Decision, *, values: bool = True) -> str:
        """The reason of a refusal made by a plan (the explainer protocol).

        With ``values=False`` no value of the record is quoted (rules and
        fields only): what a principal may be shown about a row it cannot read.
        """
        p, r, c = decision.principal, decision.resource, decision.context
        plan = self._plan(decision.entity, decision.action, p.roles)
        failed = [a for a in plan.allows if a.condition is not None]
        if not failed:
            who = f"roles {_roles_text(p.roles)}" if p.roles else "a principal without roles"
            return f"no rule grants {decision.action!r} on {decision.entity} to {who}"
        parts = []
        for rule in failed:
            assert rule.condition is not None
            redact = self._redact if values else EVERY_FIELD
            _, text = why(rule.condition.node, p, r, c, redact)
            parts.append(f"rule {rule.name!r} did not apply: {text}")
        return "; ".join(parts)

    def trace_for(self, decision: Decision) -> tuple[str, ...]:
        """One line per rule about the decision's (entity, action) (the explainer protocol)."""
        p, r, c = decision.principal, decision.resource, decision.context
        expanded = self.expand_roles(p.roles)
        lines = [
            f"principal {p.user_id!r} in tenant {p.tenant_id!r}, roles {_roles_text(p.roles)}"
            + (
                f" (with inherited: {_roles_text(expanded - p.roles)})"
                if expanded != p.roles
                else ""
            )
        ]
        if r is not None:
            tenant = _get_tenant(r)
            if not eq_values(tenant, p.tenant_id):
                lines.append(
                    f"tenant: record tenant {show(tenant)} is not the principal's: refused"
                )
                return tuple(lines)
            lines.append("tenant: record is in the principal's tenant")
        if p.system:
            lines.append("system principal: rules bypassed")
            return tuple(lines)
        considered = [rule for rule in self._rules if rule.covers(decision.entity, decision.action)]
        if not considered:
            lines.append(f"no rule is about {decision.action!r} on {decision.entity}")
        for rule in considered:
            head = f"{rule.effect:<5} rule {rule.name!r}"
            if "*" not in rule.roles and expanded.isdisjoint(rule.roles):
                lines.append(f"{head}: not for these roles (for {_roles_text(rule.roles)})")
                continue
            if rule.condition is None:
                lines.append(f"{head}: applies (no condition)")
                continue
            ok, text = why(rule.condition.node, p, r, c, self._redact)
            lines.append(f"{head}: {'applies' if ok else 'does not apply'}: {text}")
        if decision.allowed and decision.rule:
            lines.append(f"=> allowed by rule {decision.rule!r}")
        elif decision.rule:
            lines.append(f"=> denied by rule {decision.rule!r} (a deny overrides every allow)")
        else:
            lines.append("=> denied: no allow rule applies (default deny)")
        return tuple(lines)

    def filter(
        self,
        principal: Principal,
        action: str,
        entity: str,
        *,
        context: Mapping[str, Any] | None = None,
    ) -> q.Filter:
        """The records ``principal`` may ``action``, as a filter to AND into queries.

        ``tenant_id == principal.tenant_id`` AND (any allow condition) AND NOT
        (any deny condition), with principal and context parts resolved. For
        every record ``compile_predicate(f)(record) == check(principal, action,
        record).allowed``. Results are cached per (roles, tenant, values the
        conditions read) when those values are plain.

        Raises:
            ConfigurationError: unknown action, or a rule's condition compares
                two record fields (only refused up front for ``read`` rules).
        """
        if principal.system:
            self._plan(entity, action, frozenset())
            return q.eq("tenant_id", principal.tenant_id)
        try:
            plan = self._plans[entity][action][principal.roles]
        except KeyError:
            plan = self._plan(entity, action, principal.roles)
        return plan.filter(principal, context)

    def who_can(
        self,
        action: str,
        resource: object = None,
        *,
        entity: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[Grant]:
        """Which roles may do ``action`` on ``resource``, and under which conditions.

        Record values are written into the conditions (``resource.owner_id ==
        principal.user_id`` becomes ``principal.user_id == 'u7'`` for a record
        owned by ``u7``); tests that only read the record are decided; rules
        that cannot apply are left out. Context tests are decided when a
        ``context`` is given. Rules for every role (``"*"``) are listed under
        role ``"*"``. Tenant isolation applies on top: only principals of the
        record's tenant.

        Returns:
            :class:`Grant` tuples ``(role, rule, condition)`` sorted by role, in
            rule order; ``condition`` is ``"always"`` when nothing is left to test.
        """
        entity = self._entity_of(resource, entity)
        self._plan(entity, action, frozenset())  # validates the names
        with_context = context is not None
        covering = [r for r in self._rules if r.covers(entity, action)]

        def left(rule: Rule) -> bool | str:
            if rule.condition is None:
                return True
            res = residual(rule.condition.node, resource, context, with_context)
            return res if isinstance(res, bool) else render(res)

        grants: list[Grant] = []
        for role in [*sorted(self._roles), "*"]:
            expanded = self._ancestors.get(role, frozenset(("*",)))
            if role == "*":
                mine = [r for r in covering if "*" in r.roles]
            else:
                mine = [r for r in covering if not expanded.isdisjoint(r.roles)]
            deny_rules = [
                r for r in covering if r.effect == "deny" and ("*" in r.roles or r in mine)
            ]
            unless: list[str] = []
            blocked = False
            for d in deny_rules:
                res = left(d)
                if res is True:
                    blocked = True
                    break
                if isinstance(res, str):
                    unless.append(res)
            if blocked:
                continue
            for rule in mine:
                if rule.effect != "allow":
                    continue
                res = left(rule)
                if res is False:
                    continue
                text = "always" if res is True else str(res)
                if unless:
                    text += " unless " + " or ".join(f"({u})" for u in unless)
                grants.append(Grant(role, rule.name or "", text))
        return grants

    # ----------------------------------------------------------------- fields

    def field_access(self, principal: Principal, entity: str) -> FieldAccess:
        """The compiled field levels of ``principal`` on ``entity`` (cached).

        A system principal, or a policy without field rules, has full access.
        """
        if principal.system or not self._field_rules:
            fa = self._full_access.get(entity)
            if fa is None:
                fa = FieldAccess(entity, {}, FieldLevel.WRITE, self._maskers, ())
                if len(self._full_access) < _MAX_PLANS:
                    self._full_access[entity] = fa
            return fa
        key = (entity, principal.roles)
        fa = self._fa_cache.get(key)
        if fa is None:
            fa = compile_field_access(
                entity,
                self._field_rules,
                principal.roles,
                self.expand_roles(principal.roles),
                self._maskers,
            )
            if len(self._fa_cache) >= _MAX_PLANS:
                self._fa_cache.clear()
            self._fa_cache[key] = fa
        return fa

    def mask(self, principal: Principal, entity: str, record: Any) -> Any:
        """``record`` as ``principal`` may see it: hidden fields ``None``, masked fields masked."""
        return self.field_access(principal, entity).mask(record)

    def check_write_fields(
        self,
        principal: Principal,
        entity: str,
        changed_fields: Iterable[str],
        resource: object = None,
        *,
        action: str = "update",
    ) -> None:
        """Refuse a write that touches a field ``principal`` may not write.

        Args:
            principal: who writes.
            entity: the entity type name.
            changed_fields: the names of the fields being written.
            resource: the record (for the id in the message).
            action: ``"create"`` or ``"update"`` (for the message).

        Raises:
            PermissionDenied: naming the field and its level.
        """
        self.field_access(principal, entity).check_write(
            changed_fields,
            action=action,
            id=None if resource is None else _get_id(resource),
            principal=principal.user_id,
        )

    # ----------------------------------------------------------------- tests

    def run_tests(self, cases: Iterable[Mapping[str, Any]] | None = None) -> PolicyTestReport:
        """Check expected decisions (the policy's own ``tests`` by default).

        See :func:`run_policy_tests` for the case format.
        """
        from crmcore.policy._testing import run_cases

        return run_cases(self, self._tests if cases is None else cases, {}, {})

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return (
            f"Policy({label}{len(self._rules)} rules, {len(self._roles)} roles,"
            f" {len(self._field_rules)} field rules)"
        )


class PolicyBuilder:
    """Builds a :class:`Policy` step by step (each method returns the builder)."""

    def __init__(self) -> None:
        self._roles: list[Role] = []
        self._rules: list[Rule] = []
        self._fields: list[FieldLevelRule] = []
        self._masks: dict[str, Callable[[str], str]] = {}
        self._tests: list[Mapping[str, Any]] = []
        self._sensitive: list[str] = []
        self._declared = False

    def role(
        self, name: str, *, inherits: str | Iterable[str] = (), description: str = ""
    ) -> PolicyBuilder:
        """Declare a role (and what it inherits)."""
        self._roles.append(Role(name, inherits, description))
        self._declared = True
        return self

    def allow(
        self,
        name: str | None,
        *,
        roles: str | Iterable[str],
        actions: str | Iterable[str],
        entities: str | Iterable[str] = "*",
        when: Condition | str | None = None,
        description: str = "",
    ) -> PolicyBuilder:
        """Add an allow rule."""
        self._rules.append(
            Rule.allow(
                name,
                roles=roles,
                actions=actions,
                entities=entities,
                when=when,
                description=description,
            )
        )
        return self

    def deny(
        self,
        name: str | None,
        *,
        roles: str | Iterable[str],
        actions: str | Iterable[str],
        entities: str | Iterable[str] = "*",
        when: Condition | str | None = None,
        description: str = "",
    ) -> PolicyBuilder:
        """Add a deny rule (it overrides every allow when it matches)."""
        self._rules.append(
            Rule.deny(
                name,
                roles=roles,
                actions=actions,
                entities=entities,
                when=when,
                description=description,
            )
        )
        return self

    def rule(self, rule: Rule) -> PolicyBuilder:
        """Add a ready-made rule."""
        self._rules.append(rule)
        return self

    def fields(
        self,
        *,
        roles: str | Iterable[str],
        entities: str | Iterable[str] = "*",
        name: str | None = None,
        **levels: str,
    ) -> PolicyBuilder:
        """Add a field rule: ``.fields(roles="support", entities="Customer", phone="masked")``.

        Use ``all="read"`` for the ``"*"`` entry (every field not named).
        """
        spec = {("*" if k == "all" else k): v for k, v in levels.items()}
        self._fields.append(FieldLevelRule(roles=roles, entities=entities, fields=spec, name=name))
        return self

    def masker(self, name: str, fn: Callable[[str], str]) -> PolicyBuilder:
        """Register a masker usable as ``masked:<name>``."""
        self._masks[name] = fn
        return self

    def sensitive(self, *fields: str) -> PolicyBuilder:
        """Never show these record fields' values in reasons."""
        self._sensitive.extend(fields)
        return self

    def test(self, case: Mapping[str, Any]) -> PolicyBuilder:
        """Keep an expected decision with the policy (see :func:`run_policy_tests`)."""
        self._tests.append(dict(case))
        return self

    def build(self, name: str | None = None) -> Policy:
        """The immutable policy.

        Raises:
            ConfigurationError: see :class:`Policy`.
        """
        return Policy(
            self._rules,
            roles=self._roles if self._declared else None,
            field_rules=self._fields,
            masks=self._masks,
            tests=self._tests,
            sensitive_fields=self._sensitive,
            name=name,
        )
