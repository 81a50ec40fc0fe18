"""A clock for tests: stands still until told to move."""

from __future__ import annotations

import datetime as _dt
import threading

__all__ = ["FrozenClock"]


class FrozenClock:
    """A callable returning a fixed aware UTC time; ``advance()`` moves it.

    Pass it as ``connect(..., clock=FrozenClock())`` for deterministic stamps.
    Each call may also tick by ``step`` so that successive stamps differ.
    """

    def __init__(
        self,
        start: _dt.datetime | None = None,
        *,
        step: _dt.timedelta = _dt.timedelta(0),
    ) -> None:
        start = start or _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(_dt.timezone.utc)
        self._step = step
        self._lock = threading.Lock()

    def __call__(self) -> _dt.datetime:
        with self._lock:
            now = self._now
            self._now += self._step
            return now

    def advance(self, delta: _dt.timedelta = _dt.timedelta(seconds=1)) -> _dt.datetime:
        """Move the clock forward by ``delta`` and return the new time."""
        with self._lock:
            self._now += delta
            return self._now
