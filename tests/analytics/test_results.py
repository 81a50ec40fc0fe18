"""Every result: a frame, a copy from to_pandas, an HTML view, a short repr, a plot (Agg)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

import crmcore.analytics as analytics
from crmcore.analytics import (
    CHURN_FEATURES,
    AnalyticsResult,
    BetaGeoModel,
    ChurnRiskModel,
    GammaGammaModel,
    basket_rules,
    churn_drivers,
    cluster_customers,
    clv,
    density_clusters,
    rfm,
    survival_by_segment,
    synthetic_churn_customers,
)


def _orders(seed: int = 0, customers: int = 150) -> pd.DataFrame:
    """Buyers with their own purchase rate, spend level and lifetime (BG/NBD-like)."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2024-01-01", tz="UTC")
    for c in range(customers):
        t = rng.uniform(0, 100)
        rate = rng.gamma(1.0, 1 / 30)
        death = t + rng.exponential(200)
        level = rng.gamma(3, 20)
        while t < min(death, 365):
            rows.append((f"c{c}", start + pd.Timedelta(days=float(t)), level * rng.gamma(6, 1 / 6)))
            t += rng.exponential(1 / rate) + 1
    return pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])


@pytest.fixture(scope="module")
def results() -> list[AnalyticsResult]:
    orders = _orders()
    people = synthetic_churn_customers(300, seed=1)
    people["duration_days"] = people["tenure_days"]
    people["segment"] = np.where(people["tickets"] > 0, "complained", "quiet")
    value = clv(orders, "2025-01-01")
    lines = pd.DataFrame(
        {
            "order_id": [f"o{i // 2}" for i in range(40)],
            "customer_id": "c1",
            "item": ["a", "b"] * 15 + ["a", "c"] * 5,
        }
    )
    features = people[["recency_days", "frequency", "monetary"]]
    return [
        rfm(orders, "2025-01-01"),
        value,
        value.purchases,
        value.spend,
        survival_by_segment(people, segment="segment"),
        churn_drivers(people, ["tickets", "csat"], segment="segment"),
        ChurnRiskModel().fit(people[list(CHURN_FEATURES)], people["churned"]),
        cluster_customers(features, k=[2, 3]),
        density_clusters(features, eps=0.6, min_samples=5),
        basket_rules(lines, min_support=0.1),
    ]


def test_every_result_has_the_common_shape(results: list[AnalyticsResult]) -> None:
    for result in results:
        assert isinstance(result.frame, pd.DataFrame) and len(result.frame) > 0, result
        copy = result.to_pandas()
        pd.testing.assert_frame_equal(copy, result.frame)
        assert copy is not result.frame
        text = repr(result)
        assert text.startswith(f"<{type(result).__name__}: ") and "\n" not in text
        assert len(text) < 300
        page = result._repr_html_()
        assert "<table" in page and type(result).__name__ in page


def test_every_result_plots_on_a_given_or_new_axes(results: list[AnalyticsResult]) -> None:
    for result in results:
        fig, ax = plt.subplots()
        drawn = result.plot(ax=ax)
        assert drawn is ax
        assert drawn.has_data() or drawn.lines or drawn.patches, type(result).__name__
        plt.close(fig)
        fresh = result.plot()
        assert isinstance(fresh, Axes)
        plt.close(fresh.figure)


def test_unfitted_models_say_so() -> None:
    assert "not fitted" in repr(BetaGeoModel())
    assert "not fitted" in repr(GammaGammaModel())
    assert "not fitted" in repr(ChurnRiskModel())


def test_importing_crmcore_loads_neither_analytics_nor_pandas() -> None:
    code = (
        "import sys, crmcore\n"
        "crm = crmcore.connect('memory://')\n"
        "bad = [m for m in ('crmcore.analytics', 'pandas', 'scipy', 'sklearn', 'statsmodels',"
        " 'matplotlib', 'mlxtend') if m in sys.modules]\n"
        "print(bad, crmcore.__file__.startswith(sys.argv[1]))\n"
    )
    src = Path(analytics.__file__).parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code, str(src)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(src)},
    )
    assert out.stdout.strip() == "[] True"


def test_importing_analytics_loads_no_heavy_library_until_used() -> None:
    code = (
        "import sys, crmcore.analytics\n"
        "print([m for m in ('pandas', 'scipy', 'sklearn', 'statsmodels', 'matplotlib',"
        " 'mlxtend') if m in sys.modules])\n"
    )
    src = Path(analytics.__file__).parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(src)},
    )
    assert out.stdout.strip() == "[]"


def test_analytics_names_clash_with_no_other_package() -> None:
    import importlib

    import crmcore

    ours = set(analytics.__all__)
    for name in ("errors", "query", "storage.ports", *crmcore._SUBPACKAGES):
        module = importlib.import_module(f"crmcore.{name}")
        shared = ours & set(getattr(module, "__all__", ()))
        assert {n for n in shared if getattr(module, n) is not getattr(analytics, n)} == set()


def test_the_python_block_of_the_docs_runs() -> None:
    import re

    page = Path(__file__).parents[2] / "docs" / "analytics.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(page), "exec"), {"__name__": "docs_analytics"})


def test_value_results_and_reports_share_one_base(results: list[AnalyticsResult]) -> None:
    from crmcore.analytics import ReportFrame, build_report

    assert issubclass(ReportFrame, AnalyticsResult)
    for result in results:
        name = type(result).__name__
        assert result.title, name
        assert result.columns, name
        shown = set(result.display_frame().columns)
        assert set(result.columns) <= shown or name == "CustomerClusters", name
        page = result._repr_html_()
        assert f"<h3>{result.title}</h3>" in page, name
        assert "<summary>Columns</summary>" in page, name
        assert len(result) == len(result.frame)
    html = build_report(None, results[:2])
    for result in results[:2]:
        assert f"<h2>{result.title}</h2>" in html
        assert "<code>recency_days</code>" in html or "<code>clv</code>" in html
    # the index (customer_id) is a column of the HTML table, not lost
    assert "customer_<wbr>id" in results[0]._repr_html_()
