"""Crash test on PostgreSQL: writer and relay SIGKILLed at random points, nothing lost or leaked."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import crmcore

HARNESS = Path(__file__).with_name("crash_harness.py")


def _harness():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("crmcore_crash_harness", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_sigkilled_writer_and_relay_lose_nothing(pg_url: str, tmp_path: Path) -> None:
    harness = _harness()
    crmcore.connect(pg_url, events=True).close()  # the schema, before two processes race for it
    sink = str(tmp_path / "sink.jsonl")
    figures = harness.run(pg_url, 2000, 40, sink, seed=7, kills=4, gap=(2.0, 6.0), timeout=480)
    assert figures["committed_changes"] == 2000 - len([i for i in range(2000) if i % 7 == 3])
    assert figures["kills"]["writer"] + figures["kills"]["relay"] >= 4
    assert figures["events"] == 40 + figures["committed_changes"]  # creations + assignments
    print(figures)
