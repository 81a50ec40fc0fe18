"""The sales funnel pushed into the engine against pandas over the same data in memory.

    python benchmarks/bench_analytics_reports.py [--n 100000] [--repeat 3] [--postgres URL]

N opportunities, each with 0-4 stage transitions (about 2 per deal), are
written once to a SQLite file (and to PostgreSQL when ``--postgres`` or
``CRMCORE_BENCH_POSTGRES_URL`` names a server). Then, in the same run:

- ``sales_funnel(session, period="month")`` on the store: two ``GROUP BY``
  aggregates, nothing but the counts leaves the engine;
- the floor: the same funnel computed by pandas from DataFrames already in
  memory (``groupby().size()`` / ``nunique()``), as a notebook user would;
- the peer: what a user without pushdown does, reading every record through
  the session (``stream()``) into DataFrames and then running pandas.

Prints best-of-``--repeat`` times and the ratios against pandas in memory
(target: pushdown within 5x of the in-memory floor on SQLite, and faster than
reading the records out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd

import crmcore
from crmcore import Opportunity, Principal
from crmcore.analytics import sales_funnel
from crmcore.model import TransitionRecord
from crmcore.testing.contract import stamp

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 1, 1, tzinfo=UTC)
STAGES = ["qualification", "proposal", "negotiation", "closed_won"]


def make(n: int, tenant: str, seed: int = 7) -> tuple[list[Opportunity], list[TransitionRecord]]:
    rnd = random.Random(seed)
    opps: list[Opportunity] = []
    moves: list[TransitionRecord] = []
    for i in range(n):
        born = T0 + dt.timedelta(minutes=rnd.randrange(0, 540 * 24 * 60))
        o = stamp(Opportunity(name=f"d{i}", owner_id=f"u{i % 40}"), tenant, at=born)
        opps.append(o)
        at = born
        for k in range(rnd.randrange(0, 5)):
            at += dt.timedelta(hours=rnd.randrange(1, 24 * 30))
            moves.append(
                stamp(
                    TransitionRecord(
                        entity="Opportunity",
                        record_id=o.id,
                        machine="opportunity",
                        event="advance",
                        from_state="prospecting" if k == 0 else STAGES[k - 1],
                        to_state=STAGES[k],
                        at=at,
                    ),
                    tenant,
                    at=at,
                )
            )
    return opps, moves


def load(url: str, tenant: str, opps: list[Opportunity], moves: list[TransitionRecord]) -> float:
    start = time.perf_counter()
    crm = crmcore.connect(url)
    with crm.session(Principal.system_principal(tenant)) as s:
        for at in range(0, len(opps), 20_000):
            s.inner(Opportunity).add_many(opps[at : at + 20_000])
            s.commit()
        for at in range(0, len(moves), 20_000):
            s.inner(TransitionRecord).add_many(moves[at : at + 20_000])
            s.commit()
    crm.close()
    return time.perf_counter() - start


def pandas_funnel(o: pd.DataFrame, t: pd.DataFrame) -> pd.DataFrame:
    """The funnel (entries per month and stage) in pandas."""
    first = o.groupby(o["created_at"].dt.tz_localize(None).dt.to_period("M")).size()
    first = first.rename("entered").reset_index().rename(columns={"created_at": "period"})
    first["stage"] = "prospecting"
    later = (
        t.groupby([t["at"].dt.tz_localize(None).dt.to_period("M"), "to_state"])["record_id"]
        .nunique()
        .rename("entered")
        .reset_index()
        .rename(columns={"at": "period", "to_state": "stage"})
    )
    return pd.concat([first, later], ignore_index=True)


def frames(opps: list[Opportunity], moves: list[TransitionRecord]) -> tuple[pd.DataFrame, ...]:
    o = pd.DataFrame({"id": [x.id for x in opps], "created_at": [x.created_at for x in opps]})
    t = pd.DataFrame(
        {
            "record_id": [m.record_id for m in moves],
            "to_state": [m.to_state for m in moves],
            "at": [m.at for m in moves],
        }
    )
    o["created_at"] = pd.to_datetime(o["created_at"], utc=True)
    t["at"] = pd.to_datetime(t["at"], utc=True)
    return o, t


def best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def totals(df: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in df.groupby("stage")["entered"].sum().items()}


def run_backend(name: str, url: str, args: argparse.Namespace, data: tuple) -> None:
    tenant, opps, moves, floor, reference = data
    took = load(url, tenant, opps, moves)
    print(f"{name}: loaded {len(opps):,} opportunities + {len(moves):,} transitions in {took:.1f}s")
    crm = crmcore.connect(url)
    who = Principal.system_principal(tenant)

    def pushdown() -> object:
        with crm.session(who) as s:
            return sales_funnel(s, period="month").frame

    def read_out() -> object:
        with crm.session(who) as s:
            o = list(s.opportunities.stream(batch_size=5000))
            t = list(s.transitions.stream(batch_size=5000))
        return pandas_funnel(*frames(o, t))

    pushed, got = best(pushdown, args.repeat)
    assert isinstance(got, pd.DataFrame)
    have = {k: v for k, v in totals(got).items() if v}
    assert have == reference, (have, reference)  # the same funnel, whichever way
    print(f"  sales_funnel pushdown  {pushed * 1000:9.1f} ms   {pushed / floor:6.2f}x pandas")
    if args.read_out:
        peer, _ = best(read_out, 1)
        print(
            f"  stream() + pandas      {peer * 1000:9.1f} ms   {peer / floor:6.2f}x pandas"
            f"   (pushdown is {peer / pushed:.1f}x faster)"
        )
    crm.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="opportunities")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("CRMCORE_BENCH_POSTGRES_URL"))
    parser.add_argument(
        "--no-read-out",
        dest="read_out",
        action="store_false",
        help="skip the stream()+pandas peer (slow at large N)",
    )
    args = parser.parse_args()
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    opps, moves = make(args.n, tenant)
    o, t = frames(opps, moves)
    floor, ref = best(lambda: pandas_funnel(o, t), args.repeat)
    assert isinstance(ref, pd.DataFrame)
    reference = totals(ref)
    print(
        f"pandas in memory (floor) {floor * 1000:9.1f} ms for {args.n:,} opportunities, "
        f"{len(moves):,} transitions"
    )
    data = (tenant, opps, moves, floor, reference)
    with tempfile.TemporaryDirectory() as tmp:
        run_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args, data)
    if args.postgres:
        from crmcore.storage.sql import drop_schema

        drop_schema(args.postgres)
        run_backend("postgresql", args.postgres, args, data)


if __name__ == "__main__":
    main()
