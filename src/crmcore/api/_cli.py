"""``crmcore serve``: run the HTTP API with uvicorn (the wiring ``crmcore.__main__`` registers).

Tokens come from a JSON file (``--tokens``) or the ``CRMCORE_API_TOKENS``
environment variable, mapping each bearer token to a principal::

    {"s3cret": {"user_id": "u1", "tenant_id": "acme", "roles": ["sales_rep"]}}

Without any token every request is refused with 401. Nothing here imports
FastAPI or uvicorn until the command runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crmcore.errors import ConfigurationError, CrmError
from crmcore.model import Principal

__all__ = ["add_serve_command", "run_serve"]

TOKENS_ENV = "CRMCORE_API_TOKENS"


def add_serve_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve`` command to ``subparsers`` (of ``argparse.add_subparsers``).

    The parser's ``run`` default is :func:`run_serve`: a command line
    calls ``args.run(args)`` and exits with what it returns.
    """
    serve: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="serve the HTTP API (needs the api extra)",
        description="Serve the crmcore HTTP API over a database (uvicorn).",
    )
    serve.add_argument(
        "--url",
        default=os.environ.get("CRMCORE_URL"),
        help="database URL (default: $CRMCORE_URL), e.g. sqlite:///crm.db",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument(
        "--tokens",
        type=Path,
        default=None,
        help=f"JSON file of bearer token -> principal (default: ${TOKENS_ENV} as JSON)",
    )
    serve.add_argument(
        "--audit", action="store_true", help="record every change in the audit trail"
    )
    serve.set_defaults(run=run_serve)
    return serve


def _principal(token: str, data: object) -> Principal:
    if not isinstance(data, Mapping) or not isinstance(data.get("user_id"), str):
        raise ConfigurationError(
            "each token maps to an object with at least a user_id (and tenant_id, roles, teams)"
        )
    allowed = {"user_id", "tenant_id", "roles", "teams", "attributes", "system"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigurationError(f"unknown principal keys {unknown}; use {sorted(allowed)}")
    return Principal(**{k: data[k] for k in data})


def load_tokens(path: Path | None) -> dict[str, Principal]:
    """The bearer tokens of ``path`` (or of ``$CRMCORE_API_TOKENS``), as principals.

    Raises:
        ConfigurationError: the file or variable is not a JSON object of principals.
    """
    try:
        if path is not None:
            raw: object = json.loads(path.read_text(encoding="utf-8"))
        else:
            raw = json.loads(os.environ.get(TOKENS_ENV) or "{}")
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the API tokens: {type(exc).__name__}") from None
    if not isinstance(raw, Mapping):
        raise ConfigurationError("the API tokens must be a JSON object: token -> principal")
    return {str(token): _principal(str(token), value) for token, value in raw.items()}


def run_serve(args: argparse.Namespace) -> int:
    """Serve the API as ``args`` say (``--url``, ``--host``, ``--port``, ``--tokens``).

    Returns:
        The exit status: 0 after a clean shutdown, 1 on a crmcore error, 2 when
        the api extra is missing or no URL was given.
    """
    if not args.url:
        print("crmcore serve: give --url or set CRMCORE_URL", file=sys.stderr)
        return 2
    try:
        import uvicorn

        from crmcore.api._app import create_app
    except ImportError as exc:
        print(
            f"crmcore serve needs the api extra (pip install crmcore[api]): {exc}", file=sys.stderr
        )
        return 2
    from crmcore import connect

    try:
        tokens = load_tokens(args.tokens)
        crm = connect(args.url, audit=bool(args.audit))
        app = create_app(crm, tokens)
    except CrmError as exc:
        print(f"crmcore: {exc}", file=sys.stderr)
        return 1
    if not tokens:
        print("crmcore serve: no API tokens given, every request will get 401", file=sys.stderr)
    try:
        uvicorn.run(app, host=args.host, port=args.port)
    finally:
        crm.close()
    return 0
