"""Revenue attribution to campaigns: first touch, last touch, linear, within a window."""

from __future__ import annotations

import datetime as _dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Literal

import attrs

from crmcore.errors import ValidationError

__all__ = [
    "ATTRIBUTION_MODELS",
    "AttributionModel",
    "RevenueEvent",
    "Touchpoint",
    "attribute",
    "total_by_currency",
]

AttributionModel = Literal["first_touch", "last_touch", "linear"]
ATTRIBUTION_MODELS: tuple[AttributionModel, ...] = ("first_touch", "last_touch", "linear")


@attrs.frozen
class Touchpoint:
    """A customer's contact with a campaign (a delivered message, an open, a click)."""

    customer_id: uuid.UUID
    campaign_id: uuid.UUID
    at: _dt.datetime


@attrs.frozen
class RevenueEvent:
    """Money a customer brought (an order, a won opportunity) at a time, in one currency."""

    customer_id: uuid.UUID
    amount: Decimal
    currency: str
    at: _dt.datetime
    source: str = ""


def attribute(
    touches: Iterable[Touchpoint],
    revenues: Iterable[RevenueEvent],
    *,
    model: AttributionModel = "last_touch",
    window: _dt.timedelta = _dt.timedelta(days=30),
) -> dict[tuple[uuid.UUID, str], Decimal]:
    """Credit each revenue event to the campaigns that touched the customer before it.

    A touch counts for a revenue event when it happened at most ``window``
    before it (and not after it). ``first_touch`` gives everything to the
    earliest such touch, ``last_touch`` to the latest, ``linear`` an equal share
    to each. Revenue without a touch in the window is not attributed.

    Returns:
        ``{(campaign_id, currency): credited amount}``, exact shares rounded to
        cents at the end (half to even).

    Raises:
        ValidationError: an unknown model or a negative window.
    """
    if model not in ATTRIBUTION_MODELS:
        raise ValidationError.single(
            "$.model", "invalid", f"model must be one of {', '.join(ATTRIBUTION_MODELS)}"
        )
    if window < _dt.timedelta(0):
        raise ValidationError.single("$.window", "invalid", "window must not be negative")
    by_customer: dict[uuid.UUID, list[Touchpoint]] = defaultdict(list)
    for t in touches:
        by_customer[t.customer_id].append(t)
    for ts in by_customer.values():
        ts.sort(key=lambda t: (t.at, t.campaign_id.int))
    credit: dict[tuple[uuid.UUID, str], Fraction] = defaultdict(Fraction)
    for r in revenues:
        eligible = [t for t in by_customer.get(r.customer_id, ()) if r.at - window <= t.at <= r.at]
        if not eligible:
            continue
        amount = Fraction(r.amount)
        if model == "first_touch":
            credit[(eligible[0].campaign_id, r.currency)] += amount
        elif model == "last_touch":
            credit[(eligible[-1].campaign_id, r.currency)] += amount
        else:
            share = amount / len(eligible)
            for t in eligible:
                credit[(t.campaign_id, r.currency)] += share
    return {k: _cents(v) for k, v in credit.items()}


def _cents(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def total_by_currency(amounts: Mapping[tuple[uuid.UUID, str], Decimal]) -> dict[str, Decimal]:
    """Sum attributed amounts per currency."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for (_, cur), v in amounts.items():
        out[cur] += v
    return dict(out)
