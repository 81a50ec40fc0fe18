"""Marketing event ingestion and the campaign report, against pandas over the same events.

    python benchmarks/bench_marketing.py [--n 100000] [--customers 20000] [--postgres URL]
        [--no-sqlite]

- ingest: ``services.ingest_events`` of N provider events (sent, delivered,
  opened, clicked, converted, unsubscribed, bounced, complained) in one call
  and one commit into a fresh SQLite file (and PostgreSQL when a URL is given
  or ``CRMCORE_TEST_POSTGRES_URL`` is set and reachable): events per second,
  and a second ingest of the same events (all duplicates, nothing written);
- report: ``campaign_funnel`` (GROUP BY in the database) against a pandas
  groupby computing the same funnel from the same events already in a
  DataFrame, in the same run: the ratio is ours / pandas (both must agree).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import crmcore
from crmcore import services as sv
from crmcore.model import Campaign, CampaignEvent, Channel, Customer, Money, Principal
from crmcore.storage import FUNNEL_RANK, campaign_funnel


def make_events(n: int, customers: list[uuid.UUID], campaign: uuid.UUID) -> list[dict[str, Any]]:
    rng = random.Random(1)
    t0 = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    weights = [
        ("sent", 30),
        ("delivered", 28),
        ("opened", 15),
        ("clicked", 8),
        ("converted", 2),
        ("unsubscribed", 1),
        ("bounced", 1),
        ("complained", 0.2),
    ]
    kinds = [k for k, _ in weights]
    w = [x for _, x in weights]
    out = []
    for i in range(n):
        kind = rng.choices(kinds, w)[0]
        cust = customers[rng.randrange(len(customers))]
        e: dict[str, Any] = {
            "id": f"evt-{i}",
            "kind": kind,
            "campaign_id": campaign,
            "customer_id": cust,
            "variant": "A" if cust.int % 2 else "B",
            "occurred_at": t0 + dt.timedelta(seconds=rng.randrange(86400 * 7)),
            "address": f"{cust.hex}@example.com",
            "permanent": True,
        }
        if kind == "converted":
            e["value"] = Money("99.00", "CNY")
        out.append(e)
    return out


def pandas_funnel(events: list[dict[str, Any]]) -> tuple[float, dict[str, tuple[int, ...]]]:
    import pandas as pd

    df = pd.DataFrame(
        {
            "variant": [e["variant"] for e in events],
            "customer_id": [e["customer_id"].hex for e in events],
            "kind": [e["kind"] for e in events],
        }
    )
    start = time.perf_counter()
    df["rank"] = df["kind"].map(FUNNEL_RANK)
    for k in ("converted", "unsubscribed", "bounced", "complained"):
        df[k] = (df["kind"] == k).astype("int8")
    per = df.groupby(["variant", "customer_id"], sort=False).agg(
        stage=("rank", "max"),
        converted=("converted", "max"),
        unsubscribed=("unsubscribed", "max"),
        bounced=("bounced", "max"),
        complained=("complained", "max"),
    )
    per["delivered"] = per["stage"] >= 1
    per["opened"] = per["stage"] >= 2
    per["clicked"] = per["stage"] >= 3
    out = per.groupby(level=0).agg(
        sent=("stage", "size"),
        delivered=("delivered", "sum"),
        opened=("opened", "sum"),
        clicked=("clicked", "sum"),
        converted=("converted", "sum"),
        unsubscribed=("unsubscribed", "sum"),
        bounced=("bounced", "sum"),
        complained=("complained", "sum"),
    )
    took = time.perf_counter() - start
    return took, {str(v): tuple(int(x) for x in row) for v, row in out.iterrows()}


def run(url: str, label: str, n: int, n_customers: int) -> None:
    crm = crmcore.connect(url, validation=False)
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    p = Principal.system_principal(tenant)
    with crm.session(p) as s:
        people = s.customers.add_many(
            Customer(first_name=f"c{i}", email=f"c{i}@example.com") for i in range(n_customers)
        )
        camp = s.repo(Campaign).add(Campaign(name="bench", channel=Channel.EMAIL))
    ids = [c.id for c in people]
    events = make_events(n, ids, camp.id)
    start, cpu = time.perf_counter(), time.process_time()
    with crm.session(p) as s:
        first = sv.ingest_events(s, events)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    rate = n / took
    print(f"[{label}] ingest {n} events: {took:.2f} s = {rate:,.0f} events/s", end="")
    print(f" ({first.stored} stored, {first.unsubscribes} unsub., {first.suppressions} supp.)")
    print(f"[{label}]   of which this process on CPU {cpu:.2f} s = {n / cpu:,.0f} events/CPU-s")
    start = time.perf_counter()
    with crm.session(p) as s:
        again = sv.ingest_events(s, events)
    took2 = time.perf_counter() - start
    rate2 = n / took2
    print(f"[{label}] re-ingest (all duplicates): {took2:.2f} s = {rate2:,.0f} events/s", end="")
    print(f", {again.stored} stored")
    with crm.session(p) as s:
        start = time.perf_counter()
        rows = campaign_funnel(s.inner(CampaignEvent), tenant, camp.id)
        ours = time.perf_counter() - start
        start = time.perf_counter()
        report = sv.campaign_report(s, camp.id, metric="click")
        full = time.perf_counter() - start
    theirs, expected = pandas_funnel(events)
    got = {
        str(r.variant): (
            r.sent,
            r.delivered,
            r.opened,
            r.clicked,
            r.converted,
            r.unsubscribed,
            r.bounced,
            r.complained,
        )
        for r in rows
    }
    assert got == expected, (got, expected)
    test = report.tests.get("B")
    print(
        f"[{label}] funnel GROUP BY {ours * 1000:.1f} ms vs pandas groupby {theirs * 1000:.1f} ms"
        f" (ratio {ours / theirs:.2f}x; same counts); full report {full * 1000:.0f} ms"
        + (f"; click B vs A z={test.z:.2f} p={test.p_value:.3f}" if test else "")
    )
    crm.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--postgres", default=os.environ.get("CRMCORE_TEST_POSTGRES_URL"))
    ap.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    args = ap.parse_args()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    if args.sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite", args.n, args.customers)
    if args.postgres:
        try:
            run(args.postgres, "postgresql", args.n, args.customers)
        except Exception as exc:
            print(f"[postgresql] skipped: {type(exc).__name__}: {exc}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
