"""RFM and the sales funnel at scale: crmcore on SQLite and PostgreSQL, pandas and DuckDB.

    python benchmarks/bench_analytics_scale.py --customers 1000000 --lines 10000000
        [--opportunities N] [--backends sqlite,postgresql] [--postgres URL] [--repeat 1]

One data set, generated with numpy (seeded): ``--customers`` customers with
``--lines`` order lines in orders of 1-5 lines (every customer has at least
one order), and ``--opportunities`` opportunities (default: one per customer)
with their stage history (each deal moves on with probability 0.6 per stage,
a stalled one is lost with probability 0.5: about 1.6 transitions a deal).

Setup, not measured: the rows are loaded straight into the tables
``crmcore.storage.sql`` creates (stdlib ``sqlite3.executemany`` into a SQLite
file; ``COPY`` through psycopg into PostgreSQL, ``CRMCORE_BENCH_POSTGRES_URL``
or ``--postgres``), in crmcore's column encodings (SQLite: UUIDs as hex,
timestamps as fixed-width UTC text, decimals as sortable text), then
``ANALYZE`` (the secondary indexes crmcore creates are dropped before the load
and built again after it, which is much faster than row by row). Customer
records are not loaded: no measured report reads them (RFM groups the orders
by ``customer_id``).

Measured, each in a fresh process (so the peak RSS is the
part's own: ``VmHWM``), best of ``--repeat``:

- crmcore (setup: the imports and one run over no rows, as the peers
  import pandas and build their frames first): ``rfm(session, as_of)``
  (aggregates per customer in the engine,
  then scores, named segments and the segment summary in pandas) and
  ``sales_funnel(session)`` (monthly, two aggregates), through a session;
- pandas: the same numbers from DataFrames already in memory (the orders
  frame and the opportunity / transition frames, loaded during setup);
- DuckDB (in-process, its default threads): the same SQL over tables created
  from those frames during setup.

Every engine's numbers are checked equal (customers, orders, summed scores,
entries per stage). Prints time and peak RSS per part, and the ratios
against pandas and DuckDB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

AS_OF = np.datetime64("2025-01-01T00:00:00", "us")
AS_OF_TEXT = "2025-01-01T00:00:00+00:00"
TENANT = "default"
STAGES = ("prospecting", "qualification", "proposal", "negotiation", "closed_won")
PROB = {"prospecting": 0.1, "qualification": 0.2, "proposal": 0.5, "negotiation": 0.8}
CATEGORY = {
    "prospecting": "pipeline",
    "qualification": "pipeline",
    "proposal": "best_case",
    "negotiation": "commit",
    "closed_won": "closed",
    "closed_lost": "omitted",
}
CHUNK = 200_000

# id spaces: one 128-bit range per kind, written as 32 hex digits
_CUSTOMER, _ORDER, _OPP, _MOVE = 1 << 124, 2 << 124, 3 << 124, 4 << 124


# --------------------------------------------------------------------------- data


def generate(customers: int, lines: int, opportunities: int, seed: int = 0) -> dict[str, Any]:
    """Every column as a numpy array (ids as ints, times as datetime64[us], cents)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, size=lines // 3 + customers)
    sizes = sizes[np.cumsum(sizes) <= lines]
    n_orders = len(sizes)
    if n_orders < customers:
        raise SystemExit(f"{lines} lines cannot give {customers} customers an order each")
    owner = np.concatenate([np.arange(customers), rng.integers(0, customers, n_orders - customers)])
    ordered = AS_OF - rng.integers(0, 730 * 86400, n_orders).astype("timedelta64[s]")
    line_order = np.repeat(np.arange(n_orders), sizes)
    starts = np.cumsum(sizes) - sizes
    position = np.arange(len(line_order)) - np.repeat(starts, sizes)
    cents = rng.integers(100, 20000, len(line_order))
    total = np.bincount(line_order, weights=cents, minlength=n_orders).astype("int64")

    created = AS_OF - rng.integers(0, 730 * 86400, opportunities).astype("timedelta64[s]")
    depth = np.zeros(opportunities, dtype="int64")  # index into STAGES of the stage reached
    alive = np.ones(opportunities, dtype=bool)
    for _ in range(len(STAGES) - 1):
        alive &= rng.random(opportunities) < 0.6
        depth += alive
    lost = (depth < len(STAGES) - 1) & (rng.random(opportunities) < 0.5)
    rec, frm, to, at = [], [], [], []
    when = created.copy()
    for step in range(1, len(STAGES)):
        moved = np.nonzero(depth >= step)[0]
        when[moved] += rng.integers(3600, 30 * 86400, len(moved)).astype("timedelta64[s]")
        rec.append(moved)
        frm.append(np.full(len(moved), step - 1))
        to.append(np.full(len(moved), step))
        at.append(when[moved])
    gone = np.nonzero(lost)[0]
    when[gone] += rng.integers(3600, 30 * 86400, len(gone)).astype("timedelta64[s]")
    rec.append(gone)
    frm.append(depth[gone])
    to.append(np.full(len(gone), len(STAGES)))  # index len(STAGES): closed_lost
    at.append(when[gone])
    stage = depth.copy()
    stage[lost] = len(STAGES)
    return {
        "order_customer": owner,
        "ordered_at": ordered,
        "order_cents": total,
        "line_order": line_order,
        "line_position": position,
        "line_cents": cents,
        "line_sku": rng.integers(0, 500, len(line_order)),
        "opp_created": created,
        "opp_stage": stage,
        "opp_cents": rng.integers(10_000, 10_000_000, opportunities),
        "opp_customer": rng.integers(0, customers, opportunities),
        "opp_closed": np.where((stage >= len(STAGES) - 1), when, np.datetime64("NaT", "us")).astype(
            "datetime64[us]"
        ),
        "move_record": np.concatenate(rec),
        "move_from": np.concatenate(frm),
        "move_to": np.concatenate(to),
        "move_at": np.concatenate(at).astype("datetime64[us]"),
    }


