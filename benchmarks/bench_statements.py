"""SQL statements per repository call with every layer on (policy guard, audit, encryption).

Counts what reaches the database for add / get / update / find of one customer
as a non-system principal, before commit and at commit, on SQLite and (when
``--postgres URL`` is given) PostgreSQL. The figures are pinned by
``tests/integration/sql/test_statement_counts.py``; this script prints them.

    python benchmarks/bench_statements.py [--postgres postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

import crmcore
from crmcore import Customer, Principal
from crmcore.crypto import Encryption, InMemoryKeyStore, Keyring, StaticKeyProvider
from crmcore.policy import Policy

POLICY = Policy.from_dict(
    {
        "roles": {"rep": {}},
        "rules": [
            {
                "name": "reps",
                "roles": ["rep"],
                "entities": ["Customer"],
                "actions": ["read", "create", "update"],
            }
        ],
    }
)


def layered_crm(url: str) -> crmcore.Crm:
    """A CRM with the guard, the audit layer and encryption on."""
    keyring = Keyring(StaticKeyProvider(b"k" * 32), store=InMemoryKeyStore())
    return crmcore.connect(url, policy=POLICY, audit=True, encryption=Encryption(keyring=keyring))


@contextmanager
def counting(engine: sa.Engine) -> Iterator[list[str]]:
    """Every statement the engine sends while the block runs (BEGIN/ROLLBACK excluded)."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def _reads(statements: list[str]) -> int:
    return sum(1 for s in statements if s == "SELECT")


_TENANTS: dict[int, str] = {}


def rep_principal(crm: crmcore.Crm) -> Principal:
    """The sales rep the workload runs as (one fresh tenant per CRM)."""
    tenant = _TENANTS.setdefault(id(crm), f"t-{uuid.uuid4().hex[:8]}")
    return Principal(user_id="u1", tenant_id=tenant, roles={"rep"})


def statement_counts(crm: crmcore.Crm) -> dict[str, tuple[int, int]]:
    """Per operation: (statements before commit, statements at commit)."""
    engine: sa.Engine = crm.store.engine  # type: ignore[attr-defined]
    rep = rep_principal(crm)
    out: dict[str, tuple[int, int]] = {}

    def measure(name: str, work: Callable[[crmcore.Session], object]) -> None:
        s = crm.session(rep)
        with counting(engine) as before:
            work(s)
        with counting(engine) as at_commit:
            s.commit()
        s.close()
        out[name] = (len(before), len(at_commit))

    created: list[Customer] = []
    measure(
        "add",
        lambda s: created.append(
            s.customers.add(Customer(first_name="伟", last_name="张", email="wei@example.cn"))
        ),
    )
    cid = created[0].id
    measure("get", lambda s: s.customers.get(cid))

    def update(s: crmcore.Session) -> None:
        c = s.customers.get(cid)
        s.customers.update(crmcore.Customer(**{**_fields(c), "first_name": "威"}))

    measure("get+update", update)
    measure("find", lambda s: s.customers.find(last_name="张", limit=10))
    measure("find by email", lambda s: s.customers.find(email="wei@example.cn", limit=10))
    return out


def _fields(c: Customer) -> dict[str, Any]:
    import attrs

    return {a.name: getattr(c, a.name) for a in attrs.fields(Customer)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("CRMCORE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"SQLite": f"sqlite:///{tmp}/counts.db"}
        if args.postgres:
            urls["PostgreSQL"] = args.postgres
        print(f"{'backend':<11} {'operation':<14} {'before commit':>13} {'at commit':>9}")
        for name, url in urls.items():
            crm = layered_crm(url)
            try:
                for op, (before, at_commit) in statement_counts(crm).items():
                    print(f"{name:<11} {op:<14} {before:>13} {at_commit:>9}")
            finally:
                crm.close()


if __name__ == "__main__":
    main()
