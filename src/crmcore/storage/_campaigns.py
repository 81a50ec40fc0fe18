"""Campaign event aggregates, computed where the events are: GROUP BY in SQL, a loop in memory.

:func:`campaign_funnel` counts, per campaign variant, the distinct recipients
who reached each stage (a later stage implies the earlier ones, so events
reported out of order or lost still count right); :func:`campaign_timeline`
counts events per day and kind. Both take the adapter's own repository of
:class:`~crmcore.model.CampaignEvent` (``uow.inner(CampaignEvent)``) and scope
it to one tenant; the SQL versions live in ``storage/sql/_campaigns.py``.
"""

from __future__ import annotations

import sys
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from crmcore.model import CampaignEvent
from crmcore.query import all_of, eq, is_null
from crmcore.storage.ports import Repository

__all__ = ["FUNNEL_RANK", "FunnelRow", "campaign_funnel", "campaign_timeline", "stored_ids"]

#: the funnel stage each event kind proves was reached (sent 0, delivered 1, opened 2,
#: clicked 3): an unsubscribe or a complaint means the message arrived, a click that it
#: was opened even when the open pixel was blocked
FUNNEL_RANK: Mapping[str, int] = {
    "sent": 0,
    "bounced": 0,
    "delivered": 1,
    "converted": 1,
    "unsubscribed": 1,
    "complained": 1,
    "opened": 2,
    "clicked": 3,
}


@attrs.frozen
class FunnelRow:
    """Distinct recipients of one variant (``None``: no variant) per stage and outcome."""

    variant: str | None
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    unsubscribed: int = 0
    bounced: int = 0
    complained: int = 0
    #: conversion value per currency (from ``converted`` events' ``value``)
    value: Mapping[str, Decimal] = attrs.field(factory=dict)


def _is_sql(repo: Repository[Any]) -> bool:
    mod = sys.modules.get("crmcore.storage.sql._store")
    return mod is not None and isinstance(repo, mod.SqlRepository)


def stored_ids(repo: Repository[Any], ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` the repository holds (committed or staged), reading ids only.

    The idempotency check of bulk ingestion: on SQL one ``SELECT id ... IN``
    per chunk instead of loading whole records.
    """
    if _is_sql(repo):
        from crmcore.storage.sql import sql_stored_ids

        return sql_stored_ids(repo, ids)
    return {e.id for e in repo.get_many(ids)}


def campaign_funnel(
    repo: Repository[CampaignEvent], tenant_id: str, campaign_id: uuid.UUID
) -> list[FunnelRow]:
    """The funnel of one campaign per variant, ordered by variant name (None first)."""
    if _is_sql(repo):
        from crmcore.storage.sql import sql_campaign_funnel

        return sql_campaign_funnel(repo, tenant_id, campaign_id)
    where = all_of(
        eq("tenant_id", tenant_id), eq("campaign_id", campaign_id), is_null("deleted_at")
    )
    stage: dict[tuple[str | None, uuid.UUID], int] = {}
    flags: dict[tuple[str | None, uuid.UUID], set[str]] = defaultdict(set)
    value: dict[str | None, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for e in repo.stream(where, batch_size=5000):
        rank = FUNNEL_RANK.get(e.kind)
        if rank is None:
            continue
        key = (e.variant, e.customer_id)
        stage[key] = max(stage.get(key, -1), rank)
        if e.kind in ("converted", "unsubscribed", "bounced", "complained"):
            flags[key].add(e.kind)
        if e.kind == "converted" and e.value is not None:
            value[e.variant][e.value.currency] += e.value.amount
    rows: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (variant, _), rank in stage.items():
        r = rows[variant]
        r["sent"] += 1
        r["delivered"] += rank >= 1
        r["opened"] += rank >= 2
        r["clicked"] += rank >= 3
    for (variant, _), kinds in flags.items():
        for k in kinds:
            rows[variant][k] += 1
    return [
        FunnelRow(v, **rows[v], value=dict(value.get(v, {})))
        for v in sorted(rows, key=lambda v: (v is not None, v or ""))
    ]


def campaign_timeline(
    repo: Repository[CampaignEvent], tenant_id: str, campaign_id: uuid.UUID
) -> list[tuple[str, str, int]]:
    """``(day "YYYY-MM-DD" in UTC, kind, distinct recipients)`` rows, by day then kind."""
    if _is_sql(repo):
        from crmcore.storage.sql import sql_campaign_timeline

        return sql_campaign_timeline(repo, tenant_id, campaign_id)
    where = all_of(
        eq("tenant_id", tenant_id), eq("campaign_id", campaign_id), is_null("deleted_at")
    )
    seen: dict[tuple[str, str], set[uuid.UUID]] = defaultdict(set)
    for e in repo.stream(where, batch_size=5000):
        at = e.occurred_at or e.created_at
        seen[(at.date().isoformat(), e.kind)].add(e.customer_id)
    return [(d, k, len(ids)) for (d, k), ids in sorted(seen.items())]
