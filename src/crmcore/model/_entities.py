"""The aggregates of a CRM: people, organisations, sales, service, marketing, commerce.

All entities are frozen, slotted attrs classes with keyword-only arguments;
change one with ``attrs.evolve(entity, field=value)``. Fields that a lifecycle
machine moves (``status``, ``stage``, ``lifecycle_stage``) are plain strings so a tenant can
configure its own states; the machine checks them.
"""

from __future__ import annotations

import datetime as _dt
import enum
import uuid
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, ClassVar, TypeVar

import attrs

from crmcore.errors import ValidationError
from crmcore.model._base import Entity, Protectable, _aware_opt, _tags
from crmcore.model._copies import ValueCopies
from crmcore.model._values import (
    Address,
    EmailAddress,
    Money,
    OrderLine,
    PersonName,
    PhoneNumber,
)

__all__ = [
    "Account",
    "Activity",
    "ActivityType",
    "AuditEntry",
    "Campaign",
    "CampaignEvent",
    "CampaignMember",
    "Channel",
    "Consent",
    "ConsentStatus",
    "ContactRole",
    "Customer",
    "Gender",
    "KnowledgeArticle",
    "Lead",
    "MergeRecord",
    "Opportunity",
    "Order",
    "Priority",
    "Product",
    "Segment",
    "SurveyKind",
    "SurveyResponse",
    "Ticket",
    "TransitionRecord",
]


class Gender(str, enum.Enum):
    """Optional self-described gender."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNDISCLOSED = "undisclosed"


class Channel(str, enum.Enum):
    """A contact channel (preferred channel, ticket channel, consent channel)."""

    EMAIL = "email"
    PHONE = "phone"
    SMS = "sms"
    WECHAT = "wechat"
    CHAT = "chat"
    WEB = "web"
    IN_PERSON = "in_person"
    MAIL = "mail"
    SOCIAL = "social"


class ActivityType(str, enum.Enum):
    """What kind of activity."""

    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    TASK = "task"
    NOTE = "note"


class Priority(str, enum.Enum):
    """Ticket priority."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ConsentStatus(str, enum.Enum):
    """Whether a consent is currently given."""

    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class SurveyKind(str, enum.Enum):
    """CSAT (1-5), NPS (0-10) or CES (1-7)."""

    CSAT = "csat"
    NPS = "nps"
    CES = "ces"


#: the places every store keeps of a decimal (NUMERIC(20, 6))
_STORE_PLACES = Decimal("0.000001")
_SURVEY_RANGES = {SurveyKind.CSAT: (1, 5), SurveyKind.NPS: (0, 10), SurveyKind.CES: (1, 7)}


_I = TypeVar("_I")


def _items_of(name: str, cls: type[_I], value: Iterable[_I]) -> tuple[_I, ...]:
    """``value`` as a tuple of ``cls``; anything else is a ValidationError naming the field."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValidationError.single(
            f"$.{name}", "invalid_type", f"{name} must be a list of {cls.__name__}"
        )
    items = tuple(value)
    for i, item in enumerate(items):
        if not isinstance(item, cls):
            raise ValidationError.single(
                f"$.{name}[{i}]",
                "invalid_type",
                f"expected {cls.__name__}, not {type(item).__name__}",
            )
    return items


def _emails(value: Iterable[EmailAddress]) -> tuple[EmailAddress, ...]:
    return _items_of("emails", EmailAddress, value)


def _phones(value: Iterable[PhoneNumber]) -> tuple[PhoneNumber, ...]:
    return _items_of("phones", PhoneNumber, value)


def _addresses(value: Iterable[Address]) -> tuple[Address, ...]:
    return _items_of("addresses", Address, value)


def _lines(value: Iterable[OrderLine]) -> tuple[OrderLine, ...]:
    return tuple(value)


def _strs(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _uuids(value: Iterable[uuid.UUID]) -> tuple[uuid.UUID, ...]:
    return tuple(value)


def _probability(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValidationError.single("$.probability", "invalid_probability", "expected a number")
    if not 0 <= value <= 1:
        raise ValidationError.single(
            "$.probability", "invalid_probability", "must be between 0 and 1", value
        )
    return float(value)


@attrs.frozen(kw_only=True, repr=False)
class Customer(Protectable):
    """A person the business deals with.

    ``email`` and ``phone`` are the primary contact points (searchable, used by
    dedupe); ``emails`` and ``phones`` hold any further ones with labels.
    ``lifecycle_stage`` follows the CUSTOMER_STAGE lifecycle.
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = (
        "email",
        "phone",
        "national_id",
        "last_name",
        "owner_id",
        "team_id",
        "lifecycle_stage",
    )

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    emails: tuple[EmailAddress, ...] = attrs.field(default=(), converter=_emails)
    phones: tuple[PhoneNumber, ...] = attrs.field(default=(), converter=_phones)
    date_of_birth: _dt.date | None = None
    gender: Gender | None = None
    national_id: str | None = None
    addresses: tuple[Address, ...] = attrs.field(default=(), converter=_addresses)
    preferred_language: str | None = None
    preferred_channel: Channel | None = None
    lifecycle_stage: str = "subscriber"
    source: str | None = None
    owner_id: str | None = None
    team_id: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)

    @property
    def name(self) -> PersonName:
        """The person's name as a value object."""
        return PersonName(family=self.last_name, given=self.first_name)

    @property
    def display_name(self) -> str:
        """``张伟`` for Chinese names, ``Anna Smith`` for Western ones; falls back to contacts."""
        return self.name.display or self.email or self.phone or str(self.id)


