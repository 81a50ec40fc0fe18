"""Reports over a session, aggregated in the engine: DataFrames, charts, one HTML file.

Sales (funnel, time in stage, win rate, pipeline coverage, performance per
owner or team, forecast against actuals), service (CSAT, NPS, CES, SLA
attainment) and campaign effect (rates, lift over a holdout, ROI) reports
are :class:`ReportFrame` objects: ``frame`` / ``to_pandas()``, ``plot(ax=)``,
``_repr_html_()``. :func:`build_report` renders any of them into one
self-contained HTML page (``crmcore report`` on the command line).

Needs the ``analytics`` extra (pandas, matplotlib). Names load on first use,
so importing this package costs nothing until a report runs.
"""

from __future__ import annotations

from crmcore._lazy import lazy_exports

_SALES = "crmcore.analytics._sales"
_SERVICE = "crmcore.analytics._service"
_CAMPAIGN = "crmcore.analytics._campaign"
_REPORT = "crmcore.analytics._report"

#: exported name -> defining module (one line per name; other modules append theirs)
_EXPORTS: dict[str, str | None] = {
    "CampaignReport": _CAMPAIGN,
    "FunnelReport": _SALES,
    "PipelineCoverageReport": _SALES,
    "REPORT_SECTIONS": _REPORT,
    "ReportFrame": _REPORT,
    "SalesForecastReport": _SALES,
    "SalesPerformanceReport": _SALES,
    "SalesStages": _SALES,
    "SatisfactionReport": _SERVICE,
    "SlaReport": _SERVICE,
    "StageTimeReport": _SALES,
    "WinRateReport": _SALES,
    "add_report_command": "crmcore.analytics._cli",
    "build_report": _REPORT,
    "campaign_effect": _CAMPAIGN,
    "forecast_vs_actual": _SALES,
    "pipeline_coverage": _SALES,
    "register_report_section": _REPORT,
    "sales_funnel": _SALES,
    "sales_performance": _SALES,
    "sales_stages": _SALES,
    "satisfaction": _SERVICE,
    "satisfaction_scores": _SERVICE,
    "sla_attainment": _SERVICE,
    "stage_times": _SALES,
    "two_proportion_z_test": _CAMPAIGN,
    "win_rate": _SALES,
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