def _stage(i: int) -> str:
    return STAGES[i] if i < len(STAGES) else "closed_lost"


def _hex(base: int, i: int) -> str:
    return f"{base + i:032x}"


def _sortable(cents: int, scale: int = 10_000) -> str:
    """crmcore's SQLite decimal text of ``cents / 100`` (six places, 20 digits)."""
    return f"p{cents * scale:020d}"


def _numeric(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _times(values: np.ndarray, sep: str) -> list[str]:
    text = np.datetime_as_string(values, unit="us")
    return [t.replace("T", sep) for t in text.tolist()]


def order_tuples(d: dict[str, Any], pg: bool) -> Iterator[tuple[Any, ...]]:
    n = len(d["order_customer"])
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        times = _times(d["ordered_at"][lo:hi], "T" if pg else " ")
        for i, c, t, cents in zip(
            range(lo, hi),
            d["order_customer"][lo:hi].tolist(),
            times,
            d["order_cents"][lo:hi].tolist(),
            strict=True,
        ):
            t = t + "+00" if pg else t
            money = _numeric(cents) if pg else _sortable(cents)
            yield (
                _hex(_ORDER, i),
                TENANT,
                t,
                t,
                1,
                "{}",
                _hex(_CUSTOMER, c),
                "placed",
                "CNY",
                t,
                money,
                "CNY",
            )


ORDER_COLS = (
    "id, tenant_id, created_at, updated_at, version, custom, customer_id, status, currency, "
    "ordered_at, total_amount, total_currency"
)
LINE_COLS = (
    "record_id, position, sku, description, quantity, unit_price_amount, unit_price_currency, "
    "discount"
)
OPP_COLS = (
    "id, tenant_id, created_at, updated_at, version, custom, name, customer_id, amount_amount, "
    "amount_currency, stage, probability, forecast_category, closed_at, owner_id"
)
MOVE_COLS = (
    "id, tenant_id, created_at, updated_at, version, custom, entity, record_id, machine, event, "
    "from_state, to_state, at, data"
)


def line_tuples(d: dict[str, Any], pg: bool) -> Iterator[tuple[Any, ...]]:
    one = "1.000000" if pg else _sortable(1, 1_000_000)
    zero = "0.000000" if pg else _sortable(0)
    for o, p, c, s in zip(
        d["line_order"].tolist(),
        d["line_position"].tolist(),
        d["line_cents"].tolist(),
        d["line_sku"].tolist(),
        strict=True,
    ):
        price = _numeric(c) if pg else _sortable(c)
        yield (_hex(_ORDER, o), p, f"sku{s}", "", one, price, "CNY", zero)


def opp_tuples(d: dict[str, Any], pg: bool) -> Iterator[tuple[Any, ...]]:
    sep, tz = ("T", "+00") if pg else (" ", "")
    created = _times(d["opp_created"], sep)
    closed = _times(d["opp_closed"], sep)
    stages, money_, who = (d[k].tolist() for k in ("opp_stage", "opp_cents", "opp_customer"))
    for i, (t, s, cents, c, c_id) in enumerate(
        zip(created, stages, money_, closed, who, strict=True)
    ):
        stage = _stage(s)
        money = _numeric(cents) if pg else _sortable(cents)
        yield (
            _hex(_OPP, i),
            TENANT,
            t + tz,
            t + tz,
            1,
            "{}",
            f"deal {i}",
            _hex(_CUSTOMER, c_id),
            money,
            "CNY",
            stage,
            PROB.get(stage, 1.0 if stage == "closed_won" else 0.0),
            CATEGORY[stage],
            None if c == "NaT" else c + tz,
            f"owner-{i % 50}",
        )


def move_tuples(d: dict[str, Any], pg: bool) -> Iterator[tuple[Any, ...]]:
    sep, tz = ("T", "+00") if pg else (" ", "")
    at = _times(d["move_at"], sep)
    for i, (r, f, t, w) in enumerate(
        zip(
            d["move_record"].tolist(),
            d["move_from"].tolist(),
            d["move_to"].tolist(),
            at,
            strict=True,
        )
    ):
        w = w + tz
        yield (
            _hex(_MOVE, i),
            TENANT,
            w,
            w,
            1,
            "{}",
            "Opportunity",
            _hex(_OPP, r),
            "opportunity",
            "lose" if t == len(STAGES) else "advance",
            _stage(f),
            _stage(t),
            w,
            "{}",
        )


TABLES = (
    ("orders", ORDER_COLS, order_tuples),
    ("orders_lines", LINE_COLS, line_tuples),
    ("opportunities", OPP_COLS, opp_tuples),
    ("transitions", MOVE_COLS, move_tuples),
)


def load_sqlite(path: Path, d: dict[str, Any]) -> None:
    import crmcore

    crmcore.connect(f"sqlite:///{path}", validation=False).close()  # crmcore's own tables
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    names = tuple(t for t, _, _ in TABLES)
    marks_ = ", ".join("?" * len(names))
    indexes = con.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks_})",
        names,
    ).fetchall()
    for name, _sql in indexes:  # built once after the load: much faster than row by row
        con.execute(f"DROP INDEX {name}")
    for table, cols, rows in TABLES:
        marks = ", ".join("?" * len(cols.split(",")))
        con.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows(d, False))
        con.commit()
    for _name, sql in indexes:
        con.execute(sql)
    con.execute("ANALYZE")
    con.commit()
    con.close()


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    return str(value)


