"""Who a campaign may message on a channel, and an exclusion report saying why not.

Pure logic over candidates a use case has gathered (customer, address,
consent history, suppression, recent messages, a person key from duplicate
detection): consent first (opt-in required, the latest statement wins),
then suppressions (bounces, complaints, manual), the frequency cap and quiet
hours in the recipient's time zone, and finally one message per person when
duplicate records are not merged yet.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from crmcore.errors import ValidationError
from crmcore.marketing._consent import MARKETING_PURPOSE, ConsentVerdict, consent_verdict
from crmcore.model import Channel, Consent, Customer

__all__ = [
    "EXCLUSION_REASONS",
    "Audience",
    "AudienceCandidate",
    "AudienceExclusion",
    "AudienceRules",
    "plan_audience",
]

#: every reason an exclusion report may give
EXCLUSION_REASONS = (
    "no_address",
    "no_consent",
    "withdrawn",
    "suppressed",
    "frequency_cap",
    "quiet_hours",
    "duplicate",
    "withdrawn_on_duplicate",
    "already_sent",
)


@attrs.frozen(kw_only=True)
class AudienceRules:
    """The rules an audience is built with.

    Attributes:
        channel: the channel the campaign sends on.
        purpose: the consent purpose needed.
        max_messages: at most this many messages per person within ``cap_window``
            (including this one); None: no cap.
        cap_window: the frequency cap's window.
        quiet_start / quiet_end: local times between which nobody is messaged
            (the window may wrap past midnight); None: no quiet hours.
        timezone: the time zone of recipients without one of their own.
    """

    channel: Channel
    purpose: str = MARKETING_PURPOSE
    max_messages: int | None = None
    cap_window: _dt.timedelta = _dt.timedelta(days=7)
    quiet_start: _dt.time | None = None
    quiet_end: _dt.time | None = None
    timezone: str = "Asia/Shanghai"

    def __attrs_post_init__(self) -> None:
        if self.max_messages is not None and self.max_messages < 1:
            raise ValidationError.single("$.max_messages", "invalid", "must be at least 1")
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValidationError.single(
                "$.quiet_hours", "invalid", "give both the start and the end of quiet hours"
            )
        _zone(self.timezone, "$.timezone")


@attrs.frozen(kw_only=True)
class AudienceCandidate:
    """One customer who might receive the message, with what the rules need to know.

    ``person_key`` is shared by records of the same person (duplicate records
    not merged yet); ``suppressed`` names why the address is suppressed, if it is.
    """

    customer: Customer
    address: str | None
    consents: tuple[Consent, ...] = ()
    person_key: Hashable = None
    suppressed: str | None = None
    recent_messages: int = 0
    timezone: str | None = None

    @property
    def customer_id(self) -> uuid.UUID:
        return self.customer.id


@attrs.frozen
class AudienceExclusion:
    """A customer left out, why (one of :data:`EXCLUSION_REASONS`), and details."""

    customer_id: uuid.UUID
    reason: str
    detail: str = ""
    retry_at: _dt.datetime | None = None


@attrs.frozen
class Audience:
    """The recipients and the exclusion report of one send."""

    included: tuple[AudienceCandidate, ...]
    excluded: tuple[AudienceExclusion, ...]

    @property
    def customer_ids(self) -> list[uuid.UUID]:
        return [c.customer.id for c in self.included]

    def reasons(self) -> dict[str, int]:
        """How many were excluded for each reason."""
        return dict(Counter(e.reason for e in self.excluded))

    def __len__(self) -> int:
        return len(self.included)


def _zone(name: str, path: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError.single(path, "invalid", f"unknown time zone {name!r}") from None


def _quiet_until(rules: AudienceRules, tz: str | None, now: _dt.datetime) -> _dt.datetime | None:
    """When quiet hours end for a recipient if ``now`` falls inside them, else None."""
    start, end = rules.quiet_start, rules.quiet_end
    if start is None or end is None or start == end:
        return None
    try:
        zone = ZoneInfo(tz) if tz else ZoneInfo(rules.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(rules.timezone)
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date()
    if start > end and t >= start:
        day += _dt.timedelta(days=1)
    return _dt.datetime.combine(day, end, tzinfo=zone).astimezone(_dt.timezone.utc)


def _check_one(
    c: AudienceCandidate, verdict: ConsentVerdict, rules: AudienceRules, now: _dt.datetime
) -> AudienceExclusion | None:
    cid = c.customer.id
    if not c.address:
        return AudienceExclusion(cid, "no_address", f"no {rules.channel.value} address")
    if not verdict.allowed:
        at = verdict.at
        detail = "" if at is None else f"since {at.isoformat()}"
        return AudienceExclusion(cid, verdict.reason, detail)
    if c.suppressed:
        return AudienceExclusion(cid, "suppressed", c.suppressed)
    if rules.max_messages is not None and c.recent_messages >= rules.max_messages:
        return AudienceExclusion(
            cid,
            "frequency_cap",
            f"{c.recent_messages} messages in the last {rules.cap_window}",
        )
    until = _quiet_until(rules, c.timezone, now)
    if until is not None:
        return AudienceExclusion(cid, "quiet_hours", "inside quiet hours", retry_at=until)
    return None


def plan_audience(
    candidates: Iterable[AudienceCandidate], rules: AudienceRules, now: _dt.datetime
) -> Audience:
    """Apply the rules: who gets the message, and who does not and why.

    Every candidate ends up either included or in the exclusion report, once.
    Nobody is included without a granted consent for the channel (and purpose)
    as their latest statement; of several records of one person (same
    ``person_key``), only the oldest eligible one is included, and none if
    another record of the person withdrew consent more recently than that
    record's grant.

    Raises:
        ValidationError: ``now`` is naive.
    """
    if now.tzinfo is None:
        raise ValidationError.single("$.now", "invalid", "now must be aware")
    items: Sequence[AudienceCandidate] = list(candidates)
    verdicts = [consent_verdict(c.consents, rules.channel, rules.purpose) for c in items]
    excluded: list[AudienceExclusion] = []
    eligible: dict[Hashable, list[tuple[AudienceCandidate, ConsentVerdict]]] = defaultdict(list)
    withdrawn_at: dict[Hashable, _dt.datetime] = {}
    for c, v in zip(items, verdicts, strict=True):
        key = c.customer.id if c.person_key is None else c.person_key
        if v.reason == "withdrawn" and v.at is not None:
            prev = withdrawn_at.get(key)
            withdrawn_at[key] = v.at if prev is None else max(prev, v.at)
        out = _check_one(c, v, rules, now)
        if out is None:
            eligible[key].append((c, v))
        else:
            excluded.append(out)
    included: list[AudienceCandidate] = []
    for key, group in eligible.items():
        group.sort(key=lambda cv: (cv[0].customer.created_at, cv[0].customer.id.int))
        first, verdict = group[0]
        last_withdrawal = withdrawn_at.get(key)
        granted_at = verdict.at
        if last_withdrawal is not None and (granted_at is None or last_withdrawal > granted_at):
            for c, _ in group:
                excluded.append(
                    AudienceExclusion(
                        c.customer.id,
                        "withdrawn_on_duplicate",
                        f"a duplicate record withdrew consent at {last_withdrawal.isoformat()}",
                    )
                )
            continue
        included.append(first)
        for c, _ in group[1:]:
            excluded.append(
                AudienceExclusion(c.customer.id, "duplicate", f"same person as {first.customer.id}")
            )
    included.sort(key=lambda c: c.customer.id.int)
    return Audience(tuple(included), tuple(excluded))
