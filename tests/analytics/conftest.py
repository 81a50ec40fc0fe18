"""Fixtures of the analytics tests: data files, a headless matplotlib, one BLAS thread.

The machine is shared: k-means and friends are much faster with one thread
than with threads fighting over two cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pandas")
pytest.importorskip("sklearn")

import matplotlib

matplotlib.use("Agg")

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def data_dir() -> Path:
    return DATA
