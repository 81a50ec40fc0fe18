"""Marketing use cases: segments and static lists, audiences, sends, event ingestion, reports.

Segments are saved filters (:func:`crmcore.query.to_dict` data in
``Segment.filter``) evaluated by the database: counts are one ``COUNT``,
previews one ``LIMIT``, members a stream. A static list is a segment whose
filter is "has an entry in ``segment_entries``", so it is evaluated the
same way. Sending takes a segment's members, applies the audience rules of
:mod:`crmcore.marketing` (consent, suppressions, frequency cap, quiet hours,
one message per person), hands the messages to a channel and keeps a
snapshot of who was sent what (``CampaignMember`` rows). Provider events
come back through :func:`ingest_events`; :func:`campaign_report` aggregates
them in the database.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from crmcore.dedupe import DEFAULT_RULES, DefaultNormalizer, RawTable
from crmcore.errors import CrmError, NotFound, ValidationError
from crmcore.events import emit
from crmcore.marketing import (
    AttributionModel,
    Audience,
    AudienceCandidate,
    AudienceExclusion,
    AudienceRules,
    ChiSquareResult,
    DeliveryReceipt,
    IncomingEvent,
    MarketingChannel,
    MarketingEventKind,
    OutboundMessage,
    ProportionTest,
    RevenueEvent,
    Touchpoint,
    assign_variant,
    attribute,
    chi_square_test,
    parse_event,
    plan_audience,
    two_proportion_test,
    utm_link,
    wilson_interval,
)
from crmcore.model import (
    ENTITY_TYPES,
    Campaign,
    CampaignCost,
    CampaignEvent,
    CampaignMember,
    CampaignVariant,
    Channel,
    ChannelSuppression,
    Consent,
    ConsentStatus,
    Customer,
    Entity,
    Money,
    Opportunity,
    Order,
    Segment,
    SegmentEntry,
    replace_trusted,
)
from crmcore.query import (
    Filter,
    all_of,
    bind,
    eq,
    from_dict,
    ge,
    in_,
    le,
    related,
    resolve_times,
    to_dict,
)
from crmcore.services._transitions import transition
from crmcore.storage import FunnelRow, campaign_funnel, campaign_timeline, stored_ids
from crmcore.storage.ports import UnitOfWorkContext

__all__ = [
    "CampaignReport",
    "IngestReport",
    "SendReport",
    "VariantMetrics",
    "add_to_list",
    "build_audience",
    "campaign_report",
    "channel_address",
    "create_segment",
    "create_static_list",
    "ingest_events",
    "record_campaign_cost",
    "remove_from_list",
    "schedule_campaign",
    "segment_count",
    "segment_filter",
    "segment_members",
    "segment_preview",
    "send_campaign",
    "send_due_campaigns",
]

_CHUNK = 500
_EVENT_NS = uuid.UUID("8b0c1a52-54a4-4d5c-9a57-2f0f4e3c6a10")
_TEMPLATE_LINK = re.compile(r"\{link:([A-Za-z0-9_\-]+)\}")
_TEMPLATE_FIELD = re.compile(r"\{(first_name|last_name|email)\}")


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for at in range(0, len(items), size):
        yield items[at : at + size]


# --------------------------------------------------------------------------- segments


def _segment(uow: UnitOfWorkContext, segment: Segment | uuid.UUID) -> Segment:
    return uow.repo(Segment).get(segment) if isinstance(segment, uuid.UUID) else segment


def _segment_type(segment: Segment) -> type[Entity]:
    etype = ENTITY_TYPES.get(segment.entity)
    if etype is None:
        raise ValidationError.single(
            "$.entity", "invalid", f"unknown entity type {segment.entity!r}", entity="Segment"
        )
    return etype


def create_segment(
    uow: UnitOfWorkContext,
    name: str,
    where: Filter,
    *,
    entity: str = "Customer",
    description: str | None = None,
) -> Segment:
    """Save a dynamic segment: a filter (relative times such as ``ago(days=90)`` stay relative).

    Raises:
        QueryError: the filter does not fit the entity type (checked now, not at send time).
    """
    etype = ENTITY_TYPES.get(entity)
    if etype is None:
        raise ValidationError.single("$.entity", "invalid", f"unknown entity type {entity!r}")
    # check the fields now: a typo must not wait for the first send to surface
    bind(resolve_times(where, uow.now()), etype)
    return uow.repo(Segment).add(
        Segment(name=name, entity=entity, filter=to_dict(where), description=description)
    )


def create_static_list(
    uow: UnitOfWorkContext,
    name: str,
    customer_ids: Iterable[uuid.UUID] = (),
    *,
    description: str | None = None,
) -> Segment:
    """A static list: a segment whose members are its entries (add and remove them by hand)."""
    seg = Segment(name=name, entity="Customer", description=description)
    members = related("segment_entries", "customer_id", eq("segment_id", seg.id))
    seg = uow.repo(Segment).add(attrs.evolve(seg, filter=to_dict(members)))
    add_to_list(uow, seg, customer_ids)
    return seg


def _list_entries(uow: UnitOfWorkContext, segment: Segment) -> dict[uuid.UUID, SegmentEntry]:
    return {e.customer_id: e for e in uow.repo(SegmentEntry).stream(eq("segment_id", segment.id))}


def add_to_list(
    uow: UnitOfWorkContext, segment: Segment | uuid.UUID, customer_ids: Iterable[uuid.UUID]
) -> int:
    """Put customers on a static list (once each); returns how many were added."""
    seg = _segment(uow, segment)
    have = _list_entries(uow, seg)
    wanted = list(dict.fromkeys(i for i in customer_ids if i not in have))
    if not wanted:
        return 0
    found = {c.id for c in uow.repo(Customer).get_many(wanted)}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound("Customer", missing[0])
    who = uow.principal.user_id
    uow.repo(SegmentEntry).add_many(
        SegmentEntry(segment_id=seg.id, customer_id=i, added_by=who) for i in wanted
    )
    return len(wanted)


def remove_from_list(
    uow: UnitOfWorkContext, segment: Segment | uuid.UUID, customer_ids: Iterable[uuid.UUID]
) -> int:
    """Take customers off a static list; returns how many were on it."""
    seg = _segment(uow, segment)
    have = _list_entries(uow, seg)
    gone = [have[i] for i in dict.fromkeys(customer_ids) if i in have]
    for e in gone:
        uow.repo(SegmentEntry).delete(e.id, hard=True)
    return len(gone)


def segment_filter(uow: UnitOfWorkContext, segment: Segment | uuid.UUID) -> Filter:
    """The segment's filter with relative times resolved against the unit's clock."""
    seg = _segment(uow, segment)
    return resolve_times(from_dict(seg.filter), uow.now())


def segment_count(uow: UnitOfWorkContext, segment: Segment | uuid.UUID) -> int:
    """How many records the segment holds now (one COUNT in the database)."""
    seg = _segment(uow, segment)
    return uow.repo(_segment_type(seg)).count(segment_filter(uow, seg))


def segment_preview(
    uow: UnitOfWorkContext, segment: Segment | uuid.UUID, limit: int = 20
) -> list[Entity]:
    """The first ``limit`` members, oldest first (one LIMIT query)."""
    seg = _segment(uow, segment)
    page = uow.repo(_segment_type(seg)).find(
        segment_filter(uow, seg), order_by="created_at", limit=limit
    )
    return list(page.items)


def segment_members(
    uow: UnitOfWorkContext, segment: Segment | uuid.UUID, *, batch_size: int = 1000
) -> Iterator[Entity]:
    """Every member, streamed ``batch_size`` at a time."""
    seg = _segment(uow, segment)
    return uow.repo(_segment_type(seg)).stream(segment_filter(uow, seg), batch_size=batch_size)


# --------------------------------------------------------------------------- audiences


def channel_address(customer: Customer, channel: Channel) -> str | None:
    """The normalised address a customer is reached at on ``channel`` (None: none known)."""
    if channel == Channel.EMAIL:
        return customer.email.strip().lower() if customer.email else None
    if channel in (Channel.SMS, Channel.PHONE):
        return customer.phone or None
    value = customer.custom.get(f"{channel.value}_id")
    return value if isinstance(value, str) and value else None


def _normal_address(channel: Channel, address: str) -> str:
    if channel == Channel.EMAIL:
        return address.strip().lower()
    if channel in (Channel.SMS, Channel.PHONE):
        from crmcore.validation import normalize_phone

        try:
            return normalize_phone(address)
        except CrmError:
            return address.strip()
    return address.strip()


def _person_keys(customers: Sequence[Customer], region: str = "CN") -> dict[uuid.UUID, Hashable]:
    """Records of one person (same e-mail, phone or national id after normalising) share a key.

    Uses :mod:`crmcore.dedupe`'s normaliser and its exact blocking rules, so
    two records the duplicate finder would block together on an identity key
    get one message between them even before anyone merges them.
    """
    if not customers:
        return {}
    raw = RawTable(
        ids=[c.id for c in customers],
        columns={
            "email": [c.email for c in customers],
            "phone": [c.phone for c in customers],
            "national_id": [c.national_id for c in customers],
        },
    )
    normal = DefaultNormalizer(region=region)(raw)
    parent = list(range(len(customers)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for rule in DEFAULT_RULES:
        if rule.name not in ("email", "phone", "national_id"):
            continue
        first: dict[str, int] = {}
        cols = [normal.get(c, [None] * len(customers)) for c in rule.columns]
        for i in range(len(customers)):
            for key in rule.key(tuple(col[i] for col in cols)):
                j = first.setdefault(f"{rule.name}:{key}", i)
                if j != i:
                    a, b = find(i), find(j)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
    return {c.id: customers[find(i)].id for i, c in enumerate(customers)}


def build_audience(
    uow: UnitOfWorkContext,
    customers: Iterable[Customer],
    rules: AudienceRules,
    *,
    now: _dt.datetime | None = None,
    timezone_field: str = "timezone",
) -> Audience:
    """Apply the audience rules to ``customers`` (such as a segment's members).

    Loads what the rules need in batches: consent histories, suppressions of
    the channel's addresses, and how many messages each customer was sent
    within the frequency cap's window (``CampaignMember`` rows with status
    ``sent``). A customer's time zone for quiet hours is ``custom[timezone_field]``.
    """
    at = now or uow.now()
    people = list(customers)
    keys = _person_keys(people)
    consents: dict[uuid.UUID, list[Consent]] = defaultdict(list)
    suppressed: dict[str, str] = {}
    recent: dict[uuid.UUID, int] = defaultdict(int)
    addresses = {c.id: channel_address(c, rules.channel) for c in people}
    since = at - rules.cap_window
    for chunk in _chunks(people):
        ids = [c.id for c in chunk]
        for consent in uow.repo(Consent).stream(in_("customer_id", ids)):
            consents[consent.customer_id].append(consent)
        addrs = [a for a in (addresses[i] for i in ids) if a]
        if addrs:
            sup = all_of(in_("address", addrs), eq("channel", rules.channel))
            for s in uow.repo(ChannelSuppression).stream(sup):
                if s.expires_at is None or s.expires_at > at:
                    suppressed.setdefault(s.address, s.reason)
        if rules.max_messages is not None:
            sent = all_of(in_("customer_id", ids), eq("status", "sent"), ge("created_at", since))
            for m in uow.repo(CampaignMember).stream(sent):
                recent[m.customer_id] += 1
    candidates = []
    for c in people:
        address = addresses[c.id]
        tz = c.custom.get(timezone_field)
        candidates.append(
            AudienceCandidate(
                customer=c,
                address=address,
                consents=tuple(consents.get(c.id, ())),
                person_key=keys.get(c.id),
                suppressed=suppressed.get(address) if address else None,
                recent_messages=recent.get(c.id, 0),
                timezone=tz if isinstance(tz, str) else None,
            )
        )
    return plan_audience(candidates, rules, at)


# --------------------------------------------------------------------------- campaigns


def schedule_campaign(
    uow: UnitOfWorkContext, campaign: Campaign | uuid.UUID, at: _dt.datetime
) -> Campaign:
    """Set ``scheduled_at`` (in the future) and fire ``schedule`` on the CAMPAIGN machine."""
    c = uow.repo(Campaign).get(campaign) if isinstance(campaign, uuid.UUID) else campaign
    return transition(uow, attrs.evolve(c, scheduled_at=at), "schedule")


def record_campaign_cost(
    uow: UnitOfWorkContext,
    campaign: Campaign | uuid.UUID,
    amount: Money,
    *,
    note: str | None = None,
    at: _dt.datetime | None = None,
) -> CampaignCost:
    """Book money spent on a campaign (its ROI counts every booked cost)."""
    cid = campaign if isinstance(campaign, uuid.UUID) else campaign.id
    uow.repo(Campaign).get(cid)
    return uow.repo(CampaignCost).add(
        CampaignCost(campaign_id=cid, amount=amount, note=note, incurred_at=at or uow.now())
    )


@attrs.frozen
class SendReport:
    """What a send did: the audience (with its exclusion report) and the channel's receipts."""

    campaign: Campaign
    audience: Audience
    sent: int
    failed: int
    variants: Mapping[str, int]
    receipts: tuple[DeliveryReceipt, ...] = ()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "campaign"


