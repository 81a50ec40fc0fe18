"""Validation wired to crmcore's entities: default rules and the session's pre-write hook.

:func:`default_rules` gives one :class:`RuleSet` per entity type (phones to
E.164 in the tenant's region, e-mails, names, resident ids...);
:class:`EntityValidation` turns rule sets (and per-tenant custom-field schemas)
into the validators ``connect()`` runs on every add and update, before
anything reaches the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from crmcore.errors import FieldError, ValidationError
from crmcore.model import (
    ENTITY_TYPES,
    Account,
    Address,
    Consent,
    Customer,
    EmailAddress,
    Entity,
    Lead,
    PhoneNumber,
    Ticket,
)
from crmcore.validation._address import normalize_address, normalize_country
from crmcore.validation._common import bad_text_errors
from crmcore.validation._custom import CustomFieldSchema
from crmcore.validation._email import normalize_email
from crmcore.validation._phone import normalize_phone
from crmcore.validation._rules import CompiledRules, FieldRule, RuleSet

__all__ = ["EntityValidation", "default_rules"]

E = TypeVar("E", bound=Entity)


def _each(
    fn: Callable[[Any, int], Any],
) -> Callable[[Any], tuple[Any, ...]]:
    """Apply ``fn`` to every item of a tuple field, collecting every item's errors."""

    def check(items: Any) -> tuple[Any, ...]:
        out: list[Any] = []
        errors: list[FieldError] = []
        for i, item in enumerate(items or ()):
            try:
                out.append(fn(item, i))
            except ValidationError as exc:
                errors.extend(exc.errors)
        if errors:
            raise ValidationError(errors)
        return tuple(out)

    return check


def _emails(field: str) -> Callable[[Any], tuple[Any, ...]]:
    def one(item: EmailAddress, i: int) -> EmailAddress:
        return attrs.evolve(
            item, address=normalize_email(item.address, field=f"$.{field}[{i}].address")
        )

    return _each(one)


@attrs.frozen
class _PhoneList:
    """The rule of a tuple of :class:`PhoneNumber` (national forms read in ``region``)."""

    field: str
    region: str

    def __call__(self, items: Any) -> tuple[Any, ...]:
        region = self.region

        def one(item: PhoneNumber, i: int) -> PhoneNumber:
            path = f"$.{self.field}[{i}].number"
            number = normalize_phone(item.number, region=region, field=path)
            return attrs.evolve(item, number=number)

        return _each(one)(items)


def _phones(field: str, region: str) -> _PhoneList:
    return _PhoneList(field, region)


def _record_region(entity: Entity) -> str | None:
    """The country the record says it is in: its first address with a known country."""
    for address in getattr(entity, "addresses", ()) or ():
        country = getattr(address, "country", None)
        if isinstance(country, str) and country.strip():
            try:
                return normalize_country(country)
            except ValidationError:
                return None  # the address rule reports it
    return None


def _in_region(rules: RuleSet, region: str) -> RuleSet:
    """``rules`` with every phone rule reading national forms in ``region``."""
    fields: dict[str, FieldRule] = {}
    for name, rule in rules.fields.items():
        if rule.normalizer == "phone":
            rule = attrs.evolve(rule, options={**rule.options, "region": region})
        elif isinstance(rule.normalizer, _PhoneList):
            rule = attrs.evolve(rule, normalizer=_PhoneList(rule.normalizer.field, region))
        fields[name] = rule
    return attrs.evolve(rules, fields=fields)


def _addresses(field: str, region: str) -> Callable[[Any], tuple[Any, ...]]:
    def one(item: Address, i: int) -> Address:
        clean: dict[str, Any] = normalize_address(
            item, default_country=region, field=f"$.{field}[{i}]"
        )
        return attrs.evolve(item, **{k: v for k, v in clean.items() if k in _ADDRESS_KEYS})

    return _each(one)


_ADDRESS_KEYS = frozenset({"line1", "line2", "city", "region", "postcode", "country"})


def _rule(fn: Callable[[Any], Any]) -> FieldRule:
    return FieldRule(normalizer=fn)


def default_rules(region: str = "CN") -> dict[type[Entity], RuleSet]:
    """The built-in rules: one format per field, for every entity with contact data.

    Args:
        region: the tenant's default phone and address region (ISO 3166 alpha-2).
    """
    phone = FieldRule(normalizer="phone", options={"region": region})
    email = FieldRule(normalizer="email")
    name = FieldRule(normalizer="name")
    people = {"first_name": name, "last_name": name, "email": email, "phone": phone}
    return {
        Customer: RuleSet(
            fields={
                **people,
                "national_id": FieldRule(normalizer="national_id", sensitive=True),
                "emails": _rule(_emails("emails")),
                "phones": _rule(_phones("phones", region)),
                "addresses": _rule(_addresses("addresses", region)),
            },
            sensitive={"national_id", "date_of_birth"},
        ),
        Lead: RuleSet(fields=people),
        Account: RuleSet(
            fields={
                "name": FieldRule(normalizer="text", required=True),
                "email": email,
                "phone": phone,
                "addresses": _rule(_addresses("addresses", region)),
            }
        ),
        Ticket: RuleSet(fields={"subject": FieldRule(normalizer="text", required=True)}),
        Consent: RuleSet(fields={"purpose": FieldRule(normalizer="text", required=True)}),
    }