@attrs.frozen(kw_only=True, repr=False)
class Account(Protectable):
    """An organisation: a company, a public body, a household account."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("name", "registration_id", "owner_id")
    __crm_references__: ClassVar[tuple[str, ...]] = ("parent_id",)

    name: str
    registration_id: str | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: Money | None = None
    website: str | None = None
    email: str | None = None
    phone: str | None = None
    addresses: tuple[Address, ...] = attrs.field(default=(), converter=_addresses)
    parent_id: uuid.UUID | None = None
    source: str | None = None
    owner_id: str | None = None
    team_id: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)


@attrs.frozen(kw_only=True, repr=False)
class ContactRole(Entity):
    """A person's role at an organisation (``buyer``, ``decision_maker``...)."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("customer_id", "account_id")
    __crm_references__: ClassVar[tuple[str, ...]] = ("customer_id", "account_id")

    customer_id: uuid.UUID
    account_id: uuid.UUID
    role: str = "contact"
    title: str | None = None
    is_primary: bool = False
    started_on: _dt.date | None = None
    ended_on: _dt.date | None = None


@attrs.frozen(kw_only=True, repr=False)
class Lead(Protectable):
    """A prospect not yet qualified; ``status`` follows the LEAD lifecycle."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("email", "phone", "status", "owner_id")
    __crm_references__: ClassVar[tuple[str, ...]] = (
        "converted_customer_id",
        "converted_account_id",
        "converted_opportunity_id",
    )

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    status: str = "new"
    score: int | None = None
    disqualified_reason: str | None = None
    converted_customer_id: uuid.UUID | None = None
    converted_account_id: uuid.UUID | None = None
    converted_opportunity_id: uuid.UUID | None = None
    converted_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    source: str | None = None
    owner_id: str | None = None
    team_id: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)

    @property
    def display_name(self) -> str:
        """The lead's name as its script writes it, else its company or contact."""
        name = PersonName(family=self.last_name, given=self.first_name).display
        return name or self.company or self.email or self.phone or str(self.id)


@attrs.frozen(kw_only=True, repr=False)
class Opportunity(Entity):
    """A potential deal; ``stage`` follows the (tenant-configurable) OPPORTUNITY machine.

    ``probability`` is snapshotted from the stage when the opportunity enters it.
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = (
        "stage",
        "owner_id",
        "account_id",
        "customer_id",
        "expected_close_date",
    )
    __crm_references__: ClassVar[tuple[str, ...]] = ("account_id", "customer_id", "lead_id")

    name: str
    account_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None
    amount: Money | None = None
    stage: str = "prospecting"
    probability: float | None = attrs.field(default=None, converter=_probability)
    forecast_category: str | None = None
    expected_close_date: _dt.date | None = None
    closed_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    lost_reason: str | None = None
    source: str | None = None
    owner_id: str | None = None
    team_id: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)


@attrs.frozen(kw_only=True, repr=False)
class Activity(Entity):
    """A call, e-mail, meeting, task or note, linked to the records it concerns."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("customer_id", "owner_id", "due_at", "type")
    __crm_references__: ClassVar[tuple[str, ...]] = (
        "customer_id",
        "account_id",
        "lead_id",
        "opportunity_id",
        "ticket_id",
    )

    type: ActivityType
    subject: str
    body: str | None = None
    due_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    done_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    duration_minutes: int | None = None
    participants: tuple[str, ...] = attrs.field(default=(), converter=_strs)
    customer_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None
    opportunity_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    owner_id: str | None = None
    team_id: str | None = None

    @property
    def is_done(self) -> bool:
        """Whether the activity is completed."""
        return self.done_at is not None


