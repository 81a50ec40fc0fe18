"""crmcore's own adapters run the port contract suite (``crmcore.testing.contract``).

Memory and SQLite (file) always; PostgreSQL and MariaDB when their URLs are
set (else they skip and say why). Server and file stores are shared by the
tests of one class: every case works in its own tenant.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest

from crmcore.storage.memory import MemoryStore
from crmcore.storage.ports import Store
from crmcore.testing.contract import RepositoryContract


class TestMemoryStore(RepositoryContract):
    def make_store(self) -> Store:
        return MemoryStore()


class _SharedSql(RepositoryContract):
    """One SQL store per class, created on first use and closed at the end."""

    env: ClassVar[str] = ""
    _stores: ClassVar[dict[str, Store]] = {}

    def url(self, tmp_path_factory: pytest.TempPathFactory) -> str:
        value = os.environ.get(self.env)
        if not value:
            pytest.skip(f"{self.env} is not set: no server to test against")
        return value

    @pytest.fixture
    def store(self, tmp_path_factory: pytest.TempPathFactory) -> Store:  # type: ignore[override]
        name = type(self).__name__
        if name not in self._stores:
            sql = pytest.importorskip("crmcore.storage.sql")
            url = self.url(tmp_path_factory)
            if not url.startswith("sqlite"):
                sql.drop_schema(url)  # servers keep databases between runs: start clean
            self._stores[name] = sql.SqlStore(url, create_schema=True)
        return self._stores[name]

    @classmethod
    def teardown_class(cls) -> None:
        store = cls._stores.pop(cls.__name__, None)
        if store is not None:
            store.close()


class TestSqliteStore(_SharedSql):
    def url(self, tmp_path_factory: pytest.TempPathFactory) -> str:
        path: Path = tmp_path_factory.mktemp("port-contract") / "contract.db"
        return f"sqlite:///{path}"


class TestPostgresStore(_SharedSql):
    env = "CRMCORE_TEST_POSTGRES_URL"


class TestMariaDbStore(_SharedSql):
    env = "CRMCORE_TEST_MYSQL_URL"
