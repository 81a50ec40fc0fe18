"""The state-machine engine and the built-in CRM machines.

A :class:`Machine` is immutable data: states (with optional data such as win
probabilities), an initial state and named events. ``machine.fire(record,
event, ctx)`` checks guards, runs hooks and effects, and returns a
:class:`TransitionResult` holding the changed record and a
:class:`HistoryEntry`; it never touches storage, so the caller persists both in
one unit of work (or passes ``sink=``). Records are attrs instances,
dataclasses or mappings whose state lives in a named field.
"""

from __future__ import annotations

from crmcore.lifecycle._builtin import (
    CAMPAIGN,
    CUSTOMER_STAGE,
    DEFAULT_OPPORTUNITY_STAGES,
    FORECAST_CATEGORIES,
    LEAD,
    OPPORTUNITY,
    TICKET,
    opportunity_machine,
    ticket_machine,
)
from crmcore.lifecycle._context import (
    START_EVENT,
    Effect,
    Guard,
    HistoryEntry,
    TransitionContext,
    TransitionResult,
    TransitionSink,
)
from crmcore.lifecycle._export import to_dot, to_mermaid
from crmcore.lifecycle._forecast import (
    forecast_category,
    probability,
    stamp_stage,
    weighted_amount,
)
from crmcore.lifecycle._guards import (
    BUILTINS,
    clear,
    in_future,
    positive_amount,
    requires_comment,
    stamp,
    within,
)
from crmcore.lifecycle._history import (
    StageStats,
    group_history,
    replay,
    stage_durations,
    time_in_stage,
)
from crmcore.lifecycle._machine import Machine, State, Transition
from crmcore.lifecycle._records import get_field, has_field, set_fields
from crmcore.lifecycle._registry import Ref, Registry
from crmcore.lifecycle._states import check_initial_state, check_state

__all__ = [
    "BUILTINS",
    "CAMPAIGN",
    "CUSTOMER_STAGE",
    "DEFAULT_OPPORTUNITY_STAGES",
    "FORECAST_CATEGORIES",
    "LEAD",
    "OPPORTUNITY",
    "START_EVENT",
    "TICKET",
    "Effect",
    "Guard",
    "HistoryEntry",
    "Machine",
    "Ref",
    "Registry",
    "StageStats",
    "State",
    "Transition",
    "TransitionContext",
    "TransitionResult",
    "TransitionSink",
    "check_initial_state",
    "check_state",
    "clear",
    "forecast_category",
    "get_field",
    "group_history",
    "has_field",
    "in_future",
    "opportunity_machine",
    "positive_amount",
    "probability",
    "replay",
    "requires_comment",
    "set_fields",
    "stage_durations",
    "stamp",
    "stamp_stage",
    "ticket_machine",
    "time_in_stage",
    "to_dot",
    "to_mermaid",
    "weighted_amount",
    "within",
]
