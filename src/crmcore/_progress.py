"""What ``progress=`` means everywhere in crmcore: one callback protocol.

Every long-running function that takes ``progress`` (``find_duplicates``,
``quality_report``...) resolves it with :func:`make_progress`:

* ``None`` or ``False``: no progress;
* a callable: called as ``progress(stage, done, total)`` with a stage name,
  the units done so far and the total (``0`` when the total is not known,
  e.g. a stream of records);
* ``True``: a tqdm bar per stage when the output is a terminal or a notebook;
  anywhere else (a log file, CI) a plain ``stage: done/total`` line at every
  tenth of the way and at the end, because a bar redrawn into a file prints
  nothing but meaningless rates.

This module imports nothing heavy; tqdm is imported only for ``True``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any

from crmcore.errors import ConfigurationError

__all__ = ["ProgressFn", "make_progress"]

#: ``progress(stage, done, total)``; ``total`` is 0 when unknown.
ProgressFn = Callable[[str, int, int], None]


class _Bars:
    """One tqdm bar per stage (terminal or notebook)."""

    def __init__(self, tqdm: Any, stream: IO[str]) -> None:
        self._tqdm = tqdm
        self._stream = stream
        self._bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self._bars.get(stage)
        if bar is None:
            bar = self._bars[stage] = self._tqdm(
                total=total or None, desc=stage, leave=False, file=self._stream
            )
        bar.total = total or None
        bar.n = done
        bar.refresh()
        if total and done >= total:
            bar.close()
            del self._bars[stage]


class _Lines:
    """Plain progress lines, no rates: for output that is not a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._next: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        finished = bool(total) and done >= total
        if total:
            step = max(total // 10, 1)
            due = self._next.get(stage, step)
            if done < due and not finished:
                return
            self._next[stage] = (done // step + 1) * step
            text = f"{stage}: {done}/{total}"
        else:
            # Unknown total: a line at 1, 10, 100, ... units (and whatever the caller ends with).
            due = self._next.get(stage, 1)
            if done < due:
                return
            self._next[stage] = due * 10
            text = f"{stage}: {done}"
        self._stream.write(text + "\n")
        self._stream.flush()
        if finished:
            self._next.pop(stage, None)


def _interactive(stream: IO[str], tqdm_auto: Any) -> bool:
    # tqdm.auto imports tqdm.notebook only when it runs inside a notebook kernel.
    notebook = sys.modules.get("tqdm.notebook")
    if notebook is not None and issubclass(tqdm_auto, notebook.tqdm_notebook):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def make_progress(
    progress: ProgressFn | bool | None, *, stream: IO[str] | None = None
) -> ProgressFn | None:
    """The callback to use for a ``progress=`` argument.

    Args:
        progress: ``None``/``False``, ``True`` or a callback ``(stage, done, total)``.
        stream: where ``True`` draws (default ``sys.stderr``).

    Returns:
        ``None`` for no progress, else a callback ``(stage, done, total)``.

    Raises:
        ConfigurationError: ``progress=True`` without tqdm installed, or
            ``progress`` neither a bool, None nor a callable.
    """
    if progress is None or progress is False:
        return None
    if progress is True:
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:
            raise ConfigurationError(
                "progress=True needs tqdm (pip install crmcore[progress]); "
                "or pass a callback progress(stage, done, total)"
            ) from exc
        out = stream if stream is not None else sys.stderr
        return _Bars(tqdm, out) if _interactive(out, tqdm) else _Lines(out)
    if not callable(progress):
        raise ConfigurationError(
            f"progress must be a callable(stage, done, total), True or None, "
            f"not {type(progress).__name__}"
        )
    return progress
