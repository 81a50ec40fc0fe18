"""Insert N customers into a SQLite file with field encryption on, against the same insert without.

Same process, same rows (email, phone, national id, birth date filled), fresh
files each time, validation off so only storage and encryption are measured;
best of a few alternating runs.

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
from crmcore.crypto import Encryption, Keyring, StaticKeyProvider


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
    keyring = Keyring(StaticKeyProvider([os.urandom(32)]))
    plain: list[float] = []
    sealed: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            plain.append(insert(Path(tmp) / f"plain{k}.db", data, None))
            enc = Encryption(keyring=keyring)
            sealed.append(insert(Path(tmp) / f"enc{k}.db", data, enc))
    p, e = min(plain), min(sealed)
    print(
        f"insert {args.n:,} customers into SQLite: plain {p:6.2f} s, "
        f"encrypted (4 fields, 3 blind indexes) {e:6.2f} s, ratio {e / p:4.2f}x "
        f"({(e - p) / args.n * 1e6:.0f} us per customer for encryption)"
    )


if __name__ == "__main__":
    main()
