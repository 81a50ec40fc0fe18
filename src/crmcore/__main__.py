"""The ``crmcore`` command line.

    crmcore db upgrade|downgrade|current URL ...   manage the SQL schema (Alembic)
    crmcore import FILE [--mapping m.json] [--key email] [--dry-run] ...
    crmcore export COLLECTION FILE [--fields a,b] [--where field=value]
    crmcore backup FILE [--scope tenant|store]
    crmcore restore FILE [--dry-run]
    crmcore dedupe [COLLECTION] [--out pairs.csv] [--merge] [--dry-run]

Every command has ``--help``. The database comes from ``--url``, else the
``CRMCORE_URL`` environment variable, else ``url = "..."`` in the config file
(``--config``, ``$CRMCORE_CONFIG``, ``./crmcore.toml`` or
``~/.config/crmcore/config.toml``). Long work draws a progress bar on a
terminal (plain lines otherwise; ``--quiet`` for none).

Exit status: 0 on success, 1 on a crmcore error (the message goes to
stderr), 2 on bad usage, 3 when an import or a dry run found invalid rows.

Commands are registered by small functions (``_register_import``...) listed
in :data:`COMMANDS`; a new command adds its own function there.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["COMMANDS", "main"]

#: exit status: the work finished but rows were invalid (import, dry run)
EXIT_INVALID_ROWS = 3

Handler = Callable[[argparse.Namespace], int]


# -- shared options


def _config_files(explicit: str | None) -> list[Path]:
    if explicit:
        return [Path(explicit)]
    env = os.environ.get("CRMCORE_CONFIG")
    if env:
        return [Path(env)]
    return [Path("crmcore.toml"), Path.home() / ".config" / "crmcore" / "config.toml"]


def _read_config(path: Path) -> dict[str, Any]:
    import importlib

    from crmcore.errors import ConfigurationError

    try:
        tomllib = importlib.import_module("tomllib")  # Python 3.11+
    except ImportError:
        try:
            tomllib = importlib.import_module("tomli")
        except ImportError:
            raise ConfigurationError(
                f"reading {path} needs Python 3.11+ or the tomli package; "
                "or pass --url / set CRMCORE_URL"
            ) from None
    try:
        with open(path, "rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {path}: {exc}") from None


def database_url(args: argparse.Namespace) -> str:
    """The database URL: ``--url``, ``$CRMCORE_URL``, or ``url`` in the config file.

    Raises:
        ConfigurationError: none of them is set.
    """
    from crmcore.errors import ConfigurationError

    if getattr(args, "url", None):
        return str(args.url)
    if os.environ.get("CRMCORE_URL"):
        return os.environ["CRMCORE_URL"]
    for path in _config_files(getattr(args, "config", None)):
        if path.is_file():
            url = _read_config(path).get("url")
            if url:
                return str(url)
    raise ConfigurationError(
        'no database: pass --url, set CRMCORE_URL, or put url = "..." in crmcore.toml'
    )


def _connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("database")
    group.add_argument("--url", help="database URL (default: $CRMCORE_URL or the config file)")
    group.add_argument("--config", help='a TOML config file with url = "..."')
    group.add_argument("--tenant", default="default", help="the tenant to work in (default)")
    group.add_argument("--region", default="CN", help="default phone/address region (CN)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def _connect(args: argparse.Namespace) -> Any:
    import crmcore

    return crmcore.connect(database_url(args), region=args.region)


def _principal(args: argparse.Namespace) -> Any:
    from crmcore.model import Principal

    return Principal.system_principal(args.tenant, name="crmcore-cli")


def _progress(args: argparse.Namespace) -> Any:
    if args.quiet:
        return None
    from crmcore._progress import make_progress

    try:
        return make_progress(True, stream=sys.stderr)
    except Exception:  # no tqdm: plain lines
        return lambda stage, done, total: print(
            f"{stage}: {done}" + (f"/{total}" if total else ""), file=sys.stderr
        )


# -- db


def _register_db(commands: Any) -> None:
    db = commands.add_parser("db", help="manage the SQL schema (Alembic migrations)")
    actions = db.add_subparsers(dest="action", required=True)
    up = actions.add_parser("upgrade", help="migrate the crmcore tables up")
    up.add_argument("url", help="database URL, e.g. postgresql+psycopg://user@host/db")
    up.add_argument("revision", nargs="?", default="head", help="target revision (head)")
    down = actions.add_parser("downgrade", help="migrate the crmcore tables down")
    down.add_argument("url", help="database URL")
    down.add_argument("revision", help='target revision: "-1", "base" or a revision id')
    current = actions.add_parser("current", help="show the schema revision")
    current.add_argument("url", help="database URL")
    db.set_defaults(run=_run_db)


def _run_db(args: argparse.Namespace) -> int:
    from crmcore.storage import sql

    if args.action == "upgrade":
        sql.upgrade(args.url, args.revision)
        print(f"crmcore schema at {sql.current_revision(args.url)}")
    elif args.action == "downgrade":
        sql.downgrade(args.url, args.revision)
        print(f"crmcore schema at {sql.current_revision(args.url) or 'base (no tables)'}")
    else:
        rev = sql.current_revision(args.url)
        head = sql.head_revision()
        state = "up to date" if rev == head else f"code expects {head}"
        print(f"{rev or 'none'} ({state})")
    return 0


# -- import


def _register_import(commands: Any) -> None:
    p = commands.add_parser(
        "import",
        help="import a CSV, XLSX, JSONL or Parquet file",
        description="Import rows through the session's validation; every row's errors are "
        "reported. Without --mapping the columns are mapped from their headers and values "
        "(--suggest shows the proposal and stops).",
    )
    p.add_argument("file", nargs="?", help="the file to import")
    p.add_argument("--entity", default="Customer", help="entity type (Customer, Lead, Account...)")
    p.add_argument("--mapping", help="a saved column mapping (JSON)")
    p.add_argument("--suggest", action="store_true", help="print the suggested mapping and stop")
    p.add_argument("--save-mapping", help="write the mapping used to this JSON file")
    p.add_argument("--key", action="append", help="natural key to upsert on (repeatable)")
    p.add_argument(
        "--duplicates",
        default="create",
        choices=("create", "skip", "merge", "flag"),
        help="what to do with a new row matching a stored record (create)",
    )
    p.add_argument("--transaction", default="batch", choices=("batch", "file"))
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--source-system", help="recorded on the import and on the records")
    p.add_argument("--errors", help="write the invalid rows + an error column here (.csv/.xlsx)")
    p.add_argument("--resume", metavar="IMPORT_ID", help="resume an interrupted import")
    p.add_argument("--undo", metavar="IMPORT_ID", help="undo an import and stop")
    p.add_argument("--encoding", help="the file's text encoding (default: detected)")
    p.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")
    _connection_options(p)
    p.set_defaults(run=_run_import)


def _run_import(args: argparse.Namespace) -> int:
    from crmcore.io import ColumnMapping, import_records, open_rows, suggest_mapping, undo_import

    options: dict[str, Any] = {"encoding": args.encoding} if args.encoding else {}
    if args.undo:
        with _connect(args) as crm, crm.session(_principal(args)) as s:
            done = undo_import(s, args.undo)
        print(f"undid import {done.import_id}: {done.removed} removed, {done.restored} restored")
        return 0
    if not args.file:
        print("crmcore import: a FILE is needed (or --undo ID)", file=sys.stderr)
        return 2
    mapping = ColumnMapping.load(args.mapping) if args.mapping else None
    if mapping is None:
        with open_rows(args.file, **options) as rows:
            head = [row for _, row in zip(range(200), rows, strict=False)]
            suggestion = suggest_mapping(rows.columns, [r for _, r in head], entity=args.entity)
        mapping = suggestion.mapping()
        if args.suggest or not args.quiet:
            print(suggestion, file=sys.stdout if args.suggest else sys.stderr)
        if args.suggest:
            if args.save_mapping:
                mapping.save(args.save_mapping)
            return 0
    if args.save_mapping:
        mapping.save(args.save_mapping)
    with _connect(args) as crm, crm.session(_principal(args)) as s:
        report = import_records(
            s,
            args.file,
            mapping,
            key=args.key,
            duplicates=args.duplicates,
            transaction=args.transaction,
            batch_size=args.batch_size,
            dry_run=args.dry_run,
            source_system=args.source_system,
            resume=args.resume,
            progress=_progress(args),
            **options,
        )
    print(report)
    for error in report.errors[:20]:
        print(f"  {error}")
    if len(report.errors) > 20:
        print(f"  ... {len(report.errors) - 20} more")
    if args.errors and report.bad_rows:
        print(f"invalid rows written to {report.write_errors(args.errors)}")
    return EXIT_INVALID_ROWS if report.invalid else 0


# -- export


def _register_export(commands: Any) -> None:
    p = commands.add_parser(
        "export",
        help="export a collection to CSV, XLSX, JSONL or Parquet",
        description="Export what the tenant holds, through the session (policy applies).",
    )
    p.add_argument("collection", help="customers, leads, accounts... (or an entity name)")
    p.add_argument("file", help="the file to write; its suffix chooses the format")
    p.add_argument("--fields", help="comma-separated fields, in order (default: all)")
    p.add_argument(
        "--where", action="append", default=[], metavar="FIELD=VALUE", help="equality filter"
    )
    p.add_argument("--deleted", action="store_true", help="include soft-deleted records")
    _connection_options(p)
    p.set_defaults(run=_run_export)


def _run_export(args: argparse.Namespace) -> int:
    from crmcore.io import export_records
    from crmcore.query import all_of, eq

    filters = []
    for item in args.where:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"crmcore export: --where takes FIELD=VALUE, not {item!r}", file=sys.stderr)
            return 2
        filters.append(eq(name.strip(), value))
    fields = [f.strip() for f in args.fields.split(",")] if args.fields else None
    with _connect(args) as crm, crm.session(_principal(args)) as s:
        n = export_records(
            s,
            args.collection,
            args.file,
            fields=fields,
            where=all_of(*filters) if filters else None,
            include_deleted=args.deleted,
            progress=_progress(args),
        )
    print(f"exported {n} records to {args.file}")
    return 0


# -- backup / restore


def _register_backup(commands: Any) -> None:
    p = commands.add_parser(
        "backup",
        help="write a full logical backup (zip of JSONL + manifest)",
        description="Back up every collection of the tenant (or the store), encrypted fields "
        "as ciphertext, with per-member SHA-256 checksums.",
    )
    p.add_argument("file", help="the backup file to write (.zip)")
    p.add_argument("--scope", default="tenant", choices=("tenant", "store"))
    _connection_options(p)
    p.set_defaults(run=_run_backup)


def _run_backup(args: argparse.Namespace) -> int:
    from crmcore.io import backup

    with _connect(args) as crm, crm.session(_principal(args)) as s:
        manifest = backup(s, args.file, scope=args.scope, progress=_progress(args))
    total = sum(manifest.counts.values())
    print(f"backed up {total} records in {len(manifest.counts)} collections to {args.file}")
    return 0


def _register_restore(commands: Any) -> None:
    p = commands.add_parser(
        "restore",
        help="restore a backup (checksums verified first)",
        description="Restore a backup into the database in restore mode; a damaged or "
        "truncated file is refused before anything is written.",
    )
    p.add_argument("file", help="the backup file")
    p.add_argument("--dry-run", action="store_true", help="verify the file only, write nothing")
    _connection_options(p)
    p.set_defaults(run=_run_restore)


def _run_restore(args: argparse.Namespace) -> int:
    from crmcore.io import restore, verify_backup

    if args.dry_run:
        manifest = verify_backup(args.file)
        print(f"{args.file}: intact, {sum(manifest.counts.values())} records")
        return 0
    with _connect(args) as crm, crm.session(_principal(args), restore=True) as s:
        manifest = restore(s, args.file, progress=_progress(args))
    print(f"restored {sum(manifest.counts.values())} records from {args.file}")
    return 0


# -- dedupe


def _register_dedupe(commands: Any) -> None:
    p = commands.add_parser(
        "dedupe",
        help="find (and optionally merge) duplicate records",
        description="Score stored records pairwise (crmcore.dedupe) and list the duplicates; "
        "--merge folds each cluster into its oldest record (undoable with services.unmerge).",
    )
    p.add_argument("collection", nargs="?", default="customers", help="customers (default)")
    p.add_argument("--threshold", type=float, default=0.9, help="match probability (0.9)")
    p.add_argument("--out", help="write the scored pairs here (.csv/.xlsx/.jsonl/.parquet)")
    p.add_argument("--merge", action="store_true", help="merge every cluster")
    p.add_argument("--dry-run", action="store_true", help="with --merge: show, merge nothing")
    _connection_options(p)
    p.set_defaults(run=_run_dedupe)


def _run_dedupe(args: argparse.Namespace) -> int:
    from crmcore.dedupe import find_duplicates
    from crmcore.io import write_table
    from crmcore.model import COLLECTIONS, ENTITY_TYPES
    from crmcore.services import merge

    kind = COLLECTIONS.get(args.collection) or ENTITY_TYPES.get(args.collection)
    if kind is None:
        print(f"crmcore dedupe: unknown collection {args.collection!r}", file=sys.stderr)
        return 2
    with _connect(args) as crm, crm.session(_principal(args)) as s:
        records = list(s.repo(kind).stream())
        result = find_duplicates(
            records, region=args.region, threshold=args.threshold, progress=_progress(args)
        )
        print(
            f"{len(records)} records: {len(result.pairs)} duplicate pairs in "
            f"{len(result.clusters)} clusters ({len(result.possible_pairs)} possible)"
        )
        if args.out:
            rows = [p.to_flat() for p in result.pairs]
            columns = sorted({k for r in rows for k in r}) or ["left", "right", "probability"]
            write_table(args.out, columns, rows)
            print(f"pairs written to {args.out}")
        if args.merge:
            by_id = {r.id: r for r in records}
            for cluster in result.clusters:
                members = sorted((by_id[i] for i in cluster.ids), key=lambda r: r.created_at)
                survivor, rest = members[0], [m.id for m in members[1:]]
                print(f"{'would merge' if args.dry_run else 'merging'} {rest} into {survivor.id}")
                if not args.dry_run:
                    merge(s, kind, survivor.id, rest)
    return 0


# -- report


def _register_report(commands: Any) -> None:
    from crmcore.analytics import add_report_command
    from crmcore.app import connect

    add_report_command(commands, connect)  # crmcore report URL --out report.html


# -- serve


def _register_serve(commands: Any) -> None:
    from crmcore.api import add_serve_command

    add_serve_command(commands)  # crmcore serve --url ... (needs the api extra to run)


#: the commands, each registered by a function given the subparsers; add yours here
COMMANDS: list[Callable[[Any], None]] = [
    _register_db,
    _register_import,
    _register_export,
    _register_backup,
    _register_restore,
    _register_dedupe,
    _register_report,
    _register_serve,
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crmcore", description="crmcore administration")
    commands = parser.add_subparsers(dest="command", required=True)
    for register in COMMANDS:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = _parser().parse_args(argv)
    from crmcore.errors import CrmError

    run: Handler = args.run
    try:
        return run(args)
    except CrmError as exc:
        print(f"crmcore: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
