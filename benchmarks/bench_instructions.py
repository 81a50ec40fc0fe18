"""Instruction counts (valgrind callgrind) of the insert and validation paths against their floors.

Wall-clock benchmarks on a shared, loaded machine swing by 2-30x from run to
run; the number of instructions a path executes does not. Each case runs in
a child process under ``valgrind --tool=callgrind``, counting only the timed
work (it runs inside ``itertools.starmap``, the one C function callgrind is
told to count under: ``--toggle-collect=starmap_next``), and prints
instructions per record for crmcore and for its floor, and the ratio:

- ``validation``: the ``Customer`` hook of ``EntityValidation().validators()``
  against ``phonenumbers.parse`` + ``format_number`` + ``normalize_email``
  (the customers of bench_validation.py);
- ``memory`` / ``memory-novalid``: ``add_many`` into ``memory://`` (with and
  without validation) against a dict insert keeping the same indexes;
- ``sqlite`` / ``sqlite-novalid``: ``add_many`` into a SQLite file, committed,
  against stdlib ``sqlite3`` ``executemany`` of rows of the same width;
- ``encrypted``: ``add_many`` with field encryption, keys in a ``SqlKeyStore``,
  against the same insert without encryption.

    python benchmarks/bench_instructions.py [--n 1000] [--case memory ...]

Needs valgrind; a case takes a minute or more (callgrind runs ~50x slower).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: case -> (crmcore side, floor side) as names of ``_work`` sides
CASES = {
    "validation": ("validation", "validation-floor"),
    "memory": ("memory", "memory-floor"),
    "memory-novalid": ("memory-novalid", "memory-floor"),
    "sqlite": ("sqlite", "sqlite-floor"),
    "sqlite-novalid": ("sqlite-novalid", "sqlite-floor"),
    "encrypted": ("encrypted", "encrypted-plain"),
}


def _work(side: str, n: int) -> Callable[[], object]:
    """Set everything up for ``side`` (not counted) and return the work to count."""
    sys.path.insert(0, str(HERE))
    import crmcore
    from crmcore import Customer

    tmp = tempfile.mkdtemp()
    if side.startswith("validation"):
        import phonenumbers
        from bench_validation import build_customers

        from crmcore.validation import EntityValidation, normalize_email

        people = build_customers(n)
        if side == "validation":
            hook = EntityValidation().validators()[Customer]
            for c in people[:50]:
                hook(c)
            return lambda: [hook(c) for c in people]
        e164 = phonenumbers.PhoneNumberFormat.E164

        def floor() -> None:
            for c in people:
                phonenumbers.format_number(phonenumbers.parse(c.phone, "CN"), e164)
                normalize_email(c.email)

        return floor
    from bench_bulk_insert import customers

    if side == "memory-floor":
        records = customers(n, normalised=True)
        names = Customer.__crm_indexes__

        def dict_insert() -> None:
            table: dict[int, Customer] = {}
            index: dict[str, dict[object, set[int]]] = {f: {} for f in names}
            for r in records:
                key = r.id.int
                table[key] = r
                for f in names:
                    index[f].setdefault(getattr(r, f), set()).add(key)

        return dict_insert
    if side == "sqlite-floor":
        import sqlite3

        from crmcore.storage.sql._schema import mapper

        width = len(mapper(Customer).columns)
        rows = [
            (f"{i:032x}", "t", "2024-01-01T00:00:00", "2024-01-01T00:00:00", 1)
            + (f"v{i}",) * (width - 5)
            for i in range(n)
        ]
        conn = sqlite3.connect(f"{tmp}/floor.db")
        conn.execute(
            f"CREATE TABLE t ({', '.join(f'c{k}' for k in range(width))}, PRIMARY KEY (c0))"
        )
        sql = f"INSERT INTO t VALUES ({', '.join('?' * width)})"

        def executemany() -> None:
            conn.executemany(sql, rows)
            conn.commit()

        return executemany
    encryption = None
    if side.startswith("encrypted"):
        from bench_encrypted_insert import rows as encrypted_rows

        from crmcore.crypto import Encryption, Keyring, SqlKeyStore, StaticKeyProvider

        data = encrypted_rows(n + 1)
        if side == "encrypted":
            store = SqlKeyStore(f"sqlite:///{tmp}/keys.db")
            encryption = Encryption(keyring=Keyring(StaticKeyProvider([b"k" * 32]), store=store))
        validation = False
    else:
        validation = not side.endswith("novalid")
        data = customers(n + 1, normalised=not validation)
    url = "memory://" if side.startswith("memory") else f"sqlite:///{tmp}/crm.db"
    crm = crmcore.connect(url, validation=validation, encryption=encryption)
    with crm.session() as s:  # warm every lazy import and cache on one record
        s.customers.add_many(data[:1])
    rest = data[1:]

    def add_many() -> None:
        with crm.session() as s:
            s.customers.add_many(rest)

    return add_many


def _child(side: str, n: int) -> None:
    work = _work(side, n)
    list(itertools.starmap(work, [()]))  # counted: everything under starmap_next


def _count(side: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={tmp}/cg.out",
                "--toggle-collect=starmap_next",
                sys.executable,
                __file__,
                "--child",
                side,
                "--n",
                str(n),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    found = re.search(r"Collected : ([\d,]+)", out.stderr)
    if found is None:
        raise SystemExit(f"no callgrind count for {side}:\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--case", action="append", choices=sorted(CASES))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.n)
        return
    print(f"instructions per record (callgrind), {args.n} records")
    for case in args.case or list(CASES):
        side, floor = CASES[case]
        crm, ref = _count(side, args.n) / args.n, _count(floor, args.n) / args.n
        print(
            f"  {case:15} crmcore {crm:10,.0f}   {floor:17} {ref:10,.0f}   ratio {crm / ref:5.2f}x"
        )


if __name__ == "__main__":
    main()