def load_postgres(url: str, d: dict[str, Any]) -> None:
    import psycopg

    import crmcore

    crmcore.connect(url, validation=False).close()
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as con:
        con.execute("TRUNCATE orders, orders_lines, opportunities, transitions CASCADE")
        names = [t for t, _, _ in TABLES]
        indexes = con.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = "
            "current_schema() AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM "
            "pg_constraint c WHERE c.conname = i.indexname)",
            (names,),
        ).fetchall()
        for name, _sql in indexes:  # built once after the load
            con.execute(f'DROP INDEX "{name}"')
        for table, cols, rows in TABLES:
            with con.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                batch: list[str] = []
                for row in rows(d, True):
                    batch.append("\t".join(map(_copy_text, row)))
                    if len(batch) >= 50_000:
                        copy.write("\n".join(batch) + "\n")
                        batch.clear()
                if batch:
                    copy.write("\n".join(batch) + "\n")
        con.execute("SET maintenance_work_mem = '256MB'")
        for _name, sql in indexes:
            con.execute(sql)
        con.execute("VACUUM ANALYZE orders, orders_lines, opportunities, transitions")


def clear_postgres(url: str) -> None:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as con:
        con.execute("TRUNCATE orders, orders_lines, opportunities, transitions CASCADE")


# --------------------------------------------------------------------------- the parts


