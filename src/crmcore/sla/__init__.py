"""Service-level agreements: business calendars, policies as data, clocks at any instant.

Pure logic (no storage, no session): :class:`BusinessCalendar` (weekly hours
in an IANA zone, holidays from the ``holidays`` library incl. China's
adjusted workdays), :func:`add_business_time` / :func:`business_time_between`,
:class:`SlaPolicy` with :class:`SlaTarget` per metric, priority, channel and
tier, and :func:`sla_clocks`, which computes due time, time left, at-risk and
breached for a ticket's :class:`SlaFacts` at any instant. The use cases over
stored tickets live in :mod:`crmcore.services` (``sla_status``,
``run_escalations``).
"""

from __future__ import annotations

from crmcore.sla._calendar import (
    BusinessCalendar,
    Interval,
    add_business_time,
    business_time_between,
    parse_hours,
    working_intervals,
)
from crmcore.sla._clock import (
    EscalationAction,
    EscalationRule,
    SlaClock,
    SlaFacts,
    SlaState,
    sla_clocks,
)
from crmcore.sla._policy import SlaMetric, SlaPolicy, SlaTarget, select_sla_policy

__all__ = [
    "BusinessCalendar",
    "EscalationAction",
    "EscalationRule",
    "Interval",
    "SlaClock",
    "SlaFacts",
    "SlaMetric",
    "SlaPolicy",
    "SlaState",
    "SlaTarget",
    "add_business_time",
    "business_time_between",
    "parse_hours",
    "select_sla_policy",
    "sla_clocks",
    "working_intervals",
]
