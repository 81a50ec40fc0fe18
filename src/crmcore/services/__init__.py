"""Every use case that takes a unit of work: customers, sales, keys, audit.

Each function's first argument is a
:class:`~crmcore.storage.ports.UnitOfWorkContext` (a ``crm.session()`` is one);
it goes through the same layers as any other caller, so tenant scope, the
policy and the audit trail apply to use cases too.

- customers: :func:`merge`, :func:`preview_merge`, :func:`unmerge`
- sales: :func:`transition`, :func:`allowed_events`, :func:`convert_lead`,
  :func:`time_in_stages`, :func:`stage_report`, :func:`forecast`
- keys: :func:`reencrypt_all`, :func:`shred_subject`
- webhooks: :func:`subscribe_webhook`, :func:`webhook_deliveries`
- audit: :func:`history`, :func:`field_history`, :func:`export_trail`, :func:`verify_trail`,
  :func:`checkpoint`
- bookkeeping as a principal may see it: :func:`visible_audit_entries`,
  :func:`visible_transitions`
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
from crmcore.services._forecast import FORECAST_DIMENSIONS, Forecast, ForecastRow, forecast
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
from crmcore.services._visibility import visible_audit_entries, visible_transitions
from crmcore.services._webhooks import subscribe_webhook, webhook_deliveries

__all__ = [
    "DEFAULT_MACHINES",
    "FORECAST_DIMENSIONS",
    "Conversion",
    "FieldChange",
    "Forecast",
    "ForecastRow",
    "MergeResult",
    "ReencryptReport",
    "UnmergeResult",
    "allowed_events",
    "atomic",
    "checkpoint",
    "convert_lead",
    "exact_contact_match",
    "export_trail",
    "field_history",
    "forecast",
    "history",
    "machine_for",
    "merge",
    "preview_merge",
    "reencrypt_all",
    "shred_subject",
    "stage_report",
    "subscribe_webhook",
    "time_in_stages",
    "transition",
    "transition_history",
    "unmerge",
    "verify_trail",
    "visible_audit_entries",
    "visible_transitions",
    "webhook_deliveries",
]
