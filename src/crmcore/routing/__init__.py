"""Ticket routing: agents as data, requirements from rules, strategies, overflow, explanations.

Pure logic (no storage, no session): a :class:`TicketRouter` holds the
configuration (strategy, stickiness, :class:`RequirementRule` rules, capacity
weights by priority, :class:`RoutingQueue` queues with overflow) and routes a
:class:`TicketRequirement` over :class:`crmcore.model.Agent` records into a
:class:`RoutingDecision` that says who won, why, and why every other agent
was not eligible. :meth:`TicketRouter.route_backlog` routes many tickets in one
call within capacity. The use cases over stored tickets and agents live in
:mod:`crmcore.services` (``route_ticket``, ``route_backlog``, ``reassign_away``).
"""

from __future__ import annotations

from crmcore.routing._requirements import (
    DEFAULT_TICKET_WEIGHTS,
    PRIORITY_RANK,
    RequirementRule,
    TicketRequirement,
    ticket_requirement,
)
from crmcore.routing._router import (
    RoutingCandidate,
    RoutingDecision,
    RoutingPlan,
    RoutingQueue,
    RoutingStrategy,
    TicketRouter,
    agent_on_shift,
    agent_rejections,
    backlog_order,
)

__all__ = [
    "DEFAULT_TICKET_WEIGHTS",
    "PRIORITY_RANK",
    "RequirementRule",
    "RoutingCandidate",
    "RoutingDecision",
    "RoutingPlan",
    "RoutingQueue",
    "RoutingStrategy",
    "TicketRequirement",
    "TicketRouter",
    "agent_on_shift",
    "agent_rejections",
    "backlog_order",
    "ticket_requirement",
]
