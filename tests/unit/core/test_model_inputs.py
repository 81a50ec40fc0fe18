"""Entity constructors turn bad custom data and collections into a ValidationError naming it."""

from __future__ import annotations

import pytest

from crmcore.errors import ValidationError
from crmcore.model import Customer, EmailAddress
from crmcore.model._base import (
    MAX_CUSTOM_DEPTH,
    MAX_CUSTOM_KEY,
    MAX_CUSTOM_SIZE,
    MAX_CUSTOM_TEXT,
)


def _paths(err: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e.path for e in err.value.errors]


@pytest.mark.parametrize(
    "value",
    [float("inf"), float("-inf"), float("nan"), 2**63, -(2**63) - 1, "a\ud800", "a\x00b"],
)
def test_unstorable_custom_values_are_refused(value: object) -> None:
    with pytest.raises(ValidationError) as err:
        Customer(tenant_id="t", custom={"x": value})
    assert _paths(err) == ["$.custom.x"]


@pytest.mark.parametrize("key", ["a\ud800", "k\x00", "k" * (MAX_CUSTOM_KEY + 1)])
def test_unstorable_custom_keys_are_refused(key: str) -> None:
    with pytest.raises(ValidationError):
        Customer(tenant_id="t", custom={"ok": {key: 1}})


def test_custom_limits() -> None:
    Customer(tenant_id="t", custom={"x": 2**63 - 1, "y": "t" * MAX_CUSTOM_TEXT})
    with pytest.raises(ValidationError) as err:
        Customer(tenant_id="t", custom={"big": "t" * (MAX_CUSTOM_TEXT + 1)})
    assert _paths(err) == ["$.custom.big"]
    many = {f"k{i}": "t" * MAX_CUSTOM_TEXT for i in range(MAX_CUSTOM_SIZE // MAX_CUSTOM_TEXT + 1)}
    with pytest.raises(ValidationError) as err:
        Customer(tenant_id="t", custom=many)
    assert _paths(err) == ["$.custom"]


def test_custom_nesting_is_limited_without_recursion_error() -> None:
    ok: object = 1
    for _ in range(MAX_CUSTOM_DEPTH - 1):
        ok = [ok]
    Customer(tenant_id="t", custom={"x": ok})
    deep: object = 1
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValidationError, match="nests deeper"):
        Customer(tenant_id="t", custom={"x": deep})


@pytest.mark.parametrize("emails", [("a@b.com",), "a@b.com", 5, [None]])
def test_emails_must_be_email_addresses(emails: object) -> None:
    with pytest.raises(ValidationError) as err:
        Customer(tenant_id="t", emails=emails)  # type: ignore[arg-type]
    assert _paths(err)[0].startswith("$.emails")


def test_email_addresses_are_kept() -> None:
    e = EmailAddress(address="a@b.com")
    assert Customer(tenant_id="t", emails=[e]).emails == (e,)
