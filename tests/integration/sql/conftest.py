"""Scratch databases for the SQL adapter's own tests.

Each SQL backend gets databases of its own (a temp file for SQLite; a
``CREATE DATABASE`` on the PostgreSQL / MariaDB server named by
``CRMCORE_TEST_POSTGRES_URL`` / ``CRMCORE_TEST_MYSQL_URL``), so these tests
never touch the shared contract schema and can migrate from empty. Without a
URL the server cases skip and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

SQL_BACKENDS = ["sqlite", "postgresql", "mysql"]
ENV = {"postgresql": "CRMCORE_TEST_POSTGRES_URL", "mysql": "CRMCORE_TEST_MYSQL_URL"}

NewDatabase = Callable[[], str]


def server_url(backend: str) -> str:
    """The server URL of ``backend`` from the environment, or skip."""
    url = os.environ.get(ENV[backend])
    if not url:
        pytest.skip(f"{ENV[backend]} is not set: no {backend} server to test against")
    return url


def _create(base: str) -> tuple[str, Callable[[], None]]:
    url = sa.make_url(base)
    name = f"crmcore_it_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.SQLAlchemyError as exc:
        admin.dispose()
        pytest.skip(f"cannot create a scratch database on {url.get_backend_name()}: {exc}")

    def drop() -> None:
        force = " WITH (FORCE)" if url.get_backend_name() == "postgresql" else ""
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(params=SQL_BACKENDS, scope="module")
def sql_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _factory(backend: str, folder: Path) -> tuple[NewDatabase, list[Callable[[], None]]]:
    drops: list[Callable[[], None]] = []

    def make() -> str:
        if backend == "sqlite":
            return f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
        url, drop = _create(server_url(backend))
        drops.append(drop)
        return url

    return make, drops


@pytest.fixture
def new_database(sql_backend: str, tmp_path: Path) -> Iterator[NewDatabase]:
    """A factory of empty databases on the backend (dropped after the test)."""
    make, drops = _factory(sql_backend, tmp_path)
    yield make
    for drop in drops:
        drop()


@pytest.fixture
def empty_url(new_database: NewDatabase) -> str:
    """One empty database on the backend."""
    return new_database()


_SCHEMAS: dict[str, str] = {}
_DROPS: list[Callable[[], None]] = []


@pytest.fixture(scope="module")
def module_url(sql_backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with the crmcore schema, one per backend for the run (use fresh tenants)."""
    from crmcore.storage.sql import SqlStore

    url = _SCHEMAS.get(sql_backend)
    if url is None:
        make, drops = _factory(sql_backend, tmp_path_factory.mktemp("sql"))
        url = make()
        _DROPS.extend(drops)
        SqlStore(url).close()
        _SCHEMAS[sql_backend] = url
    return url


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the shared scratch databases."""
    while _DROPS:
        _DROPS.pop()()
    _SCHEMAS.clear()
