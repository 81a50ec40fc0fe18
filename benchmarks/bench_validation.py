"""Benchmark: default validation of one customer against a floor measured in the same run.

Builds a deterministic mix of customers (national and international phones,
mixed-case e-mails, Latin and Han names), then times, interleaved, in one
process and on the same inputs:

- floor: ``phonenumbers.parse`` + ``format_number(E164)`` of the phone and
  ``normalize_email`` of the e-mail (the irreducible work, no record machinery);
- crmcore: the ``Customer`` hook of ``EntityValidation().validators()`` (what
  ``crmcore.connect`` runs before every add and update).

Each side runs ``--repeats`` times; the best time counts. Prints microseconds
per customer for both and the ratio crmcore / floor.

    python benchmarks/bench_validation.py [--n 5000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time
from collections.abc import Callable

import phonenumbers

from crmcore.model import Customer
from crmcore.validation import EntityValidation, normalize_email

_FIRST = ["wei", "Li", "张", "欧阳", "anna", "JOHN", "o'brien", "Müller"]
_LAST = ["zhang", "WANG", "伟", "修", "smith", "van der berg", "Lee"]


def build_customers(n: int, seed: int = 20241005) -> list[Customer]:
    """``n`` customers with a phone, an e-mail and names in realistic shapes."""
    rng = random.Random(seed)
    out: list[Customer] = []
    for i in range(n):
        digits = "".join(rng.choice("0123456789") for _ in range(8))
        phone = rng.choice(
            [
                f"138{digits}",
                f"138 {digits[:4]} {digits[4:]}",
                f"+86 139{digits}",
                f"010-6{digits[:7]}",
            ]
        )
        out.append(
            Customer(
                first_name=rng.choice(_FIRST),
                last_name=rng.choice(_LAST),
                email=f"User.{i}@Example.COM",
                phone=phone,
            )
        )
    return out


def _time(fn: Callable[[], None]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    customers = build_customers(args.n)
    hook = EntityValidation().validators()[Customer]
    e164 = phonenumbers.PhoneNumberFormat.E164

    def floor() -> None:
        for c in customers:
            phonenumbers.format_number(phonenumbers.parse(c.phone, "CN"), e164)
            normalize_email(c.email)

    def crmcore() -> None:
        for c in customers:
            hook(c)

    floor()
    crmcore()  # warm caches and lazy imports on both sides
    best_floor = best_crm = float("inf")
    for _ in range(args.repeats):
        best_floor = min(best_floor, _time(floor))
        best_crm = min(best_crm, _time(crmcore))
    per = 1e6 / args.n
    print(f"customers: {args.n}, repeats: {args.repeats} (best of)")
    print(f"floor (parse+format phone, normalize_email): {best_floor * per:8.1f} us/customer")
    print(f"crmcore EntityValidation Customer hook:       {best_crm * per:8.1f} us/customer")
    print(
        f"ratio crmcore / floor: {best_crm / best_floor:.2f} "
        "(target: <= 15 us per customer on a quiet 2-core machine, where the floor is ~20 us)"
    )
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
