"""Pair precision / recall / F1 of crmcore vs Splink and recordlinkage, same data, same run.

    python benchmarks/dedupe/accuracy.py [N] [--profiles chinese,western,mixed,noisy] [--seed S]

For every dataset profile of ``generate.py`` the same records go to crmcore
(``find_duplicates`` at its default thresholds, no tuning) and to the peers
(see ``peers.py``: same normalised inputs, unsupervised training). The table
shows match-pair precision, recall and F1 (crmcore also by its clusters), the
best peer, and crmcore's F1 as a ratio of the best peer's.

Needs ``pip install splink duckdb recordlinkage`` (bench-only).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generate import PROFILES, generate, true_pairs
from peers import peer_frame, prf, run_crmcore, run_recordlinkage, run_splink


def _cluster_pairs(result: object) -> set[tuple[str, str]]:
    out = set()
    for c in result.clusters:  # type: ignore[attr-defined]
        ids = sorted(str(i) for i in c.ids)
        out.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
    return out


def _row(name: str, m: dict[str, float], secs: float | None) -> str:
    timing = "" if secs is None else f" {secs:6.1f}"
    return f"{name:24} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f}{timing}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, nargs="?", default=5000)
    ap.add_argument("--profiles", default=",".join(PROFILES))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rows = []
    for profile in args.profiles.split(","):
        records, truth = generate(args.n, profile=profile, seed=args.seed)
        gold = true_pairs(truth)
        found, secs, res = run_crmcore(records)
        crm = prf(found, gold)
        crm_cl = prf(_cluster_pairs(res), gold)
        frame = peer_frame(records)
        try:
            splink_pairs, splink_secs = run_splink(frame)
            splink = {th: prf(p, gold) for th, p in splink_pairs.items()}
        except ImportError:
            splink, splink_secs = {}, float("nan")
        try:
            rl_pairs, rl_secs = run_recordlinkage(frame)
            rl = {name: prf(p, gold) for name, p in rl_pairs.items()}
        except ImportError:
            rl, rl_secs = {}, float("nan")
        peers = {f"splink@{th}": m for th, m in splink.items()}
        peers.update({f"recordlinkage/{name}": m for name, m in rl.items()})
        best_name = max(peers, key=lambda k: peers[k]["f1"]) if peers else "-"
        best = peers.get(best_name, {"f1": float("nan")})
        rows.append(
            (
                profile,
                len(records),
                len(gold),
                crm,
                crm_cl,
                secs,
                peers,
                splink_secs,
                rl_secs,
                best_name,
                best,
            )
        )

    head = f"{'profile':8} {'records':>7} {'true':>6}"
    print(f"\n{head} | {'method':24} {'P':>6} {'R':>6} {'F1':>6} {'secs':>6}")
    for profile, n, n_true, crm, crm_cl, secs, peers, s_secs, r_secs, best_name, best in rows:
        lead = f"{profile:8} {n:7d} {n_true:6d}"
        print(f"{lead} | {_row('crmcore (pairs)', crm, secs)}")
        print(f"{'':23}| {_row('crmcore (clusters)', crm_cl, None)}")
        for name, m in peers.items():
            t = s_secs if name.startswith("splink") else r_secs
            print(f"{'':23}| {_row(name, m, t)}")
        ratio = crm["f1"] / best["f1"] if best["f1"] else float("nan")
        verdict = "OK" if crm["f1"] >= best["f1"] else "BELOW"
        print(f"{'':23}| crmcore F1 / best peer ({best_name}) = {ratio:.3f}  {verdict}")


if __name__ == "__main__":
    main()
