"""Record-level validation: field rules, cross-field rules, rule sets.

A :class:`RuleSet` maps field names (or dotted paths into nested mappings or
attrs objects: ``"address.postcode"``) to :class:`FieldRule` objects, plus
record rules such as :func:`require_any`. :func:`validate_record` applies it
to any mapping or attrs instance, collects every problem, and raises one
:class:`~crmcore.errors.ValidationError` listing them all; on success it returns
a normalised copy (a ``dict`` for a mapping, an ``attrs.evolve``'d copy for an
attrs instance). Per-tenant rules are simply different rule sets; they load
from plain data with :meth:`RuleSet.from_dict` and combine with
:meth:`RuleSet.merge`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar, cast, overload

import attrs

from crmcore.errors import ConfigurationError, CrmError, FieldError, ValidationError
from crmcore.validation._common import WRONG_TYPE, clean_text, fail, is_empty, type_name
from crmcore.validation._custom import CustomFieldSchema
from crmcore.validation._identifiers import IdentifierRegistry, default_registry

__all__ = [
    "NORMALIZER_NAMES",
    "CompiledRules",
    "FieldRule",
    "RecordRule",
    "RequireAny",
    "RuleSet",
    "normalize_text",
    "require_any",
    "validate_record",
]

T = TypeVar("T")

#: A normaliser given by callable: takes the value, returns the normalised value.
Normalizer = Callable[[Any], Any]
#: A check: takes the (normalised) value; returning False or raising means invalid.
Check = Callable[[Any], Any]


def normalize_text(text: str, *, field: str = "text") -> str:
    """Clean free text: NFKC, control characters dropped, whitespace collapsed, trimmed.

    Args:
        text: the text.
        field: field path used in errors.

    Returns:
        The cleaned text.

    Raises:
        ValidationError: ``wrong_type``.
    """
    if not isinstance(text, str):
        fail(field, WRONG_TYPE, f"must be text, not {type_name(text)}")
    return clean_text(text)


# -- built-in normalisers by name -------------------------------------------------------


def _builtin(name: str) -> Callable[..., Any] | None:
    return _builtins().get(name)


@functools.cache
def _builtins() -> dict[str, Callable[..., Any]]:
    from crmcore.validation import _address, _dates, _email, _identifiers, _names, _phone

    return {
        "text": normalize_text,
        "phone": _phone.normalize_phone,
        "email": _email.normalize_email,
        "name": _names.normalize_name,
        "date": _dates.normalize_date,
        "datetime": _dates.normalize_datetime,
        "country": _address.normalize_country,
        "postcode": _address.normalize_postcode,
        "address": _address.normalize_address,
        "national_id": lambda v, **kw: _identifiers.validate_national_id(v, **kw).value,
        "uscc": lambda v, **kw: _identifiers.validate_uscc(v, **kw).value,
        "iban": lambda v, **kw: _identifiers.validate_iban(v, **kw).value,
    }


#: Names accepted as ``FieldRule.normalizer`` (plus any identifier registry kind).
NORMALIZER_NAMES = (
    "address",
    "country",
    "date",
    "datetime",
    "email",
    "iban",
    "name",
    "national_id",
    "phone",
    "postcode",
    "text",
    "uscc",
)

# Codes whose messages may quote parts of the value (third-party or user text).
_UNTRUSTED_MESSAGE_CODES = frozenset(
    {"email_invalid", "email_undeliverable", "email_too_long", "check_failed", "invalid"}
)


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigurationError(f"invalid regex {pattern!r}: {exc}") from None


def _opt_tuple(value: Iterable[Any] | None) -> tuple[Any, ...] | None:
    return None if value is None else tuple(value)


def _options(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value or {})


def _checks(value: Iterable[Check]) -> tuple[Check, ...]:
    return tuple(value)


def _names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _rule_map(value: Mapping[str, FieldRule]) -> dict[str, FieldRule]:
    return dict(value)


def _name_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


# -- field rules ---------------------------------------------------------------------------


@attrs.frozen
class FieldRule:
    """What a field must look like. Every setting is optional (``None`` = not set).

    Checks run in this order on a non-empty value: ``normalizer`` (a name from
    :data:`NORMALIZER_NAMES`, an identifier kind, or a callable), then
    ``choices``, ``regex`` (full match), ``min_length``/``max_length``,
    ``min_value``/``max_value``, then each of ``checks``. An empty value (None,
    blank text, empty collection) only fails ``required``; otherwise it gets
    ``default`` if one is set.

    Args:
        required: the value must be present and non-empty.
        normalizer: name or callable that normalises (and validates) the value.
        options: keyword arguments for a named normaliser (``{"region": "US"}``).
        choices: allowed (normalised) values.
        regex: pattern the text must fully match.
        min_length: shortest length (text or collection).
        max_length: longest length.
        min_value: smallest value (numbers, dates...).
        max_value: largest value.
        checks: callables; returning ``False`` or raising means invalid.
        each: the value is a list; apply the rule to each item (``$.phones[1]``).
        sensitive: never keep this field's value in errors.
        default: value used when the field is empty and not required.

    Raises:
        ConfigurationError: a setting is malformed (bad regex, negative length...).
    """

    required: bool | None = None
    normalizer: str | Normalizer | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict, converter=_options)
    choices: tuple[Any, ...] | None = attrs.field(default=None, converter=_opt_tuple)
    regex: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_value: Any = None
    max_value: Any = None
    checks: tuple[Check, ...] = attrs.field(default=(), converter=_checks)
    each: bool | None = None
    sensitive: bool | None = None
    default: Any = None

    def __attrs_post_init__(self) -> None:
        for key in ("required", "each", "sensitive"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, bool):
                raise ConfigurationError(f"{key} must be true or false, not {value!r}")
        if self.regex is not None:
            if not isinstance(self.regex, str):
                raise ConfigurationError("regex must be text")
            _compile(self.regex)
        for key in ("min_length", "max_length"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ConfigurationError(f"{key} must be a non-negative int, not {value!r}")
        if self.normalizer is not None and not (
            isinstance(self.normalizer, str) or callable(self.normalizer)
        ):
            raise ConfigurationError("normalizer must be a name or a callable")
        for check in self.checks:
            if not callable(check):
                raise ConfigurationError(f"check {check!r} is not callable")

    def merge(self, other: FieldRule) -> FieldRule:
        """This rule overridden by every setting ``other`` sets; checks and options add up."""
        changes: dict[str, Any] = {}
        for a in attrs.fields(FieldRule):
            theirs = getattr(other, a.name)
            if a.name == "checks":
                changes["checks"] = self.checks + tuple(c for c in theirs if c not in self.checks)
            elif a.name == "options":
                changes["options"] = {**self.options, **theirs}
            elif theirs is not None:
                changes[a.name] = theirs
        return attrs.evolve(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data; raises ConfigurationError if the rule holds callables."""
        if self.checks or callable(self.normalizer):
            raise ConfigurationError("a rule with callables cannot be turned into plain data")
        data: dict[str, Any] = {}
        for a in attrs.fields(FieldRule):
            value = getattr(self, a.name)
            if a.name == "options":
                if value:
                    data["options"] = dict(value)
            elif a.name == "choices":
                if value is not None:
                    data["choices"] = list(value)
            elif a.name != "checks" and value is not None:
                data[a.name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "rule") -> FieldRule:
        """Build a rule from plain data (the keys are the constructor's arguments).

        Raises:
            ConfigurationError: unknown keys or malformed settings.
        """
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"{where} must be a mapping")
        allowed = {a.name for a in attrs.fields(FieldRule)} - {"checks"}
        extra = set(data) - allowed
        if extra:
            raise ConfigurationError(f"{where}: unknown rule keys {', '.join(sorted(extra))}")
        normalizer = data.get("normalizer")
        if normalizer is not None and not isinstance(normalizer, str):
            raise ConfigurationError(f"{where}: normalizer must be a name")
        choices = data.get("choices")
        if choices is not None and (
            isinstance(choices, (str, bytes, Mapping)) or not isinstance(choices, Iterable)
        ):
            raise ConfigurationError(f"{where}: choices must be a list")
        options = data.get("options")
        if options is not None and not isinstance(options, Mapping):
            raise ConfigurationError(f"{where}: options must be a mapping")
        return cls(**data)


