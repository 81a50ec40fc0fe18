"""Every use case that takes a unit of work: customers, sales, keys, audit.

Each function's first argument is a
:class:`~crmcore.storage.ports.UnitOfWorkContext` (a ``crm.session()`` is one);
it goes through the same layers as any other caller, so tenant scope, the
policy and the audit trail apply to use cases too.

- customers: :func:`merge`, :func:`preview_merge`, :func:`unmerge`
- sales: :func:`transition`, :func:`allowed_events`, :func:`convert_lead`,
  :func:`time_in_stages`, :func:`stage_report`
- keys: :func:`reencrypt_all`, :func:`shred_subject`
- service desk: :func:`route_ticket`, :func:`route_backlog`, :func:`reassign_away`,
  :func:`release_ticket`, :func:`recount_agent_loads`, :func:`sla_status`, :func:`stamp_sla_due`,
  :func:`run_escalations`
- audit: :func:`history`, :func:`field_history`, :func:`export_trail`, :func:`verify_trail`,
  :func:`checkpoint`
"""

from __future__ import annotations

from crmcore.services._audit import (
    FieldChange,
    checkpoint,
    export_trail,
    field_history,
    history,
    verify_trail,
)
from crmcore.services._customers import (
    MergeResult,
    UnmergeResult,
    merge,
    preview_merge,
    unmerge,
)
from crmcore.services._desk import (
    OPEN_TICKET_STATES,
    TicketAssignment,
    TicketSla,
    desk_ticket_facts,
    reassign_away,
    recount_agent_loads,
    release_ticket,
    route_backlog,
    route_ticket,
    run_escalations,
    sla_status,
    stamp_sla_due,
)
from crmcore.services._keys import ReencryptReport, reencrypt_all, shred_subject
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
    "OPEN_TICKET_STATES",
    "Conversion",
    "FieldChange",
    "MergeResult",
    "ReencryptReport",
    "TicketAssignment",
    "TicketSla",
    "UnmergeResult",
    "allowed_events",
    "atomic",
    "checkpoint",
    "convert_lead",
    "desk_ticket_facts",
    "exact_contact_match",
    "export_trail",
    "field_history",
    "history",
    "machine_for",
    "merge",
    "preview_merge",
    "reassign_away",
    "recount_agent_loads",
    "reencrypt_all",
    "release_ticket",
    "route_backlog",
    "route_ticket",
    "run_escalations",
    "shred_subject",
    "sla_status",
    "stage_report",
    "stamp_sla_due",
    "time_in_stages",
    "transition",
    "transition_history",
    "unmerge",
    "verify_trail",
]
