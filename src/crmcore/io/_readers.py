"""Rows from files and frames, streamed: CSV (UTF-8 with or without BOM, GB18030), XLSX,
JSONL, Parquet, pandas DataFrames and plain iterables of mappings.

Every reader yields ``(row number, {column: value})`` one row at a time and
never holds the whole file as Python objects: CSV and JSONL are read line by
line, Parquet a record batch at a time through pyarrow; for XLSX python-calamine
decodes the sheet's cells natively (compact) and its row iterator hands them
over one row at a time. The row number is the one a user finds the row at: the
spreadsheet row for CSV and XLSX (the header is row 1), the line for JSONL, the
1-based position for frames and iterables.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from crmcore.errors import ConfigurationError, ValidationError

__all__ = ["RowSource", "detect_encoding", "open_rows"]

#: the formats :func:`open_rows` reads, by file suffix
FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
    ".ods": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}

_SAMPLE = 256 * 1024


def detect_encoding(path: str | os.PathLike[str], *, sample: int = _SAMPLE) -> str:
    """The text encoding of a file: ``"utf-8-sig"`` (BOM), ``"utf-8"`` or ``"gb18030"``.

    UTF-8 is tried on the first ``sample`` bytes (a multi-byte character cut at
    the end of the sample does not count against it); text that is not UTF-8
    is read as GB18030, the superset of GBK and GB2312 that Chinese Excel and
    legacy systems export.

    Raises:
        ValidationError: the bytes are neither UTF-8 nor GB18030 (code ``encoding``).
    """
    with open(path, "rb") as fh:
        head = fh.read(sample)
        more = bool(fh.read(1))
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=not more)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=not more)
    except UnicodeDecodeError:
        raise ValidationError.single(
            "$", "encoding", f"{Path(path).name} is neither UTF-8 nor GB18030 text"
        ) from None
    return "gb18030"


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value != value:  # NaN: an empty cell
        return None
    return value


@attrs.define
class RowSource:
    """An open stream of rows (use as a context manager, or call :meth:`close`).

    Attributes:
        columns: the column names, in file order.
        name: the file's name (or ``"<frame>"``, ``"<rows>"``).
        path: the file's path, if it is a file.
        format: ``csv``, ``xlsx``, ``jsonl``, ``parquet``, ``frame`` or ``rows``.
        encoding: the text encoding read (CSV).
    """

    columns: list[str]
    rows: Iterator[tuple[int, dict[str, Any]]]
    name: str
    path: Path | None = None
    format: str = "rows"
    encoding: str | None = None
    _closers: list[Any] = attrs.field(factory=list, repr=False)

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        return self.rows

    def close(self) -> None:
        """Close the underlying file."""
        for closer in self._closers:
            closer()
        self._closers.clear()

    def __enter__(self) -> RowSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _csv_rows(
    fh: IO[str], columns: list[str], reader: Iterator[list[str]]
) -> Iterator[tuple[int, dict[str, Any]]]:
    width = len(columns)
    for record in reader:
        if not any(c.strip() for c in record):
            continue  # a blank line
        line = reader.line_num  # type: ignore[attr-defined]
        values = record[:width] + [""] * (width - len(record))
        row = {c: _cell(v) for c, v in zip(columns, values, strict=True)}
        if len(record) > width and any(v.strip() for v in record[width:]):
            row["__extra__"] = record[width:]
        yield line, row


def _unique(headers: Iterable[Any]) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        name = str(h).strip().lstrip("\ufeff") if h is not None else ""
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _open_csv(path: Path, encoding: str | None, delimiter: str | None) -> RowSource:
    enc = encoding or detect_encoding(path)
    fh = open(path, encoding=enc, newline="")  # noqa: SIM115 - closed by the RowSource
    try:
        sample = fh.read(8192)
        fh.seek(0)
        if delimiter is None:
            try:
                delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, None)
    except UnicodeDecodeError:
        fh.close()
        raise ValidationError.single(
            "$", "encoding", f"{path.name} is not valid {enc} text"
        ) from None
    except BaseException:
        fh.close()
        raise
    columns = _unique(header or [])
    return RowSource(
        columns, _csv_rows(fh, columns, reader), path.name, path, "csv", enc, [fh.close]
    )


def _xlsx_rows(
    rows: Iterator[list[Any]], columns: list[str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    width = len(columns)
    for n, record in enumerate(rows, start=2):
        values = list(record[:width]) + [None] * (width - len(record))
        row = {c: _cell(v) for c, v in zip(columns, values, strict=True)}
        if all(v is None for v in row.values()):
            continue
        yield n, row


def _open_xlsx(path: Path, sheet: str | int | None) -> RowSource:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    try:
        if isinstance(sheet, str):
            ws = book.get_sheet_by_name(sheet)
        else:
            ws = book.get_sheet_by_index(sheet or 0)
        rows = iter(ws.iter_rows())
        header = next(rows, [])
    except Exception as exc:
        book.close()
        raise ValidationError.single("$", "unreadable", f"cannot read {path.name}: {exc}") from None
    columns = _unique(header)
    return RowSource(
        columns, _xlsx_rows(rows, columns), path.name, path, "xlsx", None, [book.close]
    )


def _jsonl_rows(fh: IO[str], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for n, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, {"__error__": f"line {n} is not JSON: {exc.msg}"}
            continue
        if not isinstance(data, dict):
            yield n, {"__error__": f"line {n} of {name} is not a JSON object"}
            continue
        yield n, {str(k): _cell(v) for k, v in data.items()}


def _open_jsonl(path: Path, encoding: str | None) -> RowSource:
    enc = encoding or detect_encoding(path)
    fh = open(path, encoding=enc)  # noqa: SIM115 - closed by the RowSource
    columns: list[str] = []
    try:
        for line in fh:
            if line.strip():
                try:
                    first = json.loads(line)
                except json.JSONDecodeError:
                    first = {}
                if isinstance(first, dict):
                    columns = [str(k) for k in first]
                break
        fh.seek(0)
    except BaseException:
        fh.close()
        raise
    return RowSource(columns, _jsonl_rows(fh, path.name), path.name, path, "jsonl", enc, [fh.close])


def _parquet_rows(pf: Any, batch_size: int) -> Iterator[tuple[int, dict[str, Any]]]:
    n = 0
    for batch in pf.iter_batches(batch_size=batch_size):
        for record in batch.to_pylist():
            n += 1
            yield n, {str(k): _cell(v) for k, v in record.items()}


def _open_parquet(path: Path, batch_size: int) -> RowSource:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(str(path))
    except Exception as exc:
        raise ValidationError.single("$", "unreadable", f"cannot read {path.name}: {exc}") from None
    columns = [str(c) for c in pf.schema_arrow.names]
    return RowSource(
        columns, _parquet_rows(pf, batch_size), path.name, path, "parquet", None, [pf.close]
    )


def _frame_rows(frame: Any, batch_size: int) -> Iterator[tuple[int, dict[str, Any]]]:
    columns = [str(c) for c in frame.columns]
    n = 0
    for start in range(0, len(frame), batch_size):
        chunk = frame.iloc[start : start + batch_size]
        for values in chunk.itertuples(index=False, name=None):
            n += 1
            yield n, {c: _cell(_scalar(v)) for c, v in zip(columns, values, strict=True)}


def _scalar(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars -> Python
    if item is not None and not isinstance(value, (str, bytes)):
        try:
            return item()
        except (TypeError, ValueError):
            return value
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    to_py = getattr(value, "to_pydatetime", None)
    return to_py() if to_py is not None else value


def _iter_rows(rows: Iterable[Mapping[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
    for n, row in enumerate(rows, start=1):
        yield n, {str(k): _cell(v) for k, v in row.items()}


def open_rows(
    source: str | os.PathLike[str] | Any,
    *,
    format: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    batch_size: int = 1000,
) -> RowSource:
    """Open a file, a DataFrame or an iterable of mappings as a stream of rows.

    Cells are stripped; empty cells (and NaN) are ``None``.

    Args:
        source: a path (CSV, XLSX, JSONL, Parquet by suffix), a pandas
            DataFrame, or an iterable of mappings.
        format: ``csv``, ``xlsx``, ``jsonl`` or ``parquet`` instead of the suffix.
        encoding: the text encoding of CSV/JSONL (default: detected, see
            :func:`detect_encoding`).
        delimiter: the CSV delimiter (default: sniffed from , ; tab |).
        sheet: the XLSX sheet name or index (default: the first).
        batch_size: rows per Parquet record batch or DataFrame chunk.

    Raises:
        ConfigurationError: an unknown format.
        ValidationError: the file cannot be decoded or read.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        kind = format or FORMATS.get(path.suffix.lower())
        if kind is None:
            raise ConfigurationError(
                f"cannot tell the format of {path.name}; pass format= "
                f"(one of {', '.join(sorted(set(FORMATS.values())))})"
            )
        if not path.is_file():
            raise ConfigurationError(f"no such file: {path}")
        if kind == "csv":
            return _open_csv(path, encoding, delimiter)
        if kind == "xlsx":
            return _open_xlsx(path, sheet)
        if kind == "jsonl":
            return _open_jsonl(path, encoding)
        if kind == "parquet":
            return _open_parquet(path, batch_size)
        raise ConfigurationError(f"unknown import format {kind!r}")
    if hasattr(source, "iloc") and hasattr(source, "columns"):
        return RowSource(
            [str(c) for c in source.columns],
            _frame_rows(source, batch_size),
            "<frame>",
            None,
            "frame",
        )
    if isinstance(source, (io.IOBase, bytes)):
        raise ConfigurationError("pass a path, a DataFrame or an iterable of mappings")
    rows = iter(source)
    first = next(rows, None)
    columns = [str(k) for k in first] if isinstance(first, Mapping) else []

    def chained() -> Iterator[Mapping[str, Any]]:
        if first is not None:
            yield first
        yield from rows

    return RowSource(columns, _iter_rows(chained()), "<rows>", None, "rows")
