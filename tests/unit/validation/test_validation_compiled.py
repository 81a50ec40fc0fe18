"""The compiled validators (RuleSet.compile, the EntityValidation hooks) against the generic path.

Every property compares the fast code with a reference on the same inputs:
``RuleSet.compile()`` with :func:`validate_record`, the Customer hook with the
generic hook as it was written before compilation, the bad-text walk with a
straightforward recursive walk, the phone fast path with phonenumbers itself.
"""

# Project convention: assert expected == actual (constants on the left).
# ruff: noqa: SIM300

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore._text import bad_text_reason
from crmcore.errors import FieldError, ValidationError
from crmcore.model import Address, Customer, EmailAddress, Entity, PhoneNumber, replace_trusted
from crmcore.testing.strategies import entities, entity_of
from crmcore.validation import (
    CustomField,
    CustomFieldSchema,
    EntityValidation,
    FieldRule,
    RuleSet,
    default_rules,
    normalize_phone,
    require_any,
    validate_record,
)
from crmcore.validation._common import bad_text_errors
from crmcore.validation._entities import _in_region, _record_region
from crmcore.validation._phone import PhoneKind

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Contact data in the shapes people type, plus arbitrary text.
_odd = st.text(
    alphabet=st.sampled_from("0123456789 +-().张伟ABCabcÄ@xX转\u3000＋１\x00\ud800\u200b"),
    max_size=20,
)
phones = st.one_of(
    st.none(),
    st.from_regex(r"1[3-9]\d{9}", fullmatch=True),
    st.from_regex(r"\+86 ?1[3-9]\d \d{4} \d{4}", fullmatch=True),
    st.from_regex(r"0(10|2\d|[3-9]\d\d)-?[2-8]\d{6,7}", fullmatch=True),
    st.from_regex(r"\+(1|44|49|81) ?\d{6,11}", fullmatch=True),
    _odd,
)
emails = st.one_of(
    st.none(),
    st.from_regex(r" ?[A-Za-z0-9.]{1,10}@[A-Za-z]{1,8}\.(com|CN|org) ?", fullmatch=True),
    st.sampled_from(
        ["", "  ", "a@b", "x@bücher.de", "ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "a..b@c.com"]
    ),
    _odd,
)
names = st.one_of(
    st.none(),
    st.sampled_from(["wei", "ZHANG", "张", "欧阳", "o'brien", "van der berg", "  ", "", "123"]),
    _odd,
)
national_ids = st.one_of(
    st.none(), st.sampled_from(["11010519491231002X", "110105194912310021", "x", ""]), _odd
)
addresses = st.lists(
    st.builds(
        Address,
        line1=st.one_of(st.none(), st.sampled_from(["1 Main St", "长安街1号"])),
        city=st.one_of(st.none(), st.sampled_from(["Beijing", "London"])),
        postcode=st.one_of(st.none(), st.sampled_from(["100000", "SW1A 1AA", "x"])),
        country=st.one_of(st.none(), st.sampled_from(["CN", "GB", "United States", "zz"])),
    ),
    max_size=2,
).map(tuple)
contact_phones = st.lists(st.builds(PhoneNumber, number=phones.filter(bool)), max_size=2).map(tuple)
contact_emails = st.lists(st.builds(EmailAddress, address=emails.filter(bool)), max_size=2).map(
    tuple
)

customers = entity_of(
    Customer,
    first_name=names,
    last_name=names,
    email=emails,
    phone=phones,
    national_id=national_ids,
    addresses=addresses,
    phones=contact_phones,
    emails=contact_emails,
)


def _fields(record: Any) -> dict[str, Any]:
    if isinstance(record, Mapping):
        return dict(record)
    return {a.name: getattr(record, a.name) for a in attrs.fields(type(record))}


def _problems(errors: Any) -> list[tuple[str, str, str, Any]]:
    return [(e.path, e.code, e.message, e.value) for e in errors]


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        result = fn()
    except ValidationError as exc:
        return "error", (exc.entity, exc.id, _problems(exc.errors))
    return "ok", _fields(result)


def _same(fast: Callable[[], Any], generic: Callable[[], Any]) -> None:
    assert _outcome(generic) == _outcome(fast)


# A rule set that exercises every generic setting next to compiled ones.
_TIERS = CustomFieldSchema([CustomField("tier", "choice", choices=("gold", "silver"))])
MIXED = RuleSet(
    fields={
        "first_name": FieldRule(normalizer="name", required=True),
        "last_name": FieldRule(normalizer="name", max_length=3),
        "email": FieldRule(normalizer="email", default="none@example.com"),
        "phone": FieldRule(normalizer="phone", options={"region": "US"}, sensitive=True),
        "source": FieldRule(choices=("web", "shop"), default="web"),
        "owner_id": FieldRule(regex=r"u\d+", checks=(lambda v: v != "u0",)),
        "team_id": FieldRule(normalizer=lambda v: v.strip().upper(), min_length=2),
        "national_id": FieldRule(normalizer="national_id"),
        "tags": FieldRule(normalizer="text", each=True),
    },
    record_rules=(require_any("email", "phone"),),
    sensitive={"date_of_birth"},
    custom=_TIERS,
)


@SETTINGS
@given(customers)
def test_compiled_default_rules_match_validate_record(customer: Customer) -> None:
    rules = default_rules()[Customer]
    compiled = rules.compile()
    _same(
        lambda: compiled(customer, entity="customer", id=customer.id),
        lambda: validate_record(customer, rules, entity="customer", id=customer.id),
    )
    _same(lambda: compiled(customer), lambda: validate_record(customer, rules))


owner_ids = st.one_of(st.none(), st.sampled_from(["u0", "u12", "x", ""]))
team_ids = st.one_of(st.none(), st.sampled_from([" ab ", "a", "", " ", "TEAM"]))
sources = st.one_of(st.none(), st.sampled_from(["web", "shop", "fax", ""]))
tag_sets = st.one_of(st.just(frozenset()), st.frozensets(st.sampled_from(["vip", "b"])))
custom_maps = st.one_of(
    st.just({}), st.sampled_from([{"tier": "gold"}, {"tier": "bronze"}, {"other": 1}])
)


@SETTINGS
@given(
    customers,
    owner_ids,
    team_ids,
    sources,
    tag_sets,
    custom_maps,
)
def test_compiled_mixed_rules_match_validate_record(
    customer: Customer,
    owner_id: str | None,
    team_id: str | None,
    source: str | None,
    tags: frozenset[str],
    custom: dict[str, Any],
) -> None:
    record = attrs.evolve(
        customer, owner_id=owner_id, team_id=team_id, source=source, tags=tags, custom=custom
    )
    compiled = MIXED.compile()
    _same(lambda: compiled(record), lambda: validate_record(record, MIXED))


def test_compiled_takes_mappings_and_dotted_paths_through_validate_record() -> None:
    dotted = RuleSet(fields={"address.postcode": FieldRule(normalizer="text", max_length=4)})
    rows: list[Any] = [
        {"address": {"postcode": " 12 "}},
        {"address": {"postcode": "123456"}},
        {"first_name": "wei", "phone": "13800138000"},
    ]
    for row in rows:
        for rules in (dotted, default_rules()[Customer]):
            compiled = rules.compile()
            _same(
                lambda r=row, c=compiled: c(r),
                lambda r=row, rs=rules: validate_record(r, rs),
            )


def test_compiled_result_is_a_fresh_record_with_a_fresh_custom_mapping() -> None:
    customer = Customer(first_name="wei", phone="138 0013 8000", custom={"a": [1, 2]})
    out = default_rules()[Customer].compile()(customer)
    assert "Wei" == out.first_name
    assert "+8613800138000" == out.phone
    assert out is not customer
    assert {"a": [1, 2]} == out.custom
    assert out.custom is not customer.custom
    assert "wei" == customer.first_name  # the input is untouched


# -- the Customer hook against the generic hook as it was written --------------------------


def _generic_hook(kind: type[Entity]) -> Callable[[Entity], Entity]:
    rules = default_rules()[kind]

    def validate(entity: Entity) -> Entity:
        bad = _reference_bad_text(entity, "$")
        if bad:
            raise ValidationError(bad, entity=kind.entity_name(), id=entity.id)
        region = _record_region(entity)
        chosen = rules if region is None else _in_region(rules, region)
        return validate_record(entity, chosen, entity=kind.entity_name(), id=entity.id)

    return validate


@SETTINGS
@given(customers)
def test_customer_hook_matches_the_generic_hook(customer: Customer) -> None:
    hook = EntityValidation().validators()[Customer]
    _same(lambda: hook(customer), lambda: _generic_hook(Customer)(customer))


@SETTINGS
@given(customers)
def test_hook_on_an_owned_copy_gives_the_same_record_and_leaves_the_original(
    customer: Customer,
) -> None:
    hook = EntityValidation().validators()[Customer]
    before = replace_trusted(customer)
    mine = replace_trusted(customer)  # the session's fresh stamped copy
    _same(lambda: hook.owned(mine), lambda: hook(customer))  # type: ignore[attr-defined]
    assert before == customer
    try:
        result = hook.owned(replace_trusted(customer))  # type: ignore[attr-defined]
    except ValidationError:
        return
    # the custom mapping is a copy of its own, never the caller's object
    assert result.custom is not customer.custom


# -- the bad-text walk against a plain recursive walk -----------------------------------------


def _reference_bad_text(value: object, path: str) -> list[FieldError]:
    out: list[FieldError] = []
    if value is None:
        return out
    if isinstance(value, str):
        reason = bad_text_reason(value)
        if reason is not None and not isinstance(value, enum.Enum):
            out.append(FieldError(path, "invalid_text", f"{path} {reason}"))
    elif attrs.has(type(value)):
        for a in attrs.fields(type(value)):
            if a.name not in ("sealed", "search_keys"):
                out += _reference_bad_text(getattr(value, a.name), f"{path}.{a.name}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            reason = bad_text_reason(key) if isinstance(key, str) else None
            if reason is not None:
                out.append(FieldError(path, "invalid_text", f"a key of {path} {reason}"))
            else:
                out += _reference_bad_text(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            out += _reference_bad_text(item, f"{path}[{i}]")
    elif isinstance(value, (set, frozenset)):
        for item in sorted((v for v in value if isinstance(v, str)), key=repr):
            out += _reference_bad_text(item, path)
    return out


bad_bits = st.sampled_from(["", "ok", "\x00", "a\ud800b", "张\x00", "\udfff"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entities(), customers, bad_bits, bad_bits, bad_bits)
def test_bad_text_errors_match_a_plain_walk(
    entity: Entity, customer: Customer, bit: str, key: str, tag: str
) -> None:
    dirty = replace_trusted(  # past the model's own checks, as raw input could be
        customer,
        last_name=f"x{bit}",
        custom={f"k{key}": [bit, {"n": bit}]},
        tags={"t", f"t{tag}"},
        emails=(EmailAddress(address=f"a{bit}@b.com"),),
    )
    for record in (entity, customer, dirty):
        assert _problems(_reference_bad_text(record, "$")) == _problems(bad_text_errors(record))


# -- the phone fast path against phonenumbers -----------------------------------------------


def _phonenumbers_e164(text: str, region: str) -> str | None:
    try:
        num = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if num.extension or not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


REGIONS = ["CN", "US", "GB", "DE", "IT", "FR", "JP", "BR", "RU", "AR", "MX", "KR", "HK", "AU"]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(REGIONS),
    st.sampled_from(["", "0", "00", "1", "8", "9", "15", "01", "044"]),
    st.from_regex(r"[1-9]\d{5,11}", fullmatch=True),
)
def test_phone_with_national_prefix_matches_phonenumbers(
    region: str, prefix: str, digits: str
) -> None:
    text = prefix + digits
    try:
        got: str | None = normalize_phone(text, region=region)
    except ValidationError:
        got = None
    if got is not None and ";ext=" in got:
        return
    assert _phonenumbers_e164(text, region) == got


_EVERY_KIND = frozenset(k.value for k in PhoneKind)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(REGIONS),
    st.sampled_from(["", "0", "1", "+1", "+44", "+86", "+49", "+39"]),
    st.from_regex(r"[1-9]\d{5,11}", fullmatch=True),
)
def test_phone_validity_without_kinds_matches_the_classified_path(
    region: str, prefix: str, digits: str
) -> None:
    text = prefix + digits

    def outcome(**kw: Any) -> Any:
        try:
            return normalize_phone(text, region=region, **kw)
        except ValidationError as exc:
            return [(e.field, e.code) for e in exc.errors]

    assert outcome(kinds=_EVERY_KIND) == outcome()


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("010-62345678", "+861062345678"),
        ("021 6234 5678", "+862162345678"),
        ("0755-26345678", "+8675526345678"),
        ("13800138000", "+8613800138000"),
    ],
)
def test_chinese_national_prefix_forms(text: str, e164: str) -> None:
    assert e164 == normalize_phone(text, region="CN")


