"""Fixtures of the HTTP API tests: an app over a CRM, clients holding a principal's token.

Building an app (and its OpenAPI document) takes a second, so the tests share
one app over one memory CRM with audit, and each test acts in a fresh tenant.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterator

import pytest

import crmcore
from crmcore import Principal

pytest.importorskip("fastapi", reason="the api extra (fastapi) is not installed")

with warnings.catch_warnings():  # starlette nudges towards httpx2; the test client still works
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient

from starlette.requests import Request

from crmcore.api import create_app

#: a client of the app acting as the principal its token stands for
ClientFor = Callable[[Principal], TestClient]


#: clients kept open (one event loop each, instead of one per request) until their test ends
_OPEN: list[TestClient] = []


def _opened(client: TestClient) -> TestClient:
    client.__enter__()
    _OPEN.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().__exit__(None, None, None)


def clients(crm: crmcore.Crm) -> tuple[ClientFor, TestClient]:
    """``(client_for, anonymous)``: ``client_for(principal)`` sends a token mapped to it."""
    tokens: dict[str, Principal] = {}

    def authenticate(request: Request) -> Principal | None:  # a pluggable hook: None is a 401
        header = request.headers.get("authorization", "")
        return tokens.get(header.removeprefix("Bearer "))

    app = create_app(crm, authenticate)
    anonymous = TestClient(app)

    def client_for(principal: Principal) -> TestClient:
        token = uuid.uuid4().hex
        tokens[token] = principal
        return _opened(TestClient(app, headers={"Authorization": f"Bearer {token}"}))

    return client_for, anonymous


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", "ignore:.*httpx2")


@pytest.fixture(scope="session")
def memory_crm() -> Iterator[crmcore.Crm]:
    crm = crmcore.connect("memory://", audit=True)
    yield crm
    crm.close()


@pytest.fixture(scope="session")
def shared(memory_crm: crmcore.Crm) -> tuple[ClientFor, TestClient]:
    return clients(memory_crm)


@pytest.fixture(scope="session")
def make_clients() -> Callable[[crmcore.Crm], tuple[ClientFor, TestClient]]:
    """:func:`clients` as a fixture (test modules cannot import a conftest)."""
    return clients


@pytest.fixture
def client_for(shared: tuple[ClientFor, TestClient]) -> ClientFor:
    return shared[0]


@pytest.fixture
def api_tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client(shared: tuple[ClientFor, TestClient], api_tenant: str) -> TestClient:
    """A client acting as the system principal of a fresh tenant (memory CRM, audit on)."""
    return shared[0](Principal.system_principal(api_tenant))


@pytest.fixture
def anonymous(shared: tuple[ClientFor, TestClient]) -> TestClient:
    return shared[1]
