"""Field-level security: levels per role, masking formats, write checks."""

from __future__ import annotations

import attrs
import pytest

from crmcore.errors import ConfigurationError, PermissionDenied
from crmcore.policy import (
    FieldLevel,
    FieldLevelRule,
    Policy,
    Principal,
    Role,
    Rule,
    mask_email,
    mask_full,
    mask_partial,
    mask_phone,
)


@attrs.frozen
class Customer:
    id: str = "c1"
    tenant_id: str = "t1"
    first_name: str | None = "伟"
    phone: str | None = attrs.field(
        default="+86 138 0013 8000", validator=attrs.validators.max_len(20)
    )
    email: str | None = "zhang.wei@example.com"
    national_id: str | None = "11010519491231002X"
    source: str | None = "likes tea"
    phones: tuple[str, ...] = ("13800138000", "13900139000")
    custom: dict[str, object] = attrs.field(factory=lambda: {"tier": "gold", "score": 7})


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+86 138 0013 8000", "+86 138****8000"),
        ("+8613800138000", "+86 138****8000"),
        ("13800138000", "138****8000"),
        ("138-0013-8000", "138****8000"),
        ("8613800138000", "+86 138****8000"),
        ("0086 138 0013 8000", "+86 138****8000"),
        ("+1 (415) 555-2671", "+1 415***2671"),
        ("+14155552671", "+1 415***2671"),
        ("+852 9123 4567", "+852 912*4567"),
        ("010-8888-6666", "010****6666"),
        ("１３８００１３８０００", "138****8000"),
        ("5551234", "*****34"),
        ("12", "**"),
        ("n/a", "***"),
    ],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert masked == mask_phone(value)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("zhang.wei@example.com", "z***@example.com"),
        ("a@b.cn", "a***@b.cn"),
        ("@example.com", "***@example.com"),
        ("not-an-email", "n**********l"),
    ],
)
def test_mask_email(value: str, masked: str) -> None:
    assert masked == mask_email(value)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("张伟", "张*"),
        ("欧阳娜娜", "欧**娜"),
        ("x", "*"),
        ("", ""),
        ("11010519491231002X", "1****************X"),
    ],
)
def test_mask_partial_and_full(value: str, masked: str) -> None:
    assert masked == mask_partial(value)
    assert mask_full(value) == "***"
    assert mask_partial("abcdefgh", keep_start=2, keep_end=0).replace("******", "***") == "ab***"


def field_policy() -> Policy:
    return Policy(
        [Rule.allow("read-all", roles="*", actions="*")],
        roles=[Role("support"), Role("sales_rep"), Role("manager", "sales_rep"), Role("auditor")],
        field_rules=[
            FieldLevelRule(
                roles="support",
                entities="Customer",
                fields={
                    "phone": "masked:phone",
                    "email": "masked:email",
                    "phones": "masked:phone",
                    "national_id": "hidden",
                    "source": "write",
                    "custom.score": "hidden",
                    "*": "read",
                },
            ),
            FieldLevelRule(
                roles="sales_rep",
                entities="Customer",
                fields={"national_id": "masked", "phone": "write"},
            ),
            FieldLevelRule(roles="manager", entities="Customer", fields={"national_id": "read"}),
            FieldLevelRule(
                roles="auditor", entities="*", fields={"national_id": "deny", "*": "read"}
            ),
        ],
        masks={"last4": lambda s: "*" * (len(s) - 4) + s[-4:]},
    )


POLICY = field_policy()
SUPPORT = Principal(user_id="s1", tenant_id="t1", roles="support")
REP = Principal(user_id="r1", tenant_id="t1", roles="sales_rep")
MANAGER = Principal(user_id="m1", tenant_id="t1", roles="manager")


def test_default_is_full_access() -> None:
    policy = Policy([Rule.allow("all", roles="*", actions="*")])
    access = policy.field_access(SUPPORT, "Customer")
    assert access.unrestricted
    record = Customer()
    assert record is access.mask(record)
    access.check_write(["phone", "national_id"])
    # entities without field rules are unrestricted too
    assert POLICY.field_access(REP, "Lead").unrestricted


def test_mask_attrs_record() -> None:
    masked = POLICY.mask(SUPPORT, "Customer", Customer())
    assert masked.phone == "+86 138****8000"
    assert masked.email == "z***@example.com"
    assert masked.national_id is None
    assert masked.phones == ("138****8000", "139****9000")
    assert masked.custom == {"tier": "gold", "score": None}
    assert masked.source == "likes tea"
    assert Customer().phone == "+86 138 0013 8000"  # the original is untouched


def test_mask_mapping_record() -> None:
    row = {"phone": "13800138000", "national_id": "X", "first_name": "伟", "custom": {"score": 1}}
    masked = POLICY.mask(SUPPORT, "Customer", row)
    assert masked == {
        "phone": "138****8000",
        "national_id": None,
        "first_name": "伟",
        "custom": {"score": None},
    }
    assert row["phone"] == "13800138000"