def _json_native(values: Mapping[str, Any]) -> dict[str, Any]:
    """Custom values as stored: exact decimals as text, dates as ISO text."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        elif isinstance(value, (tuple, frozenset, set)):
            value = sorted(value) if isinstance(value, (frozenset, set)) else list(value)
        out[key] = value
    return out


@attrs.frozen
class EntityValidation:
    """What the session checks before a write: rule sets and custom-field schemas.

    Args:
        rules: per entity type, the rule set (``default_rules(region)`` if not given).
        custom_fields: custom-field schemas, per entity type or per
            ``(tenant_id, entity type)`` (the tenant's own wins).
        refuse_bad_text: refuse, before any rule runs, a record with a NUL
            character or a lone surrogate in any text: every string field,
            nested e-mails/phones/addresses, tags, custom keys and values
            (code ``invalid_text``, one error per value; see
            :func:`crmcore.validation.bad_text_reason`).
    """

    rules: Mapping[type[Entity], RuleSet] = attrs.field(factory=default_rules)
    custom_fields: Mapping[Any, CustomFieldSchema] = attrs.field(factory=dict)
    refuse_bad_text: bool = True

    def validators(self) -> dict[type[Entity], Callable[[Entity], Entity]]:
        """The pre-write hooks for ``Crm(validators=...)``, one per entity type.

        Returns:
            A hook per entity type with rules or a custom-field schema, and, when
            ``refuse_bad_text`` is on, per every built-in entity type.
        """
        kinds = set(self.rules) | {k[1] if isinstance(k, tuple) else k for k in self.custom_fields}
        if self.refuse_bad_text:
            kinds |= set(ENTITY_TYPES.values())
        return {kind: self._validator(kind) for kind in kinds}

    def _validator(self, kind: type[Entity]) -> Callable[[Entity], Entity]:
        rules = self.rules.get(kind)
        schemas = self.custom_fields
        refuse_bad_text = self.refuse_bad_text
        entity_name = kind.entity_name()
        # Compiled once here, not per record: the rule set and, lazily, its
        # variant for each country a record's address names.
        compiled = rules.compile() if rules is not None else None
        regional: dict[str, CompiledRules] = {}

        def rules_for(entity: Entity) -> CompiledRules | None:
            # A record in another country reads its national phone forms there.
            if rules is None or not getattr(entity, "addresses", None):
                return compiled
            region = _record_region(entity)
            if region is None:
                return compiled
            found = regional.get(region)
            if found is None:
                found = regional[region] = _in_region(rules, region).compile()
            return found

        def validate(entity: Entity, owned: bool = False) -> Entity:
            if refuse_bad_text:
                bad = bad_text_errors(entity)
                if bad:
                    # The normalisers would silently drop such characters:
                    # refuse the record as written instead.
                    raise ValidationError(bad, entity=entity_name, id=entity.id)
            errors: list[FieldError] = []
            checked = entity
            record_rules = rules_for(entity)
            if record_rules is not None:
                try:
                    checked = record_rules(entity, entity=entity_name, id=entity.id, owned=owned)
                except ValidationError as exc:
                    errors.extend(exc.errors)
            if schemas:
                schema = schemas.get((entity.tenant_id, kind)) or schemas.get(kind)
                if schema is not None:
                    try:
                        custom = _json_native(schema.validate(entity.custom))
                        checked = attrs.evolve(checked, custom=custom)
                    except ValidationError as exc:
                        errors.extend(exc.errors)
            if errors:
                raise ValidationError(errors, entity=entity_name, id=entity.id)
            return checked

        return _Hook(validate)


class _Hook:
    """A validator as ``connect()`` runs it: ``hook(record)``, plus ``hook.owned(record)``.

    ``owned`` is for a caller that made ``record`` for this check and shares it
    with no one (the session's freshly stamped copy): the normalised values go
    into it rather than into another copy. Both give equal records and errors.
    """

    __slots__ = ("_validate",)

    def __init__(self, validate: Callable[[Entity, bool], Entity]) -> None:
        self._validate = validate

    def __call__(self, entity: Entity) -> Entity:
        return self._validate(entity, False)

    def owned(self, entity: Entity) -> Entity:
        return self._validate(entity, True)
