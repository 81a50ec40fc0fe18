"""In-memory store: add N customers, then 1k filtered finds; throughput and peak memory.

Reference, in the same process: the same customers in a plain ``dict`` with a
hand-built ``dict`` index on last name, and the same finds as comprehensions.

    python benchmarks/bench_memory.py [--n 100000] [--finds 1000]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time
import tracemalloc

import crmcore
from crmcore import Customer
from crmcore.query import field

SURNAMES = ["张", "王", "李", "刘", "陈", "Smith", "Jones", "Brown", "García", "Müller"] + [
    f"S{i}" for i in range(990)
]


def make(n: int, rng: random.Random) -> list[Customer]:
    return [
        Customer(
            first_name=f"g{i}",
            last_name=rng.choice(SURNAMES),
            email=f"user{i}@example.com",
            phone=f"+86138{i:08d}",
            owner_id=f"u{i % 50}",
            tags={"vip"} if i % 10 == 0 else set(),
        )
        for i in range(n)
    ]


def best(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--finds", type=int, default=1000)
    args = ap.parse_args()
    rng = random.Random(7)
    rows = make(args.n, rng)
    probes = [rng.choice(SURNAMES) for _ in range(args.finds)]

    # -- crmcore: peak memory of a store holding the customers (traced run, not timed)
    tracemalloc.start()
    traced = crmcore.connect("memory://", validation=False)
    with traced.session() as s:
        s.customers.add_many(rows)
    _, peak_store = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del traced

    # -- crmcore: insert in one unit of work (add_many), timed without tracing;
    # storage alone, then with the default validation (phones, e-mails, names normalised)
    crm = crmcore.connect("memory://", validation=False)
    gc.collect()
    t = time.perf_counter()
    with crm.session() as s:
        s.customers.add_many(rows)
    t_add = time.perf_counter() - t
    validated = crmcore.connect("memory://")
    gc.collect()
    t = time.perf_counter()
    with validated.session() as s:
        s.customers.add_many(rows)
    t_valid = time.perf_counter() - t
    del validated

    # -- reference insert: a dict keyed by id plus a hand-built last-name index
    def ref_insert() -> tuple[dict, dict]:  # type: ignore[type-arg]
        table = {c.id: c for c in rows}
        index: dict[str, list[Customer]] = {}
        for c in rows:
            index.setdefault(c.last_name or "", []).append(c)
        return table, index

    t_ref_add = best(ref_insert, 1)
    table, index = ref_insert()

    # -- 1k finds: last_name == X and owner_id == Y, first 20 by id
    def crm_finds() -> None:
        with crm.session() as s:
            for name in probes:
                s.customers.find(
                    (field("last_name") == name) & (field("owner_id") != "u1"), limit=20
                )

    def ref_finds() -> None:
        for name in probes:
            hits = [c for c in index.get(name, ()) if c.owner_id != "u1"]
            hits.sort(key=lambda c: c.id)
            hits[:20]

    t_find = best(crm_finds)
    t_ref_find = best(ref_finds)

    # -- a find no index can serve (substring scan over all rows)
    def crm_scan() -> None:
        with crm.session() as s:
            s.customers.count(field("email").contains("99@"))

    def ref_scan() -> None:
        sum(1 for c in table.values() if "99@" in (c.email or ""))

    t_scan, t_ref_scan = best(crm_scan), best(ref_scan)

    n = args.n
    print(f"customers: {n:,}; finds: {args.finds:,}")
    print(f"add_many with default validation: {t_valid:8.3f} s ({n / t_valid:,.0f}/s)")
    print(
        f"add_many        crmcore {t_add:8.3f} s ({n / t_add:,.0f}/s)   "
        f"dict+index {t_ref_add:8.3f} s   ratio {t_add / t_ref_add:5.1f}x"
    )
    print(
        f"indexed finds   crmcore {t_find:8.3f} s ({args.finds / t_find:,.0f}/s)   "
        f"hand index {t_ref_find:8.3f} s   ratio {t_find / t_ref_find:5.1f}x"
    )
    print(
        f"full scan count crmcore {t_scan:8.3f} s   comprehension {t_ref_scan:8.3f} s   "
        f"ratio {t_scan / t_ref_scan:5.1f}x"
    )
    print(
        f"peak traced memory of the store while adding: {peak_store / 2**20:,.0f} MiB "
        f"= {peak_store / 2**20 * 100_000 / n:,.0f} MiB per 100k customers "
        "(the stamped copies the store keeps, plus indexes)"
    )

    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
