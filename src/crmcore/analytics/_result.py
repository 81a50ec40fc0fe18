"""The one result class of :mod:`crmcore.analytics`: a titled DataFrame, notes, HTML, a chart.

Every report and every value result is an :class:`AnalyticsResult`: compute
once, then read ``.frame`` (or ``to_pandas()``), show ``_repr_html_`` in a
notebook, draw with ``plot(ax=...)`` (matplotlib, imported only when called;
returns the Axes), or hand it to :func:`~crmcore.analytics.build_report`,
which renders the same ``title``, chart and :meth:`~AnalyticsResult.html_body`.

The engine-aggregated reports are built from a title, a frame and column
notes (``ReportFrame(title, frame, columns, description)``); the value results
(RFM, CLV, churn, clusters, rules) set their frame in their own constructor
and carry their title and column notes as class attributes.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["AnalyticsResult"]


def axes(ax: Axes | None) -> Axes:
    """``ax`` or a new Axes on a new figure (matplotlib imported here, lazily)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots()
    return new


#: rows of the main table shown after summary tables (the rest is in ``frame``)
_DETAIL_ROWS = 50


class AnalyticsResult:
    """A computed result: ``frame`` (a DataFrame) with a title and its columns explained.

    Args:
        title: a heading (``"Sales funnel"``).
        frame: the result table.
        columns: ``{column: meaning}`` for the documented columns.
        description: one or two sentences on what the numbers mean.

    Subclasses that compute their own frame set ``frame`` in their
    constructor and may give ``title``, ``columns`` and ``description`` as
    class attributes; they refine ``_summary()`` (the ``repr`` line) and
    ``plot()`` (by default a bar or line chart of the numeric columns).
    """

    #: the heading in notebooks and in the HTML report
    title: str = ""
    #: ``{column: meaning}`` for the documented columns of ``frame``
    columns: Mapping[str, str] = MappingProxyType({})
    #: what the numbers mean, in a sentence or two
    description: str = ""
    #: chart kind used by the default :meth:`plot`: ``"bar"`` or ``"line"``
    chart: str = "bar"
    #: the column on the x axis of the default :meth:`plot` (default: the first column)
    x: str | None = None
    #: the columns the default :meth:`plot` draws (default: the numeric ones but x)
    y: tuple[str, ...] = ()
    #: columns left out of the HTML table (still in ``frame``)
    hidden: tuple[str, ...] = ()
    #: the heading of the main table when :meth:`summary_tables` come first
    detail_caption: str = "Rows"

    frame: pd.DataFrame

    def __init__(
        self,
        title: str,
        frame: pd.DataFrame,
        columns: Mapping[str, str] | None = None,
        description: str = "",
    ) -> None:
        self.title = title
        self.frame = frame
        self.columns = dict(columns or {})
        self.description = description

    def to_pandas(self) -> pd.DataFrame:
        """A copy of the result's main table."""
        return self.frame.copy()

    def __len__(self) -> int:
        return len(self.frame)

    def _summary(self) -> str:
        cols = ", ".join(map(str, self.frame.columns[:6]))
        more = ", ..." if len(self.frame.columns) > 6 else ""
        return f"{len(self.frame)} rows [{cols}{more}]"

    def __repr__(self) -> str:
        name = type(self).__name__
        if "title" in vars(self):  # built from a title: the reports
            return f"<{name} {self.title!r}: {self._summary()}>"
        return f"<{name}: {self._summary()}>"

    def summary_tables(self) -> list[tuple[str, pd.DataFrame]]:
        """(caption, table) pairs the HTML shows before the main table; none by default.

        A result with one row per customer overrides it with its per-group
        view (RFM segments, cluster profiles), so a report reader sees the
        groups first and the first rows of the long table after them.
        """
        return []

    def display_frame(self) -> pd.DataFrame:
        """The table the HTML shows: the frame, its named index as a first column."""
        frame = self.frame
        if frame.index.name is not None and frame.index.name not in frame.columns:
            return frame.reset_index()
        return frame

    def _repr_html_(self) -> str:
        """The title, a summary line, then :meth:`html_body` (what the HTML report shows)."""
        title = html.escape(self.title or type(self).__name__)
        line = html.escape(f"{type(self).__name__}: {self._summary()}")
        return f"<h3>{title}</h3>\n<p class='note'>{line}</p>\n{self.html_body()}"

    def html_body(self) -> str:
        """The HTML of the description, table and column notes (no heading)."""
        from crmcore.analytics._report import html_table_of

        parts = []
        if self.description:
            parts.append(f"<p>{html.escape(self.description)}</p>")
        summaries = self.summary_tables()
        for caption, table in summaries:
            if table.index.name is not None and table.index.name not in table.columns:
                table = table.reset_index()
            parts.append(f"<h3>{html.escape(caption)}</h3>")
            parts.append(f"<div class='scroll'>{html_table_of(table)}</div>")
        if summaries:
            parts.append(f"<h3>{html.escape(self.detail_caption)}</h3>")
        detail = html_table_of(
            self.display_frame(), self.hidden, max_rows=_DETAIL_ROWS if summaries else None
        )
        parts.append(f"<div class='scroll'>{detail}</div>")
        if self.columns:
            items = "".join(
                f"<li><code>{html.escape(k)}</code>: {html.escape(v)}</li>"
                for k, v in self.columns.items()
            )
            parts.append(f"<details><summary>Columns</summary><ul>{items}</ul></details>")
        return "\n".join(parts)

    def _plot_columns(self) -> tuple[str | None, list[str]]:
        import pandas as pd

        df = self.frame
        if df.empty:
            return None, []
        x = self.x or str(df.columns[0])
        ys = list(self.y) or [
            str(c) for c in df.columns if c != x and pd.api.types.is_numeric_dtype(df[c])
        ]
        return x, [y for y in ys if y in df.columns]

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Draw the result on ``ax`` (a new figure if None) and return the Axes."""
        import matplotlib.pyplot as plt

        from crmcore.analytics._report import _label

        if ax is None:
            _fig, ax = plt.subplots(figsize=(8, 3.6))
        x, ys = self._plot_columns()
        if x is None or not ys:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
        else:
            data = self.frame.set_index(x)[ys].astype(float)
            data.index = [_label(v) for v in data.index]
            data.plot(kind=self.chart, ax=ax, **kwargs)
            ax.set_xlabel(x)
            if data.abs().max().max() >= 10_000:
                from matplotlib.ticker import FuncFormatter

                ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
            ax.tick_params(axis="x", labelrotation=30 if len(data) > 6 else 0)
            ax.grid(axis="y", alpha=0.3)
        ax.set_title(self.title)
        return ax