def test_most_permissive_role_wins_and_inheritance() -> None:
    both = Principal(user_id="x", tenant_id="t1", roles=("support", "sales_rep"))
    access = POLICY.field_access(both, "Customer")
    assert FieldLevel.WRITE is access.level("phone")  # write (rep) beats masked (support)
    assert FieldLevel.MASKED is access.level("national_id")  # masked (rep) beats hidden (support)
    assert FieldLevel.MASKED is POLICY.field_access(REP, "Customer").level("national_id")
    # a manager inherits the reps' field rules and upgrades national_id
    manager = POLICY.field_access(MANAGER, "Customer")
    assert FieldLevel.READ is manager.level("national_id")
    assert FieldLevel.WRITE is manager.level("phone")
    assert FieldLevel.WRITE is manager.level("source")  # named by no rule that applies


def test_explicit_deny_beats_every_grant() -> None:
    auditor_manager = Principal(user_id="x", tenant_id="t1", roles=("auditor", "manager"))
    access = POLICY.field_access(auditor_manager, "Customer")
    assert FieldLevel.HIDDEN is access.level("national_id")
    assert access.mask(Customer()).national_id is None
    assert FieldLevel.READ is POLICY.field_access(
        Principal(user_id="a", tenant_id="t1", roles="auditor"), "Lead"
    ).level("anything")


def test_masked_uses_named_masker() -> None:
    policy = Policy(
        [],
        field_rules=[
            FieldLevelRule(roles="r", entities="Customer", fields={"national_id": "masked:last4"})
        ],
        masks={"last4": lambda s: "*" * (len(s) - 4) + s[-4:]},
    )
    p = Principal(user_id="x", tenant_id="t1", roles="r")
    assert policy.mask(p, "Customer", Customer()).national_id == "**************002X"


def test_check_write_names_the_field() -> None:
    with pytest.raises(PermissionDenied) as info:
        POLICY.check_write_fields(SUPPORT, "Customer", ["source", "phone"], Customer(id="c7"))
    err = info.value
    assert err.field == "phone"
    assert err.id == "c7"
    assert err.action == "update"
    assert err.reason == "field 'phone' is masked for roles {support}"
    assert "may not update field 'phone' of Customer c7" in str(err)
    POLICY.check_write_fields(SUPPORT, "Customer", ["source"])
    with pytest.raises(PermissionDenied, match=r"field 'custom\.score' is hidden"):
        POLICY.check_write_fields(SUPPORT, "Customer", ["custom.score"], action="create")
    with pytest.raises(PermissionDenied, match="field 'custom' is read"):
        POLICY.check_write_fields(SUPPORT, "Customer", ["custom"])
    editor = Policy(
        [],
        field_rules=[FieldLevelRule(roles="r", fields={"custom": "write", "custom.score": "read"})],
    )
    p = Principal(user_id="e", tenant_id="t1", roles="r")
    editor.check_write_fields(p, "Customer", ["custom.tier"])
    with pytest.raises(PermissionDenied, match=r"field 'custom\.score' is read"):
        editor.check_write_fields(p, "Customer", ["custom"])
    with pytest.raises(PermissionDenied, match="field 'first_name' is read"):
        POLICY.check_write_fields(SUPPORT, "Customer", ["first_name"])


def test_system_principal_has_full_field_access() -> None:
    system = Principal.system_principal("t1")
    assert POLICY.field_access(system, "Customer").unrestricted


def test_field_rule_validation() -> None:
    with pytest.raises(ConfigurationError, match="unknown field level 'secret'"):
        Policy([], field_rules=[FieldLevelRule(roles="r", fields={"a": "secret"})])
    with pytest.raises(ConfigurationError, match="unknown masker 'ssn'"):
        Policy([], field_rules=[FieldLevelRule(roles="r", fields={"a": "masked:ssn"})])
    with pytest.raises(ConfigurationError, match="'\\*' cannot be 'deny'"):
        FieldLevelRule(roles="r", fields={"*": "deny"})
    with pytest.raises(ConfigurationError, match="unknown role 'ghost'"):
        Policy(
            [], roles=[Role("r")], field_rules=[FieldLevelRule(roles="ghost", fields={"a": "read"})]
        )


def test_a_path_takes_the_level_of_its_longest_named_prefix() -> None:
    policy = Policy.from_dict(
        {
            "field_rules": [
                {
                    "entities": ["Customer"],
                    "fields": {"custom": "read", "custom.salary": "hidden"},
                }
            ]
        }
    )
    access = policy.field_access(Principal(user_id="u", tenant_id="t"), "Customer")
    assert access.level("custom.salary.amount") is FieldLevel.HIDDEN
    assert access.level("custom.salary") is FieldLevel.HIDDEN
    assert access.level("custom.tier") is FieldLevel.READ
    assert access.level("custom.tier.x") is FieldLevel.READ
