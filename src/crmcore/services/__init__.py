"""Use cases over a session: lifecycle transitions with history, lead conversion."""

from __future__ import annotations

from crmcore.services._sales import Conversion, convert_lead, exact_contact_match
from crmcore.services._transitions import (
    DEFAULT_MACHINES,
    allowed_events,
    atomic,
    machine_for,
    stage_report,
    time_in_stages,
    transition,
    transition_history,
)

__all__ = [
    "DEFAULT_MACHINES",
    "Conversion",
    "allowed_events",
    "atomic",
    "convert_lead",
    "exact_contact_match",
    "machine_for",
    "stage_report",
    "time_in_stages",
    "transition",
    "transition_history",
]
