"""Importing a messy CSV into SQLite with validation, against pandas + stdlib sqlite3.

    python benchmarks/bench_import.py [--n 100000] [--batch-size 1000] [--duplicates skip]
                                      [--profile]

``--n 1000000`` is the issue's benchmark (about 75 MB of CSV; run it with
``nice``: it takes minutes). ``--profile`` also prints where crmcore's time goes,
stage by stage (each stage run alone over the same file, in its own process):
reading, + mapping (cells -> entities), + validation (the session's check),
the whole import (+ upsert lookups, checkpoints, writes), and with ``--duplicates``
other than ``create`` the dedupe check (the difference to a plain import).

The file: N rows of Chinese and Western names, phones in mixed formats
(``138 0013 8000``, ``+86-138-0013-8000``, ``(+86)13800138000``...), dates in
mixed formats (``1990-01-02``, ``1990/1/2``, ``1990年1月2日``), 5% invalid rows
(bad phone, e-mail or date) and 10% duplicates of earlier rows (the same
person, their phone written another way).

- crmcore: ``import_records`` into a new SQLite file (default validation, upsert
  on the phone, per-batch commits and checkpoints, every error collected);
- peer: ``pandas.read_csv`` of the whole file, then stdlib ``sqlite3``
  ``executemany`` of the raw rows into one table (no validation, no dedupe).

Each side runs in a child process of its own, which reports its rows/s and its
peak resident memory (``ru_maxrss``); the ratio is printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

SURNAMES = ["张", "王", "李", "赵", "欧阳", "陈", "刘"]
GIVEN = ["伟", "芳", "娜", "静", "强", "磊", "丽"]
WESTERN = ["Anna Smith", "José García", "Wei Zhang", "Maria Müller", "John O'Brien", "Li Na"]


def _phone(i: int, style: int) -> str:
    body = f"139{i:08d}"
    return [
        body,
        f"{body[:3]} {body[3:7]} {body[7:]}",
        f"+86-{body[:3]}-{body[3:7]}-{body[7:]}",
        f"(+86){body}",
        f"+86 {body}",
    ][style % 5]


def _date(i: int, style: int) -> str:
    y, m, d = 1950 + i % 50, 1 + i % 12, 1 + i % 28
    return [f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}", f"{y}年{m}月{d}日", f"{y}.{m:02d}.{d:02d}"][
        style % 4
    ]


def make_file(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["姓名", "手机", "邮箱", "生日", "城市"])
        for i in range(n):
            person = i
            if i > 10 and rng.random() < 0.10:
                person = rng.randrange(0, i)  # a duplicate of an earlier row
            name = (
                WESTERN[person % len(WESTERN)]
                if person % 3 == 0
                else SURNAMES[person % 7] + GIVEN[(person // 7) % 7] + GIVEN[person % 5]
            )
            phone = _phone(person, rng.randrange(5))
            email = f"user{person}@example.com"
            born = _date(person, rng.randrange(4))
            if rng.random() < 0.05:  # invalid rows
                kind = rng.randrange(3)
                if kind == 0:
                    phone = "12" + str(person)[:3]
                elif kind == 1:
                    email = f"user{person}@"
                else:
                    born = f"{1990 + person % 10}-13-{40 + person % 9}"
            out.writerow([name, phone, email, born, "北京" if person % 2 else "Shanghai"])


CRMCORE = """
import sys, time, resource, json
sys.path.insert(0, {src!r})
import crmcore
from crmcore.io import ColumnMapping, import_records
mapping = ColumnMapping(columns={{"姓名": "full_name", "手机": "phone", "邮箱": "email",
                                  "生日": "date_of_birth", "城市": "addresses[0].city"}})
t = time.perf_counter()
crm = crmcore.connect({url!r})
with crm.session() as s:
    report = import_records(s, {path!r}, mapping, key="phone", duplicates={dup!r},
                            batch_size={batch})
elapsed = time.perf_counter() - t
print(json.dumps({{"seconds": elapsed, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "counts": report.counts(), "errors": len(report.errors)}}))
"""

STAGES = """
import sys, time, json
sys.path.insert(0, {src!r})
import crmcore
from crmcore.io import ColumnMapping, import_records, open_rows
from crmcore.io._convert import RowConverter
from crmcore.model import Customer
mapping = ColumnMapping(columns={{"姓名": "full_name", "手机": "phone", "邮箱": "email",
                                  "生日": "date_of_birth", "城市": "addresses[0].city"}})
stage = {stage!r}
crm = crmcore.connect({url!r})
with crm.session() as s:  # connecting (and creating the schema) is not a stage
    s.repo(Customer).count()
