"""Analytics and reports over a session: DataFrames, charts, one HTML file.

An optional package (``pip install crmcore[analytics]``: pandas, numpy,
scipy, scikit-learn, statsmodels, mlxtend, matplotlib); ``import crmcore``
never loads it, and names load on first use.

- Customer value and behaviour: readers (``read_orders``, ``read_order_lines``,
  ``read_tickets``, ``read_surveys``, ``read_campaign_events``) stream records
  through a unit of work into DataFrames, so tenant scope and the policy
  apply; pure functions over those frames: :func:`rfm`, :func:`clv`
  (BG/NBD + Gamma-Gamma), :func:`survival_by_segment` and
  :func:`churn_drivers` (Kaplan-Meier and Cox, statsmodels),
  :class:`ChurnRiskModel` (scikit-learn), :func:`cluster_customers` and
  :func:`density_clusters`, :func:`basket_rules` (mlxtend FP-growth).
- Reports aggregated in the engine: sales (funnel, time in stage, win rate,
  pipeline coverage, performance per owner or team, forecast against
  actuals), service (CSAT, NPS, CES, SLA attainment) and campaign effect
  (rates, lift over a holdout, ROI), as :class:`ReportFrame` objects.
- :func:`build_report` renders any of them into one self-contained HTML page
  (``crmcore report`` on the command line).

Every result has ``frame`` / ``to_pandas()``, ``plot(ax=)``, ``_repr_html_()``
and a short ``repr``.
"""

from __future__ import annotations

from crmcore._lazy import lazy_exports

_SALES = "crmcore.analytics._sales"
_SERVICE = "crmcore.analytics._service"
_CAMPAIGN = "crmcore.analytics._campaign"
_REPORT = "crmcore.analytics._report"

#: exported name -> defining module (one line per name; other modules append theirs)
_EXPORTS: dict[str, str | None] = {
    "AnalyticsResult": "crmcore.analytics._result",
    "BasketRules": "crmcore.analytics._basket",
    "BetaGeoModel": "crmcore.analytics._clv",
    "CHURN_FEATURES": "crmcore.analytics._churn",
    "CampaignEffectReport": _CAMPAIGN,
    "ChurnDrivers": "crmcore.analytics._churn",
    "ChurnRiskModel": "crmcore.analytics._churn",
    "ClvResult": "crmcore.analytics._clv",
    "CustomerClusters": "crmcore.analytics._segment",
    "FunnelReport": _SALES,
    "GammaGammaModel": "crmcore.analytics._clv",
    "PROFILE_WORDS": "crmcore.analytics._segment",
    "PipelineCoverageReport": _SALES,
    "REPORT_SECTIONS": _REPORT,
    "RFM_SEGMENTS": "crmcore.analytics._rfm",
    "ReportFrame": _REPORT,
    "RfmResult": "crmcore.analytics._rfm",
    "RfmSegmentRule": "crmcore.analytics._rfm",
    "SalesForecastReport": _SALES,
    "SalesPerformanceReport": _SALES,
    "SalesStages": _SALES,
    "SatisfactionReport": _SERVICE,
    "SlaReport": _SERVICE,
    "StageTimeReport": _SALES,
    "SurvivalCurves": "crmcore.analytics._churn",
    "WinRateReport": _SALES,
    "add_report_command": "crmcore.analytics._cli",
    "basket_rules": "crmcore.analytics._basket",
    "build_report": _REPORT,
    "campaign_effect": _CAMPAIGN,
    "churn_drivers": "crmcore.analytics._churn",
    "churn_labels": "crmcore.analytics._churn",
    "cluster_customers": "crmcore.analytics._segment",
    "clv": "crmcore.analytics._clv",
    "clv_summary": "crmcore.analytics._clv",
    "customer_features": "crmcore.analytics._churn",
    "customer_lifetime_value": "crmcore.analytics._clv",
    "density_clusters": "crmcore.analytics._segment",
    "forecast_vs_actual": _SALES,
    "pipeline_coverage": _SALES,
    "order_currencies": "crmcore.analytics._read",
    "read_campaign_events": "crmcore.analytics._read",
    "read_customer_days": "crmcore.analytics._read",
    "read_customer_orders": "crmcore.analytics._read",
    "read_order_lines": "crmcore.analytics._read",
    "read_orders": "crmcore.analytics._read",
    "read_surveys": "crmcore.analytics._read",
    "read_tickets": "crmcore.analytics._read",
    "register_report_section": _REPORT,
    "report_sections": _REPORT,
    "rfm": "crmcore.analytics._rfm",
    "rfm_scores": "crmcore.analytics._rfm",
    "rfm_table": "crmcore.analytics._rfm",
    "sales_funnel": _SALES,
    "sales_performance": _SALES,
    "sales_stages": _SALES,
    "satisfaction": _SERVICE,
    "satisfaction_scores": _SERVICE,
    "sla_attainment": _SERVICE,
    "stage_times": _SALES,
    "survival_by_segment": "crmcore.analytics._churn",
    "survival_frame": "crmcore.analytics._churn",
    "synthetic_churn_customers": "crmcore.analytics._churn",
    "two_proportion_z_test": _CAMPAIGN,
    "win_rate": _SALES,
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
