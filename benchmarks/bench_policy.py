"""Benchmark: ``Policy.check`` against pycasbin (ABAC) and a hand-written function.

The policy is RBAC with an owner and a region condition, the same in all three:

- roles ``sales_rep``; ``manager`` inherits ``sales_rep``; ``director`` inherits
  ``manager``; ``support``; ``admin``;
- ``sales_rep`` may read and update Customers and Opportunities they own
  (``resource.owner_id == principal.user_id``);
- ``manager`` may read, update and delete Customers and Opportunities in their
  region (``resource.region == principal.region``);
- ``support`` may read Customers; ``admin`` may do anything;
- tenant isolation first, default deny.

Measured in one process, best of ``--repeat`` runs:

(a) ns per check over a mixed workload (half allowed, half denied, every
    role), for crmcore, casbin (``eval(p.rule)`` matcher, roles through ``g``)
    and the hand-written function; the ratios casbin/crmcore (target >= 40x)
    and crmcore/hand (target <= 3x); allowed-only and denied-only too;
(b) check time as the rule count grows 10 -> 100 -> 1000 (filler rules for
    other entity types and other roles) and as tenants grow 1 -> 10 -> 100
    (one policy per tenant, checks spread round-robin);
(c) microseconds to compile ``Policy.filter`` uncached (every call has new
    principal values) and cached (target < 50 us uncached).

Run: ``.venv/bin/python benchmarks/bench_policy.py [--number N] [--repeat R]``.
casbin is a dev-only dependency (``pip install casbin``); without it the
casbin column is skipped.
"""

from __future__ import annotations

import argparse
import itertools
import timeit
import types
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from crmcore.policy import P, Policy, Principal, R, Role, Rule

ENTITIES = ("Customer", "Opportunity")


@attrs.frozen
class Customer:
    id: str
    tenant_id: str
    owner_id: str | None
    region: str | None


@attrs.frozen
class Opportunity:
    id: str
    tenant_id: str
    owner_id: str | None
    region: str | None


ROLES = [
    Role("sales_rep"),
    Role("manager", inherits="sales_rep"),
    Role("director", inherits="manager"),
    Role("support"),
    Role("admin"),
]


def base_rules() -> list[Rule]:
    return [
        Rule.allow(
            "reps-own-records",
            roles="sales_rep",
            entities=ENTITIES,
            actions=["read", "update"],
            when=R.owner_id == P.user_id,
        ),
        Rule.allow(
            "managers-region",
            roles="manager",
            entities=ENTITIES,
            actions=["read", "update", "delete"],
            when="resource.region == principal.region",
        ),
        Rule.allow("support-reads", roles="support", entities="Customer", actions="read"),
        Rule.allow("admin-all", roles="admin", actions="*"),
    ]


def make_policy(n_rules: int = 4) -> Policy:
    """The benchmark policy, padded with filler rules up to ``n_rules``."""
    rules = base_rules()
    roles = list(ROLES)
    fillers = max(0, n_rules - len(rules))
    for i in range(fillers):
        role = f"role{i % 40}"
        if i < 40:
            roles.append(Role(role))
        if i % 2:  # another entity type, a base role
            rules.append(
                Rule.allow(
                    f"filler-{i}",
                    roles="sales_rep",
                    entities=f"Entity{i % 97}",
                    actions="read",
                    when="resource.owner_id == principal.user_id",
                )
            )
        else:  # the same entity type, another role
            rules.append(
                Rule.allow(
                    f"filler-{i}",
                    roles=role,
                    entities="Customer",
                    actions=["read", "update"],
                    when="resource.region == principal.region",
                )
            )
    return Policy(rules, roles=roles)


EXPANDED = {
    "sales_rep": frozenset({"sales_rep"}),
    "manager": frozenset({"manager", "sales_rep"}),
    "director": frozenset({"director", "manager", "sales_rep"}),
    "support": frozenset({"support"}),
    "admin": frozenset({"admin"}),
}
_expanded_cache: dict[frozenset[str], frozenset[str]] = {}


def _expand(roles: frozenset[str]) -> frozenset[str]:
    got = _expanded_cache.get(roles)
    if got is None:
        got = frozenset().union(*(EXPANDED.get(r, frozenset()) for r in roles))
        _expanded_cache[roles] = got
    return got


