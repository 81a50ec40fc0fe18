"""SLA clocks: a pure function of (policy, ticket facts, instant).

Nothing is counted up and stored: the status at any instant is computed from
the ticket's facts (created, responses, customer messages, pending spans,
resolved), ignoring every fact later than the instant asked about. So the
same inputs always give the same answer, and past instants can be replayed.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Iterable

import attrs

from crmcore.errors import ValidationError
from crmcore.sla._calendar import (
    BusinessCalendar,
    Pause,
    add_business_time,
    business_time_between,
)
from crmcore.sla._policy import SlaMetric, SlaPolicy, SlaTarget

__all__ = [
    "EscalationAction",
    "EscalationRule",
    "SlaClock",
    "SlaFacts",
    "SlaState",
    "sla_clocks",
]

_UTC = _dt.timezone.utc


def _aware(value: _dt.datetime) -> _dt.datetime:
    if value.tzinfo is None:
        raise ValidationError.single("$", "naive_datetime", "SLA times must be timezone-aware")
    return value.astimezone(_UTC)


def _opt(value: _dt.datetime | None) -> _dt.datetime | None:
    return None if value is None else _aware(value)


def _times(values: Iterable[_dt.datetime]) -> tuple[_dt.datetime, ...]:
    return tuple(sorted(_aware(v) for v in values))


def _pauses(values: Iterable[Pause]) -> tuple[Pause, ...]:
    return tuple((_aware(a), _opt(b)) for a, b in values)


def _label(value: object) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


@attrs.frozen(kw_only=True)
class SlaFacts:
    """What SLA clocks need to know of one ticket (aware times).

    Attributes:
        created_at: when the ticket was opened (first response and resolution start).
        priority / channel / tier: pick the policy and its targets.
        first_response_at: the first agent response, if any.
        resolved_at: when it was resolved, if it was.
        customer_messages / agent_replies: message times, for next-response cycles.
        pauses: ``(from, to)`` spans waiting on the customer; ``to=None`` still waiting.
    """

    created_at: _dt.datetime = attrs.field(converter=_aware)
    priority: str | None = attrs.field(default=None, converter=_label)
    channel: str | None = attrs.field(default=None, converter=_label)
    tier: str | None = attrs.field(default=None, converter=_label)
    first_response_at: _dt.datetime | None = attrs.field(default=None, converter=_opt)
    resolved_at: _dt.datetime | None = attrs.field(default=None, converter=_opt)
    customer_messages: tuple[_dt.datetime, ...] = attrs.field(default=(), converter=_times)
    agent_replies: tuple[_dt.datetime, ...] = attrs.field(default=(), converter=_times)
    pauses: tuple[Pause, ...] = attrs.field(default=(), converter=_pauses)


class SlaState(str, enum.Enum):
    """Where a clock stands at an instant."""

    RUNNING = "running"
    AT_RISK = "at_risk"
    PAUSED = "paused"
    BREACHED = "breached"
    MET = "met"
    MISSED = "missed"


@attrs.frozen(kw_only=True)
class SlaClock:
    """One metric's clock at one instant.

    Attributes:
        metric / policy / target_minutes / business_hours: what is measured, by which rule.
        started_at: when this clock (or next-response cycle) started.
        stopped_at: when it was fulfilled, if it was by ``now``.
        due_at: the deadline given the pauses so far (an open pause is
            taken to end at ``now``: the deadline if the clock resumed now).
        elapsed: working, unpaused time used, up to ``now`` or the stop.
        left: target minus elapsed (negative once breached).
        at_risk_at: when the clock reaches its at-risk fraction.
        paused: waiting on the customer at ``now``.
        at_risk: running (or paused) past ``at_risk_at`` and not yet breached.
        state: running / at_risk / paused / breached, or met / missed once stopped.
    """

    metric: SlaMetric
    policy: str
    target_minutes: float
    business_hours: bool
    started_at: _dt.datetime
    stopped_at: _dt.datetime | None
    due_at: _dt.datetime
    at_risk_at: _dt.datetime
    elapsed: _dt.timedelta
    left: _dt.timedelta
    paused: bool
    at_risk: bool
    state: SlaState

    @property
    def breached(self) -> bool:
        """The target was missed (while running, or by the stop)."""
        return self.state in (SlaState.BREACHED, SlaState.MISSED)

    @property
    def running(self) -> bool:
        """The clock has not stopped."""
        return self.stopped_at is None


def _clock(
    policy: SlaPolicy,
    target: SlaTarget,
    start: _dt.datetime,
    stop: _dt.datetime | None,
    pauses: tuple[Pause, ...],
    now: _dt.datetime,
) -> SlaClock:
    calendar = policy.calendar if target.business_hours else BusinessCalendar.always()
    end = stop if stop is not None else now
    # what is known at `end`: pauses cut there; an open pause ends there too
    known = tuple((a, b if b is not None and b <= end else end) for a, b in pauses if a < end)
    used = known if target.pauses else ()
    paused = (
        stop is None
        and target.pauses
        and any(a <= now and (b is None or b > now) for a, b in pauses)
    )
    span = _dt.timedelta(minutes=target.minutes)
    ratio = target.at_risk if target.at_risk is not None else policy.at_risk
    due = add_business_time(calendar, start, span, used)
    risk = add_business_time(calendar, start, span * ratio, used)
    assert due is not None and risk is not None  # no open pause is passed
    elapsed = business_time_between(calendar, start, end, used)
    if stop is not None:
        state = SlaState.MET if stop <= due else SlaState.MISSED
    elif now >= due:
        state = SlaState.BREACHED
    elif paused:
        state = SlaState.PAUSED
    elif now >= risk:
        state = SlaState.AT_RISK
    else:
        state = SlaState.RUNNING
    return SlaClock(
        metric=target.metric,
        policy=policy.name,
        target_minutes=target.minutes,
        business_hours=target.business_hours,
        started_at=start,
        stopped_at=stop,
        due_at=due,
        at_risk_at=risk,
        elapsed=elapsed,
        left=span - elapsed,
        paused=paused,
        at_risk=stop is None and risk <= now < due,
        state=state,
    )


def _next_response_cycle(
    facts: SlaFacts, now: _dt.datetime
) -> tuple[_dt.datetime, _dt.datetime | None] | None:
    """The latest customer turn by ``now``: (oldest unanswered message, the reply to it)."""
    messages = [m for m in facts.customer_messages if m <= now]
    replies = [r for r in facts.agent_replies if r <= now]
    if not messages:
        return None
    last = messages[-1]
    before = [r for r in replies if r < last]
    since = before[-1] if before else None
    start = next(m for m in messages if since is None or m > since)
    reply = next((r for r in replies if r >= start), None)
    return start, reply


def sla_clocks(policy: SlaPolicy, facts: SlaFacts, now: _dt.datetime) -> tuple[SlaClock, ...]:
    """Every clock of ``policy`` for a ticket at instant ``now``.

    Facts later than ``now`` are ignored, so this answers "how did it stand
    at ``now``" for any instant. Metrics without a matching target are left
    out; next response appears once the customer has written.

    Args:
        policy: the policy that applies (see :func:`select_sla_policy`).
        facts: the ticket's facts.
        now: the aware instant to evaluate at.
    """
    now = _aware(now)
    out: list[SlaClock] = []
    p, c, t = facts.priority, facts.channel, facts.tier
    if now < facts.created_at:
        return ()
    frt = policy.target_for(SlaMetric.FIRST_RESPONSE, p, c, t)
    if frt is not None:
        stop = (
            facts.first_response_at
            if facts.first_response_at and facts.first_response_at <= now
            else None
        )
        out.append(_clock(policy, frt, facts.created_at, stop, facts.pauses, now))
    nrt = policy.target_for(SlaMetric.NEXT_RESPONSE, p, c, t)
    cycle = _next_response_cycle(facts, now) if nrt is not None else None
    if nrt is not None and cycle is not None:
        out.append(_clock(policy, nrt, cycle[0], cycle[1], facts.pauses, now))
    rt = policy.target_for(SlaMetric.RESOLUTION, p, c, t)
    if rt is not None:
        stop = facts.resolved_at if facts.resolved_at and facts.resolved_at <= now else None
        out.append(_clock(policy, rt, facts.created_at, stop, facts.pauses, now))
    return tuple(out)


class EscalationAction(str, enum.Enum):
    """What an escalation rule does to a ticket."""

    NOTIFY = "notify"
    RAISE_PRIORITY = "raise_priority"
    REASSIGN = "reassign"


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


@attrs.frozen(kw_only=True)
class EscalationRule:
    """When a clock of ``metric`` is at risk (or breached), do ``action`` once per clock.

    Attributes:
        name: identifies the rule in the escalation journal (idempotency key).
        metric: the clock watched.
        when: ``"at_risk"`` (includes breached) or ``"breached"``.
        action: notify, raise the priority one step, or reassign elsewhere.
        notify: who to notify (user ids, a team), kept on the journal entry.
    """

    name: str
    metric: SlaMetric = attrs.field(converter=SlaMetric)
    when: str = attrs.field(default="breached")
    action: EscalationAction = attrs.field(
        default=EscalationAction.NOTIFY, converter=EscalationAction
    )
    notify: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    @when.validator
    def _check_when(self, _a: object, value: str) -> None:
        if value not in ("at_risk", "breached"):
            raise ValidationError.single(
                "$.when", "invalid_condition", "expected 'at_risk' or 'breached'"
            )

    def fires(self, clock: SlaClock) -> bool:
        """Whether this rule fires for ``clock`` (running clocks only)."""
        if clock.metric is not self.metric or clock.stopped_at is not None:
            return False
        if self.when == "breached":
            return clock.state is SlaState.BREACHED
        return clock.at_risk or clock.state is SlaState.BREACHED
