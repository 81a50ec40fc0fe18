"""The optional HTTP API over a :class:`crmcore.Crm` (extra ``api``: fastapi, uvicorn, httpx).

``create_app(crm, authenticate=...)`` returns an ASGI app; every request runs
in one session as the principal the authentication hook maps it to, so the
policy, audit and encryption apply exactly as in code. See ``docs/api.md``.

Names load on first use: importing this package (the ``serve`` command does)
does not import FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmcore._lazy import lazy_exports

if TYPE_CHECKING:
    from crmcore.api._app import NOT_SERVED, READ_ONLY, create_app
    from crmcore.api._auth import Authenticate, bearer_tokens
    from crmcore.api._cli import add_serve_command, run_serve
    from crmcore.api._errors import api_error_body, api_error_status
    from crmcore.api._schema import ApiModels, api_models

__all__ = [
    "NOT_SERVED",
    "READ_ONLY",
    "ApiModels",
    "Authenticate",
    "add_serve_command",
    "api_error_body",
    "api_error_status",
    "api_models",
    "bearer_tokens",
    "create_app",
    "run_serve",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "NOT_SERVED": "crmcore.api._app",
        "READ_ONLY": "crmcore.api._app",
        "create_app": "crmcore.api._app",
        "Authenticate": "crmcore.api._auth",
        "bearer_tokens": "crmcore.api._auth",
        "add_serve_command": "crmcore.api._cli",
        "run_serve": "crmcore.api._cli",
        "api_error_body": "crmcore.api._errors",
        "api_error_status": "crmcore.api._errors",
        "ApiModels": "crmcore.api._schema",
        "api_models": "crmcore.api._schema",
    },
)