def _render(
    text: str | None,
    customer: Customer,
    links: Mapping[str, Any],
    utm: Callable[[str], str],
) -> str:
    if not text:
        return ""

    def link(m: re.Match[str]) -> str:
        url = links.get(m.group(1))
        if not isinstance(url, str):
            raise ValidationError.single(
                f"$.links.{m.group(1)}",
                "unknown_link",
                "the template uses a link the variant does not define as a URL",
                entity="CampaignVariant",
            )
        return utm(url)

    def field(m: re.Match[str]) -> str:
        value = getattr(customer, m.group(1))
        return str(value) if value else ""

    return _TEMPLATE_FIELD.sub(field, _TEMPLATE_LINK.sub(link, text))


def _event_id(tenant: str, provider_event_id: str) -> uuid.UUID:
    return uuid.uuid5(_EVENT_NS, f"{tenant}\x1f{provider_event_id}")


def _event_ids(tenant: str) -> Callable[[str], uuid.UUID]:
    """:func:`_event_id` for one tenant, hashing the shared prefix once (the bulk path)."""
    prefix = hashlib.sha1(_EVENT_NS.bytes + f"{tenant}\x1f".encode())  # what uuid5 hashes
    make = uuid.UUID

    def event_id(provider_event_id: str) -> uuid.UUID:
        h = prefix.copy()
        h.update(provider_event_id.encode())
        return make(bytes=h.digest()[:16], version=5)

    return event_id


