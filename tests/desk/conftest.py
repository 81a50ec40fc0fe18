"""Scratch databases for the service-desk tests on the servers named in the environment."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

ENV = {"postgresql": "CRMCORE_TEST_POSTGRES_URL", "mysql": "CRMCORE_TEST_MYSQL_URL"}


def _scratch(backend: str) -> Iterator[str]:
    """A database of its own on ``backend``'s server (this branch's schema), dropped after."""
    url = os.environ.get(ENV[backend])
    if not url:
        pytest.skip(f"{ENV[backend]} is not set: no {backend} server to test against")
    import sqlalchemy as sa

    base = sa.make_url(url)
    name = f"crmcore_desk_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.SQLAlchemyError as exc:
        admin.dispose()
        pytest.skip(f"cannot create a scratch database on {backend}: {exc}")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        force = " WITH (FORCE)" if backend == "postgresql" else ""
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
        admin.dispose()


@pytest.fixture
def scratch_db(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``scratch_db("postgresql")``: the URL of a fresh database, dropped after the test."""

    def make(backend: str) -> str:
        gen = _scratch(backend)
        url = next(gen)
        request.addfinalizer(lambda: next(gen, None))
        return url

    return make
