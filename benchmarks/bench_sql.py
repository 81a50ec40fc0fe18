"""SQL adapter overhead against raw SQLAlchemy Core on the same tables, in one process.

    python benchmarks/bench_sql.py                                   # SQLite file, 100k rows
    python benchmarks/bench_sql.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python benchmarks/bench_sql.py --url mysql+pymysql://root@127.0.0.1:3306/test --n 20000

Three workloads, each timed through crmcore and through plain Core:

- insert N customers (a quarter with tags): ``session.customers.add_many`` in
  batches of 10k (one commit per batch) vs ``conn.execute(insert(t), rows)``
  executemany of equivalent, pre-built row dicts (parents and tag rows), same
  batches, into freshly created tables;
- 1k indexed finds by e-mail: ``session.customers.find(email=...)`` vs a Core
  select of the parent row plus its tags;
- a streaming read of all N rows: ``session.customers.stream()`` vs a Core
  select with ``stream_results`` / ``yield_per``.

Each measurement is the best of ``--repeat`` runs (insert runs alternate
between the two sides), so a busy machine skews both alike. Prints the times
and crmcore/raw ratios (target for inserts: <= 1.3x).
WARNING: drops and recreates crmcore's tables in the target database.
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa

import crmcore
from crmcore import Customer, Principal
from crmcore.model import utcnow
from crmcore.storage.sql import SqlStore, drop_schema
from crmcore.storage.sql._schema import mapper

TENANT = "bench"
BATCH = 10_000


def _customers(n: int) -> list[Customer]:
    rnd = random.Random(7)
    now = utcnow()
    tags = [frozenset(), frozenset(), frozenset(), frozenset({"vip", "b2b"})]
    return [
        Customer(
            first_name=f"First{i}",
            last_name=rnd.choice(["张", "王", "Smith", "Müller", "Ångström"]) + str(i % 997),
            email=f"user{i}@example.com",
            phone=f"+86138{i:08d}",
            owner_id=f"u{i % 50}",
            tags=tags[i % 4],
            custom={"tier": rnd.choice(["gold", "silver"]), "score": i % 100},
            created_at=now,
            updated_at=now,
        )
        for i in range(n)
    ]


def _best(label: str, fn: Callable[[], Any], setup: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        setup()
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    print(f"  {label:<46} {min(times):8.3f} s  (best of {repeat})")
    return min(times)


def _fresh(url: str) -> None:
    drop_schema(url)
    SqlStore(url).close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: a SQLite file in a temp dir)")
    parser.add_argument("--n", type=int, default=100_000, help="customers to insert")
    parser.add_argument("--finds", type=int, default=1000, help="indexed finds")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best wins)")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    n, repeat = args.n, args.repeat
    people = _customers(n)
    principal = Principal.system_principal(TENANT)
    m = mapper(Customer)
    table = m.table
    tags_table = m.children["tags"]
    print(f"crmcore SQL benchmark on {sa.make_url(url).get_backend_name()}, n={n}")

    # -- inserts: crmcore vs raw Core rows built before timing, each into fresh tables
    ins, ins_tags = sa.insert(table), sa.insert(tags_table)
    tags_index = m.child_tables.index(tags_table)

    def raw_rows() -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        """The rows crmcore stores for ``people``, in batches (built outside the timing)."""
        now = utcnow()
        ready = [
            attrs.evolve(c, tenant_id=TENANT, version=1, created_at=now, updated_at=now)
            for c in people
        ]
        parents, children = m.dump_many(ready)
        by_parent: dict[Any, list[dict[str, Any]]] = {}
        for row in children[tags_index]:
            by_parent.setdefault(row["record_id"], []).append(row)
        return [
            (batch, [t for p in batch for t in by_parent.get(p["id"], ())])
            for batch in (parents[i : i + BATCH] for i in range(0, n, BATCH))
        ]

    def repo_insert() -> None:
        crm = crmcore.connect(url, validation=False)
        for i in range(0, n, BATCH):
            with crm.session(principal) as s:
                s.customers.add_many(people[i : i + BATCH])
        crm.close()

    def raw_insert(batches: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]) -> None:
        engine = sa.create_engine(url)
        for batch, tags in batches:
            with engine.begin() as conn:
                conn.execute(ins, batch)
                if tags:
                    conn.execute(ins_tags, tags)
        engine.dispose()

    repo_times: list[float] = []
    raw_times: list[float] = []
    for _ in range(repeat):  # alternate, so both sides see the same machine load
        _fresh(url)
        gc.collect()
        start = time.perf_counter()
        repo_insert()
        repo_times.append(time.perf_counter() - start)
        _fresh(url)
        batches = raw_rows()
        gc.collect()
        start = time.perf_counter()
        raw_insert(batches)
        raw_times.append(time.perf_counter() - start)
        del batches
    t_repo, t_raw = min(repo_times), min(raw_times)
    print(f"  {'insert: session.customers.add_many':<46} {t_repo:8.3f} s  (best of {repeat})")
    print(f"  {'insert: Core insert() executemany':<46} {t_raw:8.3f} s  (best of {repeat})")

    # -- reads, on the rows of the last run
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name != "mysql":
            conn.exec_driver_sql("ANALYZE")  # fresh statistics, for both sides alike
    crm = crmcore.connect(url, validation=False)
    rnd = random.Random(11)
    emails = [f"user{rnd.randrange(n)}@example.com" for _ in range(args.finds)]

    def repo_finds() -> None:
        with crm.session(principal) as s:
            for e in emails:
                assert len(s.customers.find(email=e)) == 1

    by_email = sa.select(table).where(
        table.c.tenant_id == sa.bindparam("t"),
        table.c.email == sa.bindparam("e"),
        table.c.deleted_at.is_(None),
    )
    tags_of = sa.select(tags_table).where(tags_table.c.record_id == sa.bindparam("r"))

    def raw_finds() -> None:
        with engine.connect() as conn:
            for e in emails:
                rows = conn.execute(by_email, {"t": TENANT, "e": e}).all()
                assert len(rows) == 1
                conn.execute(tags_of, {"r": rows[0].id}).all()

    def repo_stream() -> None:
        with crm.session(principal) as s:
            assert sum(1 for _ in s.customers.stream(batch_size=1000)) == n

    everything = (
        sa.select(table)
        .where(table.c.tenant_id == TENANT, table.c.deleted_at.is_(None))
        .order_by(table.c.id)
    )

    def raw_stream() -> None:
        with engine.connect() as conn:
            result = conn.execute(
                everything, execution_options={"stream_results": True, "yield_per": 1000}
            )
            assert sum(1 for _ in result) == n

    nothing = lambda: None  # noqa: E731
    f_repo = _best(
        f"{args.finds} finds by email: session.customers.find", repo_finds, nothing, repeat
    )
    f_raw = _best(f"{args.finds} finds by email: Core select (+tags)", raw_finds, nothing, repeat)
    s_repo = _best("stream all: session.customers.stream", repo_stream, nothing, repeat)
    s_raw = _best("stream all: Core select, yield_per", raw_stream, nothing, repeat)
    crm.close()
    engine.dispose()
    drop_schema(url)
    print(f"best times, ratios (crmcore / raw) on {sa.make_url(url).get_backend_name()}:")
    print(f"  insert {t_repo / t_raw:5.2f}x   (target <= 1.3x)")
    print(f"  finds  {f_repo / f_raw:5.2f}x")
    print(f"  stream {s_repo / s_raw:5.2f}x")
    tmp.cleanup()


if __name__ == "__main__":
    main()
