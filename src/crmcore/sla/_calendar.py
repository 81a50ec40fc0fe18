"""Business-hours calendars: weekly hours in an IANA time zone, holidays, adjusted workdays.

A calendar says which instants are working time. Each local date has a list
of working intervals in minutes from that date's local midnight; an interval
may end after midnight (``22:00-06:00`` belongs to the day it starts on).
A holiday removes the intervals of its date; an adjusted workday (China's
调休 weekend working days) works on ``workday_hours``. An instant ``t`` is
working time when its local wall time (``t`` in the calendar's zone) falls
inside an interval of its own local date or of the day before (overnight).
That definition holds across DST changes: a skipped wall hour is never
worked, a repeated one is worked twice.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from crmcore.errors import ConfigurationError, ValidationError

__all__ = [
    "BusinessCalendar",
    "Interval",
    "add_business_time",
    "business_time_between",
    "parse_hours",
    "working_intervals",
]

#: one working interval as (start, end) minutes from local midnight; end may pass 1440
Interval = tuple[int, int]

_DAY = 1440
_UTC = _dt.timezone.utc
_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
#: how far ahead a due time is searched before the calendar counts as never working
HORIZON_DAYS = 3 * 366


def parse_hours(spec: str | Iterable[Interval | str]) -> tuple[Interval, ...]:
    """Working intervals from ``"09:00-12:00, 13:00-18:00"`` (or a list of pairs / strings).

    An end earlier than its start runs past midnight (``"22:00-06:00"``);
    ``"00:00-24:00"`` is the whole day.

    Raises:
        ValidationError: a malformed or empty interval.
    """
    items: Iterable[Interval | str] = spec.split(",") if isinstance(spec, str) else spec
    out: list[Interval] = []
    for item in items:
        if isinstance(item, str):
            if not item.strip():
                continue
            m = _HHMM.match(item)
            if m is None:
                raise ValidationError.single(
                    "$.hours", "invalid_hours", f"expected HH:MM-HH:MM, got {item!r}"
                )
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
                raise ValidationError.single(
                    "$.hours", "invalid_hours", f"not a time of day in {item!r}"
                )
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if end <= start:
                end += _DAY
        else:
            start, end = int(item[0]), int(item[1])
        if not (0 <= start < _DAY and start < end <= start + _DAY):
            raise ValidationError.single(
                "$.hours",
                "invalid_hours",
                f"interval {start}-{end} must start within the day and last at most 24 hours",
            )
        out.append((start, end))
    return tuple(sorted(out))


def _weekly(value: Mapping[Any, Any]) -> Mapping[int, tuple[Interval, ...]]:
    out: dict[int, tuple[Interval, ...]] = {}
    for key, spec in value.items():
        days: list[int]
        if isinstance(key, int):
            days = [key]
        else:
            days = []
            for part in str(key).lower().split(","):
                a, _, b = part.strip().partition("-")
                if a not in _WEEKDAYS or (b and b not in _WEEKDAYS):
                    raise ValidationError.single(
                        "$.hours", "invalid_weekday", f"unknown weekday in {key!r}"
                    )
                lo, hi = _WEEKDAYS[a], _WEEKDAYS[b or a]
                days.extend(range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(hi + 1)])
        hours = parse_hours(spec) if not isinstance(spec, tuple) or spec else ()
        for d in days:
            if not 0 <= d <= 6:
                raise ValidationError.single("$.hours", "invalid_weekday", f"weekday {d} not 0-6")
            out[d] = tuple(sorted((*out.get(d, ()), *hours)))
    return out


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError.single(
            "$.timezone", "invalid_timezone", f"unknown IANA time zone {name!r}"
        ) from None
    return name


def _opt_hours(value: str | Iterable[Interval | str] | None) -> tuple[Interval, ...] | None:
    return None if value is None else parse_hours(value)


def _dates(value: Iterable[_dt.date]) -> frozenset[_dt.date]:
    out = frozenset(value)
    for d in out:
        if not isinstance(d, _dt.date) or isinstance(d, _dt.datetime):
            raise ValidationError.single("$.holidays", "invalid_date", f"expected dates, got {d!r}")
    return out


@functools.cache
def _tz(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@attrs.frozen(kw_only=True)
class BusinessCalendar:
    """When the clock of a business runs: weekly hours in a time zone, minus holidays.

    Attributes:
        timezone: IANA zone name the hours are read in (``"Asia/Shanghai"``).
        hours: weekday (0 = Monday) -> working intervals. The constructor also
            takes ``{"mon-fri": "09:00-18:00", "sat": "10:00-14:00"}``.
        holidays: local dates without working time.
        workdays: adjusted working days (a weekend date that works); they win
            over ``holidays`` and work on ``workday_hours``.
        workday_hours: the intervals of an adjusted workday; defaults to
            Monday's hours.
        name: a label for reports.
    """

    timezone: str = attrs.field(default="UTC", converter=_zone)
    hours: Mapping[int, tuple[Interval, ...]] = attrs.field(
        factory=lambda: dict.fromkeys(range(5), ((540, 1080),)), converter=_weekly
    )
    holidays: frozenset[_dt.date] = attrs.field(default=frozenset(), converter=_dates)
    workdays: frozenset[_dt.date] = attrs.field(default=frozenset(), converter=_dates)
    workday_hours: tuple[Interval, ...] | None = attrs.field(default=None, converter=_opt_hours)
    name: str = ""

    @classmethod
    def always(cls, name: str = "24x7") -> BusinessCalendar:
        """A calendar where every instant is working time (calendar-hours targets)."""
        return cls(hours=dict.fromkeys(range(7), ((0, _DAY),)), name=name)

    @classmethod
    def for_country(
        cls,
        country: str,
        years: Iterable[int],
        *,
        timezone: str | None = None,
        hours: Mapping[Any, Any] | None = None,
        subdiv: str | None = None,
        extra_holidays: Iterable[_dt.date] = (),
        extra_workdays: Iterable[_dt.date] = (),
        name: str | None = None,
    ) -> BusinessCalendar:
        """A calendar with the public holidays of ``country`` from the ``holidays`` library.

        For China (``"CN"``) the library also lists the adjusted weekend
        working days (调休); they become ``workdays``. Other adjusted days can
        be given as ``extra_workdays``.

        Args:
            country: ISO 3166-1 alpha-2 code.
            years: the years to load.
            timezone: defaults to ``Asia/Shanghai`` for CN, else UTC.
            hours: weekly hours (default Monday-Friday 09:00-18:00).
            subdiv: a subdivision code for the library.
            extra_holidays: company holidays.
            extra_workdays: adjusted working days the library does not know.
            name: a label (defaults to the country code).

        Raises:
            ConfigurationError: the ``holidays`` package is missing or does not know the country.
        """
        try:
            import holidays as _holidays
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigurationError(
                "BusinessCalendar.for_country needs the 'holidays' package (extra: desk)"
            ) from exc
        wanted = sorted(set(years))
        try:
            table = _holidays.country_holidays(country, years=wanted, subdiv=subdiv)
        except NotImplementedError:
            raise ConfigurationError(f"the holidays library does not know {country!r}") from None
        year_set = set(wanted)
        found_workdays = {d for d in getattr(table, "weekend_workdays", ()) if d.year in year_set}
        tz = timezone or ("Asia/Shanghai" if country.upper() == "CN" else "UTC")
        weekly = hours if hours is not None else {"mon-fri": "09:00-18:00"}
        return cls(
            timezone=tz,
            hours=weekly,
            holidays=frozenset(_dt.date.fromordinal(d.toordinal()) for d in table)
            | frozenset(extra_holidays),
            workdays=frozenset(found_workdays) | frozenset(extra_workdays),
            name=name or country.upper(),
        )

    def intervals_on(self, day: _dt.date) -> tuple[Interval, ...]:
        """The working intervals that start on local date ``day``."""
        if day in self.workdays:
            return self.workday_hours if self.workday_hours is not None else self.hours.get(0, ())
        if day in self.holidays:
            return ()
        return self.hours.get(day.weekday(), ())

    def is_working(self, instant: _dt.datetime) -> bool:
        """Whether ``instant`` (aware) is working time by this calendar."""
        local = _aware(instant, "instant").astimezone(_tz(self.timezone))
        wall = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7
        day = local.date()
        if any(s <= wall < e for s, e in self.intervals_on(day)):
            return True
        prev = day - _dt.timedelta(days=1)
        return any(s <= wall + _DAY < e for s, e in self.intervals_on(prev))

    @property
    def has_hours(self) -> bool:
        """Whether any weekday (or adjusted workday) has working time."""
        return any(self.hours.values()) or bool(self.workdays and self.workday_hours)


def _aware(value: _dt.datetime, what: str) -> _dt.datetime:
    if not isinstance(value, _dt.datetime) or value.tzinfo is None:
        raise ValidationError.single(
            f"$.{what}", "naive_datetime", f"{what} must be timezone-aware"
        )
    return value.astimezone(_UTC)


def _offset(tz: ZoneInfo, t: _dt.datetime) -> _dt.timedelta:
    off = t.astimezone(tz).utcoffset()
    assert off is not None
    return off


def _segments(
    tz: ZoneInfo, start: _dt.datetime
) -> Iterator[tuple[_dt.datetime, _dt.datetime, _dt.timedelta]]:
    """Consecutive UTC spans of at most a day, each with one constant UTC offset."""
    a = start
    step = _dt.timedelta(days=1)
    while True:
        off = _offset(tz, a)
        b = a + step
        if _offset(tz, b) != off:  # a transition in (a, b]: find it to the second
            lo, hi = a, b
            while hi - lo > _dt.timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0) if mid.microsecond else mid
                if mid <= lo:
                    mid = lo + _dt.timedelta(seconds=1)
                if _offset(tz, mid) == off:
                    lo = mid
                else:
                    hi = mid
            b = hi
        yield a, b, off
        a = b


def working_intervals(
    calendar: BusinessCalendar, start: _dt.datetime, until: _dt.datetime | None = None
) -> Iterator[tuple[_dt.datetime, _dt.datetime]]:
    """The working time from ``start`` on, as ordered, disjoint aware UTC ``[a, b)`` spans.

    Endless for a calendar with working time unless ``until`` is given (the
    last span is clipped there); stops after :data:`HORIZON_DAYS` without any.
    """
    start = _aware(start, "start")
    if until is not None:
        for a, b in working_intervals(calendar, start):
            if a >= until:
                return
            yield a, min(b, until)
            if b >= until:
                return
        return
    tz = _tz(calendar.timezone)
    idle_until = start + _dt.timedelta(days=HORIZON_DAYS)
    pending: tuple[_dt.datetime, _dt.datetime] | None = None
    for a, b, off in _segments(tz, start):
        if a >= idle_until:
            return
        wa = (a + off).replace(tzinfo=None)
        wb = (b + off).replace(tzinfo=None)
        pieces: list[tuple[_dt.datetime, _dt.datetime]] = []
        day = wa.date() - _dt.timedelta(days=1)
        while day <= wb.date():
            midnight = _dt.datetime.combine(day, _dt.time())
            for s, e in calendar.intervals_on(day):
                ps = max(midnight + _dt.timedelta(minutes=s), wa)
                pe = min(midnight + _dt.timedelta(minutes=e), wb)
                if ps < pe:
                    pieces.append((ps, pe))
            day += _dt.timedelta(days=1)
        pieces.sort()
        for ps, pe in pieces:
            ua = (ps - off).replace(tzinfo=_UTC)
            ub = (pe - off).replace(tzinfo=_UTC)
            if pending is None:
                pending = (ua, ub)
            elif ua <= pending[1]:
                pending = (pending[0], max(pending[1], ub))
            else:
                yield pending
                pending = (ua, ub)
        if pending is not None:  # spans never merge across segments: each stays finite
            yield pending
            idle_until = pending[1] + _dt.timedelta(days=HORIZON_DAYS)
            pending = None


Pause = tuple[_dt.datetime, "_dt.datetime | None"]


def _merge_pauses(
    pauses: Iterable[Pause], until: _dt.datetime | None = None
) -> list[tuple[_dt.datetime, _dt.datetime]]:
    far = _dt.datetime.max.replace(tzinfo=_UTC)
    spans: list[tuple[_dt.datetime, _dt.datetime]] = []
    for p in pauses:
        a = _aware(p[0], "pause")
        b = far if p[1] is None else _aware(p[1], "pause")
        if until is not None:
            b = min(b, until)
        if a < b:
            spans.append((a, b))
    spans.sort()
    merged: list[tuple[_dt.datetime, _dt.datetime]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _running(
    calendar: BusinessCalendar,
    start: _dt.datetime,
    pauses: Sequence[tuple[_dt.datetime, _dt.datetime]],
    until: _dt.datetime | None = None,
) -> Iterator[tuple[_dt.datetime, _dt.datetime]]:
    """Working spans from ``start`` to ``until`` minus the (merged, sorted) pauses."""
    starts = [p[0] for p in pauses]
    for a, b in working_intervals(calendar, start, until):
        i = max(bisect.bisect_right(starts, a) - 1, 0)
        cur = a
        while i < len(pauses) and pauses[i][0] < b:
            pa, pb = pauses[i]
            if pb > cur:
                if pa > cur:
                    yield cur, pa
                cur = max(cur, pb)
                if cur >= b:
                    break
            i += 1
        if cur < b:
            yield cur, b


def add_business_time(
    calendar: BusinessCalendar,
    start: _dt.datetime,
    duration: _dt.timedelta,
    pauses: Iterable[Pause] = (),
) -> _dt.datetime | None:
    """The instant when ``duration`` of working, unpaused time has passed since ``start``.

    Args:
        calendar: whose working time counts.
        start: aware start instant.
        duration: the target (``timedelta(0)`` gives ``start``).
        pauses: ``(from, to)`` spans that do not count; ``to=None`` is still open.

    Returns:
        The aware UTC due instant; None when an open pause stops the clock
        before the target is reached.

    Raises:
        ConfigurationError: the calendar has no working time within
            :data:`HORIZON_DAYS`.
    """
    start = _aware(start, "start")
    if duration < _dt.timedelta(0):
        raise ValidationError.single("$.duration", "negative_duration", "must not be negative")
    if not duration:
        return start
    merged = _merge_pauses(pauses)
    open_from = merged[-1][0] if merged and merged[-1][1].year == _dt.MAXYEAR else None
    left = duration
    for a, b in _running(calendar, start, merged, open_from):
        if b - a >= left:
            return a + left
        left -= b - a
    if open_from is not None:
        return None
    raise ConfigurationError(
        f"calendar {calendar.name or calendar.timezone!r} has no working time "
        f"within {HORIZON_DAYS} days"
    )


def business_time_between(
    calendar: BusinessCalendar,
    start: _dt.datetime,
    end: _dt.datetime,
    pauses: Iterable[Pause] = (),
) -> _dt.timedelta:
    """Working, unpaused time in ``[start, end)`` (zero when ``end <= start``)."""
    start = _aware(start, "start")
    end = _aware(end, "end")
    total = _dt.timedelta(0)
    if end <= start:
        return total
    for a, b in _running(calendar, start, _merge_pauses(pauses, end), end):
        total += b - a
    return total
