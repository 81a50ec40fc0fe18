"""A customer's service history: one timeline over every record that concerns them.

:func:`service_history` merges tickets (opened) and their lifecycle
transitions, activities, orders, campaign events, survey answers and merges
into one list, newest first, paged by an opaque cursor that stays valid when
new events arrive (a page never repeats or skips an item). Every source is
read through the session's repositories, so tenant scope, the policy's row
filter and its field masks apply: a principal sees the timeline of what they
may read, with fields hidden as they are elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import attrs

from crmcore.errors import QueryError
from crmcore.model import (
    Activity,
    ActivityType,
    CampaignEvent,
    Customer,
    Entity,
    MergeRecord,
    Order,
    SurveyKind,
    SurveyResponse,
    Ticket,
    TransitionRecord,
)
from crmcore.query import all_of, eq, in_
from crmcore.storage.ports import UnitOfWorkContext

__all__ = ["HISTORY_KINDS", "HistoryPage", "TimelineEvent", "service_history"]

#: the kinds of timeline events, in the order they sort among equal times
HISTORY_KINDS = (
    "ticket",
    "ticket_transition",
    "activity",
    "order",
    "campaign_event",
    "survey_response",
    "merge",
    "merge_undone",
)
_MAX_LIMIT = 1000
_ID_CHUNK = 500


@attrs.frozen
class TimelineEvent:
    """One entry of a service history.

    ``at`` is the domain time (an activity's done/due time, an order's
    ``ordered_at``...) or the record's ``created_at``; ``record`` is the
    record as the principal may see it.
    """

    at: _dt.datetime
    kind: str
    record_id: uuid.UUID
    summary: str
    record: Entity = attrs.field(repr=False)

    @property
    def sort_key(self) -> tuple[str, int, str]:
        """Newest-first order: time, kind, record id (all unique together)."""
        at = self.at.astimezone(_dt.timezone.utc).isoformat(timespec="microseconds")
        return (at, HISTORY_KINDS.index(self.kind), self.record_id.hex)


@attrs.frozen
class HistoryPage(Sequence[TimelineEvent]):
    """One page of a timeline and the cursor of the next (None at the end)."""

    items: tuple[TimelineEvent, ...]
    next_cursor: str | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: Any) -> Any:
        return self.items[index]

    def __iter__(self) -> Iterator[TimelineEvent]:
        return iter(self.items)


def _encode(key: tuple[str, int, str]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, kind, rid = json.loads(raw)
        if not (isinstance(at, str) and isinstance(kind, int) and isinstance(rid, str)):
            raise ValueError
        _dt.datetime.fromisoformat(at)
        uuid.UUID(hex=rid)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise QueryError("invalid service history cursor") from None
    return at, kind, rid


def _chunks(ids: Sequence[uuid.UUID]) -> Iterator[Sequence[uuid.UUID]]:
    for i in range(0, len(ids), _ID_CHUNK):
        yield ids[i : i + _ID_CHUNK]


def _events(uow: UnitOfWorkContext, customer_id: uuid.UUID) -> Iterable[TimelineEvent]:
    tickets = list(uow.repo(Ticket).stream(eq("customer_id", customer_id)))
    for t in tickets:
        yield TimelineEvent(t.created_at, "ticket", t.id, f"ticket opened: {t.subject}", t)
    ids = [t.id for t in tickets]
    for chunk in _chunks(ids):
        where = all_of(eq("entity", "Ticket"), in_("record_id", list(chunk)))
        for r in uow.repo(TransitionRecord).stream(where):
            text = f"ticket {r.event}: {r.from_state or '-'} -> {r.to_state}"
            yield TimelineEvent(r.at or r.created_at, "ticket_transition", r.id, text, r)
    for a in uow.repo(Activity).stream(eq("customer_id", customer_id)):
        at = a.done_at or a.due_at or a.created_at
        yield TimelineEvent(at, "activity", a.id, f"{ActivityType(a.type).value}: {a.subject}", a)
    for o in uow.repo(Order).stream(eq("customer_id", customer_id)):
        label = o.number or str(o.id)
        yield TimelineEvent(
            o.ordered_at or o.created_at, "order", o.id, f"order {label}: {o.status}", o
        )
    for e in uow.repo(CampaignEvent).stream(eq("customer_id", customer_id)):
        yield TimelineEvent(
            e.occurred_at or e.created_at, "campaign_event", e.id, f"campaign {e.kind}", e
        )
    for s in uow.repo(SurveyResponse).stream(eq("customer_id", customer_id)):
        text = f"{SurveyKind(s.kind).value} answer: {s.score}"
        yield TimelineEvent(s.responded_at or s.created_at, "survey_response", s.id, text, s)
    where = all_of(eq("entity", "Customer"), eq("survivor_id", customer_id))
    for m in uow.repo(MergeRecord).stream(where):
        n = len(m.merged_ids)
        yield TimelineEvent(m.created_at, "merge", m.id, f"merged {n} duplicate record(s)", m)
        if m.undone_at is not None:
            yield TimelineEvent(m.undone_at, "merge_undone", m.id, "merge undone", m)


def service_history(
    uow: UnitOfWorkContext,
    customer_id: uuid.UUID,
    limit: int = 50,
    cursor: str | None = None,
    *,
    kinds: Iterable[str] | None = None,
) -> HistoryPage:
    """One page of a customer's timeline, newest first.

    Args:
        uow: the unit of work; its policy filters and masks every source.
        customer_id: the customer.
        limit: events per page (1-1000).
        cursor: ``next_cursor`` of the previous page.
        kinds: only these kinds (see :data:`HISTORY_KINDS`).

    Returns:
        The page; pass ``page.next_cursor`` for the next one.

    Raises:
        NotFound: no such customer in this tenant (or hidden from the principal).
        PermissionDenied: the principal may not read the customer.
        QueryError: a bad limit, kind or cursor.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
        raise QueryError(f"limit must be an integer from 1 to {_MAX_LIMIT}")
    wanted = None if kinds is None else frozenset(kinds)
    if wanted is not None and not wanted <= set(HISTORY_KINDS):
        bad = sorted(wanted - set(HISTORY_KINDS))[0]
        raise QueryError(f"unknown history kind {bad!r}; use one of {HISTORY_KINDS}")
    after = _decode(cursor) if cursor is not None else None
    uow.repo(Customer).get(customer_id)
    events = [e for e in _events(uow, customer_id) if wanted is None or e.kind in wanted]
    events.sort(key=lambda e: e.sort_key, reverse=True)
    if after is not None:
        events = [e for e in events if e.sort_key < after]
    page = tuple(events[:limit])
    more = len(events) > limit
    return HistoryPage(page, _encode(page[-1].sort_key) if more and page else None)