def hand_written(p: Principal, action: str, r: Any) -> bool:
    """The same rules, written by hand for this one policy."""
    if r.tenant_id != p.tenant_id:
        return False
    roles = _expand(p.roles)
    if "admin" in roles:
        return True
    entity = type(r).__name__
    if entity not in ENTITIES:
        return False
    if "support" in roles and action == "read" and entity == "Customer":
        return True
    if (
        "manager" in roles
        and action in ("read", "update", "delete")
        and r.region == p.attributes.get("region")
    ):
        return True
    return "sales_rep" in roles and action in ("read", "update") and r.owner_id == p.user_id


CASBIN_MODEL = """
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act, rule

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub.tenant_id == r.obj.tenant_id && g(r.sub.role, p.sub) && r.obj.kind == p.obj \
&& (p.act == r.act || p.act == "*") && eval(p.rule)
"""


def make_casbin() -> Any:
    import casbin
    from casbin.model import Model

    model = Model()
    model.load_model_from_text(CASBIN_MODEL)
    e = casbin.Enforcer(model)
    own = "r.obj.owner_id == r.sub.user_id"
    region = "r.obj.region == r.sub.region"
    for entity in ENTITIES:
        for act in ("read", "update"):
            e.add_policy("sales_rep", entity, act, own)
        for act in ("read", "update", "delete"):
            e.add_policy("manager", entity, act, region)
        e.add_policy("admin", entity, "*", "True")
    e.add_policy("support", "Customer", "read", "True")
    e.add_grouping_policy("manager", "sales_rep")
    e.add_grouping_policy("director", "manager")
    return e


def casbin_subject(p: Principal) -> types.SimpleNamespace:
    (role,) = p.roles
    return types.SimpleNamespace(
        user_id=p.user_id, tenant_id=p.tenant_id, role=role, region=p.attributes.get("region")
    )


def casbin_object(r: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        kind=type(r).__name__, tenant_id=r.tenant_id, owner_id=r.owner_id, region=r.region
    )


Work = list[tuple[Principal, str, Any]]


def workload(tenant: str = "t1") -> Work:
    """Every role against owned / foreign / other-region / other-tenant records."""
    people = [
        Principal(user_id="u1", tenant_id=tenant, roles="sales_rep"),
        Principal(user_id="m1", tenant_id=tenant, roles="manager", attributes={"region": "east"}),
        Principal(user_id="d1", tenant_id=tenant, roles="director", attributes={"region": "west"}),
        Principal(user_id="s1", tenant_id=tenant, roles="support"),
        Principal(user_id="a1", tenant_id=tenant, roles="admin"),
    ]
    records = [
        Customer("c1", tenant, "u1", "east"),
        Customer("c2", tenant, "u2", "west"),
        Opportunity("o1", tenant, "m1", "north"),
        Opportunity("o2", tenant, "u1", "west"),
        Customer("c3", "other", "u1", "east"),
    ]
    actions = ["read", "update", "delete"]
    return [(p, a, r) for p, a, r in itertools.product(people, actions, records)]


