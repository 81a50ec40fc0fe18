"""Dates and date-times: many written forms in, ``date`` / aware UTC ``datetime`` out.

Unambiguous forms are read the same under every policy: a four-digit year
first (``2024-10-05``, ``2024/10/05``, ``2024.10.05``, ``20241005``), Chinese
``2024年10月5日``, and month names (``5 Oct 2024``, ``October 5, 2024``).
Forms with the year last (``05.10.2024``, ``10/05/2024``) are read strictly by
the caller's ``order`` policy: under ``"DMY"`` ``10/25/2024`` is refused
(``date_invalid``: there is no month 25), it is never silently read as
month-day. Under ``"YMD"`` (the default) they are refused as
``date_ambiguous``. Two-digit years are refused (``date_format``).
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum

from crmcore.errors import ConfigurationError, ValidationError
from crmcore.validation._common import WRONG_TYPE, clean_text, error, fail, type_name

__all__ = ["DateOrder", "normalize_date", "normalize_datetime"]

_MAX_INPUT = 100
_UTC = dt.timezone.utc


class DateOrder(str, Enum):
    """How to read a numeric date whose year comes last."""

    YMD = "YMD"
    DMY = "DMY"
    MDY = "MDY"


_MONTHS = {
    "jan": 1,
    "january": 1,
    "feb": 2,
    "february": 2,
    "mar": 3,
    "march": 3,
    "apr": 4,
    "april": 4,
    "may": 5,
    "jun": 6,
    "june": 6,
    "jul": 7,
    "july": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "oct": 10,
    "october": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "december": 12,
}
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?\.?,?\s+)?"
_MONTH = r"([a-z]{3,9})\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"

_YMD_RE = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_YEAR_LAST_RE = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")
_CN_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DAY_MONTH_RE = re.compile(_WEEKDAY + _DAY + r"[\s\-/]+" + _MONTH + r",?[\s\-/]+(\d{4})")
_MONTH_DAY_RE = re.compile(_WEEKDAY + _MONTH + r"[\s\-/]+" + _DAY + r",?[\s\-/]+(\d{4})")
_YEAR_MONTH_RE = re.compile(r"(\d{4})[\s\-/]+" + _MONTH + r"[\s\-/]+" + _DAY)


def _order(order: DateOrder | str) -> DateOrder:
    try:
        return DateOrder(str(getattr(order, "value", order)).upper())
    except ValueError:
        raise ConfigurationError(f"date order must be YMD, DMY or MDY, not {order!r}") from None


def _make(year: int, month: int, day: int, text: str, field: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        fail(field, "date_invalid", f"no such date: {year:04d}-{month:02d}-{day:02d}", text)


def _month(name: str, text: str, field: str) -> int:
    month = _MONTHS.get(name)
    if month is None:
        fail(field, "date_format", "unknown month name", text)
    return month


def _parse_text(text: str, order: DateOrder, field: str) -> dt.date:
    s = clean_text(text).lower()
    if not s:
        fail(field, "date_empty", "date is empty", text)
    if m := _YMD_RE.fullmatch(s):
        return _make(int(m[1]), int(m[3]), int(m[4]), text, field)
    if m := _YEAR_LAST_RE.fullmatch(s):
        a, b, year = int(m[1]), int(m[3]), int(m[4])
        if order is DateOrder.DMY:
            return _make(year, b, a, text, field)
        if order is DateOrder.MDY:
            return _make(year, a, b, text, field)
        fail(
            field,
            "date_ambiguous",
            "date with the year last needs an explicit order policy (DMY or MDY)",
            text,
        )
    if m := _CN_RE.fullmatch(s):
        return _make(int(m[1]), int(m[2]), int(m[3]), text, field)
    if m := _COMPACT_RE.fullmatch(s):
        return _make(int(m[1]), int(m[2]), int(m[3]), text, field)
    if m := _DAY_MONTH_RE.fullmatch(s):
        return _make(int(m[3]), _month(m[2], text, field), int(m[1]), text, field)
    if m := _MONTH_DAY_RE.fullmatch(s):
        return _make(int(m[3]), _month(m[1], text, field), int(m[2]), text, field)
    if m := _YEAR_MONTH_RE.fullmatch(s):
        return _make(int(m[1]), _month(m[2], text, field), int(m[3]), text, field)
    raise error(field, "date_format", "unrecognised date format", text)


def normalize_date(
    value: str | dt.date,
    *,
    order: DateOrder | str = DateOrder.YMD,
    min_date: dt.date | None = None,
    max_date: dt.date | None = None,
    field: str = "date",
) -> dt.date:
    """Read a date written in one of the supported forms.

    Args:
        value: text, or a ``date`` (a ``datetime`` gives its own date part).
        order: policy for numeric dates with the year last: ``"DMY"``,
            ``"MDY"``, or ``"YMD"`` (refuse them as ambiguous).
        min_date: earliest accepted date (inclusive).
        max_date: latest accepted date (inclusive); pass today for birth dates.
        field: field path used in errors.

    Returns:
        The date.

    Raises:
        ValidationError: ``date_empty``, ``date_format``, ``date_ambiguous``,
            ``date_invalid``, ``date_too_early``, ``date_too_late`` or ``wrong_type``.
        ConfigurationError: ``order`` is not a known policy.
    """
    policy = _order(order)
    if isinstance(value, dt.datetime):
        result = value.date()
    elif isinstance(value, dt.date):
        result = value
    elif isinstance(value, str):
        if len(value) > _MAX_INPUT:
            fail(field, "date_format", "unrecognised date format (too long)", value)
        result = _parse_text(value, policy, field)
    else:
        fail(field, WRONG_TYPE, f"date must be text or a date, not {type_name(value)}")
    if min_date is not None and result < min_date:
        fail(field, "date_too_early", f"date is before {min_date.isoformat()}", value)
    if max_date is not None and result > max_date:
        fail(field, "date_too_late", f"date is after {max_date.isoformat()}", value)
    return result


_TIME_RE = re.compile(
    r"(?P<date>.+?)[t\s]+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
    r"\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?"
    r"\s*(?P<tz>z|utc|gmt|(?:utc|gmt)?[+-]\d{1,2}(?::?\d{2})?)?"
)


def _zone(tz: str | dt.tzinfo) -> dt.tzinfo:
    if isinstance(tz, dt.tzinfo):
        return tz
    if isinstance(tz, str):
        if tz.upper() == "UTC":
            return _UTC
        from zoneinfo import ZoneInfo

        try:
            return ZoneInfo(tz)
        except (LookupError, ValueError, OSError):
            pass
    raise ConfigurationError(f"unknown time zone {tz!r}")


def _offset(spec: str, text: str, field: str) -> dt.tzinfo:
    spec = spec.removeprefix("utc").removeprefix("gmt")
    if spec in ("", "z"):
        return _UTC
    sign = -1 if spec[0] == "-" else 1
    digits = spec[1:].replace(":", "")
    hours = int(digits[:-2] if len(digits) > 2 else digits)
    minutes = int(digits[-2:]) if len(digits) > 2 else 0
    if hours > 23 or minutes > 59:
        fail(field, "datetime_invalid", "time zone offset out of range", text)
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _parse_datetime_text(text: str, zone: dt.tzinfo, order: DateOrder, field: str) -> dt.datetime:
    s = clean_text(text).lower()
    if not s:
        fail(field, "datetime_empty", "date-time is empty", text)
    m = _TIME_RE.fullmatch(s)
    try:
        day = _parse_text(s if m is None else m["date"].strip(), order, field)
    except ValidationError as exc:
        if exc.codes == ("date_format",):
            fail(field, "datetime_format", "unrecognised date-time format", text)
        raise
    if m is None:
        try:
            return dt.datetime.combine(day, dt.time(), zone).astimezone(_UTC)
        except (OverflowError, ValueError):
            fail(field, "datetime_invalid", "date-time out of range", text)
    hour, minute = int(m["h"]), int(m["m"])
    second = int(m["s"] or 0)
    micro = int((m["f"] or "0")[:6].ljust(6, "0"))
    ampm = m["ampm"]
    if ampm:
        if not 1 <= hour <= 12:
            fail(field, "datetime_invalid", "hour out of range for am/pm", text)
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
    if second == 60:
        second = 59  # leap second: keep the instant inside the minute
    try:
        local_time = dt.time(hour, minute, second, micro)
    except ValueError:
        fail(field, "datetime_invalid", "no such time of day", text)
    tzinfo = _offset(m["tz"], text, field) if m["tz"] else zone
    try:
        return dt.datetime.combine(day, local_time, tzinfo).astimezone(_UTC)
    except (OverflowError, ValueError):
        fail(field, "datetime_invalid", "date-time out of range", text)


def normalize_datetime(
    value: str | dt.datetime | dt.date | int | float,
    *,
    tz: str | dt.tzinfo = "UTC",
    order: DateOrder | str = DateOrder.YMD,
    field: str = "datetime",
) -> dt.datetime:
    """Read a date-time and return it as an aware ``datetime`` in UTC.

    Naive inputs (and dates, read as midnight) are interpreted in ``tz``; a
    local time that does not exist or is doubled by a DST change resolves as
    :mod:`zoneinfo` does (``fold=0``). Text may be ISO 8601
    (``2024-10-05T08:30:00+08:00``, ``...Z``), ``2024/10/05 08:30``, any date
    form of :func:`normalize_date` followed by a time, with am/pm and an offset.
    Numbers are POSIX timestamps (seconds).

    Args:
        value: the date-time.
        tz: IANA zone name or tzinfo for naive values (default UTC).
        order: the date order policy, as :func:`normalize_date`.
        field: field path used in errors.

    Returns:
        An aware datetime in UTC.

    Raises:
        ValidationError: ``datetime_empty``, ``datetime_format``,
            ``datetime_invalid``, the date codes of :func:`normalize_date`,
            or ``wrong_type``.
        ConfigurationError: ``tz`` or ``order`` is not known.
    """
    zone = _zone(tz)
    policy = _order(order)
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        try:
            return aware.astimezone(_UTC)
        except (OverflowError, ValueError):
            fail(field, "datetime_invalid", "date-time out of range", value)
    if isinstance(value, dt.date):
        try:
            return dt.datetime.combine(value, dt.time(), zone).astimezone(_UTC)
        except (OverflowError, ValueError):
            fail(field, "datetime_invalid", "date-time out of range", value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, _UTC)
        except (OverflowError, OSError, ValueError):
            fail(field, "datetime_invalid", "timestamp out of range", value)
    if isinstance(value, str):
        if len(value) > _MAX_INPUT:
            fail(field, "datetime_format", "unrecognised date-time format (too long)", value)
        return _parse_datetime_text(value, zone, policy, field)
    raise error(field, WRONG_TYPE, f"date-time must be text or a datetime, not {type_name(value)}")
