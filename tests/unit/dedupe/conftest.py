"""Shared fixtures: small generated datasets with known duplicates."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

_GENERATE = Path(__file__).resolve().parents[3] / "benchmarks" / "dedupe" / "generate.py"


@cache
def generator() -> ModuleType:
    """The benchmark data generator (benchmarks/dedupe/generate.py)."""
    spec = importlib.util.spec_from_file_location("crmcore_dedupe_generate", _GENERATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@cache
def dataset(n: int, profile: str, seed: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    records, truth = generator().generate(n, profile=profile, seed=seed)
    return records, truth


def truth_pairs(truth: dict[str, int]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = generator().true_pairs(truth)
    return pairs


@pytest.fixture
def small() -> tuple[list[dict[str, Any]], dict[str, int]]:
    """400 mixed records with known duplicates."""
    records, truth = dataset(400, "mixed", 3)
    return [dict(r) for r in records], truth
