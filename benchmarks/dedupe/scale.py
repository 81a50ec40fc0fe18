"""End-to-end dedupe at scale: crmcore vs a naive baseline and Splink, time and peak memory.

    python benchmarks/dedupe/scale.py 100000 [--workers 2] [--skip-splink] [--repeat 1]

Records come from ``generate.py`` (profile ``mixed``) and are written once to
a pickle in the temp directory; each contender then runs in its own child
process so that peak memory (``ru_maxrss`` of the child and its workers) is
its own:

* crmcore: ``find_duplicates`` from raw records: normalise, block, compare,
  estimate, score, cluster (``workers`` processes);
* naive: the floor, ``peers.run_naive``: blocking on three raw keys and one
  rapidfuzz batch score per candidate pair, no model (its F1 is not the point);
* Splink (DuckDB, all cores): on crmcore-normalised columns (``peers.py``),
  prepared beforehand in another child and read from parquet, so its time and
  memory *exclude* normalisation: training (random-sampling u, EM),
  ``predict``, then ``cluster_pairwise_predictions_at_threshold``.

The last lines are crmcore's time as a ratio of the naive floor's and of
Splink's (Splink is skipped when it is not installed). ``--repeat`` runs each
contender that many times and keeps the best time; the load average is
printed with it, since this is a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _data_path(n: int, seed: int) -> str:
    return os.path.join(tempfile.gettempdir(), f"crmcore-dedupe-{n}-{seed}.pkl")


def _ensure_data(n: int, seed: int) -> str:
    path = _data_path(n, seed)
    if not os.path.exists(path):
        from generate import generate

        records, truth = generate(n, profile="mixed", seed=seed)
        with open(path + ".tmp", "wb") as fh:
            pickle.dump((records, truth), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(path + ".tmp", path)
    return path


def _peak_mb() -> float:
    """Peak RSS of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _worker_peak_mb() -> float:
    """Peak RSS of the largest finished child (a worker process), shared pages included."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def _child(which: str, path: str, workers: int) -> None:
    from generate import true_pairs
    from peers import prf

    if which == "splink":
        _splink_child(path)
        return
    with open(path, "rb") as fh:
        records, truth = pickle.load(fh)
    base = _peak_mb()
    gold = true_pairs(truth)
    out: dict[str, object] = {"which": which, "records": len(records), "loaded_mb": base}
    if which == "naive":
        from peers import run_naive

        found, secs = run_naive(records)
        out["seconds"] = secs
        out["f1"] = prf(found, gold)["f1"]
    elif which == "crmcore":
        from crmcore.dedupe import find_duplicates

        t = time.perf_counter()
        res = find_duplicates(records, workers=workers)
        out["seconds"] = time.perf_counter() - t
        out["stages"] = {k: round(v, 1) for k, v in res.stats["seconds"].items()}
        out["candidate_pairs"] = res.stats["candidate_pairs"]
        out["clusters"] = len(res.clusters)
        out["f1"] = prf({(str(p.left), str(p.right)) for p in res.pairs}, gold)["f1"]
    else:
        from peers import peer_frame

        t = time.perf_counter()
        frame = peer_frame(records)
        frame["truth"] = [truth[r["id"]] for r in records]
        frame.to_parquet(path + ".peers.parquet")
        out["seconds"] = time.perf_counter() - t
        out["f1"] = float("nan")
    out["peak_mb"] = _peak_mb()
    out["worker_peak_mb"] = _worker_peak_mb()
    print("RESULT " + json.dumps(out), flush=True)


def _splink_child(path: str) -> None:
    import logging

    import pandas as pd
    from generate import true_pairs
    from peers import prf, run_splink

    frame = pd.read_parquet(path + ".peers.parquet")
    gold = true_pairs(dict(zip(frame["id"], frame["truth"], strict=True)))
    frame = frame.drop(columns=["truth"])
    out: dict[str, object] = {"which": "splink", "records": len(frame), "loaded_mb": _peak_mb()}
    logging.getLogger("splink").setLevel(logging.ERROR)
    t = time.perf_counter()
    pairs, _ = run_splink(frame, thresholds=(0.9,), cluster=True)
    out["seconds"] = time.perf_counter() - t
    out["f1"] = prf(pairs[0.9], gold)["f1"]
    out["peak_mb"] = _peak_mb()
    out["worker_peak_mb"] = _worker_peak_mb()
    print("RESULT " + json.dumps(out), flush=True)


def _run_child(which: str, path: str, workers: int) -> dict[str, object]:
    proc = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--child",
            which,
            "--data",
            path,
            "--workers",
            str(workers),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise SystemExit(f"{which} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def _best(which: str, path: str, workers: int, repeat: int) -> dict[str, object]:
    runs = [_run_child(which, path, workers) for _ in range(max(1, repeat))]
    return min(runs, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, nargs="?", default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--skip-splink", action="store_true")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--child")
    ap.add_argument("--data")
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.data, args.workers)
        return
    t = time.perf_counter()
    path = _ensure_data(args.n, args.seed)
    print(f"data: {args.n} records ({time.perf_counter() - t:.0f}s to make/load)", flush=True)
    print(f"load average before: {_load()}", flush=True)
    crm = _best("crmcore", path, args.workers, args.repeat)
    print(
        f"crmcore: {crm['seconds']:.1f}s  peak {crm['peak_mb']:.0f} MB  "
        f"(data alone {crm['loaded_mb']:.0f} MB)  F1 {crm['f1']:.3f}  "
        f"pairs {crm['candidate_pairs']}  stages {crm['stages']}",
        flush=True,
    )
    naive = _best("naive", path, args.workers, args.repeat)
    print(
        f"naive:   {naive['seconds']:.1f}s  peak {naive['peak_mb']:.0f} MB  "
        f"(data alone {naive['loaded_mb']:.0f} MB)  F1 {naive['f1']:.3f}",
        flush=True,
    )
    print(
        f"crmcore time / naive floor time = "
        f"{float(crm['seconds']) / float(naive['seconds']):.2f}  (load average {_load()})",
        flush=True,
    )
    try:
        import splink  # noqa: F401
    except ImportError:
        print("splink not installed: skipped (pip install splink duckdb)")
        return
    if args.skip_splink:
        return
    if not os.path.exists(path + ".peers.parquet"):
        prep = _run_child("prepare", path, args.workers)
        print(f"peer input prepared in {prep['seconds']:.0f}s (not timed)", flush=True)
    spl = _run_child("splink", path, args.workers)
    print(
        f"splink:  {spl['seconds']:.1f}s  peak {spl['peak_mb']:.0f} MB  "
        f"(data alone {spl['loaded_mb']:.0f} MB)  F1 {spl['f1']:.3f}",
        flush=True,
    )
    print(
        f"crmcore time / splink time = {float(crm['seconds']) / float(spl['seconds']):.2f}; "
        f"peak memory ratio = {float(crm['peak_mb']) / float(spl['peak_mb']):.2f}"
    )


if __name__ == "__main__":
    main()
