"""Fixtures of the events tests: CRMs with the outbox on, server URLs, broker reachability.

Server databases come from ``CRMCORE_TEST_POSTGRES_URL`` / ``CRMCORE_TEST_MYSQL_URL``
(emptied once per test module); brokers from
``CRMCORE_TEST_REDIS_URL`` / ``CRMCORE_TEST_NATS_URL`` (default: the local
servers). Without one, the tests that need it skip and say why.
"""

from __future__ import annotations

import os
import socket
import urllib.parse
from collections.abc import Iterator
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


@pytest.fixture(params=["memory", "sqlite"])
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[crmcore.Crm]:
    """A CRM with the outbox on, in memory and on a temp SQLite file."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'ev.db'}"
    c = crmcore.connect(url, events=True)
    yield c
    c.close()


def server_database(backend: str) -> str:
    """The engineer's own database on ``backend``'s server, emptied (skips without a URL)."""
    url = os.environ.get(ENV[backend])
    if not url:
        pytest.skip(f"{ENV[backend]} is not set: no {backend} server to test against")
    from crmcore.storage.sql import drop_schema

    try:
        drop_schema(url)
    except crmcore.errors.CrmError as exc:
        pytest.skip(f"cannot reach the {backend} server: {exc}")
    return url


@pytest.fixture(params=["postgresql", "mysql"], scope="module")
def server_url(request: pytest.FixtureRequest) -> str:
    """The database of ``CRMCORE_TEST_POSTGRES_URL`` / ``CRMCORE_TEST_MYSQL_URL``, emptied."""
    return server_database(str(request.param))


@pytest.fixture(scope="module")
def pg_url() -> str:
    """The PostgreSQL database of ``CRMCORE_TEST_POSTGRES_URL``, emptied."""
    return server_database("postgresql")


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
