"""Conditions: parsing, errors with positions, the builder, evaluation vs compiled filters."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore import query as q
from crmcore.errors import ConfigurationError
from crmcore.policy import C, Condition, ConditionError, P, Principal, R, parse_condition

ALICE = Principal(
    user_id="u1",
    tenant_id="t1",
    roles="sales_rep",
    teams=("team-a", "team-b"),
    attributes={"region": "east", "limit": 10000},
)


@attrs.frozen
class Amount:
    amount: Decimal | None
    currency: str = "CNY"


@attrs.frozen
class Deal:
    tenant_id: str | None = "t1"
    owner_id: object = None
    team_id: object = None
    region: object = None
    stage: object = None
    amount: Amount | None = None
    tags: object = None
    custom: object = None


class Stage(str, enum.Enum):
    WON = "won"
    LOST = "lost"


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("resource.owner_id == principal.user_id", "resource.owner_id == principal.user_id"),
        ("resource.team_id in principal.teams", "resource.team_id in principal.teams"),
        ("resource.amount.amount < 10000", "resource.amount.amount < 10000"),
        (
            "resource.stage in ['prospecting','qualification']",
            "resource.stage in ['prospecting', 'qualification']",
        ),
        ("context.hour >= 9 and context.hour < 18", "context.hour >= 9 and context.hour < 18"),
        ("not resource.archived", "not resource.archived"),
        ("resource.stage not in ['won', \"lost\"]", "resource.stage not in ['won', 'lost']"),
        (
            "(resource.a == 1 or resource.b == 2) and resource.c",
            "(resource.a == 1 or resource.b == 2) and resource.c",
        ),
        (
            "resource.a == 1 or resource.b == 2 and resource.c",
            "resource.a == 1 or resource.b == 2 and resource.c",
        ),
        ("resource.x == null", "resource.x == null"),
        ("resource.x != None", "resource.x != null"),
        ("resource.flag == True", "resource.flag"),
        ("resource.price >= 12.50", "resource.price >= 12.50"),
        ("resource.delta > -3", "resource.delta > -3"),
        ("'vip' in resource.tags", "'vip' in resource.tags"),
        ("resource.名字 == '张伟'", "resource.名字 == '张伟'"),
        ("true", "true"),
        ("1 == 1", "true"),
    ],
)
def test_parse_and_render_canonical_text(text: str, canonical: str) -> None:
    cond = parse_condition(text)
    assert canonical == str(cond)
    assert cond == parse_condition(str(cond))
    assert text == cond.source


def test_literal_kinds() -> None:
    node = parse_condition(
        "resource.a in ['x', 1, 2.5, true, null, \"q\\\"uote\", 'tab\\t\\u00e9']"
    ).node
    assert ("x", 1, Decimal("2.5"), True, None, 'q"uote', "tab\té") == node.coll.items  # type: ignore[union-attr]


def test_literals_compare_by_type() -> None:
    assert parse_condition("resource.a == 1") != parse_condition("resource.a == true")
    assert parse_condition("resource.a == 1") != parse_condition("resource.a == 1.0")


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("resource.owner_id == ", 21, "expected a value"),
        ("resource.owner_id = principal.user_id", 18, "use '=='"),
        ("owner_id == 'x'", 0, "unknown name 'owner_id'"),
        ("resource.a == 1 && resource.b == 2", 16, "use 'and'"),
        ("resource.a in 'abc'", 14, "needs a list or a field"),
        ("(resource.a == 1", 16, "expected ')'"),
        ("resource.a == [1, 2]", 14, "use 'in'"),
        ("resource == 1", 0, "needs a field"),
        ("resource.a == 'unterminated", 14, "unterminated string"),
        ("resource.a == 1 resource.b", 16, "expected 'and', 'or' or the end"),
        ("resource.a in [1, principal.x]", 18, "literals only"),
        ("'text'", 0, "not a condition by itself"),
        ("resource.a == 'bad \\q escape'", 19, "unknown escape"),
        ("", 0, "empty condition"),
        ("resource.a ~ 1", 11, "unexpected character"),
    ],
)
def test_parse_errors_name_rule_and_position(text: str, position: int, words: str) -> None:
    with pytest.raises(ConditionError) as info:
        parse_condition(text, rule="reps-own")
    assert position == info.value.position
    assert info.value.rule == "reps-own"
    assert words in str(info.value)
    assert "rule 'reps-own'" in str(info.value)
    assert f"position {position}" in str(info.value)
    assert isinstance(info.value, ConfigurationError)


def test_nesting_limit() -> None:
    with pytest.raises(ConditionError, match="nested deeper"):
        parse_condition("not " * 60 + "resource.a")


# --------------------------------------------------------------------------- builder


@pytest.mark.parametrize(
    ("built", "text"),
    [
        (R.owner_id == P.user_id, "resource.owner_id == principal.user_id"),
        (R.team_id.in_(P.teams), "resource.team_id in principal.teams"),
        (R.amount.amount < 10000, "resource.amount.amount < 10000"),
        (R.stage.in_(["won", "lost"]), "resource.stage in ['won', 'lost']"),
        (R.stage.not_in(["won"]), "resource.stage not in ['won']"),
        ((C.hour >= 9) & (C.hour < 18), "context.hour >= 9 and context.hour < 18"),
        (
            (R.region == P.region) | ~R.archived.is_true(),
            "resource.region == principal.region or not resource.archived",
        ),
        (R.tags.has("vip"), "'vip' in resource.tags"),
        (R.x.is_null(), "resource.x == null"),
        (R.x.not_null(), "resource.x != null"),
        (R.stage == Stage.WON, "resource.stage == 'won'"),
    ],
)
def test_builder_matches_parser(built: Condition, text: str) -> None:
    assert parse_condition(text) == built
    assert text == str(built)


def test_builder_refuses_odd_literals_and_truth_tests() -> None:
    with pytest.raises(ConfigurationError, match="literal"):
        R.created_at == object()  # noqa: B015
    with pytest.raises(ConfigurationError, match="list"):
        R.stage.in_("won")
    with pytest.raises(TypeError, match="no truth value"):
        bool(R.a == 1)
    with pytest.raises(ConfigurationError, match="needs a field"):
        R == 1  # noqa: B015


# --------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize(
    ("text", "record", "expected"),
    [
        ("resource.owner_id == principal.user_id", {"owner_id": "u1"}, True),
        ("resource.owner_id == principal.user_id", {"owner_id": "u2"}, False),
        ("resource.owner_id == principal.user_id", {}, False),
        ("resource.owner_id != principal.user_id", {}, True),
        ("resource.team_id in principal.teams", {"team_id": "team-b"}, True),
        ("resource.team_id in principal.teams", {"team_id": "team-c"}, False),
        ("resource.region == principal.region", Deal(region="east"), True),
        ("resource.region == principal.nickname", Deal(region=None), True),
        ("resource.amount.amount < 10000", Deal(amount=Amount(Decimal("9999.99"))), True),
        ("resource.amount.amount < 10000", Deal(amount=Amount(Decimal(10000))), False),
        ("resource.amount.amount < 10000", Deal(amount=None), False),
        ("resource.amount.amount < principal.limit", {"amount": {"amount": 5}}, True),
        ("resource.stage in ['won', 'lost']", Deal(stage=Stage.LOST), True),
        ("resource.stage == 'won'", Deal(stage=Stage.WON), True),
        ("resource.owner_id == 1", {"owner_id": True}, False),
        ("resource.owner_id == '1'", {"owner_id": 1}, False),
        ("'vip' in resource.tags", {"tags": frozenset({"vip"})}, True),
        ("'vip' in resource.tags", {"tags": "vip"}, False),
        ("10000 > resource.amount.amount", {"amount": {"amount": 3}}, True),
        ("resource.a < null", {"a": 1}, False),
        ("principal.region == 'east'", {}, True),
        ("resource.a == resource.b", {"a": None, "b": None}, True),
        ("resource.a == resource.b", {"a": 1, "b": 1.0}, True),
        ("resource.a == resource.b", {"a": 1, "b": True}, False),
    ],
)
def test_evaluate(text: str, record: object, expected: bool) -> None:
    assert expected == parse_condition(text).evaluate(ALICE, record)


def test_context_parts_fold_to_constants() -> None:
    cond = parse_condition("context.hour >= 9 and context.hour < 18")
    assert cond.to_filter(ALICE, {"hour": 10}) == q.TRUE
    assert cond.to_filter(ALICE, {"hour": 20}) == q.FALSE
    assert cond.to_filter(ALICE, None) == q.FALSE
    assert cond.evaluate(ALICE, {}, {"hour": 10})


def test_compiled_filters() -> None:
    f = parse_condition("resource.team_id in principal.teams").to_filter(ALICE)
    assert q.in_("team_id", ["team-a", "team-b"]) == f
    f = parse_condition("resource.owner_id == principal.user_id").to_filter(ALICE)
    assert q.eq("owner_id", "u1") == f
    f = parse_condition("resource.region == principal.missing").to_filter(ALICE)
    assert q.is_null("region") == f
    f = parse_condition("10000 > resource.amount.amount").to_filter(ALICE)
    assert q.lt("amount.amount", 10000) == f
    f = parse_condition("'vip' in resource.tags").to_filter(ALICE)
    assert q.has("tags", "vip") == f
    f = parse_condition("resource.owner_id == principal.teams").to_filter(ALICE)
    assert f == q.FALSE


def test_resource_vs_resource_is_not_compilable() -> None:
    cond = parse_condition("resource.a == 1 or resource.owner_id == resource.creator_id")
    assert not cond.compilable
    with pytest.raises(ConditionError, match="compares two resource fields") as info:
        cond.to_filter(ALICE)
    assert info.value.position == 19


def test_references() -> None:
    cond = parse_condition(
        "resource.amount.amount < principal.limit and context.hour > 3"
        " or resource.x in principal.teams"
    )
    assert {
        "resource": frozenset({"amount.amount", "x"}),
        "principal": frozenset({"limit", "teams"}),
        "context": frozenset({"hour"}),
    } == cond.references


def test_explain_names_the_failing_test_and_values() -> None:
    cond = parse_condition("resource.stage in ['won'] and resource.owner_id == principal.user_id")
    text = cond.explain(ALICE, {"stage": "won", "owner_id": "u2"})
    assert text == "resource.owner_id ('u2') != principal.user_id ('u1')"


# --------------------------------------------------------------------------- agreement

FIELD_VALUES = st.sampled_from(
    ["u1", "u2", "east", "west", "team-a", "won", "", 0, 1, True, False, None, Decimal("1"), 2.5]
)
NUMBERS = st.sampled_from([0, 1, 5000, 9999, 10000, Decimal("10000.5"), 2.5, True, None, "x"])


def _operand_texts() -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            "resource.owner_id",
            "resource.region",
            "resource.team_id",
            "resource.stage",
            "resource.amount.amount",
            "resource.custom.tier",
            "principal.user_id",
            "principal.region",
            "principal.limit",
            "principal.weird",
            "context.hour",
            "'u1'",
            "'east'",
            "1",
            "10000",
            "2.5",
            "true",
            "null",
        ]
    )


@st.composite
def atoms(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        left = draw(_operand_texts())
        right = draw(_operand_texts())
        if "resource" in left and "resource" in right:
            right = "principal.user_id"
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
        return f"{left} {op} {right}"
    if kind == 1:
        item = draw(
            st.sampled_from(
                [
                    "resource.team_id",
                    "resource.stage",
                    "resource.owner_id",
                    "principal.region",
                    "'won'",
                ]
            )
        )
        coll = draw(
            st.sampled_from(
                [
                    "principal.teams",
                    "['won', 'lost', null]",
                    "['east', 1, true]",
                    "[]",
                    "principal.region",
                    "context.ids",
                ]
            )
        )
        neg = draw(st.booleans())
        return f"{item} {'not in' if neg else 'in'} {coll}"
    item = draw(st.sampled_from(["'vip'", "principal.user_id", "1", "null", "principal.region"]))
    return f"{item} in resource.tags"


@st.composite
def conditions(draw: st.DrawFn, depth: int = 2) -> str:
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(atoms())
    op = draw(st.sampled_from(["and", "or", "not"]))
    if op == "not":
        return f"not ({draw(conditions(depth - 1))})"
    return f"({draw(conditions(depth - 1))}) {op} ({draw(conditions(depth - 1))})"


@st.composite
def records(draw: st.DrawFn) -> object:
    amount = draw(st.one_of(st.none(), NUMBERS))
    tags = draw(
        st.sampled_from([None, frozenset({"vip"}), ("vip", 1), "vip", [], frozenset({"u1", None})])
    )
    fields: dict[str, Any] = {
        "owner_id": draw(FIELD_VALUES),
        "team_id": draw(FIELD_VALUES),
        "region": draw(FIELD_VALUES),
        "stage": draw(st.sampled_from([Stage.WON, "won", "lost", None, 1])),
        "tags": tags,
        "custom": {"tier": draw(st.sampled_from([None, 1, "1", 2.5, "gold"]))},
    }
    if draw(st.booleans()):
        return {**fields, "amount": {"amount": amount}}
    return Deal(**fields, amount=Amount(amount) if draw(st.booleans()) else None)


@st.composite
def principals(draw: st.DrawFn) -> Principal:
    attributes = {
        "region": draw(st.sampled_from(["east", "west", None, 1, ["east"], Stage.WON])),
        "limit": draw(NUMBERS),
        "weird": draw(st.sampled_from([frozenset({"u1"}), {"a": 1}, float("nan"), "u1"])),
    }
    return Principal(
        user_id=draw(st.sampled_from(["u1", "u2"])),
        tenant_id="t1",
        teams=draw(st.sampled_from([(), ("team-a",), ("team-a", "won", "u1")])),
        attributes=attributes,
    )


contexts = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "hour": st.sampled_from([0, 9, 17, 18, None, "9"]),
            "ids": st.sampled_from([["u1", 1], ("won",), "won", None]),
        }
    ),
)


@settings(max_examples=250, deadline=None)
@given(text=conditions(), principal=principals(), record=records(), context=contexts)
def test_evaluation_agrees_with_compiled_filter(
    text: str, principal: Principal, record: object, context: dict[str, Any] | None
) -> None:
    cond = parse_condition(text)
    f = cond.to_filter(principal, context)
    assert cond.evaluate(principal, record, context) == q.compile_predicate(f)(record)
    # filters are plain data: the stored form means the same
    assert q.compile_predicate(q.from_dict(q.to_dict(f)))(record) == q.compile_predicate(f)(record)
    # and the canonical text parses back to the same condition
    assert cond == parse_condition(str(cond))
