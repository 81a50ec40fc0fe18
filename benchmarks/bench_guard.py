"""Overhead of the policy guard on a find of 1k rows, against the same find unguarded.

Both run in the same process on the same in-memory store; the guarded session
belongs to a sales rep who may read every row of the tenant (so both return
the same 1k rows) but sees the phone masked, i.e. the guard filters, checks
and masks for real.

    python benchmarks/bench_guard.py [--rows 1000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import gc
import time

import crmcore
from crmcore import Customer, Principal
from crmcore.policy import Policy, PolicyGuard

POLICY = Policy.from_dict(
    {
        "roles": {"rep": {}},
        "rules": [
            {
                "name": "rep-reads-team",
                "roles": ["rep"],
                "entities": ["Customer"],
                "actions": ["read"],
                "condition": "resource.team_id in principal.teams",
            },
        ],
        "field_rules": [
            {"roles": ["rep"], "entities": ["Customer"], "fields": {"phone": "masked:phone"}},
        ],
    }
)


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    plain = crmcore.connect("memory://", validation=False)
    with plain.session(Principal.system_principal("acme")) as s:
        s.customers.add_many(
            Customer(first_name=f"c{i}", team_id="east", owner_id="u1", phone=f"+86138{i:08d}")
            for i in range(args.rows)
        )
    guarded = crmcore.Crm(plain.store, layers=[PolicyGuard(POLICY)], policy=POLICY)
    rep = Principal(user_id="u1", tenant_id="acme", roles={"rep"}, teams={"east"})

    def unguarded_find() -> None:
        with plain.session(Principal(user_id="u1", tenant_id="acme")) as s:
            assert len(s.customers.find(limit=args.rows)) == args.rows

    def guarded_find() -> None:
        with guarded.session(rep) as s:
            page = s.customers.find(limit=args.rows)
            assert len(page) == args.rows
            assert page[0].phone is not None and "*" in page[0].phone

    t_plain = best(unguarded_find, args.repeat)
    t_guard = best(guarded_find, args.repeat)
    print(
        f"find of {args.rows} rows: unguarded {t_plain * 1e3:7.2f} ms, "
        f"guarded {t_guard * 1e3:7.2f} ms, ratio {t_guard / t_plain:4.2f}x "
        f"({(t_guard - t_plain) / args.rows * 1e6:.1f} us per row for filter + masks)"
    )


if __name__ == "__main__":
    main()