def send_campaign(
    uow: UnitOfWorkContext,
    campaign: Campaign | uuid.UUID,
    channel: MarketingChannel,
    *,
    rules: AudienceRules | None = None,
    utm_source: str = "crmcore",
    sender: str | None = None,
    batch_size: int = 200,
) -> SendReport:
    """Send a campaign to its segment's members through ``channel``, keeping a snapshot.

    The campaign moves to ``running`` on the CAMPAIGN machine (``start``); its
    segment's members go through the audience rules (by default: the
    campaign's channel, consent required); each included customer gets the
    variant :func:`~crmcore.marketing.assign_variant` picks, rendered with
    ``{first_name}``-style fields and ``{link:name}`` links carrying UTM
    parameters (source ``utm_source``, medium the channel, campaign the
    campaign's name, content the variant). Every recipient gets a
    ``CampaignMember`` row (``sent`` or ``failed``, variant, address) and a
    ``sent`` event; a permanent failure (a rejected address) suppresses the
    address and records a ``bounced`` event.

    Raises:
        ValidationError: the campaign has no segment, no channel or no variant.
        InvalidTransition: the campaign cannot start (completed, cancelled...).
    """
    c = uow.repo(Campaign).get(campaign) if isinstance(campaign, uuid.UUID) else campaign
    if c.segment_id is None:
        raise ValidationError.single(
            "$.segment_id", "required", "a campaign needs a segment to send", entity="Campaign"
        )
    ch = c.channel or channel.channel
    if ch != channel.channel:
        raise ValidationError.single(
            "$.channel",
            "mismatch",
            f"campaign sends on {ch.value}, the channel delivers {channel.channel.value}",
            entity="Campaign",
        )
    variants = sorted(
        uow.repo(CampaignVariant).stream(eq("campaign_id", c.id)), key=lambda v: v.name
    )
    if not variants:
        raise ValidationError.single(
            "$.variants", "required", "a campaign needs at least one variant", entity="Campaign"
        )
    rules = rules or AudienceRules(channel=ch)
    if rules.channel != ch:
        raise ValidationError.single("$.rules.channel", "mismatch", "rules are for another channel")
    already = {
        m.customer_id
        for m in uow.repo(CampaignMember).stream(eq("campaign_id", c.id))
        if m.status == "sent"
    }
    members = [m for m in segment_members(uow, c.segment_id) if isinstance(m, Customer)]
    audience = build_audience(uow, [m for m in members if m.id not in already], rules)
    if already:
        repeat = tuple(
            AudienceExclusion(m.id, "already_sent", "sent by an earlier run of this campaign")
            for m in members
            if m.id in already
        )
        audience = Audience(audience.included, audience.excluded + repeat)
    running = c if c.status == "running" else transition(uow, c, "start")
    by_name = {v.name: v for v in variants}
    weights = [(v.name, v.weight) for v in variants]
    name = _slug(c.name)
    messages: list[OutboundMessage] = []
    for cand in audience.included:
        who = cand.customer
        v = by_name[assign_variant(c.id, who.id, weights)]

        def utm(url: str, v: CampaignVariant = v) -> str:
            return utm_link(url, source=utm_source, medium=ch.value, campaign=name, content=v.name)

        messages.append(
            OutboundMessage(
                message_id=f"{c.id}:{who.id}",
                channel=ch,
                to=cand.address or "",
                subject=_render(v.subject, who, v.links, utm) or None,
                body=_render(v.body, who, v.links, utm),
                campaign_id=c.id,
                customer_id=who.id,
                variant=v.name,
                sender=sender,
            )
        )
    receipts: list[DeliveryReceipt] = []
    for chunk in _chunks(messages, batch_size):
        got = channel.send(chunk)
        if len(got) != len(chunk):
            raise ValidationError.single(
                "$.receipts", "invalid", "the channel returned a receipt count unlike the batch"
            )
        receipts += got
    now = uow.now()
    tenant = uow.tenant_id
    rows: list[CampaignMember] = []
    events: list[CampaignEvent] = []
    bounced: list[ChannelSuppression] = []
    counts: dict[str, int] = defaultdict(int)
    for msg, rec in zip(messages, receipts, strict=True):
        assert msg.customer_id is not None
        rows.append(
            CampaignMember(
                campaign_id=c.id,
                customer_id=msg.customer_id,
                status="sent" if rec.accepted else "failed",
                variant=msg.variant,
                address=msg.to,
            )
        )
        kind = "sent" if rec.accepted else ("bounced" if rec.permanent else None)
        if kind is not None:
            events.append(
                CampaignEvent(
                    id=_event_id(tenant, f"crmcore:{kind}:{msg.message_id}"),
                    campaign_id=c.id,
                    customer_id=msg.customer_id,
                    kind=kind,
                    occurred_at=now,
                    variant=msg.variant,
                    provider_event_id=f"crmcore:{kind}:{msg.message_id}",
                )
            )
        if rec.accepted and msg.variant is not None:
            counts[msg.variant] += 1
        if not rec.accepted and rec.permanent:
            bounced.append(
                ChannelSuppression(
                    id=_suppression_id(tenant, ch, msg.to),
                    channel=ch,
                    address=msg.to,
                    reason="bounced",
                    customer_id=msg.customer_id,
                    campaign_id=c.id,
                    recorded_at=now,
                )
            )
    uow.repo(CampaignMember).add_many(rows)
    uow.repo(CampaignEvent).add_many(_new_only(uow, CampaignEvent, events))
    uow.repo(ChannelSuppression).add_many(_new_only(uow, ChannelSuppression, bounced))
    sent = sum(1 for r in receipts if r.accepted)
    emit(uow, "campaign.sent", running, {"recipients": sent})
    return SendReport(
        campaign=running,
        audience=audience,
        sent=sent,
        failed=len(receipts) - sent,
        variants=dict(counts),
        receipts=tuple(receipts),
    )


