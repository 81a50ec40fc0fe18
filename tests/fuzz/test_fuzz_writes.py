"""Fuzz repository writes across backends (issue #13): only crmcore errors escape, and every
backend gives the same answer or the same error code.

Entity constructors and ``add``/``update``/``find`` get arbitrary code points (lone
surrogates and NUL included), huge integers, infinities and NaN, and deep nesting in
custom data. Each example runs on memory, SQLite and, when their URLs are set,
PostgreSQL and MariaDB, in a tenant of its own. ``CRMCORE_FUZZ_EXAMPLES`` raises the
number of examples (default 20, to keep the default run short).
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import BACKENDS, open_backend

import crmcore
from crmcore import Customer, Principal
from crmcore.errors import CrmError, ValidationError
from crmcore.query import eq, has

EXAMPLES = int(os.environ.get("CRMCORE_FUZZ_EXAMPLES", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_text = st.text(st.characters(codec=None), max_size=8)
_number = st.one_of(
    st.integers(),
    st.integers(min_value=2**62, max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
)
_leaf = st.one_of(st.none(), st.booleans(), _number, _text)
_json: st.SearchStrategy[Any] = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)),
    max_leaves=8,
)


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"d": value}
    return value


_custom = st.one_of(
    st.dictionaries(_text, _json, max_size=3),
    st.integers(min_value=1, max_value=200).map(lambda n: {"deep": _deep(n)}),
)


@pytest.fixture(scope="module")
def backends(db_dir: Path) -> dict[str, crmcore.Crm]:
    out: dict[str, crmcore.Crm] = {}
    for name in BACKENDS:
        try:
            out[name] = open_backend(name, db_dir)
        except pytest.skip.Exception:
            continue
    return out


def _outcome(fn: Any) -> tuple[Any, ...]:
    """What ``fn()`` gave, comparable across backends: ("ok", value) or ("error", codes)."""
    try:
        return ("ok", fn())
    except ValidationError as exc:
        return ("error", "ValidationError", tuple(sorted({e.code for e in exc.errors})))
    except CrmError as exc:
        return ("error", type(exc).__name__, exc.code)


def _same(value: object) -> object:
    """A comparable form (NaN is not equal to itself)."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {k: _same(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_same(v) for v in value]
    return value


def _run(crm: crmcore.Crm, fields: dict[str, Any], again: dict[str, Any]) -> list[Any]:
    tenant = f"fz-{uuid.uuid4().hex[:10]}"
    me = Principal.system_principal(tenant)
    out: list[Any] = []
    made = _outcome(lambda: Customer(**fields, id=uuid.uuid4()))
    out.append(made if made[0] == "error" else ("ok",))
    if made[0] != "ok":
        return out
    record: Customer = made[1]

    def add() -> object:
        with crm.session(me) as s:
            stored = s.customers.add(record)
            return _same((stored.first_name, stored.tags, stored.custom))

    out.append(_outcome(add))

    def find() -> object:
        with crm.session(me) as s:
            by_name = s.customers.count(eq("first_name", fields["first_name"]))
            by_tag = [
                s.customers.count(has("tags", t)) for t in sorted(set(fields["tags"]), key=repr)
            ]
            return (by_name, by_tag, s.customers.count())

    out.append(_outcome(find))

    def update() -> object:
        with crm.session(me) as s:
            current = s.customers.get(record.id)
            changed = Customer(
                **{
                    **fields,
                    **again,
                    "id": current.id,
                    "version": current.version,
                    "created_at": current.created_at,
                }
            )
            stored = s.customers.update(changed)
            return _same((stored.first_name, stored.custom))

    out.append(_outcome(update))

    def read_back() -> object:
        with crm.session(me) as s:
            got = s.customers.get(record.id)
            return _same((got.first_name, got.tags, got.custom, got.version))

    out.append(_outcome(read_back))
    return out


def test_repository_writes_agree_on_every_backend(backends: dict[str, crmcore.Crm]) -> None:
    assert "memory" in backends

    @FUZZ
    @given(
        first=_text,
        tags=st.lists(_text, max_size=3),
        custom=_custom,
        first_again=_text,
        custom_again=_custom,
    )
    def check(
        first: str,
        tags: list[str],
        custom: dict[str, Any],
        first_again: str,
        custom_again: dict[str, Any],
    ) -> None:
        fields = {"first_name": first, "tags": tuple(tags), "custom": custom}
        again = {"first_name": first_again, "custom": custom_again}
        results = {name: _run(crm, fields, again) for name, crm in backends.items()}
        reference = results["memory"]
        for name, got in results.items():
            assert got == reference, (name, fields, again)

    check()
