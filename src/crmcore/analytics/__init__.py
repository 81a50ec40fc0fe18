"""Customer analytics over a session: value (RFM, CLV), churn, segmentation, baskets.

An optional package (``pip install crmcore[analytics]``: pandas, numpy,
scipy, scikit-learn, statsmodels, mlxtend, matplotlib); ``import crmcore``
never loads it. Two kinds of functions:

- readers (``read_orders``, ``read_order_lines``, ``read_tickets``,
  ``read_surveys``, ``read_campaign_events``) stream records through a unit of
  work into DataFrames, so tenant scope and the policy apply;
- pure functions over those frames, each returning a result with ``frame`` /
  ``to_pandas()``, ``_repr_html_`` and ``plot()``: :func:`rfm`, :func:`clv`
  (BG/NBD + Gamma-Gamma), :func:`survival_by_segment` and
  :func:`churn_drivers` (Kaplan-Meier and Cox, statsmodels),
  :class:`ChurnRiskModel` (scikit-learn), :func:`cluster_customers` and
  :func:`density_clusters`, :func:`basket_rules` (mlxtend FP-growth).
"""

from __future__ import annotations

from crmcore.analytics._basket import BasketRules, basket_rules
from crmcore.analytics._churn import (
    CHURN_FEATURES,
    ChurnDrivers,
    ChurnRiskModel,
    SurvivalCurves,
    churn_drivers,
    churn_labels,
    customer_features,
    survival_by_segment,
    survival_frame,
    synthetic_churn_customers,
)
from crmcore.analytics._clv import (
    BetaGeoModel,
    ClvResult,
    GammaGammaModel,
    clv,
    clv_summary,
    customer_lifetime_value,
)
from crmcore.analytics._read import (
    read_campaign_events,
    read_order_lines,
    read_orders,
    read_surveys,
    read_tickets,
)
from crmcore.analytics._result import AnalyticsResult
from crmcore.analytics._rfm import (
    RFM_SEGMENTS,
    RfmResult,
    RfmSegmentRule,
    rfm,
    rfm_scores,
    rfm_table,
)
from crmcore.analytics._segment import (
    PROFILE_WORDS,
    CustomerClusters,
    cluster_customers,
    density_clusters,
)

__all__ = [
    "CHURN_FEATURES",
    "PROFILE_WORDS",
    "RFM_SEGMENTS",
    "AnalyticsResult",
    "BasketRules",
    "BetaGeoModel",
    "ChurnDrivers",
    "ChurnRiskModel",
    "ClvResult",
    "CustomerClusters",
    "GammaGammaModel",
    "RfmResult",
    "RfmSegmentRule",
    "SurvivalCurves",
    "basket_rules",
    "churn_drivers",
    "churn_labels",
    "cluster_customers",
    "clv",
    "clv_summary",
    "customer_features",
    "customer_lifetime_value",
    "density_clusters",
    "read_campaign_events",
    "read_order_lines",
    "read_orders",
    "read_surveys",
    "read_tickets",
    "rfm",
    "rfm_scores",
    "rfm_table",
    "survival_by_segment",
    "survival_frame",
    "synthetic_churn_customers",
]
