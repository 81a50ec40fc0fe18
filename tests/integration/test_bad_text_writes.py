"""Issue #13: NUL and lone surrogates are refused at write with one typed error on every backend,
even with validation off (the ``crm`` fixture runs without it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import attrs
import pytest

import crmcore
from crmcore import Customer, Principal
from crmcore.errors import ValidationError
from crmcore.model import replace_trusted

BASE = Customer(first_name="ok", tags=("fine",), custom={"k": "v"})
BAD: dict[str, tuple[Callable[[Customer], Customer], str]] = {
    "surrogate in a name": (lambda c: replace_trusted(c, first_name="a\ud800"), "$.first_name"),
    "NUL in a name": (lambda c: replace_trusted(c, last_name="a\x00b"), "$.last_name"),
    "surrogate in a tag": (lambda c: replace_trusted(c, tags=("x\udfff",)), "$.tags"),
    "NUL in a tag": (lambda c: replace_trusted(c, tags=("x\x00",)), "$.tags"),
    "NUL in a custom key": (lambda c: replace_trusted(c, custom={"k\x00": 1}), "$.custom"),
    "surrogate in a custom key": (lambda c: replace_trusted(c, custom={"\ud800": 1}), "$.custom"),
    "surrogate deep in custom": (
        lambda c: replace_trusted(c, custom={"a": {"b": ["\udc00"]}}),
        "$.custom.a.b[0]",
    ),
}


def _refused(call: Callable[[], object]) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_text_is_refused_at_write_with_validation_off(
    crm: crmcore.Crm, tenant: str, case: str
) -> None:
    spoil, path = BAD[case]
    me = Principal.system_principal(tenant)
    with crm.session(me) as s:
        stored = s.customers.add(attrs.evolve(BASE, id=uuid.uuid4()))
    with crm.session(me) as s:
        err = _refused(lambda: s.customers.add(spoil(attrs.evolve(BASE, id=uuid.uuid4()))))
        assert [e.code for e in err.errors] == ["invalid_text"]
        assert err.errors[0].path.startswith(path)
        err = _refused(lambda: s.customers.update(spoil(stored)))
        assert [e.code for e in err.errors] == ["invalid_text"]
        assert err.errors[0].path.startswith(path)
        err = _refused(lambda: s.customers.add_many([spoil(attrs.evolve(BASE, id=uuid.uuid4()))]))
        assert err.errors[0].code == "invalid_text"
    with crm.session(me) as s:  # nothing half-written
        assert s.customers.count() == 1
        assert s.customers.get(stored.id) == stored
