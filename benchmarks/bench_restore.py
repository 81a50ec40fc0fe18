"""Restoring a large backup into SQLite: peak memory, batches flushed vs all staged.

    python benchmarks/bench_restore.py [--n 50000] [--batch-size 1000]

A backup of N customers (with addresses) is restored into a new SQLite file
twice, each in a child process of its own that reports its peak resident
memory (``ru_maxrss``) and the growth over its baseline (crmcore imported and
connected, the backup not yet read):

- crmcore ``restore``: each batch is written into the one open transaction
  (``Session.flush``), so memory holds one batch;
- the same restore with ``Session.flush`` turned off (what restore did before:
  every record staged in the unit of work until the commit).

Printed: records/s and the memory growth of both, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")

MAKE = """
import sys
sys.path.insert(0, {src!r})
import crmcore
from crmcore import Address, Customer
from crmcore.io import backup
crm = crmcore.connect({url!r})
with crm.session() as s:
    for start in range(0, {n}, 5000):
        s.customers.add_many([
            Customer(first_name=f"G{{i}}", last_name="张", email=f"u{{i}}@example.cn",
                     phone=f"+86139{{i:08d}}", addresses=[Address(city="北京", line1=f"{{i}} 路")])
            for i in range(start, min(start + 5000, {n}))
        ])
        s.commit()
with crm.session() as s:
    backup(s, {path!r})
print("{{}}")
"""

RESTORE = """
import sys, time, resource, json
sys.path.insert(0, {src!r})
import crmcore
from crmcore.app import Session
from crmcore.io import restore
if not {flush}:
    Session.flush = lambda self: None
crm = crmcore.connect({url!r})
with crm.session() as s:
    s.customers.count()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
with crm.session(restore=True) as s:
    manifest = restore(s, {path!r}, batch_size={batch})
elapsed = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": elapsed, "base_kb": base, "peak_kb": peak,
                  "records": sum(manifest.counts.values())}}))
"""


def _run(code: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50_000, help="customers in the backup")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    unit = 1024 if sys.platform != "darwin" else 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/backup.zip"
        _run(MAKE.format(src=SRC, url=f"sqlite:///{tmp}/source.db", n=args.n, path=path))
        size = Path(path).stat().st_size / 1e6
        results = {}
        for flush in (True, False):
            results[flush] = _run(
                RESTORE.format(
                    src=SRC,
                    url=f"sqlite:///{tmp}/target{int(flush)}.db",
                    path=path,
                    batch=args.batch_size,
                    flush=flush,
                )
            )
    print(f"backup of {args.n} customers, {size:.1f} MB zip")
    growth = {}
    for flush, label in ((True, "restore, batches flushed"), (False, "restore, all staged")):
        r = results[flush]
        growth[flush] = (r["peak_kb"] - r["base_kb"]) / unit
        print(
            f"{label:26s}: {r['records'] / r['seconds']:8.0f} records/s  peak RSS "
            f"{r['peak_kb'] / unit:7.1f} MB  growth {growth[flush]:7.1f} MB"
        )
    print(
        f"memory growth ratio (all staged / flushed): {growth[False] / max(growth[True], 1.0):.1f}x"
    )


if __name__ == "__main__":
    main()
