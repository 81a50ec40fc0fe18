"""A router in its own process (imported by name so multiprocessing can spawn it)."""

from __future__ import annotations

import uuid
from typing import Any

import crmcore
from crmcore import Principal
from crmcore.errors import Conflict
from crmcore.services import route_ticket


def route_share(url: str, tenant: str, ticket_ids: list[str], start: Any, out: Any) -> None:
    """Route each ticket, retrying on Conflict in a fresh unit of work; report counts."""
    crm = crmcore.connect(url, create_schema=False)
    principal = Principal.system_principal(tenant)
    conflicts = assigned = 0
    start.wait(30)
    for raw in ticket_ids:
        for _ in range(50):
            try:
                with crm.session(principal) as s:
                    result = route_ticket(s, uuid.UUID(raw), explain=False)
                assigned += result.decision.agent_id is not None
                break
            except Conflict:
                conflicts += 1
        else:  # pragma: no cover - would fail the test's counts
            raise AssertionError("kept conflicting")
    out.put((assigned, conflicts))
    crm.close()