def send_due_campaigns(
    uow: UnitOfWorkContext,
    channels: Mapping[Channel, MarketingChannel],
    *,
    now: _dt.datetime | None = None,
) -> list[SendReport]:
    """Send every ``scheduled`` campaign whose ``scheduled_at`` has come (a scheduler's tick).

    Each goes through :func:`send_campaign` with the channel registered for its
    channel; a campaign whose channel has none is left scheduled.
    """
    at = now or uow.now()
    due = all_of(eq("status", "scheduled"), le("scheduled_at", at))
    reports = []
    for c in list(uow.repo(Campaign).stream(due, order_by="scheduled_at")):
        channel = channels.get(c.channel) if c.channel is not None else None
        if channel is not None:
            reports.append(send_campaign(uow, c, channel))
    return reports


def _suppression_id(tenant: str, channel: Channel, address: str) -> uuid.UUID:
    return uuid.uuid5(_EVENT_NS, f"suppression\x1f{tenant}\x1f{channel.value}\x1f{address}")


def _new_only(uow: UnitOfWorkContext, etype: type[Any], rows: list[Any]) -> list[Any]:
    """The rows whose (deterministic) id is not stored yet, the first of repeated ids."""
    unique = list({r.id: r for r in reversed(rows)}.values())[::-1]
    taken = stored_ids(uow.inner(etype), [r.id for r in unique])
    return [r for r in unique if r.id not in taken]


