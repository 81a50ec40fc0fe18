"""Fuzz the entry points that take user data: only crmcore errors may escape.

Arbitrary code points (surrogates and NUL included), odd types and deep nesting go into
the query builders, ``from_dict``, cursors, entity constructors, normalisers and policy
documents. Backend agreement for writes and finds is covered by
``tests/contract/test_query_inputs_contract.py``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.errors import CrmError
from crmcore.model import Customer
from crmcore.policy import Policy
from crmcore.query import Sort, decode_cursor, field, from_dict, in_, normalize_order
from crmcore.validation import normalize_email, normalize_name, normalize_phone

_text = st.text(st.characters(codec=None), max_size=12)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    _text,
    st.decimals(),
    st.binary(max_size=4),
)
_json: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)),
    max_leaves=20,
)
_ops = st.sampled_from(
    ["eq", "ne", "lt", "in", "has", "contains", "is_null", "and", "or", "not", "const", "x"]
)
_filter_data = st.recursive(
    st.dictionaries(_ops, _json, min_size=1, max_size=2),
    lambda inner: st.one_of(
        st.builds(lambda i: {"not": i}, inner),
        st.builds(lambda i: {"and": i}, st.lists(inner, max_size=3)),
        st.builds(lambda n, v: {"eq": [n, v]}, _text, _json),
    ),
    max_leaves=10,
)
FAST = settings(max_examples=150, deadline=None)


def _only_crm_errors(fn: Any, *args: Any, **kwargs: Any) -> None:
    try:
        fn(*args, **kwargs)
    except CrmError:
        pass


@FAST
@given(_text, _json)
def test_builders(name: str, value: object) -> None:
    _only_crm_errors(lambda: field(name) == value)
    _only_crm_errors(lambda: field(name) < value)
    _only_crm_errors(in_, name, value)
    _only_crm_errors(lambda: field(name).contains(value))  # type: ignore[arg-type]
    _only_crm_errors(lambda: field(name).has(value))
    _only_crm_errors(normalize_order, value)


@FAST
@given(_filter_data)
def test_from_dict(data: dict[str, Any]) -> None:
    _only_crm_errors(from_dict, data)


@FAST
@given(st.one_of(_text, st.text(alphabet="ABCDEFabcdef0123456789-_=", max_size=60)))
def test_cursors(cursor: str) -> None:
    _only_crm_errors(decode_cursor, cursor, (Sort("id"),))


@FAST
@given(_text, _text, st.dictionaries(_text, _json, max_size=3), _json)
def test_entity_constructors(first: str, last: str, custom: dict[str, Any], emails: Any) -> None:
    _only_crm_errors(Customer, tenant_id="t", first_name=first, last_name=last, custom=custom)
    _only_crm_errors(Customer, tenant_id="t", emails=emails)


@FAST
@given(_text)
def test_normalisers(text: str) -> None:
    for fn in (normalize_email, normalize_name, normalize_phone):
        _only_crm_errors(fn, text)


@FAST
@given(_json)
def test_policy_documents(doc: Any) -> None:
    _only_crm_errors(Policy.from_dict, doc)
