"""Completeness scores and the streaming data-quality report.

``quality_report`` walks an iterable of records once (mappings or attrs
instances; it never materialises the iterable) and gathers, per field: fill
rate, invalid counts by error code, the format variants found ("shapes":
digits -> ``d``, letters -> ``a``, so "138 0013 8000" is ``ddd dddd dddd``),
and, for key fields, the normalised keys shared by several records. Memory
grows with the number of distinct keys, not with the number of records.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from typing import Any

import attrs

from crmcore._progress import ProgressFn, make_progress
from crmcore._table import html_table
from crmcore.errors import ConfigurationError, ValidationError
from crmcore.validation._common import clean_text, is_empty
from crmcore.validation._rules import RuleSet, _get_path, _is_sensitive, validate_record

__all__ = [
    "Completeness",
    "DuplicateKey",
    "FieldQuality",
    "QualityReport",
    "completeness",
    "quality_report",
    "value_shape",
]

_SHAPE_LEN = 40
_MAX_DISTINCT_SHAPES = 1000
_OTHER = "<other>"
_REDACTED = "<redacted>"


@attrs.frozen
class Completeness:
    """How complete one record is.

    Attributes:
        score: weighted share of filled fields, 0..1.
        filled: the fields that hold a value.
        missing: the fields that are empty, in the order given.
    """

    score: float
    filled: tuple[str, ...]
    missing: tuple[str, ...]


def completeness(
    record: Mapping[str, Any] | object,
    fields: Sequence[str],
    weights: Mapping[str, float] | None = None,
) -> Completeness:
    """Score how complete a record is.

    Args:
        record: a mapping or an attrs instance.
        fields: field names or dotted paths (``"address.city"``) to look at.
        weights: per-field weight (default 1.0 each).

    Returns:
        A :class:`Completeness` (score 1.0 when ``fields`` is empty).

    Raises:
        ConfigurationError: a weight is negative or not finite, or all are zero.
    """
    weights = weights or {}
    total = 0.0
    got = 0.0
    filled: list[str] = []
    missing: list[str] = []
    for name in fields:
        w = float(weights.get(name, 1.0))
        if not math.isfinite(w) or w < 0:
            raise ConfigurationError(f"weight of {name!r} must be a finite number >= 0")
        total += w
        if is_empty(_get_path(record, name.split("."))[1]):
            missing.append(name)
        else:
            filled.append(name)
            got += w
    if not fields:
        return Completeness(1.0, (), ())
    if total == 0:
        raise ConfigurationError("completeness weights sum to zero")
    return Completeness(got / total, tuple(filled), tuple(missing))


def value_shape(value: object) -> str:
    """The format of a value: digits -> ``d``, letters -> ``a``, other characters kept.

    ``"138 0013 8000"`` -> ``"ddd dddd dddd"``, ``"+86-138..."`` -> ``"+dd-ddd..."``.
    Long values are cut at 40 characters (``…`` marks the cut); non-text
    values give ``<type>``.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return f"<{type(value).__name__}>"
    s = value if isinstance(value, str) else str(value)
    out = []
    for ch in s[:_SHAPE_LEN]:
        if ch.isdigit():
            out.append("d")
        elif ch.isalpha():
            out.append("a")
        elif ch.isspace():
            out.append(" ")
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append("?")
    return "".join(out) + ("…" if len(s) > _SHAPE_LEN else "")


@attrs.frozen
class FieldQuality:
    """Quality figures of one field.

    Attributes:
        name: the field.
        filled: how many records hold a value.
        total: how many records were seen.
        invalid: error code -> how many records had that error on this field.
        shapes: the most frequent format variants and their counts.
        distinct_shapes: how many different shapes were seen.
    """

    name: str
    filled: int
    total: int
    invalid: Mapping[str, int]
    shapes: tuple[tuple[str, int], ...]
    distinct_shapes: int

    @property
    def fill_rate(self) -> float:
        """Share of records holding a value (0..1; 0 for no records)."""
        return self.filled / self.total if self.total else 0.0

    @property
    def invalid_count(self) -> int:
        """Total number of errors found on this field."""
        return sum(self.invalid.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "name": self.name,
            "filled": self.filled,
            "total": self.total,
            "fill_rate": self.fill_rate,
            "invalid": dict(self.invalid),
            "shapes": [{"shape": s, "count": c} for s, c in self.shapes],
            "distinct_shapes": self.distinct_shapes,
        }


@attrs.frozen
class DuplicateKey:
    """A normalised key value shared by several records.

    Attributes:
        field: the key field (``"email"``).
        key: the normalised key (``"<redacted>"`` for sensitive fields).
        count: how many records carry it.
        examples: ids (or stream positions) of the first few of them.
    """

    field: str
    key: str
    count: int
    examples: tuple[object, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "field": self.field,
            "key": self.key,
            "count": self.count,
            "examples": list(self.examples),
        }