# --------------------------------------------------------------------------- ingestion


@attrs.frozen
class IngestReport:
    """What :func:`ingest_events` stored: new events, repeats skipped, consents and suppressions."""

    received: int
    stored: int
    duplicates: int
    unsubscribes: int
    suppressions: int
    by_kind: Mapping[str, int]


def ingest_events(
    uow: UnitOfWorkContext,
    events: Iterable[IncomingEvent | Mapping[str, Any]],
) -> IngestReport:
    """Store provider events (sent ... complained) idempotently, in bulk.

    Each event's id is derived from the tenant and its ``provider_event_id``,
    so an event delivered twice (in one call or across calls) is stored once;
    order does not matter (reports count the highest stage each recipient
    reached). ``unsubscribed`` writes a withdrawn marketing consent for the
    campaign's channel (dated when the customer unsubscribed, so a later
    re-subscription still wins); ``complained`` and hard ``bounced`` events
    suppress the address.

    Raises:
        ValidationError: a malformed event (nothing is stored), naming its position.
        NotFound: an event names a campaign that does not exist.
    """
    parsed = [parse_event(e, i) for i, e in enumerate(events)]
    tenant = uow.tenant_id
    unique: dict[uuid.UUID, IncomingEvent] = {}
    event_id = _event_ids(tenant)
    for e in parsed:  # the first of repeated provider ids wins
        unique.setdefault(event_id(e.provider_event_id), e)
    taken = stored_ids(uow.inner(CampaignEvent), list(unique))
    fresh: list[CampaignEvent] = []
    if unique:
        # parse_event checked every value (UUIDs, an aware UTC time, Money): the
        # records are trusted copies of one template, not constructed and checked again
        first = next(iter(unique.values()))
        template = CampaignEvent(
            campaign_id=first.campaign_id, customer_id=first.customer_id, kind="sent"
        )
        copy = replace_trusted
        fresh = [
            copy(
                template,
                id=eid,
                campaign_id=e.campaign_id,
                customer_id=e.customer_id,
                kind=e.kind.value,
                occurred_at=e.occurred_at,
                value=e.value,
                variant=e.variant,
                link=e.link,
                provider_event_id=e.provider_event_id,
            )
            for eid, e in unique.items()
            if eid not in taken
        ]
    firsts = {r.id: unique[r.id] for r in fresh}
    campaign_ids = list({e.campaign_id for e in firsts.values()})
    campaigns = {c.id: c for c in uow.repo(Campaign).get_many(campaign_ids)}
    for cid in campaign_ids:
        if cid not in campaigns:
            raise NotFound("Campaign", cid)
    fresh = _fill_variants(uow, fresh)
    uow.repo(CampaignEvent).add_many(fresh)

    consents: list[Consent] = []
    suppressions: list[ChannelSuppression] = []
    need_address = [
        e
        for e in firsts.values()
        if e.kind in (MarketingEventKind.BOUNCED, MarketingEventKind.COMPLAINED) and not e.address
    ]
    customers: dict[uuid.UUID, Customer] = {}
    for chunk in _chunks(list({e.customer_id for e in need_address})):
        customers.update({c.id: c for c in uow.repo(Customer).get_many(chunk)})
    for eid, e in firsts.items():
        ch = campaigns[e.campaign_id].channel or Channel.EMAIL
        if e.kind == MarketingEventKind.UNSUBSCRIBED:
            consents.append(
                Consent(
                    id=uuid.uuid5(_EVENT_NS, f"consent\x1f{eid}"),
                    customer_id=e.customer_id,
                    purpose="marketing",
                    status=ConsentStatus.WITHDRAWN,
                    channel=ch,
                    recorded_at=e.occurred_at,
                    source=f"unsubscribe:{e.campaign_id}",
                    evidence=e.provider_event_id,
                )
            )
        elif e.kind == MarketingEventKind.COMPLAINED or (
            e.kind == MarketingEventKind.BOUNCED and e.permanent
        ):
            address = e.address
            if not address:
                cust = customers.get(e.customer_id)
                address = channel_address(cust, ch) if cust is not None else None
            if not address:
                continue
            address = _normal_address(ch, address)
            suppressions.append(
                ChannelSuppression(
                    id=_suppression_id(tenant, ch, address),
                    channel=ch,
                    address=address,
                    reason=e.kind.value,
                    customer_id=e.customer_id,
                    campaign_id=e.campaign_id,
                    recorded_at=e.occurred_at,
                )
            )
    uow.repo(Consent).add_many(_new_only(uow, Consent, consents))
    new_sup = _new_only(uow, ChannelSuppression, suppressions)
    uow.repo(ChannelSuppression).add_many(new_sup)
    by_kind: dict[str, int] = defaultdict(int)
    for r in fresh:
        by_kind[r.kind] += 1
    return IngestReport(
        received=len(parsed),
        stored=len(fresh),
        duplicates=len(parsed) - len(fresh),
        unsubscribes=len(consents),
        suppressions=len(new_sup),
        by_kind=dict(by_kind),
    )


