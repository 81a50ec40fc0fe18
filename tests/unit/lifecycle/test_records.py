"""The record adapter: attrs, dataclass and mapping records read and copied alike."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import pytest

from crmcore.errors import SchemaError
from crmcore.lifecycle import get_field, has_field, set_fields


@attrs.frozen
class A:
    status: str
    amount: int = 0
    cached: int = attrs.field(init=False, default=7)


@dataclasses.dataclass(frozen=True)
class D:
    status: str
    amount: int = 0


class RO(Mapping[str, Any]):
    """A read-only mapping that is not a dict."""

    def __init__(self, **data: Any) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@pytest.mark.parametrize("record", [A("new", 3), D("new", 3), {"status": "new", "amount": 3}])
def test_read_and_copy(record: Any) -> None:
    assert has_field(record, "amount")
    assert not has_field(record, "colour")
    assert get_field(record, "amount") == 3
    assert get_field(record, "colour", "dflt") == "dflt"
    changed = set_fields(record, status="open", amount=4)
    assert (get_field(changed, "status"), get_field(changed, "amount")) == ("open", 4)
    assert get_field(record, "status") == "new"


def test_other_mappings_become_dicts() -> None:
    assert set_fields(RO(status="new", amount=1), status="open") == {"status": "open", "amount": 1}


@pytest.mark.parametrize("record", [A("new"), D("new")])
def test_unknown_fields_are_schema_errors(record: Any) -> None:
    with pytest.raises(SchemaError, match="has no field 'colour'"):
        set_fields(record, colour="red")


def test_mappings_accept_new_keys() -> None:
    assert set_fields({"status": "new"}, colour="red") == {"status": "new", "colour": "red"}


def test_init_false_fields_cannot_be_set() -> None:
    with pytest.raises(SchemaError, match="cannot be changed"):
        set_fields(A("new"), cached=1)


def test_init_false_fields_are_recomputed_like_attrs_evolve() -> None:
    assert attrs.evolve(A("new"), status="x") == set_fields(A("new"), status="x")
