"""The named sections of :func:`crmcore.analytics.build_report` and ``crmcore report``."""

from __future__ import annotations

from crmcore.analytics._campaign import campaign_effect
from crmcore.analytics._report import register_report_section
from crmcore.analytics._sales import (
    forecast_vs_actual,
    sales_funnel,
    sales_performance,
    stage_times,
    win_rate,
)
from crmcore.analytics._service import satisfaction, sla_attainment

__all__: list[str] = []

register_report_section("funnel", sales_funnel)
register_report_section("stage_times", stage_times)
register_report_section("win_rate", win_rate)
register_report_section("owners", sales_performance)
register_report_section("teams", lambda s: sales_performance(s, by="team_id"))
register_report_section("forecast", forecast_vs_actual)
register_report_section("satisfaction", satisfaction)
register_report_section("agents", lambda s: satisfaction(s, by="assignee_id", period=None))
register_report_section("sla", sla_attainment)
register_report_section("campaigns", campaign_effect)
