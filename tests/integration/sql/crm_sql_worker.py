"""Work done in a child process by the multi-process concurrency test (spawn-importable)."""

from __future__ import annotations

import uuid

import attrs

import crmcore
from crmcore import Customer, Principal
from crmcore.errors import Conflict


def bump(url: str, tenant: str, ids: list[str], rounds: int) -> tuple[int, int]:
    """Increment ``custom["n"]`` of each record ``rounds`` times; count landed and refused."""
    crm = crmcore.connect(url, validation=False)
    landed = conflicts = 0
    principal = Principal.system_principal(tenant)
    try:
        for _ in range(rounds):
            for id in ids:
                try:
                    with crm.session(principal) as s:
                        cur: Customer = s.customers.get(uuid.UUID(id))
                        s.customers.update(attrs.evolve(cur, custom={"n": cur.custom["n"] + 1}))
                    landed += 1
                except Conflict:
                    conflicts += 1
    finally:
        crm.close()
    return landed, conflicts
