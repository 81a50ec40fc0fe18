"""Campaign effect: marketing rates per campaign from its events, and lift against a holdout.

Events (:class:`~crmcore.model.CampaignEvent`) are counted in the engine as
distinct customers per campaign and kind; members
(:class:`~crmcore.model.CampaignMember`) per campaign and status. A member
whose ``status`` is ``"holdout"`` (configurable) is the control group: the
campaign was not sent to it, but its conversions are recorded like anyone's
(a ``converted`` event, e.g. from an order attributed to the campaign window).

Rates (HubSpot's definitions; Mautic divides by sent instead):

- ``delivered`` = customers with a ``delivered`` event, or, when a campaign
  records none, ``sent`` - ``bounced``;
- ``open_rate`` = opened / delivered, ``click_rate`` = clicked / delivered,
  ``click_to_open`` = clicked / opened, ``unsubscribe_rate`` = unsubscribed / delivered;
- ``conversion_rate`` = converted treated members / treated members (members
  not in the holdout), ``holdout_rate`` the same in the holdout;
- ``lift`` = conversion_rate / holdout_rate - 1; ``uplift`` = the difference
  (percentage points / 100); ``p_value`` of a two-sided two-proportion z-test;
- ``roi`` = (revenue - budget) / budget, revenue being the sum of the
  conversion events' ``value``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from typing import Any

import pandas as pd

from crmcore.analytics._report import ReportFrame
from crmcore.marketing import two_proportion_test
from crmcore.model import Campaign, CampaignEvent, CampaignMember
from crmcore.query import Filter, all_of, eq, in_
from crmcore.storage.aggregate import count, count_distinct, sum_
from crmcore.storage.ports import UnitOfWorkContext

__all__ = ["CampaignEffectReport", "campaign_effect", "two_proportion_z_test"]

_KINDS = ("sent", "delivered", "opened", "clicked", "converted", "bounced", "unsubscribed")


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """``(z, p)`` of a two-sided pooled two-proportion z-test of x1/n1 against x2/n2.

    The statistics of :func:`crmcore.marketing.two_proportion_test` (which also
    gives the confidence interval); NaN when a group is empty or the pooled
    rate is 0 or 1.
    """
    result = two_proportion_test(x1, n1, x2, n2)
    return result.z, result.p_value


class CampaignEffectReport(ReportFrame):
    """Rates, conversions against the holdout, revenue and ROI per campaign."""

    x = "campaign"
    y = ("open_rate", "click_rate", "conversion_rate", "holdout_rate")
    hidden = ("campaign_id",)
    #: the headline columns, shown first in the HTML table
    headline = (
        "campaign",
        "members",
        "holdout",
        "conversion_rate",
        "holdout_rate",
        "lift",
        "p_value",
        "revenue",
        "roi",
    )

    def display_frame(self) -> pd.DataFrame:
        """The frame with the headline columns (effect against the holdout) first."""
        first = [c for c in self.headline if c in self.frame.columns]
        return self.frame[first + [c for c in self.frame.columns if c not in first]]


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def campaign_effect(
    uow: UnitOfWorkContext,
    campaigns: Iterable[uuid.UUID] | None = None,
    *,
    conversion: str = "converted",
    holdout: str = "holdout",
) -> CampaignEffectReport:
    """Per campaign: reach, open/click/conversion rates, lift over the holdout, revenue, ROI.

    Args:
        uow: the unit of work.
        campaigns: the campaign ids to report (default: every campaign with
            members or events).
        conversion: the event kind that counts as a conversion.
        holdout: the member status of the control group.

    Returns:
        Columns ``campaign_id``, ``campaign`` (name), ``members`` (treated:
        members not in the holdout), ``sent``, ``delivered``, ``opened``,
        ``clicked``, ``converted`` (treated converters), ``bounced``,
        ``unsubscribed``, ``delivery_rate``, ``open_rate``, ``click_rate``,
        ``click_to_open``, ``unsubscribe_rate``, ``conversion_rate``,
        ``holdout``, ``holdout_converted``, ``holdout_rate``, ``lift``,
        ``uplift``, ``p_value``, ``revenue``, ``budget``, ``roi``.
    """
    ids = None if campaigns is None else list(campaigns)
    scope: Filter | None = None if ids is None else in_("campaign_id", ids)
    events = uow.repo(CampaignEvent).aggregate(
        scope, group_by=["campaign_id", "kind"], measures={"people": count_distinct("customer_id")}
    )
    revenue = uow.repo(CampaignEvent).aggregate(
        all_of(*(p for p in (scope, eq("kind", conversion)) if p is not None)),
        group_by=["campaign_id"],
        measures={"revenue": sum_("value.amount")},
    )
    members = uow.repo(CampaignMember).aggregate(
        scope, group_by=["campaign_id", "status"], measures={"n": count()}
    )
    control = uow.repo(CampaignMember).aggregate(
        all_of(*(p for p in (scope, eq("status", holdout)) if p is not None)),
        group_by=["campaign_id", "customer_id"],
        measures={"n": count()},
    )
    converters = uow.repo(CampaignEvent).aggregate(
        all_of(*(p for p in (scope, eq("kind", conversion)) if p is not None)),
        group_by=["campaign_id", "customer_id"],
        measures={"n": count()},
    )
    found = {r["campaign_id"] for r in (*events, *members)}
    wanted = ids if ids is not None else sorted(found)
    info = uow.repo(Campaign).aggregate(
        in_("id", wanted) if wanted else eq("id", uuid.UUID(int=0)),
        group_by=["id", "name", "budget.amount"],
        measures={"n": count()},
    )
    names = {r["id"]: (r["name"], r["budget.amount"]) for r in info}
    kinds: dict[Any, dict[str, int]] = {}
    for r in events:
        kinds.setdefault(r["campaign_id"], {})[r["kind"]] = int(r["people"])
    sizes: dict[Any, dict[str, int]] = {}
    for r in members:
        sizes.setdefault(r["campaign_id"], {})[r["status"]] = int(r["n"])
    held: dict[Any, set[Any]] = {}
    for r in control:
        held.setdefault(r["campaign_id"], set()).add(r["customer_id"])
    won: dict[Any, set[Any]] = {}
    for r in converters:
        won.setdefault(r["campaign_id"], set()).add(r["customer_id"])
    money = {r["campaign_id"]: r["revenue"] for r in revenue}
    rows = []
    for cid in wanted:
        k = kinds.get(cid, {})
        size = sizes.get(cid, {})
        n_hold = size.get(holdout, 0)
        n_treat = sum(size.values()) - n_hold
        hold_conv = len(won.get(cid, set()) & held.get(cid, set()))
        treat_conv = len(won.get(cid, set()) - held.get(cid, set()))
        sent = k.get("sent", 0)
        delivered = k["delivered"] if "delivered" in k else max(sent - k.get("bounced", 0), 0)
        rate = _ratio(treat_conv, n_treat)
        base = _ratio(hold_conv, n_hold)
        _z, p = two_proportion_z_test(treat_conv, n_treat, hold_conv, n_hold)
        name, budget = names.get(cid, (None, None))
        income = float(money.get(cid) or 0)
        spend = None if budget is None else float(budget)
        rows.append(
            {
                "campaign_id": cid,
                "campaign": name if name is not None else str(cid)[:8],
                "members": n_treat,
                "sent": sent,
                "delivered": delivered,
                "opened": k.get("opened", 0),
                "clicked": k.get("clicked", 0),
                "converted": treat_conv,
                "bounced": k.get("bounced", 0),
                "unsubscribed": k.get("unsubscribed", 0),
                "delivery_rate": _ratio(delivered, sent),
                "open_rate": _ratio(k.get("opened", 0), delivered),
                "click_rate": _ratio(k.get("clicked", 0), delivered),
                "click_to_open": _ratio(k.get("clicked", 0), k.get("opened", 0)),
                "unsubscribe_rate": _ratio(k.get("unsubscribed", 0), delivered),
                "conversion_rate": rate,
                "holdout": n_hold,
                "holdout_converted": hold_conv,
                "holdout_rate": base,
                "lift": rate / base - 1 if base and not math.isnan(rate) else math.nan,
                "uplift": rate - base,
                "p_value": p,
                "revenue": income,
                "budget": math.nan if spend is None else spend,
                "roi": (income - spend) / spend if spend else math.nan,
            }
        )
    columns = [
        "campaign_id",
        "campaign",
        "members",
        *_KINDS,
        "delivery_rate",
        "open_rate",
        "click_rate",
        "click_to_open",
        "unsubscribe_rate",
        "conversion_rate",
        "holdout",
        "holdout_converted",
        "holdout_rate",
        "lift",
        "uplift",
        "p_value",
        "revenue",
        "budget",
        "roi",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return CampaignEffectReport(
        "Campaign effect",
        frame,
        {
            "members": "members not in the holdout (treated)",
            "delivered": "delivered events, else sent - bounced (distinct customers)",
            "open_rate": "opened / delivered",
            "click_rate": "clicked / delivered",
            "click_to_open": "clicked / opened",
            "conversion_rate": "treated converters / treated members",
            "holdout_rate": "holdout converters / holdout members",
            "lift": "conversion_rate / holdout_rate - 1",
            "uplift": "conversion_rate - holdout_rate",
            "p_value": "two-sided two-proportion z-test, treated vs holdout",
            "roi": "(revenue - budget) / budget",
        },
        "What each campaign reached and what it changed, against a holdout that got nothing.",
    )
