"""Small tables as text and HTML: one renderer for every result object's repr.

Result objects (forecasts, quality reports, entity previews) show a few rows
in a terminal and in a notebook. They hand their header and rows here rather
than each formatting its own; every cell is escaped in HTML.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal

__all__ = ["html_table", "text_table"]


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def text_table(header: Sequence[str], rows: Sequence[Sequence[object]], *, title: str = "") -> str:
    """``rows`` under ``header`` as aligned plain text (numbers right-aligned)."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [len(h) for h in header]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float) or _is_number(r[i]) for r in rows)
        for i in range(len(header))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [title] if title else []
    out += [line(list(header)), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _is_number(value: object) -> bool:
    if isinstance(value, str):  # a formatted amount ("1,234.50") aligns like a number
        return bool(value) and value.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()
    return isinstance(value, Decimal)


def html_table(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    title: str = "",
    footer: str = "",
) -> str:
    """``rows`` under ``header`` as an HTML table, every cell escaped."""
    e = html.escape
    out = ["<div>"]
    if title:
        out.append(f"<p><b>{e(title)}</b></p>")
    out.append("<table><thead><tr>")
    out += [f"<th>{e(h)}</th>" for h in header]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{e(_cell(c))}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    if footer:
        out.append(f"<p>{e(footer)}</p>")
    out.append("</div>")
    return "".join(out)
