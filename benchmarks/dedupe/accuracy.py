"""Pair precision / recall / F1 of crmcore vs Splink and recordlinkage, same data, same run.

    python benchmarks/dedupe/accuracy.py [N] [--profiles chinese,western,mixed,noisy,typos,linkage]
        [--seed S] [--peer-python /path/to/peers-venv/bin/python] [--no-peers]

For every dataset profile of ``generate.py`` the same records go to crmcore
(``find_duplicates`` at its default thresholds, no tuning) and to the peers
(see ``peers.py``: same normalised inputs, unsupervised training). ``typos`` is
the typo-heavy profile, ``linkage`` the two-file one (``N`` records per file,
crmcore run as ``find_duplicates(a, link_to=b)``, the peers in their link
modes). The table shows match-pair precision, recall and F1 (crmcore also by
its clusters: every pair inside a cluster counts as found), the best peer, and
crmcore's F1 as a ratio of the best peer's.

For crmcore it also splits the recall: ``blocking recall`` is the share of true
pairs that survive blocking (a candidate pair), ``classifier recall`` the share
of those candidates scored at or above the match threshold.

The peers need ``pip install splink duckdb recordlinkage`` (bench-only). They pin
``pandas<3``, so they usually live in a virtualenv of their own: pass its
interpreter as ``--peer-python`` (or set ``CRMCORE_PEER_PYTHON``) and they run
there on the same frames.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generate import PROFILES, generate, generate_linkage, true_pairs
from peers import (
    peer_frame,
    prf,
    run_crmcore,
    run_peers_elsewhere,
    run_recordlinkage,
    run_splink,
)

ALL_PROFILES = (*PROFILES, "typos", "linkage")


def _cluster_pairs(result: Any) -> set[tuple[str, str]]:
    out = set()
    for c in result.clusters:
        if c.sides:  # a linkage: only cross pairs count
            left = sorted(str(i) for i, s in zip(c.ids, c.sides, strict=True) if s == "left")
            right = sorted(str(i) for i, s in zip(c.ids, c.sides, strict=True) if s == "right")
            out.update((a, b) for a in left for b in right)
            continue
        ids = sorted(str(i) for i in c.ids)
        out.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
    return out


def _blocking_split(
    records: list[dict[str, Any]],
    other: list[dict[str, Any]] | None,
    gold: set[tuple[str, str]],
    found: set[tuple[str, str]],
) -> tuple[float, float]:
    """(blocking recall, classifier recall among the blocked true pairs)."""
    from crmcore.dedupe import Deduper

    d = Deduper()
    table = d.normalize(records + (other or []))
    pairs = d._blocker()(table)
    ids = [str(i) for i in table.ids]
    cand = set()
    for a, b in zip(pairs.left.tolist(), pairs.right.tolist(), strict=True):
        x, y = ids[a], ids[b]
        cand.add((x, y) if x < y else (y, x))
    blocked = gold & cand
    block_r = len(blocked) / len(gold) if gold else 1.0
    clf_r = len(blocked & found) / len(blocked) if blocked else 1.0
    return block_r, clf_r


def _row(name: str, m: dict[str, float], secs: float | None) -> str:
    timing = "" if secs is None else f" {secs:6.1f}"
    return f"{name:24} {m['precision']:6.4f} {m['recall']:6.4f} {m['f1']:6.4f}{timing}"


def _peers(
    frame: Any, link: Any, python: str | None, skip: bool
) -> tuple[dict[str, dict[float, set[Any]] | dict[str, set[Any]]], float, float]:
    if skip:
        return {}, float("nan"), float("nan")
    if python:
        splink, s_secs, rl, r_secs = run_peers_elsewhere(python, frame, link)
        return {"splink": splink, "recordlinkage": rl}, s_secs, r_secs
    out: dict[str, Any] = {}
    s_secs = r_secs = float("nan")
    try:
        out["splink"], s_secs = run_splink(frame, link=link)
    except ImportError:
        pass
    try:
        out["recordlinkage"], r_secs = run_recordlinkage(frame, link=link)
    except ImportError:
        pass
    return out, s_secs, r_secs


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("n", type=int, nargs="?", default=5000)
    ap.add_argument("--profiles", default=",".join(ALL_PROFILES))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--peer-python", default=os.environ.get("CRMCORE_PEER_PYTHON"))
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    rows = []
    splits: list[tuple[float, float]] = []
    for profile in args.profiles.split(","):
        other: list[dict[str, Any]] | None = None
        if profile == "linkage":
            records, other, truth = generate_linkage(args.n, seed=args.seed)
        else:
            records, truth = generate(args.n, profile=profile, seed=args.seed)
        gold = true_pairs(truth)
        found, secs, res = run_crmcore(records, **({} if other is None else {"link_to": other}))
        crm = prf(found, gold)
        crm_cl = prf(_cluster_pairs(res), gold)
        block_r, clf_r = _blocking_split(records, other, gold, found)
        frame = peer_frame(records)
        link = None if other is None else peer_frame(other)
        raw, splink_secs, rl_secs = _peers(frame, link, args.peer_python, args.no_peers)
        peers = {f"splink@{th}": prf(p, gold) for th, p in raw.get("splink", {}).items()}
        peers.update(
            {f"recordlinkage/{k}": prf(p, gold) for k, p in raw.get("recordlinkage", {}).items()}
        )
        best_name = max(peers, key=lambda k: peers[k]["f1"]) if peers else "-"
        best = peers.get(best_name, {"f1": float("nan")})
        n_records = len(records) + len(other or [])
        timing = (secs, splink_secs, rl_secs)
        rows.append((profile, n_records, len(gold), crm, crm_cl, peers, timing, best_name, best))
        splits.append((block_r, clf_r))

    head = f"{'profile':8} {'records':>7} {'true':>6}"
    print(f"\n{head} | {'method':24} {'P':>6} {'R':>6} {'F1':>6} {'secs':>6}")
    for row, (br, cr) in zip(rows, splits, strict=True):
        profile, n, n_true, crm, crm_cl, peers, (secs, s_secs, r_secs), best_name, best = row
        lead = f"{profile:8} {n:7d} {n_true:6d}"
        print(f"{lead} | {_row('crmcore (pairs)', crm, secs)}")
        print(f"{'':23}| {_row('crmcore (clusters)', crm_cl, None)}")
        print(f"{'':23}| crmcore blocking recall {br:.4f}, classifier recall {cr:.4f}")
        for name, m in peers.items():
            t = s_secs if name.startswith("splink") else r_secs
            print(f"{'':23}| {_row(name, m, t)}")
        if peers:
            ratio = crm["f1"] / best["f1"] if best["f1"] else float("nan")
            verdict = "OK" if crm["f1"] >= best["f1"] else "BELOW"
            print(f"{'':23}| crmcore F1 / best peer ({best_name}) = {ratio:.3f}  {verdict}")


if __name__ == "__main__":
    main()