# -- record rules ----------------------------------------------------------------------------


class RecordRule(Protocol):
    """A rule over several fields of a record."""

    def check(self, record: Mapping[str, Any]) -> list[FieldError]:
        """The problems of ``record`` (a read-only view of normalised values)."""
        ...


@attrs.frozen
class RequireAny:
    """At least one of ``fields`` must be non-empty (code ``required_any``).

    The error is reported at the first field's path.
    """

    fields: tuple[str, ...] = attrs.field(converter=_names)

    def __attrs_post_init__(self) -> None:
        if not self.fields:
            raise ConfigurationError("require_any needs at least one field")

    def check(self, record: Mapping[str, Any]) -> list[FieldError]:
        """One ``required_any`` error if every field is empty."""
        if any(not is_empty(_get_path(record, f.split("."))[1]) for f in self.fields):
            return []
        names = ", ".join(self.fields)
        return [FieldError(f"$.{self.fields[0]}", "required_any", f"one of {names} is required")]


def require_any(*fields: str) -> RequireAny:
    """A record rule: one of ``fields`` must be filled (``require_any("email", "phone")``)."""
    return RequireAny(fields)


@attrs.frozen
class _CallableRule:
    """A record rule from a callable returning problems (or None)."""

    fn: Callable[[Mapping[str, Any]], Iterable[FieldError] | None]

    def check(self, record: Mapping[str, Any]) -> list[FieldError]:
        try:
            return list(self.fn(record) or ())
        except ValidationError as exc:
            return list(exc.errors)


