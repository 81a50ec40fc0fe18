"""Text and integer rules every layer below validation shares.

A value every backend can store and compare the same way: no NUL (SQLite
compares past it differently, PostgreSQL refuses it at commit) and no lone
surrogate (no SQL driver can encode one); integers fit in signed 64 bits
(SQLite and the SQL bind layers overflow beyond).
"""

from __future__ import annotations

__all__ = ["INT64_MAX", "INT64_MIN", "bad_int_reason", "bad_text_reason"]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def bad_text_reason(s: str) -> str | None:
    """Why ``s`` cannot be stored or compared on every backend, or ``None``.

    Args:
        s: the text to check.

    Returns:
        A short reason (``"contains a NUL character"``, ``"contains a lone
        surrogate (U+D800)"``), or ``None`` when the text is fine.
    """
    if s.isascii():
        return "contains a NUL character" if "\x00" in s else None
    if "\x00" in s:
        return "contains a NUL character"
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"contains a lone surrogate (U+{ord(s[exc.start]):04X})"
    return None


def bad_int_reason(n: int) -> str | None:
    """Why the integer ``n`` cannot be stored on every backend, or ``None``.

    Args:
        n: the integer to check (``bool`` is fine).

    Returns:
        ``"is outside the signed 64-bit range"`` or ``None``.
    """
    if INT64_MIN <= n <= INT64_MAX:
        return None
    return "is outside the signed 64-bit range"
