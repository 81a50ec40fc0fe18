"""Fixtures of the marketing tests: a fresh tenant per hypothesis example on every backend."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

import crmcore
from crmcore import Principal

#: hypothesis examples per test: fewer on server databases (each example writes its rows)
EXAMPLES = {"memory": 40, "sqlite": 20, "postgresql": 10, "mysql": 10}


@pytest.fixture
def examples(backend: str) -> int:
    """How many hypothesis examples a property test runs on this backend."""
    return EXAMPLES[backend]


@pytest.fixture
def fresh(crm: crmcore.Crm) -> Callable[[], Callable[[], crmcore.Session]]:
    """Makes a new tenant and returns a session factory in it (one per hypothesis example)."""

    def make() -> Callable[[], crmcore.Session]:
        p = Principal.system_principal(f"m-{uuid.uuid4().hex[:12]}")
        return lambda: crm.session(p)

    return make