@attrs.frozen(kw_only=True, repr=False)
class Ticket(Entity):
    """A service request; ``status`` follows the TICKET lifecycle; SLA times are aware UTC.

    ``queue`` is where routing left it when no agent could take it;
    ``routed_weight`` is the capacity it holds of its assignee's load (routing
    sets it on assignment and zeroes it on release).
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = (
        "status",
        "assignee_id",
        "customer_id",
        "priority",
        "resolution_due_at",
        "queue",
    )
    __crm_references__: ClassVar[tuple[str, ...]] = ("customer_id", "account_id")

    subject: str
    description: str | None = None
    priority: Priority = Priority.NORMAL
    channel: Channel | None = None
    status: str = "new"
    category: str | None = None
    skills: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)
    customer_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    assignee_id: str | None = None
    queue: str | None = None
    routed_weight: int = 0
    owner_id: str | None = None
    team_id: str | None = None
    first_response_due_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    resolution_due_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    first_response_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    resolved_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    closed_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)


@attrs.frozen(kw_only=True, repr=False)
class Campaign(Entity):
    """A marketing campaign; ``status`` follows the CAMPAIGN lifecycle."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("status", "owner_id")
    __crm_references__: ClassVar[tuple[str, ...]] = ("segment_id",)

    name: str
    channel: Channel | None = None
    status: str = "draft"
    scheduled_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    ends_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    started_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    completed_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    budget: Money | None = None
    segment_id: uuid.UUID | None = None
    owner_id: str | None = None
    team_id: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)


@attrs.frozen(kw_only=True, repr=False)
class CampaignMember(Entity):
    """A customer targeted by a campaign."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("campaign_id", "customer_id")
    __crm_references__: ClassVar[tuple[str, ...]] = ("campaign_id", "customer_id")

    campaign_id: uuid.UUID
    customer_id: uuid.UUID
    status: str = "targeted"
    #: the variant the member was assigned when the campaign was sent
    variant: str | None = None
    #: the address the message went to (e-mail, phone...), as sent
    address: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class CampaignEvent(Entity):
    """Something a campaign member did: sent, delivered, opened, clicked, converted..."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = (
        "campaign_id",
        "customer_id",
        "kind",
        "occurred_at",
    )
    __crm_references__: ClassVar[tuple[str, ...]] = ("campaign_id", "customer_id")

    campaign_id: uuid.UUID
    customer_id: uuid.UUID
    kind: str
    occurred_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    value: Money | None = None
    #: the campaign variant the event belongs to
    variant: str | None = None
    #: the clicked link (for ``clicked``)
    link: str | None = None
    #: the channel provider's id of the event (ingestion is idempotent by it)
    provider_event_id: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class Segment(Entity):
    """A saved filter over an entity type (``filter`` holds ``crmcore.query.to_dict`` data)."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("name",)

    name: str
    entity: str = "Customer"
    filter: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    description: str | None = None
    owner_id: str | None = None
    team_id: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class Product(Entity):
    """Something the business sells."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("sku", "category")

    sku: str
    name: str
    price: Money
    description: str | None = None
    category: str | None = None
    active: bool = True
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)