@attrs.frozen
class _Checked:
    name: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )
    tags: tuple[str, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen(cache_hash=True)
class _Hashed:
    name: str | None = None
    tags: tuple[str, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen
class _Plain:
    name: str | None = None
    tags: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    extra: dict[str, Any] = attrs.field(factory=dict, converter=dict)


_TAG_RULES = RuleSet(
    fields={
        "name": FieldRule(normalizer="name"),
        "tags": FieldRule(normalizer=lambda v: [t.strip() for t in v]),
    }
)


@pytest.mark.parametrize("cls", [_Checked, _Hashed, _Plain])
@pytest.mark.parametrize("name", [None, "wei", "", "123", "ANNA smith"])
def test_compiled_on_other_attrs_classes_matches_validate_record(cls: type, name: Any) -> None:
    record = cls(name=name, tags=(" a ", "b"))
    _same(lambda: _TAG_RULES.compile()(record), lambda: validate_record(record, _TAG_RULES))
    if name == "123":
        return  # refused alike (compared above)
    out = _TAG_RULES.compile()(record)
    # the list the normaliser returns goes through the class's converter, as with evolve
    assert ("a", "b") == out.tags
    if cls is _Hashed:
        assert hash(cls(name=out.name, tags=("a", "b"))) == hash(out)
