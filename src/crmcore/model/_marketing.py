"""Marketing records beyond campaigns and their members: static lists, suppressions,
variants and costs."""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from crmcore.model._base import Entity, _aware_opt
from crmcore.model._entities import Channel
from crmcore.model._values import Money

__all__ = ["CampaignCost", "CampaignVariant", "ChannelSuppression", "SegmentEntry"]


@attrs.frozen(kw_only=True)
class SegmentEntry(Entity):
    """A customer put on a static list (a segment whose members are listed, not filtered)."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("segment_id", "customer_id")
    __crm_references__: ClassVar[tuple[str, ...]] = ("segment_id", "customer_id")

    segment_id: uuid.UUID
    customer_id: uuid.UUID
    added_by: str | None = None


@attrs.frozen(kw_only=True)
class ChannelSuppression(Entity):
    """An address that must not be messaged on a channel (bounce, complaint, manual).

    ``address`` is the normalised address (lower-case e-mail, E.164 phone);
    ``customer_id`` is set when the address belonged to a known customer.
    """

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("address", "customer_id")
    __crm_references__: ClassVar[tuple[str, ...]] = ("customer_id",)

    channel: Channel
    address: str
    reason: str
    customer_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    recorded_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    expires_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)


@attrs.frozen(kw_only=True)
class CampaignVariant(Entity):
    """One version of a campaign's message, with its share (``weight``) of the audience."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("campaign_id",)
    __crm_references__: ClassVar[tuple[str, ...]] = ("campaign_id",)

    campaign_id: uuid.UUID
    name: str
    weight: int = 1
    subject: str | None = None
    body: str | None = None
    #: link name -> target URL; tracking parameters are added per link when sending
    links: Mapping[str, Any] = attrs.field(factory=dict, hash=False)


@attrs.frozen(kw_only=True)
class CampaignCost(Entity):
    """Money spent on a campaign (send fees, media, agency), for ROI."""

    __crm_indexes__: ClassVar[tuple[str, ...]] = ("campaign_id",)
    __crm_references__: ClassVar[tuple[str, ...]] = ("campaign_id",)

    campaign_id: uuid.UUID
    amount: Money
    incurred_at: _dt.datetime | None = attrs.field(default=None, converter=_aware_opt)
    note: str | None = None
