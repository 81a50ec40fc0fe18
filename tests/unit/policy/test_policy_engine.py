"""The policy engine: check, filter, reasons, roles, tenant isolation, who_can."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore import query as q
from crmcore.errors import ConfigurationError, PermissionDenied
from crmcore.policy import (
    ConditionError,
    Decision,
    Grant,
    P,
    Policy,
    Principal,
    R,
    Role,
    Rule,
)


@attrs.frozen
class Money:
    amount: Decimal | None
    currency: str = "CNY"


@attrs.frozen
class Opportunity:
    id: str = "o1"
    tenant_id: object = "t1"
    owner_id: object = None
    team_id: object = None
    region: object = None
    stage: object = None
    amount: Money | None = None


@attrs.frozen
class Customer:
    id: str = "c1"
    tenant_id: object = "t1"
    owner_id: object = None
    region: object = None
    stage: object = None


ROLES = [
    Role("sales_rep"),
    Role("manager", inherits="sales_rep"),
    Role("support"),
    Role("director", inherits=["manager"]),
    Role("admin"),
]


def crm_policy() -> Policy:
    return Policy(
        [
            Rule.allow(
                "reps-own-records",
                roles="sales_rep",
                entities=["Customer", "Opportunity"],
                actions=["read", "update"],
                when="resource.owner_id == principal.user_id",
            ),
            Rule.allow(
                "managers-region",
                roles="manager",
                entities=["Customer", "Opportunity"],
                actions=["read", "update", "delete", "transition:*"],
                when=R.region == P.region,
            ),
            Rule.allow("support-reads", roles="support", entities="Customer", actions="read"),
            Rule.deny(
                "no-delete-won",
                roles="*",
                entities="Opportunity",
                actions="delete",
                when="resource.stage == 'won'",
            ),
            Rule.allow("admin-all", roles="admin", actions="*"),
        ],
        roles=ROLES,
    )


POLICY = crm_policy()
REP = Principal(user_id="u1", tenant_id="t1", roles="sales_rep")
MANAGER = Principal(user_id="m1", tenant_id="t1", roles="manager", attributes={"region": "east"})
DIRECTOR = Principal(user_id="d1", tenant_id="t1", roles="director", attributes={"region": "west"})
SUPPORT = Principal(user_id="s1", tenant_id="t1", roles="support")
ADMIN = Principal(user_id="a1", tenant_id="t1", roles="admin")


# --------------------------------------------------------------------------- check


def test_allow_by_condition_names_the_rule() -> None:
    d = POLICY.check(REP, "read", Customer(owner_id="u1"))
    assert d.allowed
    assert d.rule == "reps-own-records"
    assert d.reason == "allowed by rule 'reps-own-records' (resource.owner_id == principal.user_id)"
    assert bool(d)


def test_failed_condition_reason_names_rule_attribute_and_values() -> None:
    d = POLICY.check(REP, "update", Customer(owner_id="u2"))
    assert not d.allowed
    assert d.rule is None
    assert (
        d.reason == "rule 'reps-own-records' did not apply:"
        " resource.owner_id ('u2') != principal.user_id ('u1')"
    )


def test_missing_permission_reason_names_action_entity_roles() -> None:
    d = POLICY.check(SUPPORT, "delete", Customer())
    assert d.reason == "no rule grants 'delete' on Customer to roles {support}"
    nobody = Principal(user_id="x", tenant_id="t1")
    assert "to a principal without roles" in POLICY.check(nobody, "read", Customer()).reason


def test_default_deny_for_unknown_entity_and_roles() -> None:
    assert not POLICY.check(REP, "read", {"tenant_id": "t1"}, entity="Invoice").allowed
    stranger = Principal(user_id="u1", tenant_id="t1", roles="ghost")
    assert not POLICY.check(stranger, "read", Customer(owner_id="u1")).allowed


def test_deny_overrides_allow() -> None:
    won = Opportunity(region="east", stage="won")
    d = POLICY.check(MANAGER, "delete", won)
    assert not d.allowed
    assert d.rule == "no-delete-won"
    assert d.reason == "denied by rule 'no-delete-won' (resource.stage == 'won')"
    assert not POLICY.check(ADMIN, "delete", won).allowed
    assert POLICY.check(MANAGER, "delete", attrs.evolve(won, stage="lost")).allowed


def test_role_inheritance() -> None:
    # a manager inherits the reps' own-record rule, a director both
    assert POLICY.check(MANAGER, "read", Customer(owner_id="m1", region="north")).allowed
    assert POLICY.check(DIRECTOR, "read", Customer(owner_id="d1")).allowed
    assert POLICY.check(DIRECTOR, "read", Customer(region="west")).allowed
    assert not POLICY.check(REP, "read", Customer(region="east")).allowed
    assert frozenset({"director", "manager", "sales_rep"}) == POLICY.expand_roles({"director"})


def test_transitions_and_actions() -> None:
    opp = Opportunity(region="east")
    assert POLICY.check(MANAGER, "transition:win", opp).rule == "managers-region"
    assert not POLICY.check(REP, "transition:win", Opportunity(owner_id="u1")).allowed
    assert POLICY.check(ADMIN, "manage_policy", None, entity="Policy").allowed
    with pytest.raises(ConfigurationError, match="unknown action 'frobnicate'"):
        POLICY.check(REP, "frobnicate", opp)
    with pytest.raises(ConfigurationError, match="concrete action"):
        POLICY.check(REP, "*", opp)


def test_tenant_isolation_comes_first() -> None:
    foreign = Customer(tenant_id="t2", owner_id="u1")
    d = POLICY.check(REP, "read", foreign)
    assert not d.allowed
    assert "another tenant" in d.reason
    assert "no rule can lift it" in d.reason
    assert not POLICY.check(ADMIN, "read", foreign).allowed
    assert "no tenant_id" in POLICY.check(ADMIN, "read", Customer(tenant_id=None)).reason


def test_system_principal_bypasses_rules_not_tenants() -> None:
    system = Principal.system_principal("t1")
    d = POLICY.check(system, "erase", Customer())
    assert d.allowed
    assert d.rule is None
    assert "system principal" in d.reason
    assert not POLICY.check(system, "read", Customer(tenant_id="t2")).allowed
    assert q.eq("tenant_id", "t1") == POLICY.filter(system, "read", "Customer")


def test_mappings_need_an_entity() -> None:
    with pytest.raises(ConfigurationError, match="entity="):
        POLICY.check(REP, "read", {"tenant_id": "t1"})
    with pytest.raises(ConfigurationError, match="entity="):
        POLICY.check(REP, "create", None)
    assert POLICY.check(REP, "read", {"tenant_id": "t1", "owner_id": "u1"}, entity="Customer")


def test_context_conditions() -> None:
    policy = Policy(
        [
            Rule.allow(
                "office-hours",
                roles="r",
                actions="read",
                when="context.hour >= 9 and context.hour < 18",
            )
        ]
    )
    p = Principal(user_id="u", tenant_id="t1", roles="r")
    assert policy.check(p, "read", Customer(), context={"hour": 10}).allowed
    d = policy.check(p, "read", Customer(), context={"hour": 20})
    assert "context.hour (20) is not < 18" in d.reason
    assert policy.filter(p, "read", "Customer", context={"hour": 20}) == q.FALSE


def test_raise_if_denied() -> None:
    POLICY.check(REP, "read", Customer(owner_id="u1")).raise_if_denied()
    with pytest.raises(PermissionDenied) as info:
        POLICY.check(SUPPORT, "delete", Customer(id="c9")).raise_if_denied()
    err = info.value
    assert (err.action, err.entity, err.id, err.principal) == ("delete", "Customer", "c9", "s1")
    assert err.reason == "no rule grants 'delete' on Customer to roles {support}"
    assert "s1 may not delete Customer c9: no rule grants" in str(err)


def test_explain_traces_every_rule() -> None:
    d = POLICY.check(MANAGER, "delete", Opportunity(region="east", stage="won"))
    text = d.explain()
    lines = text.splitlines()
    assert lines[0].startswith("DENIED 'delete' on Opportunity: denied by rule 'no-delete-won'")
    assert (
        lines[1] == "principal 'm1' in tenant 't1', roles {manager} (with inherited: {sales_rep})"
    )
    assert any("allow rule 'managers-region': applies" in line for line in lines)
    assert any(
        "deny  rule 'no-delete-won': applies: resource.stage ('won') == 'won'" in line
        for line in lines
    )
    assert any("admin-all': not for these roles" in line for line in lines)
    assert lines[-1].startswith("=> denied by rule 'no-delete-won'")
    allowed = POLICY.explain(MANAGER, "read", Customer(region="east"))
    assert allowed.allowed
    assert allowed.explain().splitlines()[-1] == "=> allowed by rule 'managers-region'"
    # check() keeps allow decisions shared and input-free
    assert POLICY.check(MANAGER, "read", Customer(region="east")).trace == ()


def test_allow_decisions_are_shared() -> None:
    a = POLICY.check(REP, "read", Customer(owner_id="u1"))
    b = POLICY.check(REP, "read", Customer(owner_id="u1", id="c2"))
    assert a is b


def test_decision_value_semantics() -> None:
    d = Decision(False, "r", action="read", entity="Customer", reason="because")
    assert Decision(False, "r", action="read", entity="Customer", reason="because") == d
    assert Decision(True, "r", action="read", entity="Customer", reason="because") != d
    assert d.reason == "because"
    assert (
        repr(d)
        == "Decision(allowed=False, rule='r', action='read', entity='Customer', reason='because')"
    )
    assert len({d, Decision(False, "r", action="read", entity="Customer", reason="because")}) == 1


def test_sensitive_fields_are_redacted_in_reasons() -> None:
    policy = Policy(
        [Rule.allow("x", roles="r", actions="read", when="resource.national_id == principal.nid")],
        sensitive_fields=["national_id"],
    )
    p = Principal(user_id="u", tenant_id="t1", roles="r", attributes={"nid": "1"})
    reason = policy.check(
        p, "read", {"tenant_id": "t1", "national_id": "secret"}, entity="C"
    ).reason
    assert "secret" not in reason
    assert "<redacted>" in reason


# --------------------------------------------------------------------------- construction


def test_cycles_refused() -> None:
    with pytest.raises(ConfigurationError, match="cycle: a -> b -> c -> a"):
        Policy([], roles=[Role("a", "b"), Role("b", "c"), Role("c", "a")])
    with pytest.raises(ConfigurationError, match="inherits itself"):
        Role("a", "a")


def test_unknown_roles_refused_when_roles_declared() -> None:
    with pytest.raises(ConfigurationError, match="rule 'x' names unknown role 'slaes_rep'"):
        Policy([Rule.allow("x", roles="slaes_rep", actions="read")], roles=[Role("sales_rep")])
    with pytest.raises(ConfigurationError, match="inherits unknown role 'ghost'"):
        Policy([], roles=[Role("a", "ghost")])


def test_rule_validation() -> None:
    with pytest.raises(ConfigurationError, match="unknown action 'raed'"):
        Rule.allow("x", roles="r", actions="raed")
    with pytest.raises(ConfigurationError, match="effect"):
        Rule(effect="maybe", roles="r", actions="read")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="two rules are named 'x'"):
        Policy(
            [
                Rule.allow("x", roles="r", actions="read"),
                Rule.allow("x", roles="r", actions="update"),
            ]
        )
    with pytest.raises(ConditionError, match=r"rule 'x'.*position 11"):
        Rule.allow("x", roles="r", actions="read", when="resource.a = 1")
    unnamed = Policy([Rule.allow(None, roles="r", actions="read")])
    assert unnamed.rules[0].name == "rule-1"


def test_read_rules_must_compile() -> None:
    with pytest.raises(ConditionError, match=r"rule 'cmp'.*must compile to a filter"):
        Policy([Rule.allow("cmp", roles="r", actions="*", when="resource.a == resource.b")])
    # fine for an action that never becomes a filter, and evaluated by check
    policy = Policy(
        [Rule.allow("cmp", roles="r", actions="update", when="resource.a == resource.b")]
    )
    p = Principal(user_id="u", tenant_id="t1", roles="r")
    assert policy.check(p, "update", {"tenant_id": "t1", "a": 1, "b": 1}, entity="E").allowed
    with pytest.raises(ConditionError, match="rule 'cmp'"):
        policy.filter(p, "update", "E")


# --------------------------------------------------------------------------- filter


def test_filter_shapes() -> None:
    assert q.all_of(q.eq("tenant_id", "t1"), q.eq("owner_id", "u1")) == POLICY.filter(
        REP, "read", "Customer"
    )
    assert q.eq("tenant_id", "t1") == POLICY.filter(SUPPORT, "read", "Customer")
    assert POLICY.filter(SUPPORT, "read", "Opportunity") == q.FALSE
    f = POLICY.filter(MANAGER, "delete", "Opportunity")
    assert (
        q.all_of(q.eq("tenant_id", "t1"), q.eq("region", "east"), q.not_(q.eq("stage", "won"))) == f
    )


def test_filter_is_cached_per_values() -> None:
    a = POLICY.filter(MANAGER, "read", "Customer")
    assert a is POLICY.filter(MANAGER, "read", "Customer")
    other = attrs.evolve(MANAGER, attributes={"region": "west"})
    assert a != POLICY.filter(other, "read", "Customer")
    # equal but differently typed values never share an entry
    one = attrs.evolve(MANAGER, attributes={"region": 1})
    true = attrs.evolve(MANAGER, attributes={"region": True})
    row = {"tenant_id": "t1", "region": True}
    assert not q.compile_predicate(POLICY.filter(one, "read", "Customer"))(row)
    assert q.compile_predicate(POLICY.filter(true, "read", "Customer"))(row)
    # unhashable values are not cached but still work
    odd = attrs.evolve(MANAGER, attributes={"region": ["east"]})
    assert q.all_of(q.eq("tenant_id", "t1"), q.eq("owner_id", "m1")) == POLICY.filter(
        odd, "read", "Customer"
    )


# --------------------------------------------------------------------------- who_can


def test_who_can() -> None:
    won = Opportunity(owner_id="u7", region="east", stage="won")
    assert [g for g in POLICY.who_can("delete", won) if g.role != "*"] == []
    lost = attrs.evolve(won, stage="lost")
    assert [
        Grant("admin", "admin-all", "always"),
        Grant("director", "managers-region", "principal.region == 'east'"),
        Grant("manager", "managers-region", "principal.region == 'east'"),
    ] == POLICY.who_can("delete", lost)
    reads = POLICY.who_can("read", Customer(owner_id="u7", region=None))
    assert Grant("sales_rep", "reps-own-records", "principal.user_id == 'u7'") in reads
    assert Grant("support", "support-reads", "always") in reads
    assert Grant("manager", "managers-region", "principal.region == null") in reads


def test_who_can_with_conditional_deny() -> None:
    policy = Policy(
        [
            Rule.allow("all", roles="r", actions="read"),
            Rule.deny("not-vip", roles="r", actions="read", when="principal.level < 3"),
        ]
    )
    assert [Grant("r", "all", "always unless (principal.level < 3)")] == policy.who_can(
        "read", entity="Customer"
    )


# --------------------------------------------------------------------------- properties

ENTITY = "Opportunity"
CONDITION_ATOMS = [
    "resource.owner_id == principal.user_id",
    "resource.owner_id != principal.user_id",
    "resource.team_id in principal.teams",
    "resource.team_id not in principal.teams",
    "resource.region == principal.region",
    "resource.region != 'east'",
    "resource.amount.amount < 10000",
    "resource.amount.amount >= principal.limit",
    "resource.stage in ['prospecting', 'qualification']",
    "resource.stage == 'won'",
    "principal.region == 'east'",
    "context.hour >= 9",
    "resource.region == null",
]


@st.composite
def condition_texts(draw: st.DrawFn, depth: int = 2) -> str:
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(CONDITION_ATOMS))
    op = draw(st.sampled_from(["and", "or", "not"]))
    if op == "not":
        return f"not ({draw(condition_texts(depth - 1))})"
    return f"({draw(condition_texts(depth - 1))}) {op} ({draw(condition_texts(depth - 1))})"


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    return Rule(
        effect=draw(st.sampled_from(["allow", "allow", "deny"])),
        roles=draw(st.sampled_from([["rep"], ["mgr"], ["sup"], ["rep", "sup"], ["*"], ["adm"]])),
        entities=draw(st.sampled_from([[ENTITY], "*", ["Customer"], [ENTITY, "Lead"]])),
        actions=draw(st.sampled_from([["read"], "*", ["update"], ["read", "delete"]])),
        condition=draw(st.one_of(st.none(), condition_texts())),
    )


policies = st.lists(rules(), max_size=6).map(
    lambda rs: Policy(
        rs,
        roles=[Role("rep"), Role("mgr", "rep"), Role("sup"), Role("adm", ["mgr", "sup"])],
    )
)


@st.composite
def principals(draw: st.DrawFn) -> Principal:
    return Principal(
        user_id=draw(st.sampled_from(["u1", "u2"])),
        tenant_id="t1",
        roles=draw(st.sets(st.sampled_from(["rep", "mgr", "sup", "adm", "ghost"]), max_size=2)),
        teams=draw(st.sampled_from([(), ("team-a",), ("team-a", "team-b")])),
        attributes=draw(
            st.fixed_dictionaries(
                {
                    "region": st.sampled_from(["east", "west", None, 1]),
                    "limit": st.sampled_from([0, 5000, Decimal("10000.5"), None, "x"]),
                }
            )
        ),
    )


@st.composite
def records(draw: st.DrawFn) -> object:
    values: dict[str, Any] = {
        "tenant_id": draw(st.sampled_from(["t1", "t1", "t1", "t2", None])),
        "owner_id": draw(st.sampled_from(["u1", "u2", None, 1])),
        "team_id": draw(st.sampled_from(["team-a", "team-b", "team-c", None])),
        "region": draw(st.sampled_from(["east", "west", None, True])),
        "stage": draw(st.sampled_from(["prospecting", "qualification", "won", None])),
    }
    amount = draw(st.sampled_from([None, 0, 5000, 9999, 10000, Decimal("20000"), 2.5]))
    if draw(st.booleans()):
        return {**values, "amount": None if amount is None else {"amount": amount}}
    return Opportunity(**values, amount=Money(amount) if draw(st.booleans()) else None)


contexts = st.one_of(st.none(), st.fixed_dictionaries({"hour": st.sampled_from([3, 9, 20])}))


@settings(max_examples=200, deadline=None)
@given(
    policy=policies,
    principal=principals(),
    rows=st.lists(records(), min_size=1, max_size=8),
    context=contexts,
)
def test_filter_matches_check_for_every_record(
    policy: Policy, principal: Principal, rows: list[object], context: dict[str, Any] | None
) -> None:
    f = policy.filter(principal, "read", ENTITY, context=context)
    matches = q.compile_predicate(f)
    for row in rows:
        decision = policy.check(principal, "read", row, entity=ENTITY, context=context)
        assert decision.allowed == matches(row)
        assert decision.reason  # every decision explains itself
        if not decision.allowed and decision.rule is None:
            assert (
                "tenant" in decision.reason
                or "did not apply" in decision.reason
                or "no rule grants" in decision.reason
            )


@settings(max_examples=60, deadline=None)
@given(policy=policies, principal=principals(), row=records(), context=contexts)
def test_an_unconditional_deny_always_wins(
    policy: Policy, principal: Principal, row: object, context: dict[str, Any] | None
) -> None:
    stricter = Policy(
        [*policy.rules, Rule.deny("lockdown", roles="*", actions="read")], roles=policy.roles
    )
    d = stricter.check(principal, "read", row, entity=ENTITY, context=context)
    assert not d.allowed
    assert stricter.filter(principal, "read", ENTITY, context=context) == q.FALSE


@settings(max_examples=60, deadline=None)
@given(policy=policies, principal=principals(), row=records())
def test_no_rule_lifts_tenant_isolation(policy: Policy, principal: Principal, row: object) -> None:
    generous = Policy(
        [*policy.rules, Rule.allow("everything", roles="*", actions="*")], roles=policy.roles
    )
    foreign = (
        {**row, "tenant_id": "t2"} if isinstance(row, dict) else attrs.evolve(row, tenant_id="t2")  # type: ignore[misc]
    )
    for p in (principal, attrs.evolve(principal, system=True)):
        assert not generous.check(p, "read", foreign, entity=ENTITY).allowed
        assert not q.compile_predicate(generous.filter(p, "read", ENTITY))(foreign)


@settings(max_examples=40, deadline=None)
@given(policy=policies, principal=principals(), row=records(), context=contexts)
def test_without_allow_rules_everything_is_denied(
    policy: Policy, principal: Principal, row: object, context: dict[str, Any] | None
) -> None:
    denies_only = Policy([r for r in policy.rules if r.effect == "deny"], roles=policy.roles)
    assert not denies_only.check(principal, "read", row, entity=ENTITY, context=context).allowed


# --------------------------------------------------------------------------- edges


def test_explain_for_a_tenant_refusal_and_system() -> None:
    d = POLICY.explain(REP, "read", Customer(tenant_id="t2"))
    assert not d.allowed
    assert d.explain().splitlines()[-1] == (
        "tenant: record tenant 't2' is not the principal's: refused"
    )
    system = Principal.system_principal("t1")
    lines = POLICY.explain(system, "erase", Customer()).explain().splitlines()
    assert lines[-1] == "system principal: rules bypassed"


def test_decisions_pickle_as_plain_values() -> None:
    import pickle

    d = POLICY.check(REP, "read", Customer(owner_id="u2"))
    back = pickle.loads(pickle.dumps(d))
    assert back == d
    assert back.reason == d.reason


def test_named_transitions_and_wildcards() -> None:
    policy = Policy(
        [
            Rule.allow("close", roles="r", entities="Ticket", actions="transition:close"),
            Rule.allow("any-transition", roles="q", entities="Ticket", actions="transition:*"),
        ]
    )
    r = Principal(user_id="u", tenant_id="t1", roles="r")
    qq = Principal(user_id="v", tenant_id="t1", roles="q")
    ticket = {"tenant_id": "t1"}
    assert policy.check(r, "transition:close", ticket, entity="Ticket").allowed
    assert not policy.check(r, "transition:reopen", ticket, entity="Ticket").allowed
    assert policy.check(qq, "transition:close", ticket, entity="Ticket").allowed
    assert policy.check(qq, "transition:reopen", ticket, entity="Ticket").allowed
    assert not policy.check(qq, "update", ticket, entity="Ticket").allowed


def test_checks_without_a_record() -> None:
    policy = Policy(
        [
            Rule.allow("importers", roles="ops", actions="import"),
            Rule.allow("own-only", roles="rep", actions="create", when=R.owner_id == P.user_id),
        ]
    )
    ops = Principal(user_id="o", tenant_id="t1", roles="ops")
    rep = Principal(user_id="u", tenant_id="t1", roles="rep")
    assert policy.check(ops, "import", None, entity="Customer").allowed
    # conditions see a missing record as all fields missing
    assert not policy.check(rep, "create", None, entity="Customer").allowed
    assert policy.check(rep, "create", {"tenant_id": "t1", "owner_id": "u"}, entity="C").allowed


def test_duck_typed_principal_uses_attr() -> None:
    class Custom(Principal):
        def attr(self, name: str) -> object:
            return "east" if name == "region" else super().attr(name)

    p = Custom(user_id="m1", tenant_id="t1", roles="manager")
    assert POLICY.check(p, "read", Customer(region="east")).allowed
    assert q.compile_predicate(POLICY.filter(p, "read", "Customer"))(Customer(region="east"))


def test_builder_extras() -> None:
    policy = (
        Policy.builder()
        .allow(
            "x", roles="r", entities="Customer", actions="read", when="resource.national_id == '1'"
        )
        .fields(roles="r", entities="Customer", national_id="masked:stars")
        .masker("stars", lambda s: "*" * len(s))
        .sensitive("national_id")
        .test(
            {
                "principal": {"user_id": "u", "tenant_id": "t1", "roles": ["r"]},
                "entity": "Customer",
                "resource": {"national_id": "1"},
                "action": "read",
                "expect": "allow",
            }
        )
        .build(name="demo")
    )
    assert policy.run_tests().ok
    p = Principal(user_id="u", tenant_id="t1", roles="r")
    assert policy.mask(p, "Customer", {"national_id": "1234"}) == {"national_id": "****"}
    reason = policy.check(
        p, "read", {"tenant_id": "t1", "national_id": "9"}, entity="Customer"
    ).reason
    assert "<redacted>" in reason
    assert repr(policy) == "Policy('demo', 1 rules, 1 roles, 1 field rules)"
