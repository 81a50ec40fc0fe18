"""Benchmark: crmcore.validation.normalize_phone vs raw phonenumbers parse + format.

Builds a deterministic mix of phone inputs (Chinese mobiles and fixed lines in
many shapes, US, UK and German numbers, about 5% invalid), then times, in the
same process and on the same inputs:

- reference: ``phonenumbers.parse(text, region)`` + ``format_number(E164)``
  (no validation at all);
- crmcore: ``normalize_phone(text, region=region)`` (parses, validates, E.164).

Each side runs ``--repeats`` times, interleaved; the best time counts. The
target is a ratio of at most 1.2.

    python benchmarks/bench_normalize_phone.py [--n 100000] [--repeats 5] [--check]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable

import phonenumbers

from crmcore.errors import ValidationError
from crmcore.validation import normalize_phone

Inputs = list[tuple[str, str]]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def build_inputs(n: int, seed: int = 20241005) -> Inputs:
    """``n`` (text, default region) pairs in realistic proportions."""
    rng = random.Random(seed)
    out: Inputs = []
    mobile_prefixes = ["130", "135", "138", "139", "150", "158", "186", "188", "199", "177"]
    cn_areas = [("10", 8), ("21", 8), ("755", 8), ("20", 8), ("571", 8), ("28", 8)]
    for _ in range(n):
        r = rng.random()
        if r < 0.40:  # Chinese mobiles, many shapes
            p, a, b = rng.choice(mobile_prefixes), _digits(rng, 4), _digits(rng, 4)
            shape = rng.randrange(6)
            text = [
                f"{p} {a} {b}",
                f"{p}{a}{b}",
                f"+86 {p}-{a}-{b}",
                f"+86{p}{a}{b}",
                f"0086 {p} {a} {b}",
                f"{p}-{a}-{b}",
            ][shape]
            out.append((text, "CN"))
        elif r < 0.55:  # Chinese fixed lines
            area, size = rng.choice(cn_areas)
            local = str(rng.randint(2, 8)) + _digits(rng, size - 1)
            shape = rng.randrange(3)
            text = [
                f"0{area}-{local}",
                f"(0{area}) {local[:4]} {local[4:]}",
                f"+86 {area} {local}",
            ][shape]
            out.append((text, "CN"))
        elif r < 0.70:  # United States
            area = rng.choice(["212", "415", "617", "312", "206", "646"])
            exch = str(rng.randint(2, 9)) + _digits(rng, 2)
            line = _digits(rng, 4)
            shape = rng.randrange(4)
            text = [
                f"({area}) {exch}-{line}",
                f"{area}.{exch}.{line}",
                f"+1 {area} {exch} {line}",
                f"1-{area}-{exch}-{line}",
            ][shape]
            out.append((text, "US"))
        elif r < 0.82:  # United Kingdom
            shape = rng.randrange(3)
            if shape == 0:
                text = f"020 7{_digits(rng, 3)} {_digits(rng, 4)}"
            elif shape == 1:
                text = f"+44 20 7{_digits(rng, 3)} {_digits(rng, 4)}"
            else:
                text = f"07{rng.choice(['7', '8', '9'])}{_digits(rng, 2)} {_digits(rng, 6)}"
            out.append((text, "GB"))
        elif r < 0.95:  # Germany
            shape = rng.randrange(3)
            if shape == 0:
                text = f"030 {rng.randint(2, 9)}{_digits(rng, 7)}"
            elif shape == 1:
                text = f"+49 151 {_digits(rng, 8)}"
            else:
                text = f"089 {rng.randint(2, 9)}{_digits(rng, 6)}"
            out.append((text, "DE"))
        else:  # invalid
            shape = rng.randrange(4)
            text = ["12", _digits(rng, 5), "not a number", _digits(rng, 20)][shape]
            out.append((text, rng.choice(["CN", "US"])))
    return out


def run_reference(inputs: Inputs) -> int:
    """phonenumbers.parse + format_number(E164), no validation."""
    parse = phonenumbers.parse
    fmt = phonenumbers.format_number
    e164 = phonenumbers.PhoneNumberFormat.E164
    error = phonenumbers.NumberParseException
    ok = 0
    for text, region in inputs:
        try:
            fmt(parse(text, region), e164)
            ok += 1
        except error:
            pass
    return ok


def run_crmcore(inputs: Inputs) -> int:
    """crmcore normalize_phone: parse, validate, E.164."""
    ok = 0
    for text, region in inputs:
        try:
            normalize_phone(text, region=region)
            ok += 1
        except ValidationError:
            pass
    return ok


def best_of(fn: Callable[[Inputs], int], inputs: Inputs) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    ok = fn(inputs)
    return time.perf_counter() - start, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of inputs")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per side")
    parser.add_argument("--check", action="store_true", help="exit 1 if ratio > 1.2")
    args = parser.parse_args(argv)

    inputs = build_inputs(args.n)
    warm = inputs[:2000]
    run_reference(warm)  # load metadata for both sides before timing
    run_crmcore(warm)

    ref_times: list[float] = []
    our_times: list[float] = []
    ref_ok = our_ok = 0
    for _ in range(args.repeats):
        t, ref_ok = best_of(run_reference, inputs)
        ref_times.append(t)
        t, our_ok = best_of(run_crmcore, inputs)
        our_times.append(t)
    ref, ours = min(ref_times), min(our_times)
    ratio = ours / ref
    print(f"inputs: {len(inputs)}  repeats: {args.repeats} (best of)")
    print(
        f"phonenumbers parse+format : {ref:.3f} s  ({ref / len(inputs) * 1e6:.1f} us/number, "
        f"{ref_ok} parsed)"
    )
    print(
        f"crmcore normalize_phone   : {ours:.3f} s  ({ours / len(inputs) * 1e6:.1f} us/number, "
        f"{our_ok} valid)"
    )
    print(f"ratio crmcore/phonenumbers: {ratio:.2f}x  (target <= 1.20x)")
    return 1 if args.check and ratio > 1.2 else 0


if __name__ == "__main__":
    sys.exit(main())
