"""The ``crmcore`` command line: database schema management.

    crmcore db upgrade URL [REVISION]     migrate the crmcore tables up (default: head)
    crmcore db downgrade URL REVISION     migrate down ("-1", "base", a revision id)
    crmcore db current URL                print the schema revision (and the code's)

Also runs as ``python -m crmcore``. Exit status 0 on success, 1 on a crmcore
error (the message goes to stderr), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from crmcore.api import add_serve_command

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crmcore", description="crmcore administration")
    commands = parser.add_subparsers(dest="command", required=True)
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
    add_serve_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = _parser().parse_args(argv)
    if hasattr(args, "handler"):
        return int(args.handler(args))
    from crmcore.errors import CrmError
    from crmcore.storage import sql

    try:
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
    except CrmError as exc:
        print(f"crmcore: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
