"""No lost update under real concurrency: threads on every SQL backend, processes too."""

from __future__ import annotations

import importlib
import multiprocessing
import sys
import threading
import uuid
from pathlib import Path

import attrs

import crmcore
from crmcore import Customer, Principal
from crmcore.errors import Conflict

THREADS = 8
ROUNDS = 6


def _counters(url: str, tenant: str, n: int) -> list[Customer]:
    crm = crmcore.connect(url, validation=False)
    try:
        with crm.session(Principal.system_principal(tenant)) as s:
            return s.customers.add_many(
                Customer(first_name=f"counter{i}", custom={"n": 0}) for i in range(n)
            )
    finally:
        crm.close()


def _totals(url: str, tenant: str) -> list[tuple[int, int]]:
    crm = crmcore.connect(url, validation=False)
    try:
        with crm.session(Principal.system_principal(tenant)) as s:
            return [(c.custom["n"], c.version) for c in s.customers.find(order_by="first_name")]
    finally:
        crm.close()


def test_threads_lose_no_update(module_url: str) -> None:
    url = module_url
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    counters = _counters(url, tenant, 2)
    crm = crmcore.connect(url, validation=False, pool_size=THREADS)
    principal = Principal.system_principal(tenant)
    landed = [0, 0]
    refused: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(ROUNDS):
            for k, counter in enumerate(counters):
                try:
                    with crm.session(principal) as s:
                        cur = s.customers.get(counter.id)
                        s.customers.update(attrs.evolve(cur, custom={"n": cur.custom["n"] + 1}))
                    with lock:
                        landed[k] += 1
                except Conflict:
                    with lock:
                        refused.append(k)
                except BaseException as exc:  # anything else fails the test
                    errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    crm.close()
    assert errors == []
    assert sum(landed) + len(refused) == THREADS * ROUNDS * 2
    assert [(landed[0], landed[0] + 1), (landed[1], landed[1] + 1)] == _totals(url, tenant)


def test_processes_lose_no_update(module_url: str) -> None:
    url = module_url
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    counters = _counters(url, tenant, 3)
    ids = [str(c.id) for c in counters]
    here = str(Path(__file__).parent)
    if here not in sys.path:
        sys.path.insert(0, here)  # spawned children import the worker by name
    worker = importlib.import_module("crm_sql_worker")
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.starmap(worker.bump, [(url, tenant, ids, 8)] * 2)
    landed = sum(r[0] for r in results)
    assert landed + sum(r[1] for r in results) == 2 * 8 * 3
    totals = _totals(url, tenant)
    assert landed == sum(n for n, _ in totals)
    assert all(version == n + 1 for n, version in totals)
