"""Running stages: progress callbacks, and chunked work in worker processes.

``workers=N`` splits the records (normalise) and the candidate pairs (compare)
into chunks and maps them over a :class:`concurrent.futures.ProcessPoolExecutor`.
Chunks are cut at fixed sizes and their results concatenated in order, so the
output is the same whatever the number of workers.
"""

from __future__ import annotations

import gc
import multiprocessing
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

from crmcore._progress import ProgressFn
from crmcore.dedupe._compare import Comparison, compare_pairs, scorer_threads
from crmcore.dedupe._normalize import Column, RecordNormalizer, Table, column_from_distinct
from crmcore.dedupe._records import RawTable

__all__ = ["compare_chunks", "normalize_chunks", "normalize_distinct"]

IntArray = npt.NDArray[np.int64]

NORMALIZE_CHUNK = 5_000
COMPARE_CHUNK = 100_000

_STATE: dict[str, Any] = {}


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects.

    Building millions of strings and tuples otherwise triggers collections whose
    cost grows with the heap; nothing built here forms reference cycles.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _context() -> Any:
    # fork hands the table to the workers without pickling it (Linux);
    # elsewhere the platform default start method is used
    method = "fork" if sys.platform.startswith("linux") else None
    return multiprocessing.get_context(method)


@contextmanager
def _pool(
    workers: int, initializer: Callable[..., None], args: tuple[Any, ...]
) -> Iterator[Executor]:
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=_context(), initializer=initializer, initargs=args
    ) as pool:
        yield pool


def _slice_raw(raw: RawTable, start: int, stop: int) -> RawTable:
    return RawTable(
        ids=raw.ids[start:stop], columns={k: v[start:stop] for k, v in raw.columns.items()}
    )


def _init_normalize(normalizer: RecordNormalizer) -> None:
    _STATE["normalizer"] = normalizer


def _normalize_chunk(raw: RawTable) -> dict[str, list[str | None]]:
    normalizer: RecordNormalizer = _STATE["normalizer"]
    return normalizer(raw)


def normalize_chunks(
    raw: RawTable,
    normalizer: RecordNormalizer,
    *,
    workers: int,
    progress: ProgressFn | None,
    chunk_size: int = NORMALIZE_CHUNK,
) -> dict[str, list[str | None]]:
    """Normalise ``raw`` in record chunks, in worker processes when ``workers > 1``."""
    n = raw.n
    bounds = list(range(0, n, chunk_size)) or [0]
    chunks = [_slice_raw(raw, s, min(s + chunk_size, n)) for s in bounds]
    out: dict[str, list[str | None]] = {}

    def collect(parts: Iterator[dict[str, list[str | None]]]) -> None:
        done = 0
        for chunk, part in zip(chunks, parts, strict=True):
            for key, values in part.items():
                out.setdefault(key, []).extend(values)
            done += chunk.n
            if progress is not None:
                progress("normalize", done, n)

    if workers > 1 and len(chunks) > 1:
        with _pool(workers, _init_normalize, (normalizer,)) as pool:
            collect(pool.map(_normalize_chunk, chunks))
    else:
        collect(normalizer(c) for c in chunks)
    return out


def normalize_distinct(
    raw: RawTable,
    normalizer: RecordNormalizer,
    groups: Mapping[str, tuple[str, ...]],
    *,
    workers: int,
    progress: ProgressFn | None,
    chunk_size: int = NORMALIZE_CHUNK,
) -> Table | None:
    """Normalise each distinct combination of raw values once, then spread the results.

    ``groups`` (output column -> the raw columns it reads) is the normaliser's
    promise that an output depends on those inputs only; each group's distinct
    input tuples are normalised side by side in one synthetic table (padded
    with missing values), so a million records with a hundred thousand phone
    numbers parse a hundred thousand phones, and the workers split distinct
    values, not records that repeat them. The table is the one normalising
    every record gives. ``None`` when the groups do not fit (groups sharing a
    raw column, a raw column or an output no group declares): the caller then
    normalises record by record.
    """
    n = raw.n
    inputs = sorted(set(groups.values()))
    used = [c for g in inputs for c in g]
    if len(used) != len(set(used)) or not set(raw.columns) <= set(used):
        return None
    owners: dict[tuple[str, ...], IntArray] = {}
    distinct: dict[tuple[str, ...], list[Any]] = {}
    for group in inputs:
        present = [c for c in group if c in raw.columns]
        if not present:
            continue
        lookup: dict[Any, int] = {}
        keys: Iterable[Any] = (
            raw.columns[present[0]]
            if len(present) == 1
            else zip(*(raw.columns[c] for c in present), strict=True)
        )
        owners[group] = np.fromiter(
            (lookup.setdefault(k, len(lookup)) for k in keys), dtype=np.int64, count=n
        )
        distinct[group] = list(lookup)
    m = max((len(v) for v in distinct.values()), default=0)
    columns: dict[str, list[object]] = {}
    for group, values in distinct.items():
        present = [c for c in group if c in raw.columns]
        pad: list[object] = [None] * (m - len(values))
        if len(present) == 1:
            columns[present[0]] = [*values, *pad]
        else:
            for j, c in enumerate(present):
                columns[c] = [v[j] for v in values] + pad
    synthetic = RawTable(ids=list(range(m)), columns=columns)

    def scaled(stage: str, done: int, total: int) -> None:
        assert progress is not None
        progress(stage, done * n // total if total else n, n)

    out = normalize_chunks(
        synthetic,
        normalizer,
        workers=workers,
        progress=None if progress is None else scaled,
        chunk_size=chunk_size,
    )
    table_columns: dict[str, Column] = {}
    for name, values in out.items():
        source = groups.get(name)
        if source is None or source not in owners:
            return None
        table_columns[name] = column_from_distinct(values[: len(distinct[source])], owners[source])
    return Table(ids=raw.ids, columns=table_columns)


def compare_chunks(
    table: Table,
    comparisons: Sequence[Comparison],
    left: IntArray,
    right: IntArray,
    *,
    workers: int,
    progress: ProgressFn | None,
    stage: str = "compare",
    chunk_size: int = COMPARE_CHUNK,
) -> npt.NDArray[np.int8]:
    """The level matrix of the pairs, computed in chunks (and processes)."""
    total = int(left.shape[0])
    bounds = list(range(0, total, chunk_size)) or [0]
    chunks = [(left[s : s + chunk_size], right[s : s + chunk_size]) for s in bounds]
    parts: list[npt.NDArray[np.int8]] = []

    def collect(results: Iterator[npt.NDArray[np.int8]]) -> None:
        done = 0
        for res in results:
            parts.append(res)
            done += int(res.shape[0])
            if progress is not None:
                progress(stage, done, total)

    # in process: the string scorers run on ``workers`` threads (the scores are
    # the same); forked workers would each touch, and so copy, the whole table
    with scorer_threads(workers):
        collect(compare_pairs(table, comparisons, lo, hi) for lo, hi in chunks)
    if not parts:
        return np.zeros((0, len(comparisons)), dtype=np.int8)
    return np.concatenate(parts, axis=0)