def frames(d: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(orders, opportunities, transitions) as a notebook would hold them (string ids)."""
    import pandas as pd

    ids = [_hex(_CUSTOMER, c) for c in d["order_customer"].tolist()]
    orders = pd.DataFrame(
        {
            "customer_id": ids,
            "ordered_at": pd.to_datetime(d["ordered_at"]).tz_localize("UTC"),
            "amount": d["order_cents"] / 100.0,
        }
    )
    opps = pd.DataFrame(
        {
            "id": [_hex(_OPP, i) for i in range(len(d["opp_created"]))],
            "created_at": pd.to_datetime(d["opp_created"]).tz_localize("UTC"),
        }
    )
    moves = pd.DataFrame(
        {
            "entity": "Opportunity",
            "record_id": [_hex(_OPP, r) for r in d["move_record"].tolist()],
            "to_state": [_stage(t) for t in d["move_to"].tolist()],
            "at": pd.to_datetime(d["move_at"]).tz_localize("UTC"),
        }
    )
    return orders, opps, moves


def pandas_rfm(orders: Any, bins: int = 5) -> Any:
    import pandas as pd

    as_of = pd.Timestamp(AS_OF_TEXT)
    g = orders.groupby("customer_id").agg(
        last=("ordered_at", "max"), frequency=("ordered_at", "size"), monetary=("amount", "sum")
    )
    g["recency_days"] = (as_of - g["last"]).dt.total_seconds() / 86400
    n = len(g)
    for col, name, sign in (
        ("recency_days", "r_score", -1),
        ("frequency", "f_score", 1),
        ("monetary", "m_score", 1),
    ):
        below = (sign * g[col]).rank(method="min") - 1
        g[name] = (1 + np.floor(bins * below / n)).astype("int64")
    return g


LATER = STAGES[1:]


def pandas_funnel(opps: Any, moves: Any) -> dict[str, int]:
    created = opps.groupby(opps["created_at"].dt.tz_localize(None).dt.to_period("M")).size()
    kept = moves[(moves["entity"] == "Opportunity") & moves["to_state"].isin(LATER)]
    month = kept["at"].dt.tz_localize(None).dt.to_period("M")
    moved = kept.groupby([month, kept["to_state"]])["record_id"].nunique()
    out = {STAGES[0]: int(created.sum())}
    for stage, n in moved.groupby(level=1).sum().items():
        out[str(stage)] = int(n)
    return out


DUCK_RFM = f"""
WITH g AS (
  SELECT customer_id, count(*) AS frequency,
         -- exact cents: a float sum in another order breaks ties of equal totals differently
         CAST(sum(CAST(amount AS DECIMAL(18, 2))) AS DOUBLE) AS monetary,
         date_diff('microsecond', max(ordered_at), TIMESTAMP '{AS_OF_TEXT[:19]}') / 86400e6
           AS recency_days
  FROM orders GROUP BY customer_id)
SELECT customer_id, recency_days, frequency, monetary,
  1 + floor(5 * (rank() OVER (ORDER BY recency_days DESC) - 1) / count(*) OVER ()) AS r_score,
  1 + floor(5 * (rank() OVER (ORDER BY frequency) - 1) / count(*) OVER ()) AS f_score,
  1 + floor(5 * (rank() OVER (ORDER BY monetary) - 1) / count(*) OVER ()) AS m_score
FROM g
"""
_IN = ", ".join(f"'{s}'" for s in LATER)
DUCK_FUNNEL = (
    "SELECT date_trunc('month', created_at) AS period, count(*) AS n FROM opps GROUP BY 1",
    "SELECT date_trunc('month', \"at\") AS period, to_state, count(DISTINCT record_id) AS n "
    f"FROM moves WHERE entity = 'Opportunity' AND to_state IN ({_IN}) GROUP BY 1, 2",
)


def rfm_check(frame: Any) -> dict[str, Any]:
    return {
        "customers": len(frame),
        "orders": int(frame["frequency"].sum()),
        "monetary": round(float(frame["monetary"].sum())),
        "scores": [int(frame[c].sum()) for c in ("r_score", "f_score", "m_score")],
    }


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    # VmHWM, this process image's own peak: ru_maxrss is carried over from the
    # parent through fork and exec, so it would report the generator's peak
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def worker(part: str, data: Path, url: str | None, repeat: int) -> dict[str, Any]:
    """Run one measured part in this process; setup first, then best of ``repeat``."""
    run: Callable[[], Any]
    check: Callable[[Any], Any]
    engine, report = part.split("-")
    if engine == "crmcore":
        import crmcore
        from crmcore.analytics import rfm, sales_funnel

        crm = crmcore.connect(url or "", validation=False, create_schema=False)

        def run() -> Any:
            with crm.session() as s:
                if report == "rfm":
                    return rfm(s, AS_OF_TEXT).frame
                return sales_funnel(s).frame

        def check(out: Any) -> Any:
            if report == "rfm":
                return rfm_check(out)
            return {k: int(v) for k, v in out.groupby("stage")["entered"].sum().items()}

        # setup as for the peers (which import pandas and build their frames first):
        # the imports and the statements' first compilation, over no rows
        import pandas  # noqa: F401

        from crmcore import field

        with crm.session() as s:
            far = dt.datetime(2999, 1, 1, tzinfo=dt.timezone.utc)
            rfm(s, AS_OF_TEXT, where=field("ordered_at") > far)
            sales_funnel(s, since=far)

    elif engine == "pandas":
        d = dict(np.load(data))
        orders, opps, moves = frames(d)
        del d

        def run() -> Any:
            return pandas_rfm(orders) if report == "rfm" else pandas_funnel(opps, moves)

        def check(out: Any) -> Any:
            return rfm_check(out) if report == "rfm" else out

    else:
        import duckdb

        d = dict(np.load(data))
        orders, opps, moves = frames(d)
        del d
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        for name, df in (("orders", orders), ("opps", opps), ("moves", moves)):
            plain = df.copy()
            for col in plain.columns:
                if str(plain[col].dtype).startswith("datetime64"):
                    plain[col] = plain[col].dt.tz_localize(None)
            con.register("src", plain)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM src")
            con.unregister("src")
        del orders, opps, moves, plain

        def run() -> Any:
            if report == "rfm":
                return con.execute(DUCK_RFM).df()
            created, moved = (con.execute(q).df() for q in DUCK_FUNNEL)
            return created, moved

        def check(out: Any) -> Any:
            if report == "rfm":
                return rfm_check(out)
            created, moved = out
            got = {STAGES[0]: int(created["n"].sum())}
            got.update({str(k): int(v) for k, v in moved.groupby("to_state")["n"].sum().items()})
            return got

    gc.collect()
    base = _rss_now_mb()
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t)
    return {
        "part": part,
        "seconds": min(times),
        "peak_mb": _peak_mb(),
        "base_mb": base,
        "check": check(out),
    }


# --------------------------------------------------------------------------- main


def _measure(part: str, data: Path, url: str | None, repeat: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", part, "--data", str(data), "--repeat", str(repeat)]
    if url:
        cmd += ["--url", url]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{part} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _funnel_check(result: dict[str, int]) -> dict[str, int]:
    return {s: result.get(s, 0) for s in STAGES}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=None, help="default 10 x customers")
    parser.add_argument("--opportunities", type=int, default=None, help="default = customers")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=os.environ.get("CRMCORE_BENCH_POSTGRES_URL"))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL rows")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, Path(args.data), args.url, args.repeat)))
        return

    lines = args.lines or 10 * args.customers
    opportunities = args.opportunities or args.customers
    backends = [b for b in args.backends.split(",") if b]
    if "postgresql" in backends and not args.postgres:
        print("no --postgres / CRMCORE_BENCH_POSTGRES_URL: PostgreSQL left out")
        backends.remove("postgresql")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        d = generate(args.customers, lines, opportunities)
        data = Path(tmp) / "data.npz"
        np.savez(data, **d)
        print(
            f"data: {args.customers:,} customers, {len(d['order_customer']):,} orders, "
            f"{len(d['line_order']):,} order lines, {opportunities:,} opportunities, "
            f"{len(d['move_record']):,} transitions (generated in {time.perf_counter() - t0:.0f} s)"
        )
        urls = {}
        if "sqlite" in backends:
            path = Path(tmp) / "crm.db"
            t0 = time.perf_counter()
            load_sqlite(path, d)
            size = path.stat().st_size / 2**30
            print(f"setup: SQLite loaded in {time.perf_counter() - t0:.0f} s ({size:.1f} GiB)")
            urls["sqlite"] = f"sqlite:///{path}"
        if "postgresql" in backends:
            t0 = time.perf_counter()
            load_postgres(args.postgres, d)
            print(f"setup: PostgreSQL loaded in {time.perf_counter() - t0:.0f} s")
            urls["postgresql"] = args.postgres
        del d
        gc.collect()
        try:
            results: dict[str, dict[str, Any]] = {}
            for report in ("rfm", "funnel"):
                for engine in ("pandas", "duckdb", *urls):
                    part = f"{'crmcore' if engine in urls else engine}-{report}"
                    res = _measure(part, data, urls.get(engine), args.repeat)
                    results[f"{engine}-{report}"] = res
        finally:
            if "postgresql" in urls and not args.keep:
                clear_postgres(args.postgres)
    load = os.getloadavg()
    print(f"measured (best of {args.repeat}; load average {load[0]:.1f} {load[1]:.1f}):")
    for report in ("rfm", "funnel"):
        peer_t = results[f"pandas-{report}"]["seconds"]
        duck_t = results[f"duckdb-{report}"]["seconds"]
        want = results[f"pandas-{report}"]["check"]
        for engine in ("pandas", "duckdb", *urls):
            r = results[f"{engine}-{report}"]
            got = r["check"]
            if report == "funnel":
                got, want_ = _funnel_check(got), _funnel_check(want)
            else:
                want_ = want
            same = "same numbers" if got == want_ else f"DIFFERENT: {got} vs {want_}"
            print(
                f"  {report:6s} {engine:10s} {r['seconds']:8.2f} s  peak RSS {r['peak_mb']:7.0f} MB"
                f" (+{r['peak_mb'] - r['base_mb']:6.0f} over setup)  "
                f"x pandas {r['seconds'] / peer_t:6.1f}  x duckdb {r['seconds'] / duck_t:6.1f}"
                f"  {same}"
            )


if __name__ == "__main__":
    main()
