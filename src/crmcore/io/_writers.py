"""Writing rows and records: CSV, XLSX (openpyxl), JSONL and Parquet (pyarrow), streamed.

:func:`export_records` reads through the session (``s.repo(...).stream``), so
tenant scope, the policy's row filter and its field masks apply: a principal
exports exactly what it may read, as it may read it.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from crmcore._progress import ProgressFn, make_progress
from crmcore.errors import ConfigurationError
from crmcore.io._readers import FORMATS
from crmcore.model import COLLECTIONS, ENTITY_TYPES, Entity, fields_of, to_data
from crmcore.query import Filter
from crmcore.storage.ports import UnitOfWorkContext

__all__ = ["export_records", "write_table"]

#: fields an export leaves out unless asked for: storage-internal
_INTERNAL = ("sealed", "search_keys")


def _cell(value: Any) -> Any:
    """A value as one text-friendly cell: scalars as they are, structures as JSON."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return str(value)


def _format_of(path: Path, format: str | None) -> str:
    kind = format or FORMATS.get(path.suffix.lower())
    if kind not in ("csv", "xlsx", "jsonl", "parquet"):
        raise ConfigurationError(
            f"cannot tell the export format of {path.name}; "
            "pass format= (csv, xlsx, jsonl, parquet)"
        )
    return kind


def write_table(
    path: str | os.PathLike[str],
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    format: str | None = None,
    batch_size: int = 5000,
) -> Path:
    """Write rows (mappings) to a file, streaming; the suffix (or ``format``) chooses the format.

    CSV is UTF-8 with a BOM (Excel reads Chinese text right); nested values
    are JSON text in CSV, XLSX and Parquet cells, native in JSONL.

    Returns:
        The path written.
    """
    out = Path(path)
    kind = _format_of(out, format)
    cols = list(columns)
    if kind == "csv":
        with open(out, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(cols)
            for row in rows:
                writer.writerow(["" if (v := _cell(row.get(c))) is None else v for c in cols])
    elif kind == "jsonl":
        with open(out, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps({c: row.get(c) for c in cols}, ensure_ascii=False, default=str))
                fh.write("\n")
    elif kind == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(cols)
        for row in rows:
            sheet.append([_cell(row.get(c)) for c in cols])
        book.save(out)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([(c, pa.string()) for c in cols])
        with pq.ParquetWriter(str(out), schema) as writer:
            chunk: list[dict[str, Any]] = []
            for row in rows:
                chunk.append(
                    {c: None if (v := _cell(row.get(c))) is None else str(v) for c in cols}
                )
                if len(chunk) >= batch_size:
                    writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                    chunk = []
            if chunk:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
    return out


def _kind(entity: str | type[Entity]) -> type[Entity]:
    if isinstance(entity, type):
        return entity
    kind = COLLECTIONS.get(entity) or ENTITY_TYPES.get(entity)
    if kind is None:
        raise ConfigurationError(f"unknown entity type or collection {entity!r}")
    return kind


def export_records(
    uow: UnitOfWorkContext,
    entity: str | type[Entity],
    path: str | os.PathLike[str],
    *,
    fields: Sequence[str] | None = None,
    where: Filter | None = None,
    order_by: Any = "id",
    format: str | None = None,
    include_deleted: bool = False,
    progress: ProgressFn | bool | None = None,
    **equals: Any,
) -> int:
    """Export the records a session sees to CSV, XLSX, JSONL or Parquet.

    Args:
        uow: the session: its tenant, policy filter and field masks apply.
        entity: the entity type, its name (``"Customer"``) or its collection (``"customers"``).
        path: the file; the suffix chooses the format unless ``format`` is given.
        fields: the columns, in order (default: every field but storage internals).
        where: a filter (:mod:`crmcore.query`); ``equals``: ``field=value`` equalities.
        order_by: the order (default: id, i.e. creation order).
        include_deleted: soft-deleted records too.
        progress: called as ``progress("export", n, total)``.

    Returns:
        How many records were written.

    Raises:
        ConfigurationError: an unknown field, entity or format.
    """
    kind = _kind(entity)
    names = [a for a in _field_order(kind) if a not in _INTERNAL]
    columns = list(fields) if fields is not None else names
    unknown = [c for c in columns if c.split(".")[0] not in fields_of(kind)]
    if unknown:
        raise ConfigurationError(f"{kind.__name__} has no field {', '.join(map(repr, unknown))}")
    report = make_progress(progress)
    repo = uow.repo(kind)
    total = repo.count(where, include_deleted=include_deleted, **equals) if report else 0
    written = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal written
        for record in repo.stream(
            where, order_by=order_by, include_deleted=include_deleted, **equals
        ):
            data = to_data(record)
            row = {}
            for c in columns:
                if c.startswith("custom."):
                    row[c] = data["custom"].get(c[7:])
                else:
                    row[c] = data.get(c)
            written += 1
            if report is not None and written % 1000 == 0:
                report("export", written, total)
            yield row

    write_table(path, columns, rows(), format=format)
    if report is not None:
        report("export", written, total)
    return written


def _field_order(kind: type[Entity]) -> list[str]:
    import attrs

    return [a.name for a in attrs.fields(kind)]
