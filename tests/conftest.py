"""Shared fixtures: the storage backends every contract test runs against.

SQL backends come from the environment (``.ci/run`` sets them to the local
servers); without a URL those cases skip and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

import crmcore
from crmcore import Principal

# Wall-clock deadlines make property tests flaky on a loaded machine (CI and a
# shared 2-core box run them serially beside databases): the example counts
# stay, the per-example deadline goes. HYPOTHESIS_PROFILE=dev keeps it.
settings.register_profile("crmcore", deadline=None)
settings.register_profile("dev", deadline=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "crmcore"))

BACKENDS = ["memory", "sqlite", "postgresql", "mysql"]
ENV = {"postgresql": "CRMCORE_TEST_POSTGRES_URL", "mysql": "CRMCORE_TEST_MYSQL_URL"}

_shared: dict[str, crmcore.Crm] = {}


def _sql_available() -> str | None:
    try:
        from crmcore.storage import sql
    except ImportError as exc:  # pragma: no cover - depends on the install
        return f"SQL adapter unavailable: {exc}"
    if not hasattr(sql, "SqlStore"):
        return "SQL adapter not built yet"
    return None


def open_backend(name: str, tmp_dir: Path) -> crmcore.Crm:
    """A Crm on backend ``name`` (shared per test run for server databases).

    Validation is off: the contract is about storage, and it stores whatever
    valid entities hypothesis makes up (tests of validation build their own).
    """
    if name == "memory":
        return crmcore.connect("memory://", validation=False)
    reason = _sql_available()
    if reason:
        pytest.skip(reason)
    if name == "sqlite":
        if name not in _shared:
            _shared[name] = crmcore.connect(
                f"sqlite:///{tmp_dir / 'contract.db'}", validation=False
            )
        return _shared[name]
    url = os.environ.get(ENV[name])
    if not url:
        pytest.skip(f"{ENV[name]} is not set: no {name} server to test against")
    if name not in _shared:
        from crmcore.storage.sql import drop_schema

        drop_schema(url)  # CI reuses the server's database between runs: start clean, once
        _shared[name] = crmcore.connect(url, validation=False)
    return _shared[name]


@pytest.fixture(scope="session")
def db_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("db")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def crm(backend: str, db_dir: Path) -> crmcore.Crm:
    return open_backend(backend, db_dir)


@pytest.fixture
def tenant() -> str:
    """A fresh tenant per test: shared databases need no cleaning between tests."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def principal(tenant: str) -> Principal:
    return Principal.system_principal(tenant)


@pytest.fixture
def session(crm: crmcore.Crm, principal: Principal) -> Callable[[], crmcore.Session]:
    """A factory of sessions in this test's tenant."""
    return lambda: crm.session(principal)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for crm in _shared.values():
        crm.close()
    _shared.clear()