@attrs.frozen(kw_only=True, repr=False)
class Order(Entity):
    """A customer's order with its lines (stored as child rows).

    ``total`` is stored: the sum of the line totals, rounded to the store's six
    decimal places, recomputed whenever the lines change. It is what segments
    and reports filter and sum on ("an order over 1,000 CNY").
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("customer_id", "ordered_at", "status")
    __crm_references__: ClassVar[tuple[str, ...]] = ("customer_id", "account_id")
    __crm_derived__: ClassVar[tuple[str, ...]] = ("total",)

    customer_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    number: str | None = None
    status: str = "placed"
    currency: str = "CNY"
    ordered_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    lines: tuple[OrderLine, ...] = attrs.field(default=(), converter=_lines)
    owner_id: str | None = None
    team_id: str | None = None
    total: Money = attrs.field(init=False)

    @lines.validator
    def _one_currency(self, _attribute: object, lines: tuple[OrderLine, ...]) -> None:
        for i, line in enumerate(lines):
            if line.unit_price.currency != self.currency:
                raise ValidationError.single(
                    f"$.lines[{i}].unit_price.currency",
                    "currency_mismatch",
                    f"order is in {self.currency}, line in {line.unit_price.currency}",
                )

    def __attrs_post_init__(self) -> None:
        for name, value in self._derived().items():
            object.__setattr__(self, name, value)

    def _derived(self) -> dict[str, Any]:
        amount = Decimal(0)
        for line in self.lines:
            amount += line.total.amount
        return {"total": Money(amount.quantize(_STORE_PLACES, ROUND_HALF_EVEN), self.currency)}


@attrs.frozen(kw_only=True, repr=False)
class Consent(Entity):
    """A customer's consent (or its withdrawal) for one purpose on one channel."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("customer_id", "purpose")
    __crm_references__: ClassVar[tuple[str, ...]] = ("customer_id",)

    customer_id: uuid.UUID
    purpose: str
    status: ConsentStatus
    channel: Channel | None = None
    recorded_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    source: str | None = None
    evidence: str | None = None


@attrs.frozen(kw_only=True, repr=False)
class KnowledgeArticle(Entity):
    """A knowledge-base article for agents and customers."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("status", "language")

    title: str
    body: str = ""
    status: str = "draft"
    language: str = "zh-CN"
    author_id: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)


@attrs.frozen(kw_only=True, repr=False)
class SurveyResponse(Entity):
    """A satisfaction answer: CSAT 1-5, NPS 0-10 or CES 1-7."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("customer_id", "ticket_id", "kind")
    __crm_references__: ClassVar[tuple[str, ...]] = ("customer_id", "ticket_id", "campaign_id")

    kind: SurveyKind
    score: int
    customer_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    comment: str | None = None
    responded_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)

    def __attrs_post_init__(self) -> None:
        low, high = _SURVEY_RANGES[SurveyKind(self.kind)]
        if isinstance(self.score, bool) or not (low <= self.score <= high):
            raise ValidationError.single(
                "$.score",
                "score_out_of_range",
                f"{SurveyKind(self.kind).value} scores run from {low} to {high}",
                self.score,
            )


@attrs.frozen(kw_only=True, repr=False)
class TransitionRecord(Entity):
    """One lifecycle transition of one record (the history a machine writes)."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("record_id", "entity", "at")
    __crm_references__: ClassVar[tuple[str, ...]] = ("record_id",)
    __crm_copies__: ClassVar[ValueCopies] = ValueCopies("entity", "record_id", {"data": "data"})

    entity: str
    record_id: uuid.UUID
    machine: str
    event: str
    from_state: str
    to_state: str
    actor: str | None = None
    at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    comment: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict, hash=False)


@attrs.frozen(kw_only=True, repr=False)
class MergeRecord(Entity):
    """The journal of one merge: what was replaced, so it can be undone exactly."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("survivor_id", "entity")
    __crm_copies__: ClassVar[ValueCopies] = ValueCopies(
        "entity",
        "survivor_id",
        {
            "journal.survivor_before": "data",
            "journal.survivor_after": "data",
            "journal.merged[]": "data",
        },
    )

    entity: str
    survivor_id: uuid.UUID
    merged_ids: tuple[uuid.UUID, ...] = attrs.field(default=(), converter=_uuids)
    actor: str | None = None
    undone_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    journal: Mapping[str, Any] = attrs.field(factory=dict, hash=False)


@attrs.frozen(kw_only=True, repr=False)
class AuditEntry(Entity):
    """One append-only, hash-chained audit entry (written by the audit layer)."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("seq", "record_id", "entity")
    __crm_copies__: ClassVar[ValueCopies] = ValueCopies(
        "entity", "record_id", {"changes": "changes"}
    )

    seq: int
    actor: str
    action: str
    entity: str
    record_id: uuid.UUID | None = None
    at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    changes: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    system: bool = False
    correlation_id: str | None = None
    prev_hash: str = ""
    hash: str = ""
