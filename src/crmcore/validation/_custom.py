"""Custom-field schemas: tenant-declared typed fields, value coercion, safe schema changes.

A :class:`CustomFieldSchema` checks the ``custom`` mapping of a record: it
coerces values to their declared type ("12.50" -> ``Decimal("12.50")`` for a
decimal, "2024-10-05" -> ``date`` for a date), reports every problem at once
under ``$.custom.<name>``, and refuses a schema change that would orphan or
invalidate data already stored (:meth:`CustomFieldSchema.change_to`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from crmcore.errors import FieldError, SchemaError, ValidationError
from crmcore.validation._common import WRONG_TYPE, clean_text, is_empty, type_name

__all__ = [
    "CustomField",
    "CustomFieldSchema",
    "CustomFieldType",
    "SchemaChangeError",
    "SchemaChangeProblem",
]

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "on", "是", "对", "真"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off", "否", "不", "假"})
_MAX_TEXT = 100_000


class CustomFieldType(str, Enum):
    """The value types a custom field can declare."""

    TEXT = "text"
    NUMBER = "number"
    DECIMAL = "decimal"
    DATE = "date"
    BOOL = "bool"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"


def _to_type(value: object) -> CustomFieldType:
    try:
        return CustomFieldType(getattr(value, "value", value))
    except ValueError:
        kinds = ", ".join(t.value for t in CustomFieldType)
        raise SchemaError(f"unknown custom field type {value!r} (one of {kinds})") from None


def _opt_choices(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _options(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value or {})


def _field_tuple(value: Iterable[CustomField]) -> tuple[CustomField, ...]:
    return tuple(value)


def _err(path: str, code: str, message: str, value: object = None) -> ValidationError:
    return ValidationError([FieldError(path, code, message, value)])


@attrs.frozen
class CustomField:
    """One declared custom field.

    Args:
        name: key in the ``custom`` mapping (letters, digits, ``_``; at most 64).
        type: a :class:`CustomFieldType` or its name (``"decimal"``...).
        required: a value must be present (unless ``default`` is set).
        default: used when the value is missing; must itself be valid.
        choices: allowed values for ``choice``/``multi_choice``.
        max_length: longest text (text, email, url).
        min_value: smallest number (number, decimal) or earliest date.
        max_value: largest number or latest date.
        options: extra arguments for the normaliser (``{"region": "US"}`` for
            a phone, ``{"order": "DMY"}`` for a date).
        label: a display label.

    Raises:
        SchemaError: the definition is inconsistent.
    """

    name: str
    type: CustomFieldType = attrs.field(converter=_to_type)
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] | None = attrs.field(default=None, converter=_opt_choices)
    max_length: int | None = None
    min_value: Any = None
    max_value: Any = None
    options: Mapping[str, Any] = attrs.field(factory=dict, converter=_options)
    label: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise SchemaError(f"custom field name {self.name!r} must be letters, digits or _")
        choice_types = (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE)
        if self.type in choice_types:
            if not self.choices:
                raise SchemaError(f"custom field {self.name!r}: {self.type.value} needs choices")
            if len(set(self.choices)) != len(self.choices):
                raise SchemaError(f"custom field {self.name!r}: duplicate choices")
            if not all(isinstance(c, str) and c for c in self.choices):
                raise SchemaError(f"custom field {self.name!r}: choices must be non-empty text")
        elif self.choices is not None:
            raise SchemaError(f"custom field {self.name!r}: choices only apply to choice types")
        self._coerce_bounds()
        if self.max_length is not None and (
            not isinstance(self.max_length, int) or self.max_length < 1
        ):
            raise SchemaError(f"custom field {self.name!r}: max_length must be a positive int")
        if self.default is not None:
            try:
                self.coerce(self.default, path=f"$.custom.{self.name}")
            except ValidationError as exc:
                raise SchemaError(
                    f"custom field {self.name!r}: default is not valid ({exc.codes[0]})"
                ) from None

    def _coerce_bounds(self) -> None:
        """Read min/max given as plain data ("2020-01-01", "0.5") in the field's type."""
        if self.type not in (CustomFieldType.DATE, CustomFieldType.DECIMAL, CustomFieldType.NUMBER):
            return
        for key in ("min_value", "max_value"):
            bound = getattr(self, key)
            if bound is None:
                continue
            try:
                typed = _COERCERS[self.type](self, bound, f"{key}")
            except ValidationError:
                raise SchemaError(
                    f"custom field {self.name!r}: {key} is not a valid bound"
                ) from None
            object.__setattr__(self, key, typed)

    # -- coercion -------------------------------------------------------------------

    def coerce(self, value: object, *, path: str | None = None) -> Any:
        """Convert a non-empty value to this field's type, or raise ValidationError.

        Args:
            value: the raw value (text from a form or a file, or a typed value).
            path: error path (defaults to ``$.custom.<name>``).

        Returns:
            The typed value: str, int/float, Decimal, date, bool, tuple of
            choices...

        Raises:
            ValidationError: with codes such as ``wrong_type``,
                ``number_invalid``, ``decimal_invalid``, ``bool_invalid``,
                ``choice_invalid``, ``url_invalid``, ``max_length``,
                ``min_value``, ``max_value`` and the normaliser codes.
        """
        path = path or f"$.custom.{self.name}"
        result = _COERCERS[self.type](self, value, path)
        if self.min_value is not None or self.max_value is not None:
            _check_range(self, result, path, value)
        return result

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON/TOML-like) describing this field."""
        data: dict[str, Any] = {"name": self.name, "type": self.type.value}
        if self.required:
            data["required"] = True
        for key in ("default", "max_length", "min_value", "max_value", "label"):
            value = getattr(self, key)
            if isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, Decimal) and key != "default":
                value = str(value)
            if value is not None:
                data[key] = value
        if self.choices is not None:
            data["choices"] = list(self.choices)
        if self.options:
            data["options"] = dict(self.options)
        return data


def _check_range(f: CustomField, result: Any, path: str, raw: object) -> None:
    try:
        if f.min_value is not None and result < f.min_value:
            raise _err(path, "min_value", f"must be at least {f.min_value}", raw)
        if f.max_value is not None and result > f.max_value:
            raise _err(path, "max_value", f"must be at most {f.max_value}", raw)
    except TypeError:
        raise _err(path, WRONG_TYPE, "cannot be compared with the allowed range", raw) from None


def _text(f: CustomField, value: object, path: str) -> str:
    if not isinstance(value, str):
        raise _err(path, WRONG_TYPE, f"must be text, not {type_name(value)}")
    s = value.strip()
    limit = f.max_length or _MAX_TEXT
    if len(s) > limit:
        raise _err(path, "max_length", f"is longer than {limit} characters", value)
    return s


def _number(f: CustomField, value: object, path: str) -> int | float:
    if isinstance(value, bool):
        raise _err(path, WRONG_TYPE, "must be a number, not bool")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _err(path, "number_invalid", "must be a finite number", value)
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _err(path, "number_invalid", "must be a finite number", value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str):
        s = clean_text(value)
        if len(s) <= 100 and _INT_RE.fullmatch(s):
            return int(s)
        if len(s) <= 100 and _FLOAT_RE.fullmatch(s):
            number = float(s)
            if math.isfinite(number):
                return number
        raise _err(path, "number_invalid", "is not a number", value)
    raise _err(path, WRONG_TYPE, f"must be a number, not {type_name(value)}")


def _decimal(f: CustomField, value: object, path: str) -> Decimal:
    if isinstance(value, bool):
        raise _err(path, WRONG_TYPE, "must be a decimal number, not bool")
    result: Decimal
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _err(path, "decimal_invalid", "must be a finite number", value)
        result = Decimal(repr(value))
    elif isinstance(value, str):
        s = clean_text(value).replace(" ", "")
        if len(s) > 100 or not _DECIMAL_RE.fullmatch(s):
            raise _err(path, "decimal_invalid", "is not a decimal number", value)
        try:
            result = Decimal(s)
        except InvalidOperation:
            raise _err(path, "decimal_invalid", "is not a decimal number", value) from None
    else:
        raise _err(path, WRONG_TYPE, f"must be a decimal number, not {type_name(value)}")
    if not result.is_finite():
        raise _err(path, "decimal_invalid", "must be a finite number", value)
    return result


def _date(f: CustomField, value: object, path: str) -> dt.date:
    from crmcore.validation._dates import normalize_date

    if not isinstance(value, (str, dt.date)):
        raise _err(path, WRONG_TYPE, f"must be a date, not {type_name(value)}")
    return normalize_date(value, field=path, **f.options)


def _bool(f: CustomField, value: object, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        s = clean_text(value).casefold()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    raise _err(path, "bool_invalid", "is not a yes/no value", value)


def _choice_lookup(f: CustomField, item: object, path: str) -> str:
    choices = f.choices or ()
    if isinstance(item, str):
        if item in choices:
            return item
        s = clean_text(item).casefold()
        for choice in choices:
            if choice.casefold() == s:
                return choice
        raise _err(path, "choice_invalid", "is not one of the allowed choices", item)
    raise _err(path, WRONG_TYPE, f"must be text, not {type_name(item)}")


def _choice(f: CustomField, value: object, path: str) -> str:
    return _choice_lookup(f, value, path)


def _multi_choice(f: CustomField, value: object, path: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
        raise _err(path, WRONG_TYPE, f"must be a list of choices, not {type_name(value)}")
    errors: list[FieldError] = []
    picked: set[str] = set()
    for i, item in enumerate(value):
        try:
            picked.add(_choice_lookup(f, item, f"{path}[{i}]"))
        except ValidationError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationError(errors)
    return tuple(c for c in (f.choices or ()) if c in picked)


def _email(f: CustomField, value: object, path: str) -> str:
    from crmcore.validation._email import normalize_email

    result = normalize_email(value, field=path, **f.options)  # type: ignore[arg-type]
    if f.max_length is not None and len(result) > f.max_length:
        raise _err(path, "max_length", f"is longer than {f.max_length} characters", value)
    return result


def _phone(f: CustomField, value: object, path: str) -> str:
    from crmcore.validation._phone import normalize_phone

    return normalize_phone(value, field=path, **f.options)  # type: ignore[arg-type]


def _url(f: CustomField, value: object, path: str) -> str:
    if not isinstance(value, str):
        raise _err(path, WRONG_TYPE, f"must be text, not {type_name(value)}")
    s = clean_text(value)
    limit = f.max_length or 2048
    if len(s) > limit:
        raise _err(path, "max_length", f"is longer than {limit} characters", value)
    if "://" not in s and re.match(r"[\w-]+(\.[\w-]+)+(?:[:/?#]|$)", s):
        s = "https://" + s
    schemes = tuple(f.options.get("schemes", ("http", "https")))
    try:
        parts = urlsplit(s)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise _err(path, "url_invalid", "is not a valid URL", value) from None
    if parts.scheme.lower() not in schemes or not host or " " in s:
        raise _err(path, "url_invalid", f"is not a valid {'/'.join(schemes)} URL", value)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo}{at}{hostport.lower()}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


_COERCERS = {
    CustomFieldType.TEXT: _text,
    CustomFieldType.NUMBER: _number,
    CustomFieldType.DECIMAL: _decimal,
    CustomFieldType.DATE: _date,
    CustomFieldType.BOOL: _bool,
    CustomFieldType.CHOICE: _choice,
    CustomFieldType.MULTI_CHOICE: _multi_choice,
    CustomFieldType.EMAIL: _email,
    CustomFieldType.PHONE: _phone,
    CustomFieldType.URL: _url,
}


# -- schema changes ---------------------------------------------------------------------


@attrs.frozen
class SchemaChangeProblem:
    """Why a schema change was refused, for one field.

    Attributes:
        field: the custom field's name.
        reason: ``"removed"`` (values would be orphaned), ``"invalid"``
            (values the new definition refuses) or ``"missing_required"``
            (records without a value for a new required field).
        records: how many records are affected.
        codes: for ``"invalid"``: how many records failed with each error code.
    """

    field: str
    reason: str
    records: int
    codes: Mapping[str, int] = attrs.field(factory=dict)

    def describe(self) -> str:
        """One readable line."""
        one = self.records == 1
        n = f"{self.records} record{'' if one else 's'}"
        hold, have = ("holds", "has") if one else ("hold", "have")
        if self.reason == "removed":
            return f"field {self.field!r} would be removed but {n} {hold} values"
        if self.reason == "missing_required":
            return f"field {self.field!r} becomes required but {n} {have} no value"
        codes = ", ".join(f"{c}: {k}" for c, k in sorted(self.codes.items()))
        return f"field {self.field!r}: {n} {hold} values the new definition refuses ({codes})"


class SchemaChangeError(SchemaError):
    """A custom-field schema change would orphan or invalidate stored data.

    Attributes:
        problems: one :class:`SchemaChangeProblem` per affected field.
    """

    code = "schema_change_refused"

    def __init__(self, problems: Sequence[SchemaChangeProblem]) -> None:
        self.problems = tuple(problems)
        details = "; ".join(p.describe() for p in self.problems)
        super().__init__(f"custom-field schema change refused: {details}")


# -- the schema ----------------------------------------------------------------------------


@attrs.frozen
class CustomFieldSchema:
    """The custom fields a tenant declares for one entity.

    Args:
        fields: the declared fields.
        allow_unknown: keep undeclared keys instead of refusing them.

    Raises:
        SchemaError: two fields share a name.
    """

    fields: tuple[CustomField, ...] = attrs.field(converter=_field_tuple)
    allow_unknown: bool = False

    def __attrs_post_init__(self) -> None:
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SchemaError(f"custom fields declared twice: {', '.join(dupes)}")

    @property
    def names(self) -> tuple[str, ...]:
        """The declared field names, in order."""
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> CustomField | None:
        """The field called ``name``, or None."""
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def __contains__(self, name: object) -> bool:
        return any(f.name == name for f in self.fields)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> CustomFieldSchema:
        """Build a schema from plain data.

        Args:
            data: a list of field mappings (``{"name": ..., "type": ...}``), or
                a mapping ``{"fields": [...], "allow_unknown": bool}``.

        Raises:
            SchemaError: the data does not describe a valid schema.
        """
        allow_unknown = False
        items: Any = data
        if isinstance(data, Mapping):
            extra = set(data) - {"fields", "allow_unknown"}
            if extra:
                raise SchemaError(f"unknown custom schema keys: {', '.join(sorted(extra))}")
            items = data.get("fields", ())
            allow_unknown = bool(data.get("allow_unknown", False))
        fields: list[CustomField] = []
        allowed = {f.name for f in attrs.fields(CustomField)}
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise SchemaError(f"custom field #{i} must be a mapping")
            extra = set(item) - allowed
            if extra:
                raise SchemaError(f"custom field #{i}: unknown keys {', '.join(sorted(extra))}")
            if "name" not in item or "type" not in item:
                raise SchemaError(f"custom field #{i} needs a name and a type")
            fields.append(CustomField(**item))
        return cls(fields, allow_unknown=allow_unknown)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back."""
        return {"fields": [f.to_dict() for f in self.fields], "allow_unknown": self.allow_unknown}

    def validate(
        self, values: Mapping[str, Any] | None, *, path: str = "$.custom"
    ) -> dict[str, Any]:
        """Check and coerce a record's custom values, reporting every problem at once.

        Args:
            values: the record's custom mapping (None counts as empty).
            path: where the mapping lives, for error paths.

        Returns:
            A new dict: declared fields coerced, defaults filled in, empty
            optional fields left out, undeclared keys kept if allowed.

        Raises:
            ValidationError: ``required``, ``custom_unknown_field``,
                ``wrong_type`` and each type's codes, at ``<path>.<name>``.
        """
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            raise _err(
                path, WRONG_TYPE, f"custom values must be a mapping, not {type_name(values)}"
            )
        out: dict[str, Any] = {}
        errors: list[FieldError] = []
        declared = {f.name: f for f in self.fields}
        for key, value in values.items():
            if key not in declared:
                if self.allow_unknown:
                    out[key] = value
                else:
                    errors.append(
                        FieldError(
                            f"{path}.{key}",
                            "custom_unknown_field",
                            "is not a declared custom field",
                        )
                    )
        for f in self.fields:
            value = values.get(f.name)
            fpath = f"{path}.{f.name}"
            if is_empty(value):
                if f.default is not None:
                    out[f.name] = f.coerce(f.default, path=fpath)
                elif f.required:
                    errors.append(FieldError(fpath, "required", "is required"))
                continue
            try:
                out[f.name] = f.coerce(value, path=fpath)
            except ValidationError as exc:
                errors.extend(exc.errors)
        if errors:
            raise ValidationError(errors)
        return out

    def change_to(
        self,
        new_schema: CustomFieldSchema,
        existing_values: Iterable[Mapping[str, Any] | None],
    ) -> None:
        """Refuse a change that would orphan or invalidate stored custom values.

        Streams ``existing_values`` once (never materialised) and checks every
        stored value against the new definitions: a removed field that holds
        values, choices narrowed under values in use, a type change that
        existing values do not survive, a shorter ``max_length``, a new required
        field without default on records that have no value. A change that no
        stored value contradicts is allowed.

        Args:
            new_schema: the schema to move to.
            existing_values: the ``custom`` mapping of every stored record.

        Raises:
            SchemaChangeError: a :class:`~crmcore.errors.SchemaError` naming each
                affected field, the reason and how many records.
        """
        new_fields = {f.name: f for f in new_schema.fields}
        removed: Counter[str] = Counter()
        missing: Counter[str] = Counter()
        invalid: dict[str, Counter[str]] = {}
        invalid_records: Counter[str] = Counter()
        for values in existing_values:
            values = values or {}
            for key, value in values.items():
                if key not in new_fields and not new_schema.allow_unknown and not is_empty(value):
                    removed[key] += 1
            for name, f in new_fields.items():
                value = values.get(name)
                if is_empty(value):
                    if f.required and f.default is None:
                        missing[name] += 1
                    continue
                try:
                    f.coerce(value)
                except ValidationError as exc:
                    invalid.setdefault(name, Counter()).update(set(exc.codes))
                    invalid_records[name] += 1
        problems = [SchemaChangeProblem(n, "removed", c) for n, c in sorted(removed.items())]
        problems += [
            SchemaChangeProblem(n, "invalid", invalid_records[n], dict(invalid[n]))
            for n in sorted(invalid)
        ]
        problems += [
            SchemaChangeProblem(n, "missing_required", c) for n, c in sorted(missing.items())
        ]
        if problems:
            raise SchemaChangeError(problems)