@attrs.frozen
class QualityReport:
    """The data-quality report of a set of records.

    Attributes:
        total: number of records seen.
        invalid_records: records with at least one validation error.
        fields: per-field figures, in the order asked (then any other field
            that had errors).
        duplicates: key collisions, most frequent first.
    """

    total: int
    invalid_records: int
    fields: tuple[FieldQuality, ...]
    duplicates: tuple[DuplicateKey, ...]

    def field(self, name: str) -> FieldQuality:
        """The figures of one field.

        Raises:
            KeyError: the field is not in the report.
        """
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON, a DataFrame, a template)."""
        return {
            "total": self.total,
            "invalid_records": self.invalid_records,
            "fields": [f.to_dict() for f in self.fields],
            "duplicates": [d.to_dict() for d in self.duplicates],
        }

    def _rows(self) -> list[tuple[str, str, str, str, str]]:
        rows = []
        for f in self.fields:
            invalid = ", ".join(f"{c}×{n}" for c, n in sorted(f.invalid.items())) or "-"
            shapes = ", ".join(f"{s!r}×{n}" for s, n in f.shapes[:3]) or "-"
            rows.append((f.name, f"{f.filled}/{f.total}", f"{f.fill_rate:.1%}", invalid, shapes))
        return rows

    def __str__(self) -> str:
        head = ("field", "filled", "fill", "invalid", "top shapes")
        rows = [head, *self._rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = [
            f"Data quality: {self.total} records, {self.invalid_records} with errors",
            "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip(),
            "  ".join("-" * w for w in widths),
        ]
        lines += [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows[1:]
        ]
        if self.duplicates:
            lines.append("")
            lines.append("Duplicate keys:")
            for d in self.duplicates[:20]:
                ids = ", ".join(str(i) for i in d.examples)
                lines.append(f"  {d.field}  {d.key}  {d.count} records  (e.g. {ids})")
            if len(self.duplicates) > 20:
                lines.append(f"  ... and {len(self.duplicates) - 20} more")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        title = f"Data quality: {self.total} records, {self.invalid_records} with errors"
        parts = [
            html_table(
                ["field", "filled", "fill", "invalid", "top shapes"], self._rows(), title=title
            )
        ]
        if self.duplicates:
            dups = [
                [d.field, d.key, d.count, ", ".join(str(i) for i in d.examples)]
                for d in self.duplicates[:50]
            ]
            parts.append(
                html_table(["field", "key", "records", "examples"], dups, title="Duplicate keys")
            )
        return "<div>" + "".join(parts) + "</div>"


# -- key normalisers ---------------------------------------------------------------------------

KeyFunction = Callable[[Any], str]

#: Key columns recognised by name when no rule says what they hold.
_KEY_KINDS: Mapping[str, str] = {
    "email": "email",
    "emails": "email",
    "e_mail": "email",
    "mail": "email",
    "email_address": "email",
    "phone": "phone",
    "phones": "phone",
    "phone_number": "phone",
    "mobile": "phone",
    "cell": "phone",
    "tel": "phone",
    "telephone": "phone",
    "name": "name",
    "full_name": "name",
    "national_id": "national_id",
    "uscc": "uscc",
    "iban": "iban",
}


def _key_function(name: str, rules: RuleSet | None) -> KeyFunction:
    """How to turn a key field's value into its comparable key."""
    from crmcore.validation import _email, _identifiers, _names, _phone

    rule = rules.fields.get(name) if rules is not None else None
    kind = rule.normalizer if rule is not None and isinstance(rule.normalizer, str) else None
    options = dict(rule.options) if rule is not None else {}
    # A column is known by its last path segment ("contact.mail" is an e-mail).
    kind = kind or _KEY_KINDS.get(name.rsplit(".", 1)[-1].casefold().replace("-", "_"))
    if kind == "email":
        return lambda v: _email.email_match_key(v, field=name)
    if kind == "phone":
        region = options.get("region", "CN")
        return lambda v: _phone.normalize_phone(v, region=region, field=name)
    if kind == "name":
        return lambda v: _names.name_match_key(v, field=name)
    if kind in ("national_id", "uscc", "iban"):
        reg = _identifiers.default_registry()
        return lambda v: reg.normalize(str(kind), v, field=name)

    def text_key(v: Any) -> str:
        return clean_text(str(v)).casefold()

    return text_key


