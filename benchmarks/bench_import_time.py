"""How long ``import crmcore`` takes and what it loads, against its own floor.

    python benchmarks/bench_import_time.py [--repeat 15]

Each measurement is a fresh interpreter (``python -c``), so nothing is
cached in the process; the figure is the best of ``--repeat`` runs. The
floor is importing what crmcore cannot do without at import time (attrs and
cattrs, for the entities and their plain-data form). The run also lists the
heavy libraries that must stay unloaded (SQLAlchemy, cryptography, numpy,
pandas) and fails loudly if one is loaded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

PROBE = """
import json, sys, time
before = set(sys.modules)
t0 = time.perf_counter()
import {target}
elapsed = time.perf_counter() - t0
new = [m for m in sys.modules if m not in before]
print(json.dumps({{"s": elapsed, "modules": len(new),
                   "crmcore": len([m for m in new if m.startswith("crmcore")]),
                   "heavy": [h for h in ("sqlalchemy", "cryptography", "numpy", "pandas")
                             if h in sys.modules]}}))
"""


def measure(target: str, repeat: int) -> dict[str, object]:
    best: dict[str, object] | None = None
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(target=target)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        run = json.loads(out)
        if best is None or run["s"] < best["s"]:  # type: ignore[operator]
            best = run
    assert best is not None
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    floor = measure("attrs, cattrs", args.repeat)
    ours = measure("crmcore", args.repeat)
    print(f"floor (attrs + cattrs): {floor['s'] * 1000:7.1f} ms, {floor['modules']} modules")
    print(
        f"import crmcore:         {ours['s'] * 1000:7.1f} ms, {ours['modules']} modules "
        f"({ours['crmcore']} of crmcore); ratio {ours['s'] / floor['s']:.2f}x"  # type: ignore[operator]
    )
    print(f"heavy libraries loaded: {ours['heavy'] or 'none'}")
    if ours["heavy"]:
        raise SystemExit("import crmcore loaded a heavy library")


if __name__ == "__main__":
    main()
