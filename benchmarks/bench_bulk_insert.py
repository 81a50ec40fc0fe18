"""Bulk inserts as a user runs them (``connect()`` defaults) against floors in the same process.

    python benchmarks/bench_bulk_insert.py [--n 20000] [--repeat 3]

- SQLite file: ``session.customers.add_many`` of N customers, one commit,
  with default validation and with ``validation=False``, against stdlib
  ``sqlite3`` ``executemany`` of rows of the same width into a table of the
  same columns (target: <= 5x with validation, <= 3x without);
- memory: the same add_many into ``memory://`` against a dict insert that
  keeps the same indexes (target: <= 10 us per customer with validation).

Best of ``--repeat`` runs, sides alternating, so a busy machine skews both alike.
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import crmcore
from crmcore import Customer

SURNAMES = ["张", "王", "李", "Smith", "Müller", "García"]
GIVEN = ["伟", "芳", "Anna", "José", "Wei", "Li"]


def customers(n: int, *, normalised: bool) -> list[Customer]:
    """N customers as a user types them (``normalised``: already as validation stores them)."""
    out = []
    for i in range(n):
        phone = f"+86138{i:08d}" if normalised else f"138 {i // 10000:04d} {i % 10000:04d}"
        email = f"user{i}@example.com" if normalised else f" User{i}@Example.com "
        out.append(
            Customer(
                first_name=GIVEN[i % len(GIVEN)],
                last_name=SURNAMES[i % len(SURNAMES)],
                email=email,
                phone=phone,
                owner_id=f"u{i % 50}",
                tags={"vip"} if i % 4 == 0 else (),
            )
        )
    return out


def best(fn: Callable[[], float], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        times.append(fn())
    return min(times)


def crm_insert(url: Callable[[], str], n: int, validation: bool) -> Callable[[], float]:
    def run() -> float:
        records = customers(n, normalised=not validation)
        crm = crmcore.connect(url(), validation=validation)
        try:
            start = time.perf_counter()
            with crm.session() as s:
                s.customers.add_many(records)
            return time.perf_counter() - start
        finally:
            crm.close()

    return run


def sqlite_floor(path: Callable[[], str], n: int, width: int) -> Callable[[], float]:
    """stdlib executemany of N rows of ``width`` columns (text and ints) into one table."""

    def run() -> float:
        rows = [
            (f"{i:032x}", "t", "2024-01-01T00:00:00", "2024-01-01T00:00:00", 1)
            + (f"v{i}",) * (width - 5)
            for i in range(n)
        ]
        conn = sqlite3.connect(path())
        cols = ", ".join(f"c{k}" for k in range(width))
        conn.execute(f"CREATE TABLE t ({cols}, PRIMARY KEY (c0))")
        marks = ", ".join("?" * width)
        start = time.perf_counter()
        conn.executemany(f"INSERT INTO t VALUES ({marks})", rows)
        conn.commit()
        elapsed = time.perf_counter() - start
        conn.close()
        return elapsed

    return run


def dict_floor(n: int, indexes: tuple[str, ...]) -> Callable[[], float]:
    """A dict of records by id plus one dict of id sets per indexed field."""

    def run() -> float:
        records = customers(n, normalised=True)
        start = time.perf_counter()
        table: dict[int, Customer] = {}
        index: dict[str, dict[object, set[int]]] = {f: {} for f in indexes}
        for r in records:
            key = r.id.int
            table[key] = r
            for f in indexes:
                index[f].setdefault(getattr(r, f), set()).add(key)
        return time.perf_counter() - start

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, repeat = args.n, args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10**6))

        def fresh(prefix: str = "sqlite:///") -> str:
            return f"{prefix}{Path(tmp) / f'db{next(counter)}.db'}"

        from crmcore.storage.sql._schema import mapper

        width = len(mapper(Customer).columns)
        floor = best(sqlite_floor(lambda: fresh(""), n, width), repeat)
        with_v = best(crm_insert(fresh, n, True), repeat)
        without_v = best(crm_insert(fresh, n, False), repeat)
        print(f"SQLite file, {n} customers ({width} columns)")
        print(f"  stdlib sqlite3 executemany floor  {floor:7.3f} s")
        print(
            f"  add_many, default validation      {with_v:7.3f} s  {with_v / floor:5.1f}x  (<= 5x)"
        )
        print(
            f"  add_many, validation=False        {without_v:7.3f} s  "
            f"{without_v / floor:5.1f}x  (<= 3x)"
        )
    mem_floor = best(dict_floor(n, Customer.__crm_indexes__), repeat)
    mem_v = best(crm_insert(lambda: "memory://", n, True), repeat)
    mem_nv = best(crm_insert(lambda: "memory://", n, False), repeat)
    print(f"memory, {n} customers")
    print(
        f"  dict insert with the same indexes {mem_floor:7.3f} s  "
        f"{mem_floor / n * 1e6:6.1f} us each"
    )
    print(
        f"  add_many, default validation      {mem_v:7.3f} s  {mem_v / n * 1e6:6.1f} us each "
        f"(<= 10 us), {mem_v / mem_floor:4.1f}x the floor"
    )
    print(
        f"  add_many, validation=False        {mem_nv:7.3f} s  {mem_nv / n * 1e6:6.1f} us each, "
        f"{mem_nv / mem_floor:4.1f}x the floor"
    )
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