def _values(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return [v for v in value if not is_empty(v)]
    return [] if is_empty(value) else [value]


class _FieldStats:
    __slots__ = ("filled", "invalid", "shapes")

    def __init__(self) -> None:
        self.filled = 0
        self.invalid: Counter[str] = Counter()
        self.shapes: Counter[str] = Counter()

    def add_shape(self, shape: str) -> None:
        if shape in self.shapes or len(self.shapes) < _MAX_DISTINCT_SHAPES:
            self.shapes[shape] += 1
        else:
            self.shapes[_OTHER] += 1


def _report_field(path: str, names: Sequence[str]) -> str:
    inner = path[2:] if path.startswith("$.") else path.lstrip("$")
    best = ""
    for n in names:
        if (inner == n or inner.startswith((f"{n}.", f"{n}["))) and len(n) > len(best):
            best = n
    if best:
        return best
    return inner.split(".", 1)[0].split("[", 1)[0] or "$"


def quality_report(
    records: Iterable[Mapping[str, Any] | object],
    fields: Sequence[str],
    rules: RuleSet | None = None,
    key_fields: Sequence[str] = ("email", "phone"),
    *,
    id_field: str = "id",
    max_examples: int = 5,
    max_shapes: int = 10,
    max_duplicates: int = 1000,
    progress: ProgressFn | bool | None = None,
    progress_every: int = 1000,
) -> QualityReport:
    """Stream over records once and report fill rates, errors, formats and duplicate keys.

    Args:
        records: any iterable of mappings or attrs instances (consumed once).
        fields: the fields (or dotted paths) to report on.
        rules: if given, each record is validated and errors are counted by
            field and code; otherwise key fields are checked with their
            default normaliser (email, phone...).
        key_fields: fields whose normalised values should be unique
            (email -> :func:`email_match_key`, phone -> E.164, name ->
            :func:`name_match_key`, identifiers -> normalised form, else
            casefolded text; a rule's normaliser and options win).
        id_field: field holding a record's id (else its 0-based position).
        max_examples: ids kept per duplicate key.
        max_shapes: shapes kept per field in the report.
        max_duplicates: duplicate keys kept in the report (most frequent).
        progress: ``True`` for a tqdm bar, or a callback called as
            ``progress("quality", seen, total)`` every ``progress_every``
            records and at the end (``total`` is ``len(records)`` when it has
            one, else 0 until the final call, where it equals ``seen``).
        progress_every: how often to call ``progress``.

    Returns:
        A :class:`QualityReport`. A value that fails its field's rule or its
        key normaliser is counted as invalid and is never a duplicate key.

    Raises:
        ConfigurationError: ``progress=True`` without tqdm, or ``progress``
            of the wrong type.
    """
    report_progress = make_progress(progress)
    known_total = len(records) if isinstance(records, Sized) else 0
    names = list(fields)
    key_names = list(key_fields)
    stats: dict[str, _FieldStats] = {n: _FieldStats() for n in names}
    keys = {k: _key_function(k, rules) for k in key_fields}
    seen_keys: dict[str, dict[str, list[Any]]] = {k: {} for k in key_fields}
    hidden = set(rules.sensitive) if rules is not None else set()
    if rules is not None:
        hidden |= {n for n, r in rules.fields.items() if r.sensitive}
    total = 0
    invalid_records = 0
    for index, record in enumerate(records):
        total += 1
        found, rid = _get_path(record, (id_field,))
        rid = rid if found and rid is not None else index
        for name in names:
            value = _get_path(record, name.split("."))[1]
            items = _values(value)
            st = stats[name]
            if items:
                st.filled += 1
                for item in items:
                    st.add_shape(value_shape(item))
        bad = False
        failed_keys: set[str] = set()
        if rules is not None:
            try:
                validate_record(record, rules)
            except ValidationError as exc:
                bad = True
                for code_field in {(_report_field(e.path, names), e.code) for e in exc.errors}:
                    target, code = code_field
                    stats.setdefault(target, _FieldStats()).invalid[code] += 1
                failed_keys = {_report_field(e.path, key_names) for e in exc.errors}
        for key_field, key_fn in keys.items():
            if key_field in failed_keys:
                continue  # its rule refused the value: not a key
            record_keys: set[str] = set()
            for item in _values(_get_path(record, key_field.split("."))[1]):
                try:
                    record_keys.add(key_fn(item))
                except ValidationError as exc:
                    if rules is None or key_field not in rules.fields:
                        bad = True
                        target = _report_field(f"$.{key_field}", names)
                        stats.setdefault(target, _FieldStats()).invalid[exc.codes[0]] += 1
            for key in record_keys:
                entry = seen_keys[key_field].get(key)
                if entry is None:
                    seen_keys[key_field][key] = [1, [rid]]
                else:
                    entry[0] += 1
                    if len(entry[1]) < max_examples and rid not in entry[1]:
                        entry[1].append(rid)
        if bad:
            invalid_records += 1
        if report_progress is not None and total % max(progress_every, 1) == 0:
            report_progress("quality", total, known_total)
    if report_progress is not None:
        report_progress("quality", total, total)
    field_reports = tuple(
        FieldQuality(
            name=n,
            filled=st.filled,
            total=total,
            invalid=dict(st.invalid),
            shapes=tuple(st.shapes.most_common(max_shapes)),
            distinct_shapes=len(st.shapes),
        )
        for n, st in stats.items()
    )
    duplicates = [
        DuplicateKey(
            field=k,
            key=_REDACTED if _is_sensitive(k, hidden) else key,
            count=entry[0],
            examples=tuple(entry[1]),
        )
        for k, by_key in seen_keys.items()
        for key, entry in by_key.items()
        if entry[0] > 1
    ]
    duplicates.sort(key=lambda d: (-d.count, d.field, d.key))
    return QualityReport(
        total=total,
        invalid_records=invalid_records,
        fields=field_reports,
        duplicates=tuple(duplicates[:max_duplicates]),
    )
