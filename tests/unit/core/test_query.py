"""The query language: builders, plain-data form, binding and cursors."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.errors import QueryError
from crmcore.model import Customer, Opportunity, Priority, Ticket
from crmcore.query import (
    FALSE,
    TRUE,
    And,
    Compare,
    Filter,
    In,
    IsNull,
    Not,
    Sort,
    all_of,
    any_of,
    bind,
    compile_predicate,
    decode_cursor,
    encode_cursor,
    eq,
    field,
    from_dict,
    ge,
    has,
    in_,
    is_null,
    lt,
    ne,
    normalize_order,
    not_,
    to_dict,
    where,
)

# the text every backend stores: no NUL, no lone surrogate
_storable = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")

UTC = dt.timezone.utc
f = field


def test_operators_build_filters() -> None:
    assert (f("a") == 1) == Compare("a", "eq", 1)
    assert (f("a") == None) == IsNull("a")  # noqa: E711
    assert (f("a") != None) == Not(IsNull("a"))  # noqa: E711
    assert ((f("a") > 1) & (f("b") < 2)) == And((Compare("a", "gt", 1), Compare("b", "lt", 2)))
    assert ~~(f("a") == 1) == Compare("a", "eq", 1)


def test_simplification_of_constants_and_nesting() -> None:
    a, b, c = eq("a", 1), eq("b", 2), eq("c", 3)
    assert all_of(a, TRUE) == a
    assert all_of(a, FALSE) == FALSE
    assert any_of(a, TRUE) == TRUE
    assert all_of(all_of(a, b), c) == And((a, b, c))
    assert in_("x", []) == FALSE
    assert not_(TRUE) == FALSE


def test_where_builds_equalities_with_custom_shortcut() -> None:
    assert where(last_name="张", custom__tier="gold") == And(
        (Compare("last_name", "eq", "张"), Compare("custom.tier", "eq", "gold"))
    )


def test_enum_values_are_canonicalised() -> None:
    assert eq("priority", Priority.HIGH) == Compare("priority", "eq", "high")


def test_bad_values_are_query_errors() -> None:
    with pytest.raises(QueryError):
        eq("created_at", dt.datetime(2024, 1, 1))  # naive
    with pytest.raises(QueryError):
        lt("x", None)
    with pytest.raises(QueryError):
        eq("x", object())
    with pytest.raises(QueryError):
        in_("x", "abc")
    with pytest.raises(QueryError):
        f("")


values = st.one_of(
    st.text(_storable, max_size=5),
    st.integers(-(2**63), 2**63 - 1),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
    st.uuids(),
)
names = st.sampled_from(["a", "b", "custom.x", "amount.amount"])
leaves = st.one_of(
    st.builds(eq, names, values),
    st.builds(ne, names, values),
    st.builds(ge, names, values),
    st.builds(in_, names, st.lists(values, max_size=3)),
    st.builds(is_null, names),
    st.builds(has, names, values),
    st.builds(
        lambda n, t: f(n).contains(t, ignore_case=True), names, st.text(_storable, max_size=3)
    ),
)
filters = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(all_of, inner, inner), st.builds(any_of, inner, inner), st.builds(not_, inner)
    ),
    max_leaves=8,
)


@given(filters)
def test_plain_data_round_trip(flt: Filter) -> None:
    assert from_dict(to_dict(flt)) == flt


def test_malformed_plain_data_is_a_query_error() -> None:
    for bad in ({}, {"eq": ["a"]}, {"nope": 1}, {"and": 5}, {"eq": ["a", {"$what": 1}]}):
        with pytest.raises(QueryError):
            from_dict(bad)  # type: ignore[arg-type]


def test_bind_coerces_to_field_types() -> None:
    u = uuid.uuid4()
    bound = bind(
        all_of(
            eq("id", str(u)),
            eq("date_of_birth", "1990-01-02"),
            ge("created_at", "2024-01-01T00:00:00+00:00"),
        ),
        Customer,
    )
    assert bound == And(
        (
            Compare("id", "eq", u),
            Compare("date_of_birth", "eq", dt.date(1990, 1, 2)),
            Compare("created_at", "ge", dt.datetime(2024, 1, 1, tzinfo=UTC)),
        )
    )
    assert bind(eq("amount.amount", 5), Opportunity) == Compare("amount.amount", "eq", Decimal(5))
    assert bind(in_("priority", ["high", Priority.LOW]), Ticket) == In("priority", ("high", "low"))


def test_bind_refuses_unknown_fields_and_bad_values() -> None:
    with pytest.raises(QueryError) as err:
        bind(eq("nope", 1), Customer)
    assert err.value.field == "nope"
    with pytest.raises(QueryError):
        bind(eq("priority", "whenever"), Ticket)
    with pytest.raises(QueryError):
        bind(f("version").contains("1"), Customer)
    assert bind(eq("custom.anything", 1), Customer) == Compare("custom.anything", "eq", 1)


def test_null_semantics_of_the_reference_predicate() -> None:
    rec = {"a": None, "b": "x", "t": ["vip"]}
    p = compile_predicate
    assert p(ne("a", "x"))(rec)
    assert not p(lt("a", "x"))(rec)
    assert p(not_(lt("a", "x")))(rec)
    assert p(in_("a", [None, "y"]))(rec)
    assert not p(in_("a", ["y"]))(rec)
    assert p(has("t", "vip"))(rec)
    assert not p(eq("b", 1))(rec)


def test_order_normalisation_ends_with_id() -> None:
    assert normalize_order("-created_at") == (Sort("created_at", True), Sort("id"))
    assert normalize_order(["id", "name"]) == (Sort("id"),)
    with pytest.raises(QueryError):
        normalize_order(["a", "-a"])


@given(st.lists(values, min_size=2, max_size=2))
def test_cursor_round_trip(vals: list[object]) -> None:
    order = (Sort("a"), Sort("id", True))
    assert decode_cursor(encode_cursor(order, vals), order) == tuple(vals)


def test_cursor_for_another_order_is_refused() -> None:
    c = encode_cursor((Sort("a"), Sort("id")), ["x", 1])
    with pytest.raises(QueryError):
        decode_cursor(c, (Sort("b"), Sort("id")))
    with pytest.raises(QueryError):
        decode_cursor("%%%", (Sort("a"),))


def test_paths_inside_collections_and_whole_objects_are_refused() -> None:
    from crmcore.query import check_order, normalize_order

    with pytest.raises(QueryError):
        bind(eq("emails.address", "a@b.cn"), Customer)
    with pytest.raises(QueryError):
        check_order(normalize_order("custom"), Customer)
    with pytest.raises(QueryError):
        check_order(normalize_order("amount"), Opportunity)
    check_order(normalize_order(["custom.tier", "amount.amount"]), Opportunity)


def test_has_keeps_true_and_one_apart() -> None:
    assert not compile_predicate(has("t", True))({"t": [1]})
    assert compile_predicate(has("t", 1))({"t": [1]})
