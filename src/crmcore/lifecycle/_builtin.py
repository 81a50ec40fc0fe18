"""The built-in machines (lead, opportunity, ticket, customer stage, campaign).

Each is a module-level :class:`Machine` built from data, plus a factory for the
configurable ones: :func:`opportunity_machine` (a tenant's own stages with
probabilities and forecast categories) and :func:`ticket_machine` (the reopen
window). State fields: ``status`` for leads, tickets and campaigns, ``stage``
for opportunities, ``lifecycle_stage`` for customers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

from crmcore.errors import ConfigurationError
from crmcore.lifecycle._guards import (
    clear,
    in_future,
    positive_amount,
    requires_comment,
    stamp,
    within,
)
from crmcore.lifecycle._machine import Machine, State, Transition

__all__ = [
    "CAMPAIGN",
    "CUSTOMER_STAGE",
    "DEFAULT_OPPORTUNITY_STAGES",
    "FORECAST_CATEGORIES",
    "LEAD",
    "OPPORTUNITY",
    "TICKET",
    "opportunity_machine",
    "ticket_machine",
]

#: Forecast categories, from most to least open: counted in the pipeline, in the
#: best case, committed, already closed (won), or left out (lost).
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "closed", "omitted")

#: ``(stage, win probability, forecast category)`` of the default opportunity machine.
DEFAULT_OPPORTUNITY_STAGES: tuple[tuple[str, float, str], ...] = (
    ("prospecting", 0.1, "pipeline"),
    ("qualification", 0.2, "pipeline"),
    ("proposal", 0.5, "best_case"),
    ("negotiation", 0.8, "commit"),
    ("closed_won", 1.0, "closed"),
    ("closed_lost", 0.0, "omitted"),
)


def _stage(i: int, spec: Any) -> tuple[str, float, str]:
    where = f"opportunity stage {i}"
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"name", "probability", "forecast_category"}
        if unknown or "name" not in spec:
            raise ConfigurationError(
                f"{where}: expected keys name, probability, forecast_category; got {sorted(spec)}"
            )
        name = spec["name"]
        probability = spec.get("probability")
        category = spec.get("forecast_category")
    elif isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) == 3:
        name, probability, category = spec
    else:
        raise ConfigurationError(
            f"{where}: expected (name, probability, forecast_category), got {spec!r}"
        )
    if not isinstance(name, str):
        raise ConfigurationError(f"{where}: the name must be a string, got {name!r}")
    if (
        isinstance(probability, bool)
        or not isinstance(probability, int | float)
        or not 0 <= probability <= 1
    ):
        raise ConfigurationError(
            f"opportunity stage {name!r}: probability must be a number from 0 to 1,"
            f" got {probability!r}"
        )
    if category not in FORECAST_CATEGORIES:
        raise ConfigurationError(
            f"opportunity stage {name!r}: forecast category must be one of"
            f" {', '.join(FORECAST_CATEGORIES)}; got {category!r}"
        )
    return name, float(probability), category


def opportunity_machine(
    stages: Iterable[Sequence[Any] | Mapping[str, Any]] = DEFAULT_OPPORTUNITY_STAGES,
    *,
    name: str = "opportunity",
    field: str = "stage",
    won: str = "closed_won",
    lost: str = "closed_lost",
    reopen_to: str | None = None,
) -> Machine:
    """An opportunity pipeline built from a tenant's stages.

    Events: ``advance`` (to the next open stage), ``move_to_<stage>`` (to any
    open stage), ``win`` (guarded: a record with ``amount`` needs it positive),
    ``lose`` (both stamp ``closed_at``), and ``reopen`` from the closed stages
    (guarded: needs a comment; clears ``closed_at``).
    Entering a stage copies its ``probability`` and ``forecast_category`` onto
    the record when it has those fields, and into the history entry.

    Args:
        stages: ``(name, probability, forecast_category)`` tuples (or mappings
            with those keys) in pipeline order; the won/lost stages are added
            (1.0 ``closed`` / 0.0 ``omitted``) when not listed.
        name: the machine name.
        field: the record's stage field.
        won: the won stage (final).
        lost: the lost stage (final).
        reopen_to: where ``reopen`` leads; the first open stage by default.

    Returns:
        The validated machine.

    Raises:
        ConfigurationError: a stage is malformed (probability outside 0..1,
            unknown forecast category), no open stage is left, or the machine is
            invalid.
    """
    specs = [_stage(i, s) for i, s in enumerate(stages)]
    names = [s[0] for s in specs]
    if won not in names:
        specs.append((won, 1.0, "closed"))
    if lost not in names:
        specs.append((lost, 0.0, "omitted"))
    open_stages = [s[0] for s in specs if s[0] not in (won, lost)]
    if not open_stages:
        raise ConfigurationError(f"machine {name!r}: an opportunity machine needs an open stage")
    states = [
        State(
            stage,
            final=stage in (won, lost),
            data={"probability": probability, "forecast_category": category},
        )
        for stage, probability, category in specs
    ]
    transitions = [Transition("advance", a, b) for a, b in pairwise(open_stages)]
    if len(open_stages) > 1:
        transitions += [Transition(f"move_to_{stage}", "*", stage) for stage in open_stages]
    transitions += [
        Transition("win", "*", won, guards=positive_amount, effects=stamp("closed_at")),
        Transition("lose", "*", lost, effects=stamp("closed_at")),
        Transition(
            "reopen",
            (won, lost),
            reopen_to or open_stages[0],
            guards=requires_comment,
            effects=clear("closed_at"),
            from_final=True,
        ),
    ]
    return Machine(
        name,
        field=field,
        states=states,
        initial=open_stages[0],
        transitions=transitions,
        entity="opportunity",
        snapshot=("probability", "forecast_category"),
        description="Sales pipeline: open stages with win probabilities, won or lost.",
    )


def ticket_machine(
    reopen_days: float = 7, *, name: str = "ticket", field: str = "status"
) -> Machine:
    """A service ticket: new -> open <-> pending -> resolved -> closed, with reopen.

    ``resolve`` and ``close`` stamp ``resolved_at``/``closed_at`` when the record
    has them; ``reopen`` clears them. ``reopen`` is always allowed from
    ``resolved``, and from ``closed`` only within ``reopen_days`` of
    ``closed_at`` (falling back to ``resolved_at``).

    Args:
        reopen_days: the reopen window after closing.
        name: the machine name.
        field: the record's status field.

    Returns:
        The validated machine.
    """
    return Machine(
        name,
        field=field,
        states=["new", "open", "pending", "resolved", State("closed", final=True)],
        initial="new",
        transitions=[
            Transition("open", "new", "open"),
            Transition("wait", "open", "pending", label="wait for customer"),
            Transition("resume", "pending", "open"),
            Transition(
                "resolve", ("new", "open", "pending"), "resolved", effects=stamp("resolved_at")
            ),
            Transition("close", "resolved", "closed", effects=stamp("closed_at")),
            Transition("reopen", "resolved", "open", effects=clear("resolved_at")),
            Transition(
                "reopen",
                "closed",
                "open",
                guards=within(reopen_days, ("closed_at", "resolved_at")),
                effects=(clear("closed_at"), clear("resolved_at")),
                from_final=True,
            ),
        ],
        entity="ticket",
        description="Service desk ticket.",
    )


#: Leads: new -> contacted -> qualified -> converted, or disqualified (needs a
#: comment); ``recycle`` sends a contacted, qualified or disqualified lead back to new.
LEAD = Machine(
    "lead",
    field="status",
    states=[
        "new",
        "contacted",
        "qualified",
        State("converted", final=True),
        State("disqualified", final=True),
    ],
    initial="new",
    transitions=[
        Transition("contact", "new", "contacted"),
        Transition("qualify", ("new", "contacted"), "qualified"),
        Transition("convert", "qualified", "converted"),
        Transition("disqualify", "*", "disqualified", guards=requires_comment),
        Transition("recycle", ("contacted", "qualified", "disqualified"), "new", from_final=True),
    ],
    entity="lead",
    description="Lead qualification.",
)

#: The default sales pipeline (see :func:`opportunity_machine`).
OPPORTUNITY = opportunity_machine()

#: Service tickets with a 7-day reopen window (see :func:`ticket_machine`).
TICKET = ticket_machine()

_LIFECYCLE = (
    "subscriber",
    "lead",
    "marketing_qualified",
    "sales_qualified",
    "opportunity",
    "customer",
    "evangelist",
)

#: A customer's marketing lifecycle stage: forward only (``advance`` one step,
#: ``move_to_<stage>`` jumps ahead up to customer), ``churn`` from customer or
#: evangelist, ``win_back`` from churned to customer.
CUSTOMER_STAGE = Machine(
    "customer_stage",
    field="lifecycle_stage",
    states=[*_LIFECYCLE, "churned"],
    initial="subscriber",
    transitions=[
        *(Transition("advance", a, b) for a, b in pairwise(_LIFECYCLE)),
        *(
            Transition(f"move_to_{stage}", _LIFECYCLE[:i], stage)
            for i, stage in enumerate(_LIFECYCLE)
            if 0 < i <= _LIFECYCLE.index("customer")
        ),
        Transition("churn", ("customer", "evangelist"), "churned"),
        Transition("win_back", "churned", "customer"),
    ],
    entity="customer",
    description="Customer lifecycle stage.",
)

#: Campaigns: draft -> scheduled -> running (<-> paused) -> completed, or cancelled.
#: ``schedule`` needs ``scheduled_at`` in the future (when the record has it);
#: ``start``/``complete`` stamp ``started_at``/``completed_at`` when present.
CAMPAIGN = Machine(
    "campaign",
    field="status",
    states=[
        "draft",
        "scheduled",
        "running",
        "paused",
        State("completed", final=True),
        State("cancelled", final=True),
    ],
    initial="draft",
    transitions=[
        Transition("schedule", "draft", "scheduled", guards=in_future("scheduled_at")),
        Transition("unschedule", "scheduled", "draft"),
        Transition("start", ("draft", "scheduled"), "running", effects=stamp("started_at")),
        Transition("pause", "running", "paused"),
        Transition("resume", "paused", "running"),
        Transition("complete", ("running", "paused"), "completed", effects=stamp("completed_at")),
        Transition("cancel", "*", "cancelled"),
    ],
    entity="campaign",
    description="Marketing campaign.",
)
