"""Data in and out: import, export, backup and restore (extra ``io``).

- read: :func:`open_rows` streams CSV (UTF-8 with or without BOM, GB18030:
  :func:`detect_encoding`), XLSX (python-calamine), JSONL, Parquet (pyarrow)
  and pandas DataFrames, one row at a time;
- map: :class:`ColumnMapping` (plain JSON data) sends columns to fields,
  custom fields, nested paths and a split full name; :func:`suggest_mapping`
  proposes one from Chinese and English headers and from the values;
- import: :func:`import_records` validates every row through the session,
  collects every error (:class:`ImportRowError`), upserts on a natural key,
  checks new rows for duplicates (:mod:`crmcore.dedupe`), commits per batch
  with a checkpoint (resumable) or per file, and can be undone exactly
  (:func:`undo_import`); :meth:`ImportReport.write_errors` writes the bad rows
  to fix and re-import;
- export: :func:`export_records` to CSV, XLSX, JSONL or Parquet through the
  session (policy and masks apply);
- backup: :func:`backup` / :func:`restore` a tenant or a store to one zip file,
  checksummed, encrypted fields kept as ciphertext.
"""

from __future__ import annotations

from crmcore.io._backup import BackupManifest, backup, read_wrapped_keys, restore, verify_backup
from crmcore.io._convert import ImportRowError, RowConverter
from crmcore.io._import import (
    DUPLICATE_ACTIONS,
    ImportDuplicate,
    ImportOrigin,
    ImportReport,
    UndoReport,
    import_records,
    record_origin,
    undo_import,
)
from crmcore.io._mapping import ColumnMapping, ColumnSuggestion, MappingSuggestion, suggest_mapping
from crmcore.io._readers import RowSource, detect_encoding, open_rows
from crmcore.io._writers import export_records, write_table

__all__ = [
    "DUPLICATE_ACTIONS",
    "BackupManifest",
    "ColumnMapping",
    "ColumnSuggestion",
    "ImportDuplicate",
    "ImportOrigin",
    "ImportReport",
    "ImportRowError",
    "MappingSuggestion",
    "RowConverter",
    "RowSource",
    "UndoReport",
    "backup",
    "detect_encoding",
    "export_records",
    "import_records",
    "open_rows",
    "read_wrapped_keys",
    "record_origin",
    "restore",
    "suggest_mapping",
    "undo_import",
    "verify_backup",
    "write_table",
]
