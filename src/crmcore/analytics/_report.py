"""Report objects (a DataFrame with a title, columns explained, a chart) and the HTML builder.

Every result of :mod:`crmcore.analytics` is an
:class:`~crmcore.analytics.AnalyticsResult` (the reports aggregated in the
engine under the name :class:`ReportFrame`): compute once, then
``to_pandas()``, ``plot(ax=)`` (matplotlib, imported when drawn),
``_repr_html_()`` in a notebook. :func:`build_report` renders any list of
them (and of anything else with ``_repr_html_`` and/or ``plot()``) into one
self-contained HTML file: inline CSS, charts as inline SVG images whose text
stays text (so the reader's browser draws Chinese labels with its own fonts,
even when the machine that built the report has none), tables.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import numbers
import warnings
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmcore.analytics._result import AnalyticsResult
from crmcore.errors import QueryError

if TYPE_CHECKING:
    from crmcore.storage.ports import UnitOfWorkContext

__all__ = [
    "REPORT_SECTIONS",
    "ReportFrame",
    "build_report",
    "register_report_section",
    "report_sections",
]

_MAX_ROWS = 200


class ReportFrame(AnalyticsResult):
    """A report built from a title, a frame and column notes (the engine-aggregated reports).

    The same :class:`~crmcore.analytics.AnalyticsResult` as every value
    result, under the name the sales, service and campaign reports have
    always had: ``ReportFrame(title, frame, columns, description)``.
    """


def _label(value: object) -> str:
    if isinstance(value, (_dt.date, pd.Timestamp)):
        return value.isoformat()[:10]
    return "(none)" if _missing(value) else str(value)


def _missing(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def _cell(value: object) -> tuple[str, bool]:
    """(text, is a number) of one table cell."""
    if _missing(value):
        return "", True
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}", True
    if isinstance(value, (numbers.Real, Decimal)):
        number = float(value)
        if abs(number) >= 1000:
            return f"{number:,.0f}", True
        text = f"{number:.3f}".rstrip("0").rstrip(".")
        return ("0" if text == "-0" else text), True
    if isinstance(value, (_dt.datetime, _dt.date, pd.Timestamp)):
        return _label(value) if not isinstance(value, _dt.datetime) else value.isoformat(
            " ", "minutes"
        ), False
    return str(value), False


def html_table_of(
    frame: pd.DataFrame, hidden: Sequence[str] = (), max_rows: int | None = None
) -> str:
    """An HTML table: numbers right-aligned, text left, headers that may wrap at ``_``.

    At most ``max_rows`` rows (default 200) are shown, with a note saying so.
    """
    limit = _MAX_ROWS if max_rows is None else max_rows
    cols = [c for c in frame.columns if c not in hidden]
    head = "".join(f"<th>{html.escape(str(c)).replace('_', '_<wbr>')}</th>" for c in cols)
    rows = []
    for values in frame[cols].head(limit).itertuples(index=False, name=None):
        cells = []
        for v in values:
            text, num = _cell(v)
            cells.append(f"<td class='{'num' if num else 'txt'}'>{html.escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    body = (
        f"<table class='crm-table'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    if len(frame) > limit:
        body += f"<p class='note'>first {limit:,} of {len(frame):,} rows</p>"
    return body


# --------------------------------------------------------------------------- the builder

#: named sections for :func:`build_report` and ``crmcore report``: name -> fn(session)
REPORT_SECTIONS: dict[str, Callable[[UnitOfWorkContext], Any]] = {}


def report_sections() -> dict[str, Callable[[UnitOfWorkContext], Any]]:
    """Every named section (the built-in ones and those registered), by name."""
    from crmcore.analytics import _sections  # noqa: F401  (registers the named sections)

    return dict(REPORT_SECTIONS)


def register_report_section(name: str, fn: Callable[[UnitOfWorkContext], Any]) -> None:
    """Make ``fn(session)`` available to :func:`build_report` (and the CLI) as ``name``."""
    REPORT_SECTIONS[name] = fn


_CSS = """
body{font-family:-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK SC","PingFang SC",
 "Microsoft YaHei",sans-serif;margin:0;background:#f5f6f8;color:#1f2430}
header{background:#1f3a5f;color:#fff;padding:20px 32px}
header h1{margin:0;font-size:24px} header p{margin:4px 0 0;opacity:.8;font-size:13px}
main{max-width:1180px;margin:0 auto;padding:16px 24px}
nav{font-size:13px;margin:8px 0 16px} nav a{margin-right:14px;color:#1f3a5f}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);
 padding:16px 22px;margin:0 0 18px}
section h2{font-size:18px;margin:0 0 10px;color:#1f3a5f}
h3{font-size:15px;margin:8px 0} p{font-size:13px;line-height:1.45}
img.chart{max-width:100%;height:auto;display:block;margin:6px 0 10px}
table.crm-table{border-collapse:collapse;font-size:12px;margin:6px 0;width:auto}
table.crm-table th{background:#eef1f5;text-align:left;padding:5px 9px;
 border-bottom:2px solid #d5dae1}
table.crm-table td{padding:4px 9px;border-bottom:1px solid #eceff3;white-space:nowrap}
table.crm-table td.num{text-align:right;font-variant-numeric:tabular-nums}
table.crm-table td.txt{text-align:left}
table.crm-table tr:nth-child(even) td{background:#fafbfc}
.scroll{overflow-x:auto} .note{color:#777;font-size:12px}
details{font-size:12px;color:#444;margin-top:6px} code{background:#f1f3f5;padding:0 3px}
.error{color:#a4262c}
"""


#: fonts tried, in order, for Chinese text in charts (the first installed one is used)
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "PingFang SC",
    "Microsoft YaHei",
    "SimHei",
)


def chart_fonts() -> list[str]:
    """The sans-serif font list for charts: installed CJK fonts first, then matplotlib's."""
    import matplotlib
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return [
        *(f for f in CJK_FONTS if f in installed),
        *matplotlib.rcParams["font.sans-serif"],
    ]


#: a chart artist with more points than this is drawn as an image inside the SVG
_RASTER_POINTS = 2000


def _rasterize_dense(fig: Any) -> None:
    """Scatter plots of many customers stay small: their point clouds become pixels."""
    for ax in fig.axes:
        for artist in [*ax.collections, *ax.lines]:
            data = getattr(artist, "get_offsets", None) or getattr(artist, "get_xydata", None)
            if data is not None and len(data()) > _RASTER_POINTS:
                artist.set_rasterized(True)


def _chart(obj: Any) -> str | None:
    plot = getattr(obj, "plot", None)
    if not callable(plot) or isinstance(obj, pd.DataFrame):
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    settings: dict[Any, Any] = {
        "font.family": "sans-serif",
        "font.sans-serif": chart_fonts(),
        "svg.fonttype": "none",  # text as <text>: the browser finds the glyphs
        "svg.hashsalt": "crmcore",  # the same chart gives the same bytes
    }
    with matplotlib.rc_context(settings), warnings.catch_warnings():
        # the SVG keeps the text, so a glyph this machine's fonts lack is the browser's to draw
        warnings.filterwarnings("ignore", r"Glyph \d+ .* missing from font", UserWarning)
        fig, ax = plt.subplots(figsize=(9, 3.8), dpi=110)
        try:
            plot(ax=ax)
            fig.tight_layout()
            _rasterize_dense(fig)
            buf = io.BytesIO()
            fig.savefig(buf, format="svg", metadata={"Date": None})
        finally:
            plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    alt = html.escape(str(getattr(obj, "title", "") or "chart"), quote=True)
    return f"<img class='chart' alt='{alt}' src='data:image/svg+xml;base64,{data}'>"


def _section_html(obj: Any) -> tuple[str, str]:
    """(title, inner HTML) of one section object."""
    if isinstance(obj, str):
        return "", f"<p>{html.escape(obj)}</p>"
    if isinstance(obj, pd.DataFrame):
        return "", f"<div class='scroll'>{html_table_of(obj)}</div>"
    title = str(getattr(obj, "title", "") or type(obj).__name__)
    parts = []
    chart = _chart(obj)
    if chart:
        parts.append(chart)
    body = getattr(obj, "html_body", None)
    render = getattr(obj, "_repr_html_", None)
    if callable(body):
        parts.append(body())
    elif callable(render):
        parts.append(f"<div class='scroll'>{render()}</div>")
    elif not chart:
        parts.append(f"<pre>{html.escape(repr(obj))}</pre>")
    return title, "\n".join(parts)


def build_report(
    session: UnitOfWorkContext | None,
    sections: Iterable[Any],
    *,
    title: str = "crmcore report",
    path: str | Path | None = None,
    subtitle: str | None = None,
) -> str:
    """Render report objects into one self-contained HTML page.

    Args:
        session: the unit of work named sections and callables run in (may be
            None when every section is already computed).
        sections: report objects (anything with ``_repr_html_`` and/or
            ``plot(ax=)``), DataFrames, callables taking the session, names
            of :data:`REPORT_SECTIONS` (``"funnel"``, ``"win_rate"``,
            ``"satisfaction"``, ``"campaigns"``...); any other string is a
            paragraph of text. A callable may return a list of sections.
        title: the page title.
        path: also write the page there (UTF-8).
        subtitle: a line under the title (default: when it was generated).

    Returns:
        The HTML text.

    Raises:
        QueryError: a named or callable section but no session to run it in.
    """
    from crmcore.analytics import _sections  # noqa: F401  (registers the named sections)

    rendered: list[tuple[str, str]] = []
    for item in sections:
        obj = item
        if isinstance(item, str) and item in REPORT_SECTIONS:
            obj = _run(REPORT_SECTIONS[item], session, item)
        elif callable(item) and not hasattr(item, "_repr_html_") and not hasattr(item, "plot"):
            obj = _run(item, session, getattr(item, "__name__", "section"))
        if isinstance(obj, Sequence) and not isinstance(obj, (str, pd.DataFrame)):
            rendered += [_section_html(o) for o in obj]
        else:
            rendered.append(_section_html(obj))
    when = subtitle or f"generated {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    links = []
    body = []
    for i, (name, inner) in enumerate(rendered):
        anchor = f"s{i + 1}"
        if name:
            links.append(f"<a href='#{anchor}'>{html.escape(name)}</a>")
            inner = f"<h2>{html.escape(name)}</h2>\n{inner}"
        body.append(f"<section id='{anchor}'>\n{inner}\n</section>")
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(when)}</p></header><main>"
        f"<nav>{''.join(links)}</nav>" + "\n".join(body) + "</main></body></html>\n"
    )
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def _run(
    fn: Callable[[UnitOfWorkContext], Any], session: UnitOfWorkContext | None, name: str
) -> Any:
    if session is None:
        raise QueryError(f"report section {name!r} needs a session to run in")
    return fn(session)


def unknown_sections(names: Iterable[str]) -> list[str]:
    """The names among ``names`` that are not registered sections."""
    from crmcore.analytics import _sections  # noqa: F401

    return [n for n in names if n not in REPORT_SECTIONS]