t = time.perf_counter()
if stage == "import":
    with crm.session() as s:
        import_records(s, {path!r}, mapping, key="phone", duplicates={dup!r},
                       batch_size={batch})
else:
    conv = RowConverter(mapping)
    with crm.session() as s, open_rows({path!r}) as rows:
        check = s.repo(Customer).check
        for n, raw in rows:
            if stage == "read":
                continue
            entity, _ = conv.convert(n, raw)
            if stage == "validate" and entity is not None:
                try:
                    check(entity)
                except crmcore.errors.ValidationError:
                    pass
print(json.dumps({{"seconds": time.perf_counter() - t}}))
"""

PEER = """
import sys, time, resource, json, sqlite3
import pandas as pd
t = time.perf_counter()
frame = pd.read_csv({path!r}, dtype=str, keep_default_na=False)
conn = sqlite3.connect({db!r})
conn.execute("create table customers (name text, phone text, email text, born text, city text)")
rows = frame.itertuples(index=False, name=None)
conn.executemany("insert into customers values (?, ?, ?, ?, ?)", rows)
conn.commit()
elapsed = time.perf_counter() - t
print(json.dumps({{"seconds": elapsed, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "rows": len(frame)}}))
"""


def _run(code: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _seconds(code: str) -> float:
    return float(_run(code)["seconds"])  # type: ignore[arg-type]


def _print_stages(n: int, stages: list[tuple[str, float]], floor: float) -> None:
    print("where crmcore's time goes (each stage alone, cumulative; us/row, x floor):")
    before = 0.0
    names = {
        "read": "reading",
        "map": "+ mapping",
        "validate": "+ validation",
        "import(create)": "+ lookups, checkpoints, writes",
    }
    for name, seconds in stages:
        label = names.get(name, f"+ dedupe ({name})")
        own = seconds - before
        print(
            f"  {label:32s} {seconds / n * 1e6:8.1f} us/row total, {own / n * 1e6:8.1f} us/row "
            f"this stage, {seconds / floor:5.1f}x floor"
        )
        before = seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="rows in the file")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--duplicates", default="create", choices=("create", "skip", "flag", "merge")
    )
    parser.add_argument(
        "--profile", action="store_true", help="also time each stage of the import alone"
    )
    args = parser.parse_args()
    src = str(Path(__file__).resolve().parents[1] / "src")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "messy.csv"
        make_file(path, args.n)
        size = path.stat().st_size / 1e6
        ours = _run(
            CRMCORE.format(
                src=src,
                url=f"sqlite:///{tmp}/crm.db",
                path=str(path),
                dup=args.duplicates,
                batch=args.batch_size,
            )
        )
        peer = _run(PEER.format(path=str(path), db=f"{tmp}/peer.db"))
        stages: list[tuple[str, float]] = []
        if args.profile:
            plan = [("read", "create"), ("map", "create"), ("validate", "create")]
            plan.append(("import", "create"))
            if args.duplicates != "create":
                plan.append(("import", args.duplicates))
            for i, (stage, dup) in enumerate(plan):
                code = STAGES.format(
                    src=src,
                    url=f"sqlite:///{tmp}/stage{i}.db",
                    path=str(path),
                    stage=stage,
                    dup=dup,
                    batch=args.batch_size,
                )
                stages.append((f"{stage}({dup})" if stage == "import" else stage, _seconds(code)))
    ours_rate = args.n / float(ours["seconds"])  # type: ignore[arg-type]
    peer_rate = args.n / float(peer["seconds"])  # type: ignore[arg-type]
    unit = 1024 if sys.platform != "darwin" else 1024 * 1024
    print(f"{args.n} rows, {size:.1f} MB CSV")
    print(
        f"crmcore import_records : {ours_rate:10.0f} rows/s  peak RSS "
        f"{int(ours['rss_kb']) / unit:7.1f} MB  {ours['counts']}"
    )  # type: ignore[call-overload]
    print(
        f"pandas + sqlite3       : {peer_rate:10.0f} rows/s  peak RSS "
        f"{int(peer['rss_kb']) / unit:7.1f} MB  (no validation)"
    )  # type: ignore[call-overload]
    print(
        f"speed ratio (peer/crmcore): {peer_rate / ours_rate:.1f}x; "
        f"memory ratio (crmcore/peer): {int(ours['rss_kb']) / int(peer['rss_kb']):.2f}"
    )  # type: ignore[call-overload]
    if stages:
        _print_stages(args.n, stages, float(peer["seconds"]))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
