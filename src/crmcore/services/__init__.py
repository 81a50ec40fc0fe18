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
- knowledge base: :func:`create_article`, :func:`submit_article`, :func:`publish_article`,
  :func:`edit_article`, :func:`archive_article`, :func:`article_versions`,
  :func:`search_articles`, :func:`suggest_articles`, :func:`record_article_feedback`
- satisfaction: :func:`request_survey`, :func:`record_survey_answer`, :func:`satisfaction_report`
- service history: :func:`service_history`
- marketing: :func:`create_segment`, :func:`create_static_list`, :func:`segment_count`,
  :func:`segment_preview`, :func:`segment_members`, :func:`build_audience`,
  :func:`send_campaign`, :func:`ingest_events`, :func:`campaign_report`
- service desk: :func:`route_ticket`, :func:`route_backlog`, :func:`reassign_away`,
  :func:`release_ticket`, :func:`recount_agent_loads`, :func:`sla_status`, :func:`stamp_sla_due`,
  :func:`run_escalations`
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
from crmcore.services._forecast import (
    FORECAST_DIMENSIONS,
    Forecast,
    ForecastRow,
    forecast,
)
from crmcore.services._keys import (
    ReencryptReport,
    reencrypt_all,
    shred_subject,
)
from crmcore.services._knowledge import (
    ARTICLE_MACHINE,
    ArticleFeedbackSummary,
    ArticleMatch,
    archive_article,
    article_feedback_summary,
    article_search_index,
    article_versions,
    create_article,
    edit_article,
    publish_article,
    record_article_feedback,
    reindex_articles,
    reject_article,
    restore_article,
    search_articles,
    submit_article,
    suggest_articles,
    unpublish_article,
)
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
from crmcore.services._sales import (
    Conversion,
    convert_lead,
    exact_contact_match,
)
from crmcore.services._satisfaction import (
    SURVEY_REQUESTED,
    SatisfactionRow,
    SurveyInvitation,
    nps_score,
    record_survey_answer,
    request_survey,
    satisfaction_report,
)
from crmcore.services._service_history import (
    HISTORY_KINDS,
    HistoryPage,
    TimelineEvent,
    service_history,
)
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
from crmcore.services._visibility import (
    visible_audit_entries,
    visible_transitions,
)
from crmcore.services._webhooks import (
    subscribe_webhook,
    webhook_deliveries,
)

__all__ = [
    "ARTICLE_MACHINE",
    "DEFAULT_MACHINES",
    "FORECAST_DIMENSIONS",
    "HISTORY_KINDS",
    "OPEN_TICKET_STATES",
    "SURVEY_REQUESTED",
    "ArticleFeedbackSummary",
    "ArticleMatch",
    "CampaignReport",
    "Conversion",
    "FieldChange",
    "Forecast",
    "ForecastRow",
    "HistoryPage",
    "IngestReport",
    "MergeResult",
    "ReencryptReport",
    "SatisfactionRow",
    "SendReport",
    "SurveyInvitation",
    "TicketAssignment",
    "TicketSla",
    "TimelineEvent",
    "UnmergeResult",
    "VariantMetrics",
    "add_to_list",
    "allowed_events",
    "archive_article",
    "article_feedback_summary",
    "article_search_index",
    "article_versions",
    "atomic",
    "build_audience",
    "campaign_report",
    "channel_address",
    "checkpoint",
    "convert_lead",
    "create_article",
    "create_segment",
    "create_static_list",
    "desk_ticket_facts",
    "edit_article",
    "exact_contact_match",
    "export_trail",
    "field_history",
    "forecast",
    "history",
    "ingest_events",
    "machine_for",
    "merge",
    "nps_score",
    "preview_merge",
    "publish_article",
    "reassign_away",
    "record_article_feedback",
    "record_campaign_cost",
    "record_survey_answer",
    "recount_agent_loads",
    "reencrypt_all",
    "reindex_articles",
    "reject_article",
    "release_ticket",
    "remove_from_list",
    "request_survey",
    "restore_article",
    "route_backlog",
    "route_ticket",
    "run_escalations",
    "satisfaction_report",
    "schedule_campaign",
    "search_articles",
    "segment_count",
    "segment_filter",
    "segment_members",
    "segment_preview",
    "send_campaign",
    "send_due_campaigns",
    "service_history",
    "shred_subject",
    "sla_status",
    "stage_report",
    "stamp_sla_due",
    "submit_article",
    "subscribe_webhook",
    "suggest_articles",
    "time_in_stages",
    "transition",
    "transition_history",
    "unmerge",
    "unpublish_article",
    "verify_trail",
    "visible_audit_entries",
    "visible_transitions",
    "webhook_deliveries",
]
