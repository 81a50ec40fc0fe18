"""Insert N customers into a SQLite file with field encryption on, against the same insert without.

Same process, same rows (email, phone, national id, birth date filled), fresh
files each time, validation off so only storage and encryption are measured;
best of a few alternating runs. Encryption runs twice: with the keys in memory,
and with the keys in a ``SqlKeyStore`` of their own (another SQLite file), as a
deployment keeps them. Every customer gets a subject key of its own.

    python benchmarks/bench_encrypted_insert.py [--n 100000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import tempfile
import time
from pathlib import Path

import crmcore
from crmcore import Customer
from crmcore.crypto import Encryption, InMemoryKeyStore, Keyring, StaticKeyProvider
from crmcore.storage.sql import SqlKeyStore


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


def insert(path: Path, data: list[Customer], encryption: Encryption | None) -> float:
    crm = crmcore.connect(f"sqlite:///{path}", validation=False, encryption=encryption)
    gc.collect()
    t = time.perf_counter()
    with crm.session() as s:
        s.customers.add_many(data)
    elapsed = time.perf_counter() - t
    crm.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    data = rows(args.n)
    root = StaticKeyProvider([os.urandom(32)])
    plain: list[float] = []
    in_memory: list[float] = []
    durable: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            plain.append(insert(Path(tmp) / f"plain{k}.db", data, None))
            enc = Encryption(keyring=Keyring(root, store=InMemoryKeyStore()))
            in_memory.append(insert(Path(tmp) / f"enc{k}.db", data, enc))
            store = SqlKeyStore(f"sqlite:///{Path(tmp) / f'keys{k}.db'}")
            enc = Encryption(keyring=Keyring(root, store=store))
            durable.append(insert(Path(tmp) / f"encsql{k}.db", data, enc))
            store.close()
    p = min(plain)
    print(f"insert {args.n:,} customers into SQLite (4 encrypted fields, 3 blind indexes):")
    print(f"    plain                           {p:7.2f} s")
    for label, runs in (
        ("encrypted, keys in memory", in_memory),
        ("encrypted, keys in SQLite", durable),
    ):
        e = min(runs)
        print(
            f"    {label:31} {e:7.2f} s   {e / p:4.2f}x   "
            f"{(e - p) / args.n * 1e6:4.0f} us more per customer"
        )


if __name__ == "__main__":
    main()
