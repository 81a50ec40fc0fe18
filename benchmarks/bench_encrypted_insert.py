"""Insert N customers into a SQLite file with field encryption on, against the same insert without.

Same process, same rows (email, phone, national id, birth date filled), fresh
files each time, validation off so only storage and encryption are measured;
best of a few alternating runs. Encryption runs twice: with the keys in memory,
and with the keys in a ``SqlKeyStore`` of their own (another SQLite file), as a
deployment keeps them. Every customer gets a subject key of its own. After the
insert, everything is streamed back through a new keyring over the same key
store (a cold key cache, as in a new process).

    python benchmarks/bench_encrypted_insert.py [--n 100000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import crmcore
from crmcore import Customer
from crmcore.crypto import Encryption, InMemoryKeyStore, Keyring, SqlKeyStore, StaticKeyProvider


def rows(n: int) -> list[Customer]:
    return [
        Customer(
            first_name=f"g{i}",
            last_name="张",
            email=f"user{i}@example.cn",
            phone=f"+86138{i:08d}",
            national_id=f"11010519491231{i % 10000:04d}",
            date_of_birth=dt.date(1980, 1, 1) + dt.timedelta(days=i % 9000),
        )
        for i in range(n)
    ]


def run(
    path: Path, data: list[Customer], encryption: Callable[[], Encryption | None]
) -> tuple[float, float]:
    """Seconds to insert ``data``, then to stream it all back with a cold key cache."""
    crm = crmcore.connect(f"sqlite:///{path}", validation=False, encryption=encryption())
    gc.collect()
    t = time.perf_counter()
    with crm.session() as s:
        s.customers.add_many(data)
    written = time.perf_counter() - t
    crm.close()
    # another process: a new keyring over the same key store, nothing unwrapped yet
    crm = crmcore.connect(f"sqlite:///{path}", validation=False, encryption=encryption())
    gc.collect()
    t = time.perf_counter()
    with crm.session() as s:
        count = sum(1 for c in s.customers.stream() if c.email is not None)
    read = time.perf_counter() - t
    crm.close()
    assert count == len(data)
    return written, read


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    data = rows(args.n)
    root = StaticKeyProvider([os.urandom(32)])
    runs: dict[str, list[tuple[float, float]]] = {
        "plain": [],
        "encrypted, keys in memory": [],
        "encrypted, keys in SQLite": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            runs["plain"].append(run(Path(tmp) / f"plain{k}.db", data, lambda: None))
            memory = InMemoryKeyStore()
            runs["encrypted, keys in memory"].append(
                run(
                    Path(tmp) / f"enc{k}.db",
                    data,
                    lambda m=memory: Encryption(keyring=Keyring(root, store=m)),
                )
            )
            store = SqlKeyStore(f"sqlite:///{Path(tmp) / f'keys{k}.db'}")
            runs["encrypted, keys in SQLite"].append(
                run(
                    Path(tmp) / f"encsql{k}.db",
                    data,
                    lambda ks=store: Encryption(keyring=Keyring(root, store=ks)),
                )
            )
            store.close()
    best = {name: (min(w for w, _ in r), min(x for _, x in r)) for name, r in runs.items()}
    pw, pr = best["plain"]
    print(
        f"{args.n:,} customers in SQLite (4 encrypted fields, 3 blind indexes), "
        f"best of {args.repeat}:"
    )
    print(f"    {'':27} {'insert':>8} {'vs plain':>8} {'stream all':>11} {'vs plain':>8}")
    for name, (w, r) in best.items():
        print(f"    {name:27} {w:7.2f}s {w / pw:7.2f}x {r:10.2f}s {r / pr:7.2f}x")

    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
