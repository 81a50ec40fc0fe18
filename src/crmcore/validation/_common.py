"""Shared helpers of the validation layer: error construction, paths, text cleaning.

Nothing here is public. Every normaliser builds its errors with :func:`fail` so
that paths (``"$.phone"``) and codes look the same everywhere, and cleans free
text with :func:`clean_text` so that control characters, lone surrogates and
full-width forms are handled in one place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, NoReturn

import attrs

from crmcore.errors import FieldError, ValidationError

__all__ = [
    "WRONG_TYPE",
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
