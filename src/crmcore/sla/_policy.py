"""SLA policies as data: targets per metric, priority, channel and customer tier."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

import attrs

from crmcore.errors import ValidationError
from crmcore.sla._calendar import BusinessCalendar

__all__ = ["SlaMetric", "SlaPolicy", "SlaTarget", "select_sla_policy"]


class SlaMetric(str, enum.Enum):
    """What an SLA target measures.

    - ``first_response``: ticket creation -> first agent response;
    - ``next_response``: the oldest unanswered customer message -> the next
      agent reply (one cycle per customer turn);
    - ``resolution``: ticket creation -> resolved.
    """

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


def _text(value: object) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _texts(value: Iterable[object]) -> frozenset[str]:
    if isinstance(value, str):
        value = (value,)
    return frozenset(str(getattr(v, "value", v)) for v in value)


def _minutes(value: float) -> float:
    if not value > 0:
        raise ValidationError.single("$.minutes", "invalid_target", "a target must be > 0 minutes")
    return float(value)


def _ratio(value: float) -> float:
    if not 0 < value <= 1:
        raise ValidationError.single("$.at_risk", "invalid_ratio", "must be in (0, 1]")
    return float(value)


def _opt_ratio(value: float | None) -> float | None:
    return None if value is None else _ratio(value)


@attrs.frozen(kw_only=True)
class SlaTarget:
    """One target: ``metric`` within ``minutes``, for the tickets its conditions match.

    A condition left None matches anything; of the targets of a metric that
    match a ticket, the most specific (most conditions set) wins, then the
    first listed.

    Attributes:
        metric: what is measured.
        minutes: the target duration.
        priority / channel / tier: conditions on the ticket.
        business_hours: count only the policy calendar's working time; False
            counts calendar time (24x7).
        pauses: whether the clock stops while the ticket waits on the customer.
        at_risk: the fraction of the target after which the clock is at risk
            (None: the policy's).
    """

    metric: SlaMetric = attrs.field(converter=SlaMetric)
    minutes: float = attrs.field(converter=_minutes)
    priority: str | None = attrs.field(default=None, converter=_text)
    channel: str | None = attrs.field(default=None, converter=_text)
    tier: str | None = attrs.field(default=None, converter=_text)
    business_hours: bool = True
    pauses: bool = True
    at_risk: float | None = attrs.field(default=None, converter=_opt_ratio)

    def matches(self, priority: str | None, channel: str | None, tier: str | None) -> bool:
        """Whether the target applies to a ticket with these facts."""
        return (
            (self.priority is None or self.priority == priority)
            and (self.channel is None or self.channel == channel)
            and (self.tier is None or self.tier == tier)
        )

    @property
    def specificity(self) -> int:
        """How many conditions the target sets."""
        return sum(v is not None for v in (self.priority, self.channel, self.tier))


@attrs.frozen(kw_only=True)
class SlaPolicy:
    """A named set of targets on a business calendar, for the tickets it applies to.

    Attributes:
        name: the policy name (kept on every status).
        targets: the targets, any order.
        calendar: working time for ``business_hours`` targets.
        priorities / channels / tiers: which tickets the policy applies to
            (empty: any).
        at_risk: default at-risk fraction of a target (0.75: at risk once
            three quarters of the target have elapsed).
    """

    name: str
    targets: tuple[SlaTarget, ...] = attrs.field(converter=tuple)
    calendar: BusinessCalendar = attrs.field(factory=BusinessCalendar)
    priorities: frozenset[str] = attrs.field(default=frozenset(), converter=_texts)
    channels: frozenset[str] = attrs.field(default=frozenset(), converter=_texts)
    tiers: frozenset[str] = attrs.field(default=frozenset(), converter=_texts)
    at_risk: float = attrs.field(default=0.75, converter=_ratio)

    def applies_to(self, priority: object, channel: object, tier: object) -> bool:
        """Whether the policy covers a ticket with these facts."""
        p, c, t = _text(priority), _text(channel), _text(tier)
        return (
            (not self.priorities or p in self.priorities)
            and (not self.channels or c in self.channels)
            and (not self.tiers or t in self.tiers)
        )

    def target_for(
        self, metric: SlaMetric | str, priority: object, channel: object, tier: object
    ) -> SlaTarget | None:
        """The target of ``metric`` for a ticket (most specific match), or None."""
        m = SlaMetric(metric)
        p, c, t = _text(priority), _text(channel), _text(tier)
        best: SlaTarget | None = None
        for target in self.targets:
            if (
                target.metric is m
                and target.matches(p, c, t)
                and (best is None or target.specificity > best.specificity)
            ):
                best = target
        return best


def select_sla_policy(
    policies: Sequence[SlaPolicy], priority: object, channel: object, tier: object
) -> SlaPolicy | None:
    """The first policy (in the order given) that applies to a ticket, or None."""
    for policy in policies:
        if policy.applies_to(priority, channel, tier):
            return policy
    return None
