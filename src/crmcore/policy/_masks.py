"""Masking functions for field-level security.

Each takes the text of a value and returns a display form that hides most of
it: ``mask_phone("+86 138 0013 8000") == "+86 138****8000"``,
``mask_email("zhang.wei@example.com") == "z***@example.com"``. They never
raise on odd input: what they cannot make sense of is masked whole.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

__all__ = ["MASKS", "mask_email", "mask_full", "mask_partial", "mask_phone"]

FULL = "***"

# ITU-T E.164 country calling codes of one and two digits; every other code has three.
_CC1 = frozenset({"1", "7"})
_CC2 = frozenset(
    [
        "20",
        "27",
        "30",
        "31",
        "32",
        "33",
        "34",
        "36",
        "39",
        "40",
        "41",
        "43",
        "44",
        "45",
        "46",
        "47",
        "48",
        "49",
        "51",
        "52",
        "53",
        "54",
        "55",
        "56",
        "57",
        "58",
        "60",
        "61",
        "62",
        "63",
        "64",
        "65",
        "66",
        "81",
        "82",
        "84",
        "86",
        "90",
        "91",
        "92",
        "93",
        "94",
        "95",
        "98",
    ]
)
_SEPARATORS = " -.()/\u3000"


def _digit(ch: str) -> str | None:
    if "0" <= ch <= "9":
        return ch
    if ch.isdecimal():
        return str(unicodedata.decimal(ch))
    return None


def _country_code(digits: str) -> int:
    """How many leading digits of an international number are the country code."""
    if digits[:1] in _CC1:
        return 1
    if digits[:2] in _CC2:
        return 2
    return 3


def mask_phone(value: str) -> str:
    """Keep the country code, the first 3 and the last 4 digits of a phone number.

    ``"+8613800138000"`` and ``"+86 138 0013 8000"`` become ``"+86 138****8000"``;
    ``"138 0013 8000"`` becomes ``"138****8000"``. Numbers of 7 digits or fewer
    keep only their last 2 digits; text without digits becomes ``"***"``.

    Args:
        value: a phone number as written (any separators; full-width digits too).

    Returns:
        The masked number.
    """
    text = str(value).strip()
    digits = "".join(d for d in (_digit(ch) for ch in text) if d is not None)
    if not digits:
        return FULL
    cc = ""
    if text.startswith(("+", "＋")) or (text.startswith("00") and len(digits) > 10):
        body = text.lstrip("+＋")
        if text.startswith("00"):
            body = body[2:]
            digits = digits[2:]
        first_group = ""
        for ch in body:
            d = _digit(ch)
            if d is None:
                break
            first_group += d
        # "+86 138..." spells its country code out; "+8613800138000" needs the table
        n = (
            len(first_group)
            if 0 < len(first_group) <= 3 and len(first_group) < len(digits)
            else _country_code(digits)
        )
        cc, digits = digits[:n], digits[n:]
    elif len(digits) == 13 and digits.startswith("861"):
        cc, digits = "86", digits[2:]
    if len(digits) >= 8:
        national = digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    elif len(digits) > 2:
        national = "*" * (len(digits) - 2) + digits[-2:]
    else:
        national = "*" * len(digits)
    return f"+{cc} {national}" if cc else national


def mask_email(value: str) -> str:
    """Keep the first character of the local part and the whole domain.

    ``"zhang.wei@example.com"`` becomes ``"z***@example.com"``; text that is
    not an address is masked with :func:`mask_partial`.
    """
    text = str(value).strip()
    local, at, domain = text.rpartition("@")
    if not at or not domain:
        return mask_partial(text)
    return f"{local[:1]}***@{domain}"


def mask_partial(value: str, keep_start: int = 1, keep_end: int = 1) -> str:
    """Replace every character but the first ``keep_start`` and last ``keep_end`` with ``*``.

    Short values keep less: ``"张伟"`` becomes ``"张*"`` and a single character ``"*"``.
    """
    text = str(value)
    n = len(text)
    if n <= 1:
        return "*" * n
    if n <= keep_start + keep_end:
        return text[:1] + "*" * (n - 1)
    return text[:keep_start] + "*" * (n - keep_start - keep_end) + text[n - keep_end :]


def mask_full(value: str) -> str:
    """Hide the value entirely: always ``"***"``."""
    return FULL


MASKS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "email": mask_email,
    "partial": mask_partial,
    "full": mask_full,
}
"""The built-in maskers by the name a policy document uses (``"masked:phone"``)."""