def best_ns(fn: Callable[[], object], calls: int, number: int, repeat: int) -> float:
    """Best of ``repeat`` runs of ``number`` calls of ``fn``, in ns per single check."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / (number * calls) * 1e9


def interleaved(
    contenders: dict[str, tuple[Callable[[], object], int]], number: int, repeat: int
) -> dict[str, float]:
    """Best ns per check of each contender, timed round-robin so load drifts hit all alike.

    ``contenders`` maps a name to (a function running a workload, checks per run).
    """
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(repeat):
        for name, (fn, calls) in contenders.items():
            t = timeit.timeit(fn, number=number) / (number * calls) * 1e9
            best[name] = min(best[name], t)
    return best


def run_ours(policy: Policy, work: Sequence[tuple[Principal, str, Any]]) -> Callable[[], None]:
    check = policy.check

    def run() -> None:
        for p, a, r in work:
            check(p, a, r)

    return run


def run_hand(work: Sequence[tuple[Principal, str, Any]]) -> Callable[[], None]:
    def run() -> None:
        for p, a, r in work:
            hand_written(p, a, r)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=2000, help="workload runs per repeat")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, rep = args.number, args.repeat

    policy = make_policy()
    work = workload()
    for p, a, r in work:  # the three implementations agree on every case
        assert policy.check(p, a, r).allowed == hand_written(p, a, r), (p, a, r)
    allowed = [w for w in work if hand_written(*w)]
    denied = [w for w in work if not hand_written(*w)]
    print(f"workload: {len(work)} checks ({len(allowed)} allowed, {len(denied)} denied)\n")

    t = interleaved(
        {
            "ours": (run_ours(policy, work), len(work)),
            "hand": (run_hand(work), len(work)),
            "ours_allowed": (run_ours(policy, allowed), len(allowed)),
            "hand_allowed": (run_hand(allowed), len(allowed)),
            "ours_denied": (run_ours(policy, denied), len(denied)),
            "hand_denied": (run_hand(denied), len(denied)),
        },
        n,
        rep * 3,
    )
    ours, hand = t["ours"], t["hand"]
    ours_allowed, hand_allowed = t["ours_allowed"], t["hand_allowed"]
    ours_denied, hand_denied = t["ours_denied"], t["hand_denied"]

    print("(a) ns per check                 mixed    allowed    denied")
    print(f"    crmcore Policy.check     {ours:9.0f}  {ours_allowed:9.0f}  {ours_denied:8.0f}")
    print(f"    hand-written function    {hand:9.0f}  {hand_allowed:9.0f}  {hand_denied:8.0f}")
    try:
        enforcer = make_casbin()
    except ImportError:
        enforcer = None
        print("    pycasbin                 (not installed: pip install casbin)")
    if enforcer is not None:
        cwork = [(casbin_subject(p), a, casbin_object(r)) for p, a, r in work]
        for (p, a, r), (cs, _, co) in zip(work, cwork, strict=True):
            assert enforcer.enforce(cs, co, a) == hand_written(p, a, r), (p, a, r)
        enforce = enforcer.enforce

        def run_casbin() -> None:
            for s, a, o in cwork:
                enforce(s, o, a)

        cas = best_ns(run_casbin, len(cwork), max(1, n // 200), rep)
        print(f"    pycasbin (ABAC eval)     {cas:9.0f}")
        print(f"\n    casbin / crmcore  = {cas / ours:6.1f}x   (target >= 40x)")
    print(f"    crmcore / hand    = {ours / hand:6.2f}x   (target <= 3x; mixed workload)")
    print(f"    crmcore / hand    = {ours_allowed / hand_allowed:6.2f}x   (allowed checks)")
    print(f"    crmcore / hand    = {ours_denied / hand_denied:6.2f}x   (denied checks)")

    print("\n(b) ns per check as the policy grows (mixed workload)")
    sizes = {f"{size:5d} rules  ": make_policy(size) for size in (10, 100, 1000)}
    grown = interleaved(
        {label: (run_ours(big, work), len(work)) for label, big in sizes.items()}, n, rep * 2
    )
    for label, ns in grown.items():
        print(f"    {label} {ns:7.0f} ns")
    spread: dict[str, tuple[Callable[[], object], int]] = {}
    for tenants in (1, 10, 100):
        policies = [make_policy() for _ in range(tenants)]
        works = [workload(f"t{i}") for i in range(tenants)]
        mixed = [(policies[i], *works[i][j]) for j in range(len(work)) for i in range(tenants)][
            : len(work) * 10
        ]

        def run_tenants(mixed: list[tuple[Any, ...]] = mixed) -> None:
            for pol, p, a, r in mixed:
                pol.check(p, a, r)

        run_tenants()  # warm the per-policy plans
        spread[f"{tenants:5d} tenants"] = (run_tenants, len(mixed))
    for label, ns in interleaved(spread, max(1, n // 10), rep * 2).items():
        print(f"    {label} {ns:7.0f} ns   (one policy per tenant, round-robin)")

    print("\n(c) Policy.filter, microseconds per call")
    director = Principal(
        user_id="d1", tenant_id="t1", roles="director", attributes={"region": "west"}
    )
    fresh = [
        attrs.evolve(director, user_id=f"d{i}", attributes={"region": f"r{i}"})
        for i in range(max(1, n // 4) * rep)
    ]
    pending = iter(fresh)

    def uncached() -> None:
        policy.filter(next(pending), "read", "Customer")

    build = best_ns(uncached, 1, max(1, n // 4), rep)
    cached = best_ns(lambda: policy.filter(director, "read", "Customer"), 1, n, rep)
    print(f"    uncached {build / 1000:6.1f} us   (target < 50 us)")
    print(f"    cached   {cached / 1000:6.2f} us")
    print(f"    {policy.filter(director, 'read', 'Customer')!r}")


if __name__ == "__main__":
    main()
