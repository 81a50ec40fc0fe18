"""Reading records of any shape into raw columns: the field mapping and id handling.

Records may be plain mappings (notebook rows, ``DataFrame.to_dict("records")``),
attrs entities (or any object with attributes), or a pandas ``DataFrame``.
A field mapping says where each of crmcore's logical fields lives in them: a
key or attribute name, a path such as ``"addresses[0].postcode"``, or a
callable taking the record. Without a mapping the fields are found by name
(with common aliases such as ``surname``, ``dob``, ``zip`` or ``mobile``).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Union

import attrs

from crmcore.errors import ConfigurationError, FieldError, ValidationError

__all__ = [
    "LOGICAL_FIELDS",
    "FieldSpec",
    "RawTable",
    "read_records",
    "resolve_fields",
]

LOGICAL_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "national_id",
    "date_of_birth",
    "postcode",
    "city",
    "address",
    "company",
)

_ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name", "given_name", "firstname", "first", "given", "forename"),
    "last_name": ("last_name", "family_name", "surname", "lastname", "last", "family"),
    "full_name": ("full_name", "name", "fullname", "customer_name", "contact_name"),
    "email": ("email", "email_address", "e_mail", "mail"),
    "phone": ("phone", "phone_number", "mobile", "mobile_phone", "telephone", "tel", "cell"),
    "national_id": ("national_id", "id_number", "id_card", "resident_id", "ssn"),
    "date_of_birth": ("date_of_birth", "dob", "birth_date", "birthdate", "birthday"),
    "postcode": ("postcode", "postal_code", "zip", "zip_code", "zipcode", "post_code"),
    "city": ("city", "town"),
    "address": ("address", "street", "street_address", "address_line1", "line1", "address1"),
    "company": ("company", "company_name", "organisation", "organization", "employer"),
}

#: Where a logical field lives in a record: a key/attribute, a path, or a callable.
FieldSpec = Union[str, Callable[[Any], object]]  # noqa: UP007 - a runtime alias on 3.10

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@attrs.frozen
class RawTable:
    """Records read into columns, in input order.

    Attributes:
        ids: one id per record.
        columns: logical field name to one raw value per record (``None`` if missing).
    """

    ids: list[Hashable]
    columns: dict[str, list[object]]

    @property
    def n(self) -> int:
        """The number of records."""
        return len(self.ids)


def _canon_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip()).lower()


def _auto_fields(keys: Iterable[str]) -> dict[str, FieldSpec]:
    by_canon: dict[str, str] = {}
    for key in sorted(keys):
        by_canon.setdefault(_canon_key(key), key)
    found: dict[str, FieldSpec] = {}
    for logical, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in by_canon:
                found[logical] = by_canon[alias]
                break
    return found


def _object_keys(record: object) -> set[str]:
    cls: Any = type(record)
    if attrs.has(cls):
        names = {a.name for a in attrs.fields(cls)}
    else:
        names = {k for k in getattr(record, "__dict__", {}) if not k.startswith("_")}
        names |= {k for k in getattr(type(record), "__slots__", ()) if not k.startswith("_")}
    return names


def _entity_extras(keys: set[str], found: dict[str, FieldSpec]) -> None:
    """Reach into nested value objects (Customer.addresses, emails, phones)."""
    if "addresses" in keys:
        found.setdefault("postcode", "addresses[0].postcode")
        found.setdefault("city", "addresses[0].city")
        found.setdefault("address", _first_address_line)
    if "emails" in keys and "email" in found:
        found["email"] = _with_fallback(str(found["email"]), "emails[0].address")
    if "phones" in keys and "phone" in found:
        found["phone"] = _with_fallback(str(found["phone"]), "phones[0].number")


def _first_address_line(record: object) -> object:
    line1 = get_path(record, "addresses[0].line1")
    line2 = get_path(record, "addresses[0].line2")
    parts = [str(p) for p in (line1, line2) if not _is_missing(p)]
    return " ".join(parts) if parts else None


def _with_fallback(primary: str, secondary: str) -> Callable[[Any], object]:
    def get(record: object) -> object:
        value = get_path(record, primary)
        return get_path(record, secondary) if _is_missing(value) else value

    return get


def resolve_fields(
    fields: Mapping[str, FieldSpec | None] | None, sample_keys: set[str], *, objects: bool
) -> dict[str, FieldSpec]:
    """The field mapping to use: the caller's, or one found from the record keys.

    Args:
        fields: logical field -> key/path/callable; ``None`` entries drop a field.
        sample_keys: the keys (or attribute names) seen in the records.
        objects: whether the records are objects (entities) rather than mappings.

    Returns:
        logical field name -> spec, only for fields that are present.

    Raises:
        ConfigurationError: a mapping names a field crmcore does not know.
    """
    if fields is not None:
        unknown = sorted(set(fields) - set(LOGICAL_FIELDS))
        if unknown:
            raise ConfigurationError(
                f"unknown dedupe field(s) {', '.join(unknown)}; known: {', '.join(LOGICAL_FIELDS)}"
            )
        return {k: v for k, v in fields.items() if v is not None}
    found = _auto_fields(sample_keys)
    if objects:
        _entity_extras(sample_keys, found)
    return found


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    # pandas.NA / NaT compare oddly; detect them without importing pandas
    name = type(value).__name__
    return name in ("NAType", "NaTType")


def get_path(record: object, path: str) -> object:
    """The value at ``path`` in a mapping or object (``None`` where absent).

    Args:
        record: a mapping or an object.
        path: ``"email"``, ``"addresses[0].city"`` or ``"addresses.0.city"``.

    Returns:
        The value, or ``None`` when any step is missing.
    """
    if isinstance(record, Mapping) and path in record:
        return record[path]
    current: object = record
    for match in _PATH_PART.finditer(path):
        name, index = match.group(1), match.group(2)
        if current is None:
            return None
        if index is not None or (name is not None and name.isdigit()):
            i = int(index if index is not None else name)
            if isinstance(current, (str, bytes)) or not hasattr(current, "__getitem__"):
                return None
            try:
                current = current[i]
            except (IndexError, KeyError, TypeError):
                return None
        elif isinstance(current, Mapping):
            current = current.get(name)
        else:
            current = getattr(current, name, None)
    return current


def clean_value(value: object) -> object:
    """A raw value as the normaliser wants it: ``None`` for missing, else str or date."""
    if _is_missing(value):
        return None
    if isinstance(value, (_dt.date, str)):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number read from a spreadsheet
    if hasattr(value, "value") and type(value).__module__.startswith("enum"):
        return str(value.value)
    return str(value)


def _read_dataframe(
    frame: Any, fields: Mapping[str, FieldSpec | None] | None, id_field: str
) -> RawTable:
    columns_present = {str(c) for c in frame.columns}
    spec = resolve_fields(fields, columns_present, objects=False)
    if id_field in columns_present:
        ids: list[Hashable] = list(frame[id_field].tolist())
    else:
        ids = list(frame.index.tolist())
    n = len(ids)
    out: dict[str, list[object]] = {}
    records: list[dict[str, Any]] | None = None
    for logical, where in spec.items():
        if isinstance(where, str) and where in columns_present:
            values = frame[where].tolist()
        else:
            if records is None:
                records = frame.to_dict("records")
            values = [_get(r, where) for r in records]
        out[logical] = [clean_value(v) for v in values]
    if n and not out:
        raise ConfigurationError("no dedupe fields found in the DataFrame; pass fields=")
    return RawTable(ids=ids, columns=out)


def _get(record: object, where: FieldSpec) -> object:
    if callable(where):
        return where(record)
    return get_path(record, where)


def _column(rows: list[Any], where: FieldSpec, plain: bool) -> list[object]:
    """The raw value at ``where`` of every row (a fast path for plain dicts and keys)."""
    if plain and isinstance(where, str):
        # what get_path does first for a mapping holding the key, without the calls
        return [r[where] if where in r else get_path(r, where) for r in rows]
    return [_get(row, where) for row in rows]


def _clean_column(values: list[object]) -> list[object]:
    """:func:`clean_value` of every value, strings and ``None`` inline."""
    return [
        None if v is None else ((v if v.strip() else None) if type(v) is str else clean_value(v))
        for v in values
    ]


def read_records(
    records: Iterable[Any] | Any,
    *,
    fields: Mapping[str, FieldSpec | None] | None = None,
    id_field: str = "id",
    require_ids: bool = True,
) -> RawTable:
    """Read records of any supported shape into raw columns.

    Args:
        records: mappings, objects, or a pandas DataFrame.
        fields: logical field -> where it lives; ``None`` to find fields by name.
        id_field: the key/attribute holding each record's id.
        require_ids: refuse records without an id (else their id is ``None``).

    Returns:
        The ids and raw column values, in input order.

    Raises:
        ValidationError: a record has no id, or two records share an id.
        ConfigurationError: the mapping names unknown fields, or no field was found.
    """
    if type(records).__name__ == "DataFrame" and hasattr(records, "columns"):
        table = _read_dataframe(records, fields, id_field)
    else:
        rows = list(records)
        objects = bool(rows) and not isinstance(rows[0], Mapping)
        keys: set[str] = set()
        if fields is None:
            raw_keys: set[Any] = set()
            for row in rows:
                if isinstance(row, Mapping):
                    raw_keys.update(row)
                else:
                    keys |= _object_keys(row)
            keys |= {str(k) for k in raw_keys}
        spec = resolve_fields(fields, keys, objects=objects)
        if rows and not spec:
            raise ConfigurationError("no dedupe fields found in the records; pass fields=")
        plain = all(type(row) is dict for row in rows)
        ids = _column(rows, id_field, plain)
        if require_ids:
            for i, rid in enumerate(ids):
                if rid is None:
                    raise ValidationError.single(
                        id_field, "required", f"record #{i} has no {id_field!r}", entity="record"
                    )
        cols = {
            logical: _clean_column(_column(rows, where, plain)) for logical, where in spec.items()
        }
        table = RawTable(ids=ids, columns=cols)
    if require_ids and len(set(table.ids)) != len(table.ids):
        seen: set[Hashable] = set()
        dup = next(i for i in table.ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
        raise ValidationError(
            [FieldError(id_field, "duplicate_id", f"two records share the {id_field!r}")],
            entity="record",
            id=dup,
        )
    return table
