"""Two routers in two processes on PostgreSQL never push an agent past capacity."""

from __future__ import annotations

import multiprocessing
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import crmcore
from crmcore import Principal
from crmcore.model import Agent, Ticket


def test_two_processes_never_overfill_agents(scratch_db: Callable[[str], str]) -> None:
    url = scratch_db("postgresql")
    crm = crmcore.connect(url)
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    principal = Principal.system_principal(tenant)
    with crm.session(principal) as s:
        for i in range(3):
            s.repo(Agent).add(Agent(user_id=f"agent{i}", capacity=3))
        ids = [str(s.repo(Ticket).add(Ticket(subject=f"t{i}")).id) for i in range(24)]
    helpers = str(Path(__file__).parent / "helpers")
    sys.path.insert(0, helpers)  # spawned children inherit sys.path at start
    try:
        import desk_pg_worker

        ctx = multiprocessing.get_context("spawn")
        start, out = ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(
                target=desk_pg_worker.route_share, args=(url, tenant, ids[k::2], start, out)
            )
            for k in range(2)
        ]
        for p in procs:
            p.start()
    finally:
        sys.path.remove(helpers)
    start.set()
    results = []
    for _ in procs:
        try:
            results.append(out.get(timeout=120))
        except Exception:
            break
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with crm.session(principal) as s:
        agents = list(s.repo(Agent).stream())
        tickets = list(s.repo(Ticket).stream())
    held = {a.user_id: 0 for a in agents}
    for t in tickets:
        if t.assignee_id is not None:
            held[t.assignee_id] += t.routed_weight
    assert all(a.load <= a.capacity for a in agents)
    assert {a.user_id: a.load for a in agents} == held  # the counter matches the tickets
    assert 9 == sum(r[0] for r in results) == sum(t.assignee_id is not None for t in tickets)
    assert sum(t.queue == "default" and t.assignee_id is None for t in tickets) == 24 - 9
    crm.close()
