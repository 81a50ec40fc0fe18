"""The shape every analytics result shares: a DataFrame, an HTML view, a repr, a plot.

Results follow the estimator style of scikit-learn and lifelines: compute
once, then read ``.frame`` (or ``to_pandas()``), show ``_repr_html_`` in a
notebook, and draw with ``plot(ax=...)``, which imports matplotlib only when
called and returns the Axes.
"""

from __future__ import annotations

import html
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


class AnalyticsResult:
    """Base of the analytics results: ``frame`` holds the main table.

    Subclasses set ``frame`` and a ``_summary()`` line; ``plot`` is theirs.
    """

    frame: pd.DataFrame

    def to_pandas(self) -> pd.DataFrame:
        """A copy of the result's main table."""
        return self.frame.copy()

    def _summary(self) -> str:
        return f"{len(self.frame)} rows"

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self._summary()}>"

    def _repr_html_(self) -> str:
        """The summary and the table, drawn like every report's (one table renderer)."""
        from crmcore.analytics._report import html_table_of

        title = html.escape(f"{type(self).__name__}: {self._summary()}")
        return f"<div><p><b>{title}</b></p>{html_table_of(self.frame)}</div>"

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Draw the result on ``ax`` (a new figure if None) and return the Axes."""
        raise NotImplementedError  # pragma: no cover - every result overrides it
