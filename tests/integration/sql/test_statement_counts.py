"""Statement counts with every layer on are pinned: one read of the stored record per update.

The workload is the one ``benchmarks/bench_statements.py`` prints; before the
unit of work had an identity map, ``get`` then ``update`` of one encrypted,
audited, guarded customer sent 14 statements before commit on SQLite and 9 on
PostgreSQL.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

from crmcore.crypto import Encryption

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_statements.py"

#: (statements before commit, statements at commit) per operation
EXPECTED = {
    # BEGIN of the read snapshot, then the parent row and its search-key child rows
    "sqlite": {
        "add": (2, 6),
        "get": (3, 0),
        "get+update": (3, 5),
        "find": (3, 0),
        "find by email": (3, 0),
    },
    "postgresql": {
        "add": (1, 4),
        "get": (2, 0),
        "get+update": (2, 3),
        "find": (2, 0),
        "find by email": (2, 0),
    },
}


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_statements", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'counts.db'}"
    found = os.environ.get("CRMCORE_TEST_POSTGRES_URL")
    if not found:
        pytest.skip("CRMCORE_TEST_POSTGRES_URL is not set: no postgresql server to test against")
    return found


def test_statement_counts_with_every_layer_on(url: str) -> None:
    bench = _bench()
    crm = bench.layered_crm(url)
    try:
        counts = bench.statement_counts(crm)
    finally:
        crm.close()
    assert EXPECTED[url.split(":", 1)[0].split("+", 1)[0]] == counts


def test_an_update_decrypts_the_stored_record_once(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _bench()
    crm = bench.layered_crm(url)
    opened: list[object] = []
    unseal = Encryption.unseal

    def counting(self: Encryption, record: object, spec: object) -> object:
        opened.append(record)
        return unseal(self, record, spec)  # type: ignore[arg-type]

    try:
        bench.statement_counts(crm)  # warm: the customer exists
        monkeypatch.setattr(Encryption, "unseal", counting)
        with crm.session(bench.rep_principal(crm)) as s:
            found = s.customers.first(last_name="张")
            assert found is not None
        opened.clear()
        with crm.session(bench.rep_principal(crm)) as s:
            current = s.customers.get(found.id)
            s.customers.update(current)
        assert len(opened) == 1  # session, guard and audit layer each read it: one decryption
    finally:
        crm.close()
