"""Shared helpers of the validation layer: error construction, paths, text cleaning.

Nothing here is public. Every normaliser builds its errors with :func:`fail` so
that paths (``"$.phone"``) and codes look the same everywhere, and cleans free
text with :func:`clean_text` so that control characters, lone surrogates and
full-width forms are handled in one place.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import attrs

from crmcore._text import bad_text_reason
from crmcore.errors import FieldError, ValidationError

__all__ = [
    "INVALID_TEXT",
    "WRONG_TYPE",
    "bad_text_errors",
    "bad_text_reason",
    "clean_text",
    "error",
    "fail",
    "field_path",
    "get_member",
    "is_empty",
    "strip_accents",
    "type_name",
]

#: Code used by every normaliser when it receives a value of the wrong Python type.
WRONG_TYPE = "wrong_type"

#: Code of the error for text that no SQL backend can store (NUL, lone surrogate).
INVALID_TEXT = "invalid_text"

_WS_RE = re.compile(r"\s+")
# Characters removed before anything else: C0/C1 controls that are not whitespace,
# format characters (zero-width space, BOM, bidi marks, soft hyphen) and lone
# surrogates. Private-use characters are kept: some rare Han characters live there.
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def field_path(field: str) -> str:
    """The JSON-path-like form of ``field``: ``"phone"`` -> ``"$.phone"``."""
    if field.startswith("$"):
        return field
    if field.startswith("["):
        return f"${field}"
    return f"$.{field}"


def error(
    field: str,
    code: str,
    message: str,
    value: object = None,
    *,
    redact: bool = False,
) -> ValidationError:
    """A :class:`ValidationError` with one problem at ``field`` (to raise)."""
    return ValidationError([FieldError(field_path(field), code, message, value, redact=redact)])


def fail(
    field: str,
    code: str,
    message: str,
    value: object = None,
    *,
    redact: bool = False,
) -> NoReturn:
    """Raise a :class:`ValidationError` with one problem at ``field``."""
    raise error(field, code, message, value, redact=redact)


def type_name(value: object) -> str:
    """A short name of the type of ``value`` for messages (never the value)."""
    return type(value).__name__


# Storage-internal entity fields: ciphertexts and blind-index tokens, never user text.
_INTERNAL_FIELDS = frozenset({"sealed", "search_keys"})


_FIELDS_OF: dict[type, tuple[str, ...] | None] = {}


def _text_fields(cls: type) -> tuple[str, ...] | None:
    """The attrs field names of ``cls`` to walk (None: not an attrs class); cached."""
    try:
        return _FIELDS_OF[cls]
    except KeyError:
        pass
    names: tuple[str, ...] | None = None
    if attrs.has(cls):
        names = tuple(f.name for f in attrs.fields(cls) if f.name not in _INTERNAL_FIELDS)
    _FIELDS_OF[cls] = names
    return names


# How the walk treats a value of a given type (decided once per type):
_SKIP, _TEXT, _RECORD, _MAPPING, _SEQUENCE, _SET = range(6)
_KIND_OF: dict[type, int] = {type(None): _SKIP, int: _SKIP, float: _SKIP, bool: _SKIP}


def _kind_of(cls: type) -> int:
    try:
        return _KIND_OF[cls]
    except KeyError:
        pass
    if issubclass(cls, str):
        # enum members are trusted; other str subclasses are checked like text
        kind = _SKIP if issubclass(cls, enum.Enum) else _TEXT
    elif _text_fields(cls) is not None:
        kind = _RECORD
    elif issubclass(cls, Mapping):
        kind = _MAPPING
    elif issubclass(cls, (list, tuple)):
        kind = _SEQUENCE
    elif issubclass(cls, (set, frozenset)):
        kind = _SET
    else:
        kind = _SKIP
    _KIND_OF[cls] = kind
    return kind


_WALKERS: dict[type, Callable[[Any, str, list[FieldError]], None]] = {}


def _record_walker(cls: type) -> Callable[[Any, str, list[FieldError]], None]:
    """A generated walk over the fields of attrs ``cls`` (one per class, cached).

    Plain ASCII text without NUL, values of skipped types and empty
    collections are passed over inline; everything else goes to :func:`_walk_text`.
    """
    try:
        return _WALKERS[cls]
    except KeyError:
        pass
    lines = ["def walk(value, path, out):"]
    for name in _FIELDS_OF[cls] or ():
        here = f"path + {'.' + name!r}"
        lines += [
            f"    item = value.{name}",
            "    if item is None:",
            "        pass",
            "    elif item.__class__ is str:",
            "        if not item.isascii() or NUL in item:",
            f"            walk_text(item, {here}, out)",
            "    else:",
            "        kind = kinds.get(item.__class__)",
            "        if kind != SKIP and not (",
            "            (kind == TEXT and item.isascii() and NUL not in item)",
            "            or (kind is not None and kind > RECORD and not item)",
            "        ):",
            f"            walk_text(item, {here}, out)",
        ]
    lines.append("    return None")
    namespace: dict[str, Any] = {
        "kinds": _KIND_OF,
        "SKIP": _SKIP,
        "TEXT": _TEXT,
        "RECORD": _RECORD,
        "NUL": "\x00",
        "walk_text": _walk_text,
    }
    exec("\n".join(lines), namespace)
    walker: Callable[[Any, str, list[FieldError]], None] = namespace["walk"]
    _WALKERS[cls] = walker
    return walker


def _walk_text(value: object, path: str, out: list[FieldError]) -> None:
    cls = type(value)
    kind = _KIND_OF.get(cls)
    if kind is None:
        kind = _kind_of(cls)
    if kind == _SKIP:
        return
    if kind == _TEXT:
        text: str = value  # type: ignore[assignment]
        if text.isascii() and "\x00" not in text:
            return  # the common case, without a scan
        reason = bad_text_reason(text)
        if reason is not None:
            out.append(FieldError(path, INVALID_TEXT, f"{path} {reason}"))
        return
    if kind == _RECORD:
        _record_walker(cls)(value, path, out)
    elif kind == _MAPPING:
        for key, item in value.items():  # type: ignore[attr-defined]
            if isinstance(key, str):
                reason = bad_text_reason(key)
                if reason is not None:
                    out.append(FieldError(path, INVALID_TEXT, f"a key of {path} {reason}"))
                    continue
            _walk_text(item, f"{path}.{key}", out)
    elif kind == _SEQUENCE:
        for i, item in enumerate(value):  # type: ignore[arg-type]
            _walk_text(item, f"{path}[{i}]", out)
    else:
        # Unordered: no index to name; the path is the collection's.
        for item in sorted((v for v in value if isinstance(v, str)), key=repr):  # type: ignore[attr-defined]
            _walk_text(item, path, out)


def bad_text_errors(record: object, *, path: str = "$") -> list[FieldError]:
    """One ``invalid_text`` error per text value of ``record`` that cannot be stored.

    Walks every string of an attrs record or mapping: plain fields, items of
    tuples and sets (tags), nested records (e-mails, phones, addresses) and the
    keys and values of mappings (custom fields), at any depth. Storage-internal
    fields (``sealed``, ``search_keys``) are skipped; enum members are trusted.

    Args:
        record: an attrs entity, a mapping or any value.
        path: the path of ``record`` itself (``"$"``).

    Returns:
        The errors, in field order (empty when every text is storable); no
        error keeps the offending value.
    """
    out: list[FieldError] = []
    _walk_text(record, path, out)
    return out


def _drop_controls(text: str) -> str:
    out: list[str] = []
    append = out.append
    category = unicodedata.category
    for ch in text:
        if ch.isspace():
            append(" ")
        elif category(ch) not in _DROP_CATEGORIES:
            append(ch)
    return "".join(out)


def clean_text(text: str, *, nfkc: bool = True) -> str:
    """Drop control/format characters and lone surrogates, NFKC-fold, collapse whitespace.

    Args:
        text: any string, including one with lone surrogates.
        nfkc: apply Unicode NFKC (folds full-width forms to their ASCII twins).

    Returns:
        The cleaned, stripped text (possibly empty).
    """
    if text.isascii():
        if not text.isprintable():
            text = _drop_controls(text)
    else:
        text = _drop_controls(text)
        if nfkc:
            # NFKC can produce new spaces (U+00A0 -> " "), never controls.
            text = unicodedata.normalize("NFKC", text)
    if "  " in text:
        text = _WS_RE.sub(" ", text)
    return text.strip()


def strip_accents(text: str) -> str:
    """Remove combining marks after canonical decomposition (``"Müller"`` -> ``"Muller"``)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def is_empty(value: object) -> bool:
    """Whether a value counts as "not filled": None, blank text or an empty collection."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return len(value) == 0
    return False


def get_member(obj: object, name: str, default: Any = None) -> Any:
    """Read ``name`` from a mapping (key) or from any other object (attribute)."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    if attrs.has(type(obj)) or hasattr(obj, name):
        return getattr(obj, name, default)
    return default