def _fill_variants(uow: UnitOfWorkContext, rows: list[CampaignEvent]) -> list[CampaignEvent]:
    """Events that came without a variant get the one the recipient was sent (the snapshot)."""
    missing: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for r in rows:
        if r.variant is None:
            missing[r.campaign_id].add(r.customer_id)
    if not missing:
        return rows
    sent: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
    for cid, people in missing.items():
        for chunk in _chunks(sorted(people, key=lambda u: u.int)):
            where = all_of(eq("campaign_id", cid), in_("customer_id", chunk))
            for m in uow.repo(CampaignMember).stream(where):
                if m.variant is not None:
                    sent[(cid, m.customer_id)] = m.variant
    return [
        attrs.evolve(r, variant=sent.get((r.campaign_id, r.customer_id)))
        if r.variant is None
        else r
        for r in rows
    ]


# --------------------------------------------------------------------------- reports


def _rate(n: int, d: int) -> float | None:
    return n / d if d else None


@attrs.frozen
class VariantMetrics:
    """One variant's funnel and rates (sent-based, except click-to-open and delivered-based ones).

    Rates are None when their denominator is 0.
    """

    variant: str | None
    funnel: FunnelRow

    @property
    def delivery_rate(self) -> float | None:
        return _rate(self.funnel.delivered, self.funnel.sent)

    @property
    def open_rate(self) -> float | None:
        return _rate(self.funnel.opened, self.funnel.delivered)

    @property
    def click_rate(self) -> float | None:
        return _rate(self.funnel.clicked, self.funnel.delivered)

    @property
    def click_to_open_rate(self) -> float | None:
        return _rate(self.funnel.clicked, self.funnel.opened)

    @property
    def conversion_rate(self) -> float | None:
        return _rate(self.funnel.converted, self.funnel.delivered)

    @property
    def unsubscribe_rate(self) -> float | None:
        return _rate(self.funnel.unsubscribed, self.funnel.delivered)

    @property
    def bounce_rate(self) -> float | None:
        return _rate(self.funnel.bounced, self.funnel.sent)

    @property
    def complaint_rate(self) -> float | None:
        return _rate(self.funnel.complained, self.funnel.delivered)

    def conversion_interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Wilson interval of the conversion rate."""
        return wilson_interval(self.funnel.converted, self.funnel.delivered, confidence)

    def as_dict(self) -> dict[str, Any]:
        f = self.funnel
        return {
            "variant": self.variant,
            "sent": f.sent,
            "delivered": f.delivered,
            "opened": f.opened,
            "clicked": f.clicked,
            "converted": f.converted,
            "unsubscribed": f.unsubscribed,
            "bounced": f.bounced,
            "complained": f.complained,
            "delivery_rate": self.delivery_rate,
            "open_rate": self.open_rate,
            "click_rate": self.click_rate,
            "click_to_open_rate": self.click_to_open_rate,
            "conversion_rate": self.conversion_rate,
            "unsubscribe_rate": self.unsubscribe_rate,
            "bounce_rate": self.bounce_rate,
        }


def _funnel_total(rows: Sequence[FunnelRow]) -> FunnelRow:
    value: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        for cur, v in r.value.items():
            value[cur] += v
    return FunnelRow(
        None,
        sent=sum(r.sent for r in rows),
        delivered=sum(r.delivered for r in rows),
        opened=sum(r.opened for r in rows),
        clicked=sum(r.clicked for r in rows),
        converted=sum(r.converted for r in rows),
        unsubscribed=sum(r.unsubscribed for r in rows),
        bounced=sum(r.bounced for r in rows),
        complained=sum(r.complained for r in rows),
        value=dict(value),
    )


@attrs.frozen
class CampaignReport:
    """A campaign's results: per-variant funnels and tests, revenue, cost, ROI, timeline.

    Attributes:
        total: the whole campaign's metrics (variant None).
        variants: per variant.
        tests: each variant after the first against the first, on ``metric``.
        chi_square: all variants at once on ``metric``.
        revenue: attributed revenue per currency (orders and won opportunities).
        cost: booked costs per currency.
        roi: ``(revenue - cost) / cost`` per currency with both.
        timeline: ``(day, kind, recipients)`` rows.
    """

    campaign: Campaign
    total: VariantMetrics
    variants: tuple[VariantMetrics, ...]
    metric: str
    tests: Mapping[str, ProportionTest]
    chi_square: ChiSquareResult | None
    attribution: str
    revenue: Mapping[str, Decimal]
    cost: Mapping[str, Decimal]
    timeline: tuple[tuple[str, str, int], ...]

    @property
    def budget(self) -> Money | None:
        """The campaign's budget."""
        return self.campaign.budget

    @property
    def budget_left(self) -> Decimal | None:
        """Budget minus booked cost in the budget's currency (negative: over budget)."""
        b = self.campaign.budget
        if b is None:
            return None
        return b.amount - self.cost.get(b.currency, Decimal(0))

    @property
    def roi(self) -> dict[str, Decimal | None]:
        out: dict[str, Decimal | None] = {}
        for cur in set(self.revenue) | set(self.cost):
            spent = self.cost.get(cur, Decimal(0))
            earned = self.revenue.get(cur, Decimal(0))
            out[cur] = ((earned - spent) / spent).quantize(Decimal("0.0001")) if spent else None
        return out

    def to_rows(self) -> list[dict[str, Any]]:
        """One plain row per variant (and the total), for a table or a DataFrame."""
        return [v.as_dict() for v in self.variants] + [
            {**self.total.as_dict(), "variant": "(total)"}
        ]


