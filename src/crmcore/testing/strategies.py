"""Hypothesis strategies for every crmcore entity, for crmcore's tests and for embedders'.

The values stay within what every supported database stores exactly: text
without NUL or surrogates, aware datetimes with microseconds between 1900 and
2200, money with at most 6 decimal places and 14 integer digits, 53-bit ints.

Requires ``hypothesis`` (the ``test`` extra).
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import types
import typing
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar, Union

import attrs
from hypothesis import strategies as st

from crmcore.model import (
    COLLECTIONS,
    Agent,
    AgentShift,
    Entity,
    Money,
    OrderLine,
    SurveyKind,
    SurveyResponse,
    new_id,
)

__all__ = ["aware_datetimes", "entities", "entity_of", "json_values", "money", "safe_text"]

E = TypeVar("E", bound=Entity)

#: text every database keeps as written
safe_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=40,
)
short_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="\x00"),
    min_size=1,
    max_size=20,
)
aware_datetimes = st.datetimes(
    min_value=_dt.datetime(1900, 1, 1),
    max_value=_dt.datetime(2200, 1, 1),
    timezones=st.just(_dt.timezone.utc),
)
dates = st.dates(min_value=_dt.date(1900, 1, 1), max_value=_dt.date(2200, 1, 1))
decimals = st.decimals(
    min_value=Decimal("-99999999999999"),
    max_value=Decimal("99999999999999"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)
currencies = st.sampled_from(["CNY", "USD", "EUR", "GBP", "JPY", "HKD"])
money = st.builds(Money, decimals, currencies)
ints = st.integers(min_value=-(2**53), max_value=2**53)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    safe_text,
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=5
)
custom_maps = st.dictionaries(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
    json_values,
    max_size=4,
)


def _strategy_for(tp: Any, name: str) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        non_none = [a for a in args if a is not type(None)]
        inner = _strategy_for(non_none[0], name)
        return st.one_of(st.none(), inner) if len(non_none) < len(args) else inner
    if origin is tuple:
        return st.lists(_strategy_for(args[0], name), max_size=3).map(tuple)
    if origin is frozenset:
        return st.frozensets(short_text.map(str.strip).filter(bool), max_size=4)
    if origin is Mapping or tp is Mapping:
        return custom_maps
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: safe_text,
        int: st.integers(min_value=0, max_value=10**9),
        float: st.floats(min_value=0, max_value=1),
        bool: st.booleans(),
        Decimal: decimals,
        uuid.UUID: st.uuids(),
        _dt.datetime: aware_datetimes,
        _dt.date: dates,
        Money: money,
    }
    if tp in simple:
        return simple[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if tp is OrderLine:
        return st.builds(
            OrderLine,
            sku=st.one_of(st.none(), short_text),
            description=safe_text,
            quantity=st.integers(min_value=1, max_value=1000).map(Decimal),
            # bounded so an order's stored total (three lines at most) fits the store
            unit_price=st.builds(
                Money,
                st.decimals(min_value=0, max_value=10**9, places=6),
                st.just("CNY"),
            ),
            discount=st.sampled_from([Decimal(0), Decimal("0.1"), Decimal("0.25")]),
        )
    if isinstance(tp, type) and attrs.has(tp):
        return st.builds(tp, **_field_strategies(tp))
    raise TypeError(f"no strategy for {name}: {tp!r}")


@functools.cache
def _field_strategies(cls: type) -> dict[str, st.SearchStrategy[Any]]:
    hints = typing.get_type_hints(cls)
    out: dict[str, st.SearchStrategy[Any]] = {}
    for a in attrs.fields(cls):
        if a.name in ("tenant_id", "version") or not a.init:  # stamped or derived
            continue
        out[a.name] = _strategy_for(hints[a.name], a.name)
    return out


def entity_of(cls: type[E], **overrides: st.SearchStrategy[Any]) -> st.SearchStrategy[E]:
    """Any valid instance of the attrs class ``cls``; ``overrides`` replace field strategies."""
    fields = dict(_field_strategies(cls))  # type: ignore[arg-type]
    if cls is SurveyResponse:
        fields["kind"] = st.just(SurveyKind.NPS)
        fields["score"] = st.integers(min_value=0, max_value=10)
    if cls.__name__ == "Order":
        fields["currency"] = st.just("CNY")
    if cls is Agent:
        skill = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
        fields["skills"] = st.dictionaries(skill, st.integers(1, 10), max_size=4)
        shift = st.builds(
            lambda d, start, length: AgentShift(
                weekday=d, start_minute=start, end_minute=start + length
            ),
            st.integers(0, 6),
            st.integers(0, 1439),
            st.integers(1, 1440),
        )
        fields["shifts"] = st.lists(shift, max_size=3).map(tuple)
    if "id" in fields:
        fields["id"] = st.builds(new_id)  # unique, so examples never collide in a store
    if "sealed" in fields:  # storage-internal, written only by the encryption layer
        fields["sealed"] = st.just({})
        fields["search_keys"] = st.just(frozenset())
    if "deleted_at" in fields:
        fields["deleted_at"] = st.none()
    fields.update(overrides)
    return st.builds(cls, **fields)


def entities() -> st.SearchStrategy[Entity]:
    """Any stored aggregate of any type."""
    return st.one_of(*(entity_of(cls) for cls in COLLECTIONS.values()))
