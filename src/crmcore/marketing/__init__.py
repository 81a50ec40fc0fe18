"""Marketing automation, the pure part: consent, audiences, variants, tracking, statistics.

No storage and no session here: the use cases that read and write a unit of
work (segments, sends, event ingestion, reports) live in
:mod:`crmcore.services` (``segment_members``, ``send_campaign``,
``ingest_events``, ``campaign_report``...), and channel implementations in
:mod:`crmcore.channels`. See ``docs/marketing.md``.
"""

from __future__ import annotations

from crmcore.marketing._attribution import (
    ATTRIBUTION_MODELS,
    AttributionModel,
    RevenueEvent,
    Touchpoint,
    attribute,
)
from crmcore.marketing._audience import (
    EXCLUSION_REASONS,
    Audience,
    AudienceCandidate,
    AudienceExclusion,
    AudienceRules,
    plan_audience,
)
from crmcore.marketing._channel import DeliveryReceipt, MarketingChannel, OutboundMessage
from crmcore.marketing._consent import MARKETING_PURPOSE, ConsentVerdict, consent_verdict
from crmcore.marketing._events import EVENT_ORDER, IncomingEvent, MarketingEventKind, parse_event
from crmcore.marketing._stats import (
    ChiSquareResult,
    ProportionTest,
    chi_square_test,
    two_proportion_test,
    wilson_interval,
)
from crmcore.marketing._variants import assign_variant, utm_link

__all__ = [
    "ATTRIBUTION_MODELS",
    "EVENT_ORDER",
    "EXCLUSION_REASONS",
    "MARKETING_PURPOSE",
    "AttributionModel",
    "Audience",
    "AudienceCandidate",
    "AudienceExclusion",
    "AudienceRules",
    "ChiSquareResult",
    "ConsentVerdict",
    "DeliveryReceipt",
    "IncomingEvent",
    "MarketingChannel",
    "MarketingEventKind",
    "OutboundMessage",
    "ProportionTest",
    "RevenueEvent",
    "Touchpoint",
    "assign_variant",
    "attribute",
    "chi_square_test",
    "consent_verdict",
    "parse_event",
    "plan_audience",
    "two_proportion_test",
    "utm_link",
    "wilson_interval",
]
