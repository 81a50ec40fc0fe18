"""Entry-time duplicate check: ``BlockingIndex.possible_duplicates`` latency over a large index.

    python benchmarks/dedupe/latency.py 1000000 [--probes 2000]

Fits the model on a 20,000-record sample, indexes N generated records
(profile ``mixed``), then times ``possible_duplicates`` for probe records: half
are fresh variants of indexed people (they should be found), half are new
people. Reports build time, memory, and the latency distribution; the
reference in the same process is the time to normalise one record alone
(the floor any check pays).
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import resource
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generate import generate


def _records(n: int, seed: int) -> list[dict[str, object]]:
    path = os.path.join(tempfile.gettempdir(), f"crmcore-dedupe-{n}-{seed}.pkl")
    if os.path.exists(path):
        with open(path, "rb") as fh:
            records, _ = pickle.load(fh)
        return list(records)
    records, _ = generate(n, profile="mixed", seed=seed)
    return records


def main() -> None:
    from crmcore.dedupe import BlockingIndex, Deduper, DefaultNormalizer
    from crmcore.dedupe._records import read_records

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, nargs="?", default=1_000_000)
    ap.add_argument("--probes", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()

    records = _records(args.n, args.seed)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rng = random.Random(5)
    sample = rng.sample(records, min(20_000, len(records)))
    t = time.perf_counter()
    params = Deduper().fit(sample)
    print(f"model fitted on {len(sample)} records in {time.perf_counter() - t:.1f}s", flush=True)

    index = BlockingIndex(params)
    t = time.perf_counter()
    step = 100_000
    for start in range(0, len(records), step):
        index.add_many(records[start : start + step], workers=2)
    build = time.perf_counter() - t
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"indexed {len(index)} records in {build:.0f}s; peak RSS {rss1:.0f} MB "
        f"(records alone {rss0:.0f} MB)",
        flush=True,
    )

    fresh, _ = generate(args.probes, profile="mixed", seed=args.seed + 1000)
    known = rng.sample(records, args.probes // 2)
    probes = []
    for i, rec in enumerate(known):
        variant = dict(rec)
        variant.pop("id")
        if i % 2:
            variant["email"] = None  # a partial re-entry of a known customer
        probes.append(variant)
    probes += [{k: v for k, v in r.items() if k != "id"} for r in fresh[: args.probes // 2]]
    rng.shuffle(probes)

    normalizer = DefaultNormalizer()
    floor = []
    for rec in probes[:500]:
        t = time.perf_counter()
        normalizer(read_records([rec], require_ids=False))
        floor.append(time.perf_counter() - t)

    times = []
    found = 0
    for rec in probes:
        t = time.perf_counter()
        hits = index.possible_duplicates(rec)
        times.append(time.perf_counter() - t)
        found += bool(hits)
    times.sort()
    med = statistics.median(times) * 1000
    p90 = times[int(len(times) * 0.9)] * 1000
    p99 = times[int(len(times) * 0.99)] * 1000
    ref = statistics.median(floor) * 1000
    print(
        f"possible_duplicates over {len(index)} records: median {med:.2f} ms, "
        f"p90 {p90:.2f} ms, p99 {p99:.2f} ms, max {times[-1] * 1000:.1f} ms; "
        f"{found}/{len(probes)} probes had candidates"
    )
    print(f"reference: normalising one record alone, median {ref:.2f} ms (ratio {med / ref:.1f}x)")


if __name__ == "__main__":
    main()
