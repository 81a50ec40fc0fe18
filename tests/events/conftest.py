"""Fixtures of the events tests: CRMs with the outbox on, server URLs, broker reachability.

Server databases come from ``CRMCORE_TEST_POSTGRES_URL`` / ``CRMCORE_TEST_MYSQL_URL``
(a scratch database is created per test module); brokers from
``CRMCORE_TEST_REDIS_URL`` / ``CRMCORE_TEST_NATS_URL`` (default: the local
servers). Without one, the tests that need it skip and say why.
"""

from __future__ import annotations

import os
import socket
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import crmcore

ENV = {"postgresql": "CRMCORE_TEST_POSTGRES_URL", "mysql": "CRMCORE_TEST_MYSQL_URL"}
REDIS_URL = os.environ.get("CRMCORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS_URL = os.environ.get("CRMCORE_TEST_NATS_URL", "nats://127.0.0.1:4222")


def reachable(url: str, default_port: int) -> str | None:
    """None if a TCP connection to ``url``'s host opens, else the reason it does not."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return None
    except OSError as exc:
        return f"{host}:{port} is unreachable ({exc})"


def scratch_database(backend: str) -> tuple[str, Callable[[], None]]:
    """A new empty database on the server of ``backend`` (skips without one)."""
    import sqlalchemy as sa

    base = os.environ.get(ENV[backend])
    if not base:
        pytest.skip(f"{ENV[backend]} is not set: no {backend} server to test against")
    url = sa.make_url(base)
    name = f"crmcore_ev_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.SQLAlchemyError as exc:
        admin.dispose()
        pytest.skip(f"cannot create a scratch database on {backend}: {exc}")

    def drop() -> None:
        force = " WITH (FORCE)" if url.get_backend_name() == "postgresql" else ""
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(params=["memory", "sqlite"])
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[crmcore.Crm]:
    """A CRM with the outbox on, in memory and on a temp SQLite file."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'ev.db'}"
    c = crmcore.connect(url, events=True)
    yield c
    c.close()


@pytest.fixture(params=["postgresql", "mysql"], scope="module")
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A scratch database URL on PostgreSQL and on MariaDB."""
    url, drop = scratch_database(str(request.param))
    yield url
    drop()


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A scratch database URL on PostgreSQL."""
    url, drop = scratch_database("postgresql")
    yield url
    drop()


@pytest.fixture
def redis_url() -> str:
    """The Redis server to publish to (skips when unreachable)."""
    reason = reachable(REDIS_URL, 6379)
    if reason:
        pytest.skip(f"no Redis server: {reason}")
    return REDIS_URL


@pytest.fixture
def nats_url() -> str:
    """The NATS server (with JetStream) to publish to (skips when unreachable)."""
    reason = reachable(NATS_URL, 4222)
    if reason:
        pytest.skip(f"no NATS server: {reason}")
    return NATS_URL
