"""The HTML report builder and the ``crmcore report`` command (memory and a SQLite file)."""

from __future__ import annotations

import base64
import datetime as dt
import re
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

import crmcore
from crmcore import Money, Opportunity
from crmcore.__main__ import main
from crmcore.analytics import REPORT_SECTIONS, ReportFrame, build_report, win_rate
from crmcore.errors import QueryError
from crmcore.services import transition

matplotlib.use("Agg")


def _seed(crm: crmcore.Crm) -> None:
    with crm.session() as s:
        for i in range(6):
            o = s.opportunities.add(
                Opportunity(
                    name=f"d{i}",
                    owner_id="li" if i % 2 else "wang",
                    amount=Money(1000 * (i + 1), "CNY"),
                    expected_close_date=dt.date(2026, 1 + i, 1),
                )
            )
            o = transition(s, o, "advance")
            if i % 3 == 0:
                transition(s, o, "win")
            elif i % 3 == 1:
                transition(s, o, "lose")


class Plain:
    """Anything with _repr_html_ only."""

    title = "Plain <object>"

    def _repr_html_(self) -> str:
        return "<b id='plain'>hello</b>"


class Drawn:
    """Anything with plot() only."""

    def plot(self, ax: object = None) -> object:
        ax.plot([1, 2, 3], [3, 1, 2])  # type: ignore[attr-defined]
        return ax


def _images(page: str) -> list[bytes]:
    return [
        base64.b64decode(m)
        for m in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", page)
    ]


def test_one_self_contained_page(tmp_path: Path) -> None:
    crm = crmcore.connect("memory://")
    _seed(crm)
    out = tmp_path / "r.html"
    with crm.session() as s:
        page = build_report(
            s,
            [
                "funnel",
                win_rate(s, by="owner_id", period=None),
                Plain(),
                Drawn(),
                pd.DataFrame({"x": [1, 2]}),
                "A note & more",
                lambda s: win_rate(s, period=None),
            ],
            title="Q1 <review>",
            path=out,
        )
    assert out.read_text(encoding="utf-8") == page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>Q1 &lt;review&gt;</title>" in page
    assert "<style>" in page and "<script" not in page
    assert not re.search(r"(src|href)=['\"](https?:|//|file:)", page)  # nothing external
    images = _images(page)
    assert len(images) == 4  # funnel, win rate x2, Drawn; Plain and the DataFrame have no chart
    assert all(img.startswith(b"<?xml") and b"<svg" in img for img in images)
    assert "<b id='plain'>hello</b>" in page and "Plain &lt;object&gt;" in page
    assert "A note &amp; more" in page
    assert page.count("<section") == 7
    assert "Sales funnel" in page and "prospecting" in page


def test_sections_need_a_session_and_names_are_known() -> None:
    with pytest.raises(QueryError, match="funnel"):
        build_report(None, ["funnel"])
    assert {"funnel", "win_rate", "satisfaction", "sla", "campaigns", "owners"} <= set(
        REPORT_SECTIONS
    )


def test_every_named_section_renders_on_an_empty_store() -> None:
    crm = crmcore.connect("memory://")
    with crm.session() as s:
        page = build_report(s, list(REPORT_SECTIONS), title="empty")
    assert page.count("<section") == len(REPORT_SECTIONS)
    assert len(_images(page)) == len(REPORT_SECTIONS)  # an empty chart says "no data"


def test_report_frame_is_a_small_public_shape() -> None:
    r = ReportFrame("T", pd.DataFrame({"k": ["a", "b"], "v": [1.5, 2.0]}), {"v": "value"}, "d")
    assert repr(r) == "<ReportFrame 'T': 2 rows [k, v]>"
    html = r._repr_html_()
    assert "<h3>T</h3>" in html and "<code>v</code>: value" in html
    assert "<td class='num'>1.5</td>" in html and "<td class='txt'>a</td>" in html
    assert r.plot().get_title() == "T"


def test_cli_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    crm = crmcore.connect(url)
    _seed(crm)
    crm.close()
    out = tmp_path / "cli.html"
    assert (
        main(["report", url, "--out", str(out), "--sections", "funnel,win_rate", "--title", "T"])
        == 0
    )
    page = out.read_text(encoding="utf-8")
    assert page.count("<section") == 2 and "<title>T</title>" in page
    assert "wrote" in capsys.readouterr().out
    assert main(["report", url, "--sections", "funnel,nope"]) == 2
    assert "nope" in capsys.readouterr().err


class Labelled:
    """A chart whose labels are Chinese, as campaign and segment names often are."""

    title = "春季促销"

    def plot(self, ax: object = None) -> object:
        ax.bar(["春季促销", "会员日"], [3, 5])  # type: ignore[attr-defined]
        ax.set_title("活动效果")  # type: ignore[attr-defined]
        return ax


class Dense:
    """A scatter of many customers (a segmentation plot)."""

    def plot(self, ax: object = None) -> object:
        import numpy as np

        rng = np.random.default_rng(0)
        ax.scatter(rng.random(20_000), rng.random(20_000), s=2)  # type: ignore[attr-defined]
        return ax


def test_chart_text_stays_text_for_the_readers_fonts() -> None:
    """Chinese labels are SVG text, not pixels of whatever fonts the building machine had."""
    page = build_report(None, [Labelled()])
    (svg,) = _images(page)
    text = svg.decode("utf-8")
    assert "春季促销" in text and "会员日" in text and "活动效果" in text
    assert "<text" in text
    assert "alt='春季促销'" in page
    assert build_report(None, [Labelled()], subtitle="x") == build_report(
        None, [Labelled()], subtitle="x"
    )  # the same chart gives the same bytes


def test_dense_scatter_is_drawn_as_pixels_inside_the_svg() -> None:
    page = build_report(None, [Dense()])
    (svg,) = _images(page)
    assert b"<image" in svg  # the point cloud, rasterised
    assert len(svg) < 400_000  # 20,000 vector markers would be several MB
