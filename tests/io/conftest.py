"""Fixtures of the io tests: CRMs on every backend (server ones from the environment)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import crmcore

ENV = {"postgresql": "CRMCORE_TEST_POSTGRES_URL", "mysql": "CRMCORE_TEST_MYSQL_URL"}
IO_BACKENDS = ["memory", "sqlite", "postgresql", "mysql"]

NewCrm = Callable[..., crmcore.Crm]


def _server(name: str) -> str:
    url = os.environ.get(ENV[name])
    if not url:
        pytest.skip(f"{ENV[name]} is not set: no {name} server to test against")
    return url


@pytest.fixture(params=IO_BACKENDS)
def io_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_crm(io_backend: str, tmp_path: Path) -> Iterator[NewCrm]:
    """Makes empty CRMs on the backend (server databases are emptied first)."""
    made: list[crmcore.Crm] = []
    count = 0

    def make(**options: object) -> crmcore.Crm:
        nonlocal count
        count += 1
        if io_backend == "memory":
            crm = crmcore.connect("memory://", **options)  # type: ignore[arg-type]
        elif io_backend == "sqlite":
            crm = crmcore.connect(f"sqlite:///{tmp_path / f'io{count}.db'}", **options)  # type: ignore[arg-type]
        else:
            from crmcore.storage.sql import drop_schema

            url = _server(io_backend)
            drop_schema(url)
            crm = crmcore.connect(url, **options)  # type: ignore[arg-type]
        made.append(crm)
        return crm

    yield make
    for crm in made:
        crm.close()