_METRICS: Mapping[str, tuple[str, str]] = {
    "open": ("opened", "delivered"),
    "click": ("clicked", "delivered"),
    "click_to_open": ("clicked", "opened"),
    "conversion": ("converted", "delivered"),
    "unsubscribe": ("unsubscribed", "delivered"),
    "bounce": ("bounced", "sent"),
    "delivery": ("delivered", "sent"),
}


def _touches(
    uow: UnitOfWorkContext, customer_ids: Sequence[uuid.UUID], since: _dt.datetime
) -> list[Touchpoint]:
    out: list[Touchpoint] = []
    kinds = ["delivered", "opened", "clicked"]
    for chunk in _chunks(list(customer_ids)):
        where = all_of(in_("customer_id", chunk), in_("kind", kinds), ge("occurred_at", since))
        for e in uow.repo(CampaignEvent).stream(where):
            if e.occurred_at is not None:
                out.append(Touchpoint(e.customer_id, e.campaign_id, e.occurred_at))
    return out


def _revenues(
    uow: UnitOfWorkContext,
    customer_ids: Sequence[uuid.UUID],
    since: _dt.datetime,
    until: _dt.datetime,
) -> list[RevenueEvent]:
    out: list[RevenueEvent] = []
    for chunk in _chunks(list(customer_ids)):
        orders = all_of(in_("customer_id", chunk), ge("ordered_at", since), le("ordered_at", until))
        for o in uow.repo(Order).stream(orders):
            if o.status in ("cancelled", "refunded") or o.ordered_at is None:
                continue
            total = o.total
            if total.amount and o.customer_id is not None:
                out.append(
                    RevenueEvent(o.customer_id, total.amount, total.currency, o.ordered_at, "order")
                )
        won = all_of(
            in_("customer_id", chunk),
            eq("stage", "closed_won"),
            ge("closed_at", since),
            le("closed_at", until),
        )
        for opp in uow.repo(Opportunity).stream(won):
            if opp.amount is not None and opp.closed_at is not None and opp.customer_id:
                out.append(
                    RevenueEvent(
                        opp.customer_id,
                        opp.amount.amount,
                        opp.amount.currency,
                        opp.closed_at,
                        "opportunity",
                    )
                )
    return out