def _record_rule(rule: object) -> RecordRule:
    if hasattr(rule, "check"):
        return cast(RecordRule, rule)
    if callable(rule):
        return _CallableRule(rule)
    raise ConfigurationError(f"record rule {rule!r} is neither a rule nor a callable")


def _record_rules(rules: Iterable[object]) -> tuple[RecordRule, ...]:
    return tuple(_record_rule(r) for r in rules)


# -- rule sets -------------------------------------------------------------------------------


@attrs.frozen
class RuleSet:
    """Field rules keyed by field name/path, record rules, sensitive fields.

    Args:
        fields: field name or dotted path -> :class:`FieldRule`.
        record_rules: cross-field rules (:func:`require_any`, or callables
            taking the record view and returning FieldErrors).
        sensitive: field names whose values never appear in errors.
        custom: schema for the custom-field mapping, if any.
        custom_field: the name of that mapping (``"custom"``).
    """

    fields: Mapping[str, FieldRule] = attrs.field(factory=dict, converter=_rule_map)
    record_rules: tuple[RecordRule, ...] = attrs.field(default=(), converter=_record_rules)
    sensitive: frozenset[str] = attrs.field(default=frozenset(), converter=_name_set)
    custom: CustomFieldSchema | None = None
    custom_field: str = "custom"

    def __attrs_post_init__(self) -> None:
        for name, rule in self.fields.items():
            if not isinstance(rule, FieldRule):
                raise ConfigurationError(f"rule for {name!r} must be a FieldRule")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleSet:
        """Build a rule set from plain data (as loaded from JSON or TOML).

        Example::

            {"fields": {"email": {"normalizer": "email"},
                        "phones": {"normalizer": "phone", "each": true,
                                   "options": {"region": "CN"}},
                        "status": {"required": true, "choices": ["lead", "customer"]}},
             "require_any": [["email", "phones"]],
             "sensitive": ["national_id"],
             "custom": [{"name": "tier", "type": "choice", "choices": ["A", "B"]}]}

        Raises:
            ConfigurationError: unknown keys, unknown normaliser names, bad settings.
        """
        if not isinstance(data, Mapping):
            raise ConfigurationError("rule set data must be a mapping")
        extra = set(data) - {"fields", "require_any", "sensitive", "custom", "custom_field"}
        if extra:
            raise ConfigurationError(f"unknown rule set keys: {', '.join(sorted(extra))}")
        raw_fields = data.get("fields")
        if raw_fields is None:
            raw_fields = {}
        if not isinstance(raw_fields, Mapping):
            raise ConfigurationError("'fields' must be a mapping of field name to rule")
        fields = {
            str(name): FieldRule.from_dict(rule or {}, where=f"fields.{name}")
            for name, rule in raw_fields.items()
        }
        for name, rule in fields.items():
            if isinstance(rule.normalizer, str) and not _known_normalizer(rule.normalizer):
                raise ConfigurationError(f"fields.{name}: unknown normalizer {rule.normalizer!r}")
        groups = data.get("require_any") or ()
        if isinstance(groups, str):
            raise ConfigurationError("'require_any' must be a list of lists of field names")
        record_rules: list[RecordRule] = []
        for group in groups:
            if isinstance(group, str) or not isinstance(group, Iterable):
                raise ConfigurationError("'require_any' must be a list of lists of field names")
            record_rules.append(RequireAny(tuple(str(g) for g in group)))
        sensitive = data.get("sensitive") or ()
        if isinstance(sensitive, str):
            raise ConfigurationError("'sensitive' must be a list of field names")
        custom_data = data.get("custom")
        custom = None
        if custom_data is not None:
            from crmcore.errors import SchemaError

            try:
                custom = CustomFieldSchema.from_dict(custom_data)
            except SchemaError as exc:
                raise ConfigurationError(f"custom: {exc}") from None
        return cls(
            fields=fields,
            record_rules=tuple(record_rules),
            sensitive=frozenset(str(s) for s in sensitive),
            custom=custom,
            custom_field=str(data.get("custom_field", "custom")),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back.

        Raises:
            ConfigurationError: the rule set holds callables or custom record rules.
        """
        data: dict[str, Any] = {"fields": {n: r.to_dict() for n, r in self.fields.items()}}
        groups = []
        for rule in self.record_rules:
            if not isinstance(rule, RequireAny):
                raise ConfigurationError("custom record rules cannot be turned into plain data")
            groups.append(list(rule.fields))
        if groups:
            data["require_any"] = groups
        if self.sensitive:
            data["sensitive"] = sorted(self.sensitive)
        if self.custom is not None:
            data["custom"] = self.custom.to_dict()
        if self.custom_field != "custom":
            data["custom_field"] = self.custom_field
        return data

    def merge(self, *others: RuleSet) -> RuleSet:
        """This rule set overridden by ``others`` (in order).

        Field rules merge setting by setting (:meth:`FieldRule.merge`), record
        rules and sensitive fields add up, the last custom schema given wins.
        """
        fields = dict(self.fields)
        record_rules = list(self.record_rules)
        sensitive = set(self.sensitive)
        custom = self.custom
        custom_field = self.custom_field
        for other in others:
            for name, rule in other.fields.items():
                fields[name] = fields[name].merge(rule) if name in fields else rule
            record_rules.extend(r for r in other.record_rules if r not in record_rules)
            sensitive |= other.sensitive
            if other.custom is not None:
                custom = other.custom
                custom_field = other.custom_field
        return RuleSet(
            fields=fields,
            record_rules=tuple(record_rules),
            sensitive=frozenset(sensitive),
            custom=custom,
            custom_field=custom_field,
        )

    def without(self, *names: str) -> RuleSet:
        """This rule set without the rules of ``names``."""
        return attrs.evolve(self, fields={n: r for n, r in self.fields.items() if n not in names})

    def validate(self, record: T, **kwargs: Any) -> T:
        """Shorthand for ``validate_record(record, self, **kwargs)``."""
        return validate_record(record, self, **kwargs)

    def compile(self) -> CompiledRules:
        """This rule set compiled once into a fast validator (:class:`CompiledRules`).

        The compiled validator gives the same records and the same errors as
        :func:`validate_record`; keep it and call it on every record.
        """
        return CompiledRules(self)


def _known_normalizer(name: str, identifiers: IdentifierRegistry | None = None) -> bool:
    return _builtin(name) is not None or name in (identifiers or default_registry())


# -- reading and writing records ----------------------------------------------------------------


def _get_path(record: object, parts: Iterable[str]) -> tuple[bool, Any]:
    cur = record
    for part in parts:
        if isinstance(cur, Mapping):
            if part not in cur:
                return False, None
            cur = cur[part]
        elif cur is not None and hasattr(cur, part) and not isinstance(cur, (str, bytes)):
            cur = getattr(cur, part)
        else:
            return False, None
    return True, cur


def _set_many(obj: object, changes: Mapping[tuple[str, ...], Any]) -> Any:
    direct: dict[str, Any] = {}
    nested: dict[str, dict[tuple[str, ...], Any]] = {}
    for path, value in changes.items():
        if len(path) == 1:
            direct[path[0]] = value
        else:
            nested.setdefault(path[0], {})[path[1:]] = value
    for head, sub in nested.items():
        base = direct[head] if head in direct else _get_path(obj, (head,))[1]
        direct[head] = _set_many(base, sub)
    if isinstance(obj, Mapping):
        out = dict(obj)
        out.update(direct)
        return out
    if attrs.has(type(obj)):
        inst: Any = obj
        aliases = {a.name: a.alias for a in attrs.fields(type(inst)) if a.init}
        return attrs.evolve(inst, **{aliases.get(k, k): v for k, v in direct.items()})
    return obj


class _View(Mapping[str, Any]):
    """Read-only mapping over a record with the normalised values applied."""

    def __init__(self, record: object, changes: Mapping[tuple[str, ...], Any]) -> None:
        self._record = record
        self._changes = changes

    def __getitem__(self, key: str) -> Any:
        if (key,) in self._changes:
            return self._changes[(key,)]
        found, value = _get_path(self._record, (key,))
        if not found:
            raise KeyError(key)
        nested = {p[1:]: v for p, v in self._changes.items() if len(p) > 1 and p[0] == key}
        return _View(value, nested) if nested else value

    def __iter__(self) -> Iterator[str]:
        if isinstance(self._record, Mapping):
            return iter(self._record)
        if attrs.has(type(self._record)):
            inst: Any = self._record
            return iter(a.name for a in attrs.fields(type(inst)))
        return iter(())

    def __len__(self) -> int:
        return sum(1 for _ in self)


# -- applying rules ---------------------------------------------------------------------------


def _repath(errors: Iterable[FieldError], path: str) -> list[FieldError]:
    """Errors from a callable, moved under ``path`` (their own root is dropped)."""
    out = []
    for e in errors:
        inner = e.path[2:] if e.path.startswith("$.") else e.path.lstrip("$")
        inner = inner.split(".", 1)[1] if "." in inner and not inner.startswith("[") else ""
        out.append(FieldError(f"{path}.{inner}" if inner else path, e.code, e.message, e.value))
    return out


def _normalize(
    value: Any, rule: FieldRule, path: str, identifiers: IdentifierRegistry
) -> tuple[Any, list[FieldError]]:
    normalizer = rule.normalizer
    if normalizer is None:
        return value, []
    try:
        if isinstance(normalizer, str):
            fn = _builtin(normalizer)
            if fn is not None:
                return fn(value, field=path, **rule.options), []
            if normalizer in identifiers:
                return identifiers.normalize(normalizer, value, field=path), []
            raise ConfigurationError(f"unknown normalizer {normalizer!r} for {path}")
        return normalizer(value), []
    except ValidationError as exc:
        if isinstance(normalizer, str):
            return value, list(exc.errors)
        return value, _repath(exc.errors, path)
    except CrmError:
        raise
    except (ValueError, TypeError) as exc:
        if isinstance(normalizer, str):
            raise
        return value, [FieldError(path, "invalid", str(exc) or "invalid value", value)]


def _apply_scalar(
    value: Any, rule: FieldRule, path: str, identifiers: IdentifierRegistry
) -> tuple[Any, list[FieldError]]:
    value, errors = _normalize(value, rule, path, identifiers)
    if errors:
        return value, errors
    if rule.choices is not None and value not in rule.choices:
        errors.append(FieldError(path, "choice_invalid", "is not one of the allowed values", value))
    if rule.regex is not None:
        if not isinstance(value, str):
            errors.append(FieldError(path, WRONG_TYPE, f"must be text, not {type_name(value)}"))
        elif _compile(rule.regex).fullmatch(value) is None:
            errors.append(
                FieldError(path, "pattern_mismatch", "does not have the expected format", value)
            )
    if rule.min_length is not None or rule.max_length is not None:
        try:
            size = len(value)
        except TypeError:
            errors.append(FieldError(path, WRONG_TYPE, f"{type_name(value)} has no length"))
        else:
            if rule.min_length is not None and size < rule.min_length:
                errors.append(
                    FieldError(path, "min_length", f"is shorter than {rule.min_length}", value)
                )
            if rule.max_length is not None and size > rule.max_length:
                errors.append(
                    FieldError(path, "max_length", f"is longer than {rule.max_length}", value)
                )
    try:
        if rule.min_value is not None and value < rule.min_value:
            errors.append(
                FieldError(path, "min_value", f"must be at least {rule.min_value}", value)
            )
        if rule.max_value is not None and value > rule.max_value:
            errors.append(FieldError(path, "max_value", f"must be at most {rule.max_value}", value))
    except TypeError:
        errors.append(FieldError(path, WRONG_TYPE, "cannot be compared with the allowed range"))
    for check in rule.checks:
        name = getattr(check, "__name__", "check")
        try:
            ok = check(value)
        except ValidationError as exc:
            errors.extend(_repath(exc.errors, path))
            continue
        except CrmError:
            raise
        except (ValueError, TypeError) as exc:
            errors.append(FieldError(path, "check_failed", str(exc) or f"failed {name}", value))
            continue
        if ok is False:
            errors.append(FieldError(path, "check_failed", f"failed {name}", value))
    return value, errors


def _apply(
    value: Any, rule: FieldRule, path: str, identifiers: IdentifierRegistry
) -> tuple[Any, list[FieldError]]:
    if is_empty(value):
        if rule.required:
            return value, [FieldError(path, "required", "is required")]
        if rule.default is not None:
            return rule.default, []
        return value, []
    if not rule.each:
        return _apply_scalar(value, rule, path, identifiers)
    if not isinstance(value, (list, tuple)):
        return value, [FieldError(path, WRONG_TYPE, f"must be a list, not {type_name(value)}")]
    items: list[Any] = []
    errors: list[FieldError] = []
    for i, item in enumerate(value):
        new, errs = _apply_scalar(item, rule, f"{path}[{i}]", identifiers)
        items.append(new)
        errors.extend(errs)
    return (tuple(items) if isinstance(value, tuple) else items), errors


def _is_sensitive(name: str, sensitive: Collection[str]) -> bool:
    if not sensitive:
        return False
    head = name.split(".", 1)[0].split("[", 1)[0]
    return name in sensitive or head in sensitive or f"$.{name}" in sensitive


def _redact(errors: Iterable[FieldError]) -> list[FieldError]:
    out = []
    for e in errors:
        message = "invalid value" if e.code in _UNTRUSTED_MESSAGE_CODES else e.message
        out.append(FieldError(e.path, e.code, message, redact=True))
    return out


@overload
def validate_record(
    record: Mapping[str, Any],
    rules: RuleSet,
    *,
    entity: str | None = ...,
    id: object | None = ...,
    sensitive: Collection[str] = ...,
    identifiers: IdentifierRegistry | None = ...,
) -> dict[str, Any]: ...


@overload
def validate_record(
    record: T,
    rules: RuleSet,
    *,
    entity: str | None = ...,
    id: object | None = ...,
    sensitive: Collection[str] = ...,
    identifiers: IdentifierRegistry | None = ...,
) -> T: ...


def validate_record(
    record: Any,
    rules: RuleSet,
    *,
    entity: str | None = None,
    id: object | None = None,
    sensitive: Collection[str] = frozenset(),
    identifiers: IdentifierRegistry | None = None,
) -> Any:
    """Validate and normalise a record, reporting every field problem at once.

    Args:
        record: a mapping (a notebook row...) or an attrs instance (an entity).
        rules: the :class:`RuleSet` to apply.
        entity: entity name for the error message (default: the attrs class name).
        id: record id for the error message (default: the record's ``id``).
        sensitive: extra field names whose values must not appear in errors
            (added to the rule set's and the rules' own).
        identifiers: registry for identifier normalisers (default: the global one).

    Returns:
        A normalised copy: a ``dict`` for a mapping, an ``attrs.evolve``'d copy
        for an attrs instance. The input is never modified.

    Raises:
        ValidationError: listing every problem, paths like ``"$.phones[1]"``,
            values of sensitive fields redacted.
        ConfigurationError: a rule names an unknown normaliser.
    """
    is_mapping = isinstance(record, Mapping)
    if not is_mapping and not attrs.has(type(record)):
        raise ValidationError(
            [
                FieldError(
                    "$",
                    WRONG_TYPE,
                    f"record must be a mapping or attrs instance, not {type_name(record)}",
                )
            ],
            entity=entity,
            id=id,
        )
    if entity is None and not is_mapping:
        entity = type(record).__name__
    if id is None:
        id = _get_path(record, ("id",))[1]
    registry = identifiers or default_registry()
    hidden = set(sensitive) | rules.sensitive
    hidden |= {name for name, rule in rules.fields.items() if rule.sensitive}
    errors: list[FieldError] = []
    changes: dict[tuple[str, ...], Any] = {}
    for name, rule in rules.fields.items():
        parts = tuple(name.split("."))
        found, value = _get_path(record, parts)
        new, errs = _apply(value, rule, f"$.{name}", registry)
        if errs:
            errors.extend(_redact(errs) if _is_sensitive(name, hidden) else errs)
        elif new is not value and (found or (is_mapping and len(parts) == 1)):
            changes[parts] = new
    if rules.custom is not None:
        key = rules.custom_field
        found, values = _get_path(record, (key,))
        try:
            validated = rules.custom.validate(values, path=f"$.{key}")
            if found or validated:
                changes[(key,)] = validated
        except ValidationError as exc:
            errs = list(exc.errors)
            errors.extend(_redact(errs) if _is_sensitive(key, hidden) else errs)
    if rules.record_rules:
        view = _View(record, changes)
        for record_rule in rules.record_rules:
            errs = record_rule.check(view)
            errors.extend(
                e if not _is_sensitive(e.field, hidden) else _redact([e])[0] for e in errs
            )
    if errors:
        raise ValidationError(errors, entity=entity, id=id)
    return _set_many(record, changes) if changes or is_mapping else attrs.evolve(record)


# -- compiled validators -----------------------------------------------------------------------

# A compiled field step: value -> (normalised value, errors or None).
_Step = Callable[[Any, IdentifierRegistry], tuple[Any, "list[FieldError] | None"]]

# Pure normalisers whose results are worth remembering (names repeat a lot in real data).
_MEMO_NORMALIZERS = frozenset({"name"})
_MEMO_SIZE = 4096
_EMPTY_COLLECTIONS = (list, tuple, set, frozenset, dict)
_ABSENT = object()
_EMPTYABLE = (str, *_EMPTY_COLLECTIONS)


def _only_normalizes(rule: FieldRule) -> bool:
    """Whether ``rule`` does nothing but normalise (plus required/default)."""
    return (
        rule.choices is None
        and rule.regex is None
        and rule.min_length is None
        and rule.max_length is None
        and rule.min_value is None
        and rule.max_value is None
        and not rule.checks
        and not rule.each
    )


def _compile_step(name: str, rule: FieldRule) -> _Step:
    """One field's rule as a closure: the normaliser resolved once, no per-call lookups.

    Gives exactly what :func:`_apply` gives; rules that do more than normalise
    with a built-in normaliser run :func:`_apply` itself.
    """
    path = f"$.{name}"
    fn = _builtin(rule.normalizer) if isinstance(rule.normalizer, str) else None
    if fn is None or not _only_normalizes(rule):

        def generic(
            value: Any, registry: IdentifierRegistry
        ) -> tuple[Any, list[FieldError] | None]:
            new, errs = _apply(value, rule, path, registry)
            return new, errs or None

        return generic
    required = bool(rule.required)
    default = rule.default
    options = dict(rule.options)
    memo: dict[str, Any] | None = {} if rule.normalizer in _MEMO_NORMALIZERS else None

    def step(value: Any, registry: IdentifierRegistry) -> tuple[Any, list[FieldError] | None]:
        if value is None or (
            not value.strip()
            if isinstance(value, str)
            else isinstance(value, _EMPTY_COLLECTIONS) and not value
        ):
            if required:
                return value, [FieldError(path, "required", "is required")]
            return (value, None) if default is None else (default, None)
        if memo is not None and type(value) is str:
            found = memo.get(value)
            if found is not None:
                return found, None
        try:
            new = fn(value, field=path, **options)
        except ValidationError as exc:
            return value, list(exc.errors)
        if memo is not None and type(value) is str:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[value] = new
        return new, None

    return step


_Plan = tuple[dict[str, "Callable[[Any], Any] | None"], Callable[[Any], Any]]


@functools.cache
def _rebuild_plan(cls: type) -> _Plan | None:
    """How to copy an instance of attrs ``cls`` with new values without ``attrs.evolve``.

    Returns ``(converter or None per field, a generated copier)``, or None when
    ``cls`` needs ``evolve`` (validators, post-init hooks, converters that take
    the instance, aliased or non-init fields). The copier copies every field as
    it is, except mappings held by fields with a converter, which it copies
    afresh, as their converter would.
    """
    if getattr(cls, "__attrs_post_init__", None) is not None or not hasattr(cls, "__slots__"):
        return None
    if "_attrs_cached_hash" in cls.__slots__:  # cache_hash=True: the copy would lack it
        return None
    converters: dict[str, Callable[[Any], Any] | None] = {}
    for a in attrs.fields(cls):
        if not a.init or a.alias != a.name or a.validator is not None:
            return None
        conv = a.converter
        if conv is not None and (not callable(conv) or isinstance(conv, attrs.Converter)):
            return None
        converters[a.name] = conv
    # helpers as default arguments: local names, no global lookup per field
    lines = ["def copy(obj, new_=new_, cls=cls, put=put):", "    new = new_(cls)"]
    for name, conv in converters.items():
        if conv is None:
            lines.append(f"    put(new, {name!r}, obj.{name})")
        else:
            lines += [
                f"    value = obj.{name}",
                f"    put(new, {name!r}, dict(value) if value.__class__ is dict else value)",
            ]
    lines.append("    return new")
    namespace: dict[str, Any] = {"new_": object.__new__, "cls": cls, "put": object.__setattr__}
    exec("\n".join(lines), namespace)
    return converters, namespace["copy"]


def _rebuild_in_place(record: Any, direct: Mapping[str, Any]) -> Any:
    """What :func:`_rebuild` gives, written into ``record`` itself (a copy no one else holds).

    Mappings held by fields with a converter are replaced by fresh copies, as
    in :func:`_rebuild`. Classes that need ``evolve`` get :func:`_rebuild`.
    """
    cls: type = type(record)
    plan = _rebuild_plan(cls)
    if plan is None:
        return _rebuild(record, direct)
    converters = plan[0]
    put = object.__setattr__
    for name, conv in converters.items():
        if conv is None:
            continue
        if name in direct:
            put(record, name, conv(direct[name]))
        else:
            value = getattr(record, name)
            if value.__class__ is dict:
                put(record, name, dict(value))
    for name, value in direct.items():
        if converters[name] is None:
            put(record, name, value)
    return record


def _rebuild(record: Any, direct: Mapping[str, Any]) -> Any:
    """``attrs.evolve(record, **direct)`` for a record whose other values are already converted.

    Converters of the changed fields run; unchanged fields are copied (mappings
    as fresh copies, as the converters of entities make them). Falls back to
    ``evolve`` for classes with validators or post-init hooks.
    """
    cls: type = type(record)
    plan = _rebuild_plan(cls)
    if plan is None:
        if not direct:
            return attrs.evolve(record)
        return _set_many(record, {(k,): v for k, v in direct.items()})
    converters, copy = plan
    new = copy(record)
    put = object.__setattr__
    for name, value in direct.items():
        conv = converters[name]
        put(new, name, value if conv is None else conv(value))
    return new


class CompiledRules:
    """A :class:`RuleSet` compiled for attrs records: what ``validate_record`` does, faster.

    Built by :meth:`RuleSet.compile`. Calling it gives the same record and the
    same errors as ``validate_record(record, rules, ...)``; mappings and rule
    sets with dotted paths simply run ``validate_record``.
    """

    __slots__ = ("_generic", "_hidden", "_plain", "_rules", "_steps")

    def __init__(self, rules: RuleSet) -> None:
        self._rules = rules
        # per record class: whether it takes the compiled path (attrs, not a mapping)
        self._plain: dict[type, bool] = {}
        self._generic = any("." in name for name in rules.fields)
        hidden = set(rules.sensitive)
        hidden |= {name for name, rule in rules.fields.items() if rule.sensitive}
        self._hidden = frozenset(hidden)
        # (name, step, sensitive, whether an empty value is left as it is)
        self._steps = tuple(
            (
                name,
                _compile_step(name, rule),
                _is_sensitive(name, self._hidden),
                not rule.required and rule.default is None,
            )
            for name, rule in rules.fields.items()
        )

    def __call__(
        self,
        record: T,
        *,
        entity: str | None = None,
        id: object | None = None,
        identifiers: IdentifierRegistry | None = None,
        owned: bool = False,
    ) -> T:
        """Validate and normalise ``record`` (see :func:`validate_record`).

        ``owned``: the caller made ``record`` for this call and shares it with
        no one (a freshly stamped copy); the normalised values may then be
        written into it instead of into yet another copy. Either way the
        result is equal to ``validate_record``'s.
        """
        rules = self._rules
        cls = type(record)
        plain = self._plain.get(cls)
        if plain is None:
            plain = self._plain[cls] = (
                not self._generic and not issubclass(cls, Mapping) and attrs.has(cls)
            )
        if not plain:
            return validate_record(record, rules, entity=entity, id=id, identifiers=identifiers)
        if entity is None:
            entity = cls.__name__
        if id is None:
            id = getattr(record, "id", None)
        registry = identifiers or default_registry()
        errors: list[FieldError] = []
        direct: dict[str, Any] = {}
        for name, step, sensitive, empty_ok in self._steps:
            value = getattr(record, name, _ABSENT)
            if value is _ABSENT:
                found, value = False, None
            else:
                found = True
            if empty_ok and not value and (value is None or isinstance(value, _EMPTYABLE)):
                continue  # empty, not required, no default: nothing to do
            new, errs = step(value, registry)
            if errs:
                errors.extend(_redact(errs) if sensitive else errs)
            elif new is not value and found:
                direct[name] = new
        if rules.custom is not None or rules.record_rules:
            changes: dict[tuple[str, ...], Any] = {(k,): v for k, v in direct.items()}
            hidden = self._hidden
            if rules.custom is not None:
                key = rules.custom_field
                found, values = _get_path(record, (key,))
                try:
                    validated = rules.custom.validate(values, path=f"$.{key}")
                    if found or validated:
                        changes[(key,)] = direct[key] = validated
                except ValidationError as exc:
                    errs = list(exc.errors)
                    errors.extend(_redact(errs) if _is_sensitive(key, hidden) else errs)
            if rules.record_rules:
                view = _View(record, changes)
                for record_rule in rules.record_rules:
                    for e in record_rule.check(view):
                        errors.append(e if not _is_sensitive(e.field, hidden) else _redact([e])[0])
        if errors:
            raise ValidationError(errors, entity=entity, id=id)
        if owned:
            return cast(T, _rebuild_in_place(record, direct))
        return cast(T, _rebuild(record, direct))
