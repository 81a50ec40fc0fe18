"""Channel consent from a customer's consent history: the latest statement wins."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

import attrs

from crmcore.model import Channel, Consent, ConsentStatus

__all__ = ["MARKETING_PURPOSE", "ConsentVerdict", "consent_verdict"]

#: the consent purpose marketing messages need
MARKETING_PURPOSE = "marketing"


@attrs.frozen
class ConsentVerdict:
    """Whether a customer may be messaged on a channel, and the statement that decided it.

    ``reason`` is ``granted``, ``withdrawn`` (an opt-out or withdrawal is the
    latest statement) or ``no_consent`` (nothing on record: opt-in is required).
    """

    allowed: bool
    reason: str
    decided_by: Consent | None = None

    @property
    def at(self) -> _dt.datetime | None:
        """When the deciding statement was made."""
        c = self.decided_by
        return None if c is None else (c.recorded_at or c.created_at)


def _when(c: Consent) -> tuple[_dt.datetime, int]:
    # recorded_at (when the customer said it) first; created_at breaks ties; the id
    # (time-ordered) last, so the later of two statements made at once wins
    return (c.recorded_at or c.created_at, c.id.int)


def consent_verdict(
    consents: Iterable[Consent], channel: Channel, purpose: str = MARKETING_PURPOSE
) -> ConsentVerdict:
    """The verdict of a customer's consent history for ``channel`` and ``purpose``.

    A consent without a channel applies to every channel. Soft-deleted
    statements are ignored. The latest statement (by ``recorded_at``, else
    ``created_at``) wins, so a grant after a withdrawal re-subscribes and a
    withdrawal after a grant opts out.
    """
    latest: Consent | None = None
    for c in consents:
        if c.deleted_at is not None or c.purpose != purpose:
            continue
        if c.channel is not None and c.channel != channel:
            continue
        if latest is None or _when(c) > _when(latest):
            latest = c
    if latest is None:
        return ConsentVerdict(False, "no_consent")
    if latest.status == ConsentStatus.GRANTED:
        return ConsentVerdict(True, "granted", latest)
    return ConsentVerdict(False, "withdrawn", latest)
