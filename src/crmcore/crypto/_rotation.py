"""A storage-agnostic, resumable driver for key rotation and blind-index recomputation.

The caller supplies batches of items (records, ids, rows) in ascending id
order and a ``rewrite`` callable that re-encrypts one batch and saves it in one
unit of work. The driver tracks a checkpoint (the id of the last item of the
last completed batch), reports progress after every batch and, given a
checkpoint from an earlier run, skips everything up to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import attrs

from crmcore.errors import ConfigurationError

__all__ = ["RotationProgress", "rotate_all"]


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


T = TypeVar("T")
K = TypeVar("K", bound=_Ordered)


@attrs.frozen
class RotationProgress(Generic[K]):
    """Where a rotation run stands; passed to ``progress`` after each batch and returned.

    Attributes:
        batches: batches rewritten so far in this run.
        processed: items handed to ``rewrite`` so far.
        rewritten: items ``rewrite`` reported as changed (its int return), else ``processed``.
        skipped: items at or before the starting checkpoint.
        checkpoint: the id of the last item of the last completed batch; persist
            it and pass it back as ``checkpoint=`` to resume.
    """

    batches: int = 0
    processed: int = 0
    rewritten: int = 0
    skipped: int = 0
    checkpoint: K | None = None


def _identity(item: Any) -> Any:
    return item


def rotate_all(
    batches: Iterable[Sequence[T]],
    rewrite: Callable[[Sequence[T]], int | None],
    *,
    id_of: Callable[[T], K] = _identity,
    checkpoint: K | None = None,
    progress: Callable[[RotationProgress[K]], None] | None = None,
) -> RotationProgress[K]:
    """Run ``rewrite`` over every batch, resumably, reporting progress.

    Args:
        batches: batches of items in strictly ascending ``id_of`` order. For a
            quick resume, start the source after ``checkpoint`` yourself (items
            at or before it are skipped anyway, but they are still read).
        rewrite: re-encrypts and saves one batch (one unit of work); may return
            how many items it changed (e.g. those ``needs_rotation`` selected).
        id_of: the id of an item (default: the item itself is the id).
        checkpoint: the ``checkpoint`` of an earlier, interrupted run.
        progress: called with a :class:`RotationProgress` after each batch.

    Returns:
        The final progress; its ``checkpoint`` is the last id processed.

    Raises:
        ConfigurationError: ids are not in ascending order.
        Exception: whatever ``rewrite`` raises, unchanged; the last progress
            report holds the checkpoint to resume from.
    """
    state: RotationProgress[K] = RotationProgress(checkpoint=checkpoint)
    last: K | None = checkpoint
    started = False
    for batch in batches:
        todo: list[T] = []
        skipped = 0
        for item in batch:
            ident = id_of(item)
            if last is not None and not last < ident:
                if not started:  # still inside what an earlier run completed
                    skipped += 1
                    continue
                raise ConfigurationError("rotation batches must be in strictly ascending id order")
            todo.append(item)
            last = ident
            started = True
        if todo:
            changed = rewrite(todo)
            state = RotationProgress(
                batches=state.batches + 1,
                processed=state.processed + len(todo),
                rewritten=state.rewritten + (len(todo) if changed is None else changed),
                skipped=state.skipped + skipped,
                checkpoint=last,
            )
        elif skipped:
            state = attrs.evolve(state, skipped=state.skipped + skipped)
        else:
            continue
        if progress is not None:
            progress(state)
    return state
