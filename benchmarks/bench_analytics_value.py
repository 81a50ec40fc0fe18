"""RFM at scale: crmcore.analytics against plain pandas on the same data, in the same run.

    python benchmarks/bench_analytics_value.py [--customers 100000] [--store-customers 5000]

- frame: N customers with 10 N order lines (orders of 1-5 lines), as one
  orders frame; ``crmcore.analytics.rfm`` (raw metrics, tie-safe quantile
  scores, named segments, segment summary) against a hand-written pandas
  groupby + rank computation of the same numbers (checked equal), best of
  ``--repeat`` runs, sides alternating;
- store: ``--store-customers`` customers written to a temp SQLite file and
  to ``memory://``; ``read_orders`` (paged through a session) + ``rfm``
  against pandas on the frame already in memory: the cost of going through
  the store, tenant scope and all (today dominated by the adapters' record
  decoding; the aggregate port is the way to push RFM into the engine).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

import crmcore
from crmcore import Money, Order, OrderLine
from crmcore.analytics import read_orders, rfm

AS_OF = pd.Timestamp("2025-01-01", tz="UTC")


def make_orders(customers: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(orders, lines): ~10 lines per customer in orders of 1-5 lines; amounts in cents."""
    rng = np.random.default_rng(seed)
    n_lines = 10 * customers
    sizes = rng.integers(1, 6, size=n_lines // 3 + customers)
    sizes = sizes[np.cumsum(sizes) <= n_lines]
    n_orders = len(sizes)
    owner = np.concatenate([np.arange(customers), rng.integers(0, customers, n_orders - customers)])
    at = AS_OF - pd.to_timedelta(rng.integers(0, 730 * 86400, n_orders), unit="s")
    order_ids = np.arange(n_orders)
    line_order = np.repeat(order_ids, sizes)
    line_cents = rng.integers(100, 20000, len(line_order))
    lines = pd.DataFrame(
        {"order_id": line_order, "sku": rng.integers(0, 200, len(line_order)), "cents": line_cents}
    )
    totals = lines.groupby("order_id")["cents"].sum().to_numpy()
    orders = pd.DataFrame(
        {
            "order_id": order_ids,
            "customer_id": [f"c{i:07d}" for i in owner],
            "ordered_at": at,
            "amount": totals / 100.0,
        }
    )
    return orders, lines


def pandas_rfm(orders: pd.DataFrame, as_of: pd.Timestamp, bins: int = 5) -> pd.DataFrame:
    """The peer: what a notebook writes with groupby and rank."""
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


def best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def store_orders(frame: pd.DataFrame, lines: pd.DataFrame) -> list[Order]:
    ids: dict[str, uuid.UUID] = {}
    per_order = lines.groupby("order_id")
    out = []
    for row, (_, part) in zip(frame.itertuples(), per_order, strict=True):
        cid = ids.setdefault(row.customer_id, uuid.uuid4())
        out.append(
            Order(
                customer_id=cid,
                ordered_at=row.ordered_at.to_pydatetime(),
                lines=tuple(
                    OrderLine(sku=f"sku{s}", unit_price=Money(Decimal(int(c)) / 100, "CNY"))
                    for s, c in zip(part["sku"], part["cents"], strict=True)
                ),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--store-customers", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    orders, lines = make_orders(args.customers)
    print(f"frame: {args.customers:,} customers, {len(orders):,} orders, {len(lines):,} lines")
    ours_t, peer_t = [], []
    result = peer = None
    for _ in range(args.repeat):
        t, peer = best(lambda: pandas_rfm(orders, AS_OF), 1)
        peer_t.append(t)
        t, result = best(lambda: rfm(orders, AS_OF), 1)
        ours_t.append(t)
    assert result is not None and peer is not None
    got = result.frame  # type: ignore[attr-defined]
    for col in ("frequency", "r_score", "f_score", "m_score"):
        assert (got[col].to_numpy() == peer[col].to_numpy()).all(), col  # type: ignore[index]
    assert np.allclose(got["monetary"], peer["monetary"])  # type: ignore[index]
    o, p = min(ours_t), min(peer_t)
    print(f"  crmcore rfm (scores + segments + summary) {o * 1e3:8.1f} ms")
    print(f"  pandas groupby + rank (scores only)       {p * 1e3:8.1f} ms")
    print(f"  ratio crmcore / pandas                    {o / p:8.2f}x  (same numbers checked)")

    small_orders, small_lines = make_orders(args.store_customers, seed=1)
    records = store_orders(small_orders, small_lines)
    print(
        f"store: {args.store_customers:,} customers, {len(records):,} orders, "
        f"{len(small_lines):,} lines"
    )
    peer_small, _ = best(lambda: pandas_rfm(small_orders, AS_OF), args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        for url in ("memory://", f"sqlite:///{Path(tmp) / 'bench.db'}"):
            crm = crmcore.connect(url, validation=False)
            t0 = time.perf_counter()
            with crm.session() as s:
                s.orders.add_many(records)
            write = time.perf_counter() - t0

            def through_store(crm: crmcore.Crm = crm) -> object:
                with crm.session() as s:
                    return rfm(read_orders(s, page_size=5000), AS_OF)

            took, res = best(through_store, args.repeat)
            assert len(res.frame) == args.store_customers  # type: ignore[attr-defined]
            name = url.split(":")[0]
            print(
                f"  {name:7s} write {write:6.2f} s; read_orders + rfm {took * 1e3:8.1f} ms "
                f"vs pandas on the frame {peer_small * 1e3:6.1f} ms: {took / peer_small:6.1f}x"
            )
            crm.close()


if __name__ == "__main__":
    main()
