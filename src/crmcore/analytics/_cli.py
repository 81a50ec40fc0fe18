"""``crmcore report URL --out report.html``: the report builder on the command line.

Light at import (argparse only): the reports load when the command runs.
:func:`add_report_command` adds the subcommand to any argparse subparsers
object, with the command's function as the parser's ``run`` default (the
``crmcore`` command line calls ``args.run(args)``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_SECTIONS", "add_report_command", "run_report_command"]

#: the sections of a report when ``--sections`` is not given
DEFAULT_SECTIONS = (
    "funnel",
    "stage_times",
    "win_rate",
    "owners",
    "forecast",
    "satisfaction",
    "sla",
    "campaigns",
)


def add_report_command(subparsers: Any, connect: Callable[..., Any]) -> argparse.ArgumentParser:
    """Add the ``report`` subcommand to an argparse subparsers object.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
        connect: opens the CRM of a URL (``crmcore.connect``; the command line
            passes it in, as this package sits below the facade).
    """
    p: argparse.ArgumentParser = subparsers.add_parser(
        "report", help="render sales, service and campaign reports into one HTML file"
    )
    p.add_argument("url", help="database URL, e.g. sqlite:///crm.db")
    p.add_argument("--out", "-o", default="crmcore-report.html", help="the HTML file to write")
    p.add_argument("--title", default="crmcore report", help="the page title")
    p.add_argument("--tenant", default="default", help="the tenant to report on")
    p.add_argument(
        "--sections",
        default=",".join(DEFAULT_SECTIONS),
        help="comma-separated sections (funnel, stage_times, win_rate, owners, teams, "
        "forecast, satisfaction, agents, sla, campaigns)",
    )
    p.set_defaults(run=run_report_command, connect=connect)
    return p


def run_report_command(args: argparse.Namespace) -> int:
    """Build the report the arguments describe; 0 on success, 1 on a crmcore error."""
    from crmcore.analytics._report import build_report, unknown_sections
    from crmcore.errors import CrmError
    from crmcore.model import Principal

    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    bad = unknown_sections(sections)
    if bad:
        print(f"crmcore: unknown report sections: {', '.join(bad)}", file=sys.stderr)
        return 2
    try:
        crm = args.connect(args.url, create_schema=False)
        try:
            principal = Principal.system_principal(args.tenant)
            with crm.session(principal) as s:
                build_report(s, sections, title=args.title, path=args.out)
        finally:
            crm.close()
    except CrmError as exc:
        print(f"crmcore: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0
