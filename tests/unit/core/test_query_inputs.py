"""Bad filter, ordering and cursor input raises QueryError, never a raw exception."""

from __future__ import annotations

import base64
import json

import pytest

from crmcore._text import bad_int_reason, bad_text_reason
from crmcore.errors import QueryError
from crmcore.model import Customer
from crmcore.query import (
    FALSE,
    MAX_FILTER_DEPTH,
    MAX_LIMIT,
    TRUE,
    Page,
    Sort,
    check_limit,
    decode_cursor,
    eq,
    field,
    from_dict,
    has,
    in_,
    normalize_order,
    to_dict,
)

ORDER = (Sort("id"),)


def _cursor(payload: object) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_text_rule_names_nul_and_lone_surrogates() -> None:
    assert bad_text_reason("plain 张") is None
    assert bad_text_reason("a\x00b") == "contains a NUL character"
    assert bad_text_reason("a\ud800") == "contains a lone surrogate (U+D800)"
    assert bad_int_reason(2**63 - 1) is None
    assert bad_int_reason(-(2**63)) is None
    assert bad_int_reason(2**63) == "is outside the signed 64-bit range"


@pytest.mark.parametrize("value", ["a\ud800", "a\x00b", 2**63, -(2**63) - 1, 2**70])
def test_unstorable_filter_values_are_refused_at_build_time(value: object) -> None:
    for build in (
        lambda: eq("last_name", value),
        lambda: in_("last_name", ["ok", value]),
        lambda: has("tags", value),
    ):
        with pytest.raises(QueryError) as err:
            build()
        assert err.value.field in ("last_name", "tags")


@pytest.mark.parametrize("text", ["a\ud800", "a\x00"])
def test_unstorable_text_in_contains_and_field_names_is_refused(text: str) -> None:
    with pytest.raises(QueryError, match="filter value contains"):
        field("last_name").contains(text)
    with pytest.raises(QueryError, match="invalid field name"):
        field(f"custom.{text}")


def test_int64_bounds_are_accepted() -> None:
    assert eq("custom.n", 2**63 - 1) == eq("custom.n", 2**63 - 1)
    assert eq("custom.n", -(2**63)) is not None


@pytest.mark.parametrize("values", [None, 5, {"a": 1}])
def test_in_needs_a_collection(values: object) -> None:
    with pytest.raises(QueryError, match="in_ needs a collection") as err:
        field("last_name").in_(values)  # type: ignore[arg-type]
    assert err.value.field == "last_name"


@pytest.mark.parametrize("order", [False, 0, 1.5, object()])
def test_normalize_order_refuses_non_orderings(order: object) -> None:
    with pytest.raises(QueryError, match="cannot order by"):
        normalize_order(order)  # type: ignore[arg-type]


def test_const_needs_a_real_boolean() -> None:
    assert from_dict({"const": True}) == TRUE
    assert from_dict({"const": False}) == FALSE
    for bad in ("false", "true", 0, 1, None):
        with pytest.raises(QueryError, match="const needs true or false"):
            from_dict({"const": bad})
    with pytest.raises(QueryError, match="ignore_case"):
        from_dict({"contains": ["last_name", "x"], "ignore_case": "no"})


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    data: dict[str, object] = {"is_null": "email"}
    for _ in range(1000):
        data = {"not": data}
    with pytest.raises(QueryError, match=f"deeper than {MAX_FILTER_DEPTH}"):
        from_dict(data)
    shallow: dict[str, object] = {"is_null": "email"}
    for _ in range(MAX_FILTER_DEPTH):
        shallow = {"and": [shallow, {"is_null": "phone"}]}
    assert from_dict(to_dict(from_dict(shallow))) == from_dict(shallow)


@pytest.mark.parametrize(
    "data",
    [
        {"eq": ["amount.amount", {"$decimal": "not-a-number"}]},
        {"eq": ["amount.amount", {"$decimal": 5}]},
        {"eq": ["created_at", {"$datetime": None}]},
        {"and": {"is_null": "email"}},
        {"and": "xy"},
        {"eq": ["custom.n", 2**70]},
        {"eq": ["last_name", "a\ud800"]},
    ],
)
def test_malformed_filter_data_raises_query_error(data: dict[str, object]) -> None:
    with pytest.raises(QueryError):
        from_dict(data)


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor({"o": ["id"], "k": [{"$decimal": "nan?"}]}),
        _cursor({"o": ["id"], "k": [{"$uuid": 7}]}),
        _cursor({"o": ["id"], "k": [2**70]}),
        _cursor({"o": ["id"], "k": ["a\x00"]}),
        _cursor([1, 2]),
        _cursor("text"),
        _cursor({"o": ["id"], "k": 5}),
        "!!!!",
        "",
    ],
)
def test_crafted_cursors_raise_query_error(cursor: str) -> None:
    with pytest.raises(QueryError, match=r"malformed cursor|another ordering"):
        decode_cursor(cursor, ORDER)


def test_non_string_cursor_raises_query_error() -> None:
    with pytest.raises(QueryError, match="malformed cursor"):
        decode_cursor(5, ORDER)  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", ["5", 2.0, True, 2**62 + 1, 2**63, 2**70, -1])
def test_check_limit_refuses_bad_limits(limit: object) -> None:
    with pytest.raises(QueryError, match="limit"):
        check_limit(limit)


def test_check_limit_passes_good_limits() -> None:
    assert check_limit(None) is None
    assert check_limit(0) == 0
    assert check_limit(MAX_LIMIT) == MAX_LIMIT


def test_combining_an_unparenthesised_comparison_says_to_parenthesise() -> None:
    f = field("email").is_null()
    with pytest.raises(QueryError, match="parenthesise"):
        f & field("last_name") == "x"  # type: ignore[operator]  # noqa: B015
    with pytest.raises(QueryError, match="parenthesise"):
        f | field("last_name")  # type: ignore[operator]
    with pytest.raises(QueryError) as err:
        f & 5  # type: ignore[operator]
    assert "parenthesise" not in str(err.value)


def test_page_repr_is_short() -> None:
    people = tuple(Customer(tenant_id="t", first_name=f"n{i}") for i in range(3))
    assert repr(Page(people, next_cursor="abc")) == "<Page of 3 Customer records, more after>"
    assert repr(Page(people[:1])) == "<Page of 1 Customer record, last page>"
    assert repr(Page(())) == "<Page of 0 records, last page>"


def test_page_html_is_an_escaped_table() -> None:
    people = (
        Customer(tenant_id="t", first_name="<b>Ann</b>", last_name="Lee"),
        Customer(tenant_id="t", first_name="Bo", last_name="x" * 200),
    )
    html = Page(people)._repr_html_()
    assert html.startswith("<table><caption>&lt;Page of 2 Customer records")
    assert "<th>first_name</th>" in html and "<th>last_name</th>" in html
    assert "&lt;b&gt;Ann&lt;/b&gt;" in html and "<b>Ann" not in html
    assert "x" * 200 not in html and "x" * 79 + "\u2026" in html
    assert html.count("<tr>") == 3