def campaign_report(
    uow: UnitOfWorkContext,
    campaign: Campaign | uuid.UUID,
    *,
    metric: str = "conversion",
    attribution: AttributionModel = "last_touch",
    window: _dt.timedelta = _dt.timedelta(days=30),
    confidence: float = 0.95,
) -> CampaignReport:
    """Compute a campaign's report: funnels grouped in the database, tests, revenue and ROI.

    Revenue is the campaign's credit under ``attribution`` (first touch, last
    touch or linear over every campaign's delivered/opened/clicked touches)
    for orders and won opportunities of its recipients placed at most
    ``window`` after a touch.

    Raises:
        ValidationError: an unknown ``metric``.
        PermissionDenied: the principal may not read the campaign.
    """
    if metric not in _METRICS:
        raise ValidationError.single(
            "$.metric", "invalid", f"metric must be one of {', '.join(_METRICS)}"
        )
    c = uow.repo(Campaign).get(campaign) if isinstance(campaign, uuid.UUID) else campaign
    uow.authorize("read", c)
    events = uow.inner(CampaignEvent)
    rows = campaign_funnel(events, uow.tenant_id, c.id)
    timeline = campaign_timeline(events, uow.tenant_id, c.id)
    variants = tuple(VariantMetrics(r.variant, r) for r in rows)
    total = VariantMetrics(None, _funnel_total(rows))
    num, den = _METRICS[metric]
    named = [v for v in variants if v.variant is not None]
    tests: dict[str, ProportionTest] = {}
    chi: ChiSquareResult | None = None
    if len(named) >= 2:
        base = named[0].funnel
        for v in named[1:]:
            f = v.funnel
            tests[str(v.variant)] = two_proportion_test(
                getattr(f, num), getattr(f, den), getattr(base, num), getattr(base, den), confidence
            )
        chi = chi_square_test([(getattr(v.funnel, num), getattr(v.funnel, den)) for v in named])
    # revenue: the campaign's recipients' orders and won deals after their touches
    recipients = [
        m.customer_id
        for m in uow.repo(CampaignMember).stream(eq("campaign_id", c.id))
        if m.status == "sent"
    ]
    recipients = list(dict.fromkeys(recipients))
    start = c.started_at or c.created_at
    touches = _touches(uow, recipients, start - window)  # earlier campaigns compete too
    until = uow.now()
    revenues = _revenues(uow, recipients, start, until)
    credited = attribute(touches, revenues, model=attribution, window=window)
    revenue = {cur: v for (cid, cur), v in credited.items() if cid == c.id}
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for k in uow.repo(CampaignCost).stream(eq("campaign_id", c.id)):
        cost[k.amount.currency] += k.amount.amount
    cents = Decimal("0.01")
    return CampaignReport(
        campaign=c,
        total=total,
        variants=variants,
        metric=metric,
        tests=tests,
        chi_square=chi,
        attribution=attribution,
        revenue=revenue,
        cost={cur: v.quantize(cents) for cur, v in cost.items()},
        timeline=tuple(timeline),
    )
