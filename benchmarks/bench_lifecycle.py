"""Benchmark: one guarded transition with a history entry, crmcore vs ``transitions``.

Run: ``python benchmarks/bench_lifecycle.py [--n 20000] [--repeat 5]``
(needs ``pip install transitions``, part of the ``dev`` extra).

The same two-state machine runs in both libraries in this process: ``submit``
(draft -> review) and ``withdraw`` (review -> draft), each guarded by
``amount > 0`` and each writing a :class:`~crmcore.lifecycle.HistoryEntry`.
The record is a frozen, slotted attrs class with ten fields, like a CRM entity.

Scenarios, reported in microseconds per transition (best of ``--repeat``):

- reuse: one context, one record/model, events fired back to back. crmcore
  copies the frozen record on every transition; ``transitions`` only sets an
  attribute on its mutable model (the record is not updated).
- per request: what a CRM does per HTTP request: a fresh context, and for
  ``transitions`` a fresh model bound to one shared machine
  (``add_model``/``remove_model``) and the record updated from the model's state.
- machine per request (``transitions`` only): a whole ``transitions.Machine``
  built per request, as some applications do; compared with crmcore per request.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import attrs

from crmcore.lifecycle import HistoryEntry, Machine, State, Transition, TransitionContext

NOW = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)
ACTOR = "user-42"


@attrs.frozen
class Deal:
    """A CRM-like frozen record (ten fields)."""

    id: UUID
    tenant_id: str
    name: str
    owner_id: str
    amount: Decimal
    currency: str
    status: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


def amount_positive(record: Any, ctx: TransitionContext) -> str | None:
    """The guard: a deal needs a positive amount."""
    return None if record.amount > 0 else "amount must be positive"


CRM_MACHINE = Machine(
    "deal",
    field="status",
    states=["draft", "review", State("archived", final=True)],
    initial="draft",
    transitions=[
        Transition("submit", "draft", "review", guards=amount_positive),
        Transition("withdraw", "review", "draft", guards=amount_positive),
        Transition("archive", ("draft", "review"), "archived"),
    ],
)


def new_deal() -> Deal:
    return Deal(
        id=uuid4(),
        tenant_id="t1",
        name="ACME renewal",
        owner_id="user-42",
        amount=Decimal("12000.00"),
        currency="CNY",
        status="draft",
        created_at=NOW,
        updated_at=NOW,
    )


# -- crmcore ---------------------------------------------------------------------


def crm_reuse(n: int) -> float:
    machine, deal, ctx = CRM_MACHINE, new_deal(), TransitionContext(actor=ACTOR, now=NOW)
    history: list[HistoryEntry] = []
    t0 = time.perf_counter()
    for _ in range(n // 2):
        r = machine.fire(deal, "submit", ctx)
        history.append(r.history)
        r = machine.fire(r.record, "withdraw", ctx)
        history.append(r.history)
        deal = r.record
    elapsed = time.perf_counter() - t0
    assert len(history) == n // 2 * 2
    assert deal.status == "draft"
    return elapsed / (n // 2 * 2)


def crm_per_request(n: int) -> float:
    machine, deal = CRM_MACHINE, new_deal()
    history: list[HistoryEntry] = []
    events = ("submit", "withdraw")
    t0 = time.perf_counter()
    for i in range(n):
        ctx = TransitionContext(actor=ACTOR, now=NOW)
        r = machine.fire(deal, events[i & 1], ctx)
        history.append(r.history)
        deal = r.record
    elapsed = time.perf_counter() - t0
    assert len(history) == n
    return elapsed / n


# -- transitions -------------------------------------------------------------------

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "submit", "source": "draft", "dest": "review", "conditions": "amount_ok"},
    {"trigger": "withdraw", "source": "review", "dest": "draft", "conditions": "amount_ok"},
    {"trigger": "archive", "source": ["draft", "review"], "dest": "archived"},
]
STATES = ["draft", "review", "archived"]


class DealModel:
    """The mutable model ``transitions`` needs, wrapping one record."""

    def __init__(self, record: Deal, history: list[HistoryEntry]) -> None:
        self.record = record
        self.history = history

    def amount_ok(self, event: Any) -> bool:
        return bool(self.record.amount > 0)

    def write_history(self, event: Any) -> None:
        ctx: TransitionContext = event.kwargs["ctx"]
        self.history.append(
            HistoryEntry(
                "deal",
                event.event.name,
                event.transition.source,
                event.transition.dest,
                ctx.now,
                "deal",
                self.record.id,
                ctx.actor,
                ctx.comment,
            )
        )


def tr_machine(model: Any) -> Any:
    from transitions import Machine as TMachine

    return TMachine(
        model=model,
        states=STATES,
        transitions=TRANSITIONS,
        initial="draft",
        auto_transitions=False,
        send_event=True,
        after_state_change="write_history",
    )


def tr_reuse(n: int) -> float:
    history: list[HistoryEntry] = []
    model = DealModel(new_deal(), history)
    tr_machine(model)
    ctx = TransitionContext(actor=ACTOR, now=NOW)
    t0 = time.perf_counter()
    for _ in range(n // 2):
        model.submit(ctx=ctx)  # type: ignore[attr-defined]
        model.withdraw(ctx=ctx)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - t0
    assert len(history) == n // 2 * 2
    return elapsed / (n // 2 * 2)


def tr_per_request(n: int) -> float:
    history: list[HistoryEntry] = []
    shared = tr_machine(None)
    deal = new_deal()
    events = ("submit", "withdraw")
    t0 = time.perf_counter()
    for i in range(n):
        ctx = TransitionContext(actor=ACTOR, now=NOW)
        model = DealModel(deal, history)
        shared.add_model(model, initial=deal.status)
        model.trigger(events[i & 1], ctx=ctx)  # type: ignore[attr-defined]
        deal = attrs.evolve(deal, status=model.state)  # type: ignore[attr-defined]
        shared.remove_model(model)
    elapsed = time.perf_counter() - t0
    assert len(history) == n
    assert deal.status == ("draft" if n % 2 == 0 else "review")
    return elapsed / n


def tr_machine_per_request(n: int) -> float:
    history: list[HistoryEntry] = []
    deal = new_deal()
    events = ("submit", "withdraw")
    t0 = time.perf_counter()
    for i in range(n):
        ctx = TransitionContext(actor=ACTOR, now=NOW)
        model = DealModel(deal, history)
        machine = tr_machine(model)
        machine.set_state(deal.status, model=model)
        model.trigger(events[i & 1], ctx=ctx)  # type: ignore[attr-defined]
        deal = attrs.evolve(deal, status=model.state)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - t0
    assert len(history) == n
    return elapsed / n


def best_pair(
    crm: Callable[[int], float], tr: Callable[[int], float], n: int, tr_n: int, repeat: int
) -> tuple[float, float]:
    """The best µs per transition of each, runs interleaved so load swings hit both alike."""
    crm(max(n // 10, 100))  # warm up caches
    tr(max(tr_n // 10, 100))
    crm_best = tr_best = float("inf")
    for _ in range(repeat):
        crm_best = min(crm_best, crm(n))
        tr_best = min(tr_best, tr(tr_n))
    return crm_best * 1e6, tr_best * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=20000, help="transitions per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best counts")
    args = parser.parse_args(argv)
    try:
        import transitions
    except ImportError:
        print("needs the transitions package: pip install transitions", file=sys.stderr)
        return 2
    n, repeat = args.n, args.repeat
    print(f"python {sys.version.split()[0]}, transitions {transitions.__version__}, n={n}")
    rows = [
        ("reuse", *best_pair(crm_reuse, tr_reuse, n, n, repeat)),
        ("per request", *best_pair(crm_per_request, tr_per_request, n, n, repeat)),
        (
            "machine per request",
            *best_pair(crm_per_request, tr_machine_per_request, n, max(n // 10, 200), repeat),
        ),
    ]
    print(f"{'scenario':<22}{'crmcore µs':>12}{'transitions µs':>16}{'ratio':>8}")
    for name, crm, tr in rows:
        print(f"{name:<22}{crm:>12.2f}{tr:>16.2f}{tr / crm:>7.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
