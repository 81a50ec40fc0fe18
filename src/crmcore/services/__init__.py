"""Every use case that takes a unit of work: customers, sales, keys, audit.

Each function's first argument is a
:class:`~crmcore.storage.ports.UnitOfWorkContext` (a ``crm.session()`` is one);
it goes through the same layers as any other caller, so tenant scope, the
policy and the audit trail apply to use cases too.

- customers: :func:`merge`, :func:`preview_merge`, :func:`unmerge`
- sales: :func:`transition`, :func:`allowed_events`, :func:`convert_lead`,
  :func:`time_in_stages`, :func:`stage_report`
- keys: :func:`reencrypt_all`, :func:`shred_subject`
- marketing: :func:`create_segment`, :func:`create_static_list`, :func:`segment_count`,
  :func:`segment_preview`, :func:`segment_members`, :func:`build_audience`,
  :func:`send_campaign`, :func:`ingest_events`, :func:`campaign_report`
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
from crmcore.services._keys import ReencryptReport, reencrypt_all, shred_subject
from crmcore.services._marketing import (
    CampaignReport,
    IngestReport,
    SendReport,
    VariantMetrics,
    add_to_list,
    build_audience,
    campaign_report,
    channel_address,
    create_segment,
    create_static_list,
    ingest_events,
    record_campaign_cost,
    remove_from_list,
    schedule_campaign,
    segment_count,
    segment_filter,
    segment_members,
    segment_preview,
    send_campaign,
    send_due_campaigns,
)
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
    "CampaignReport",
    "Conversion",
    "FieldChange",
    "IngestReport",
    "MergeResult",
    "ReencryptReport",
    "SendReport",
    "UnmergeResult",
    "VariantMetrics",
    "add_to_list",
    "allowed_events",
    "atomic",
    "build_audience",
    "campaign_report",
    "channel_address",
    "checkpoint",
    "convert_lead",
    "create_segment",
    "create_static_list",
    "exact_contact_match",
    "export_trail",
    "field_history",
    "history",
    "ingest_events",
    "machine_for",
    "merge",
    "preview_merge",
    "record_campaign_cost",
    "reencrypt_all",
    "remove_from_list",
    "schedule_campaign",
    "segment_count",
    "segment_filter",
    "segment_members",
    "segment_preview",
    "send_campaign",
    "send_due_campaigns",
    "shred_subject",
    "stage_report",
    "time_in_stages",
    "transition",
    "transition_history",
    "unmerge",
    "verify_trail",
]
