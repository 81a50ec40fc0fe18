"""Every crmcore error as an HTTP status and a JSON body that carries its codes.

The body is ``{"error": {"status", "code", "codes", "message", ...facts}}``;
``codes`` lists the field error codes of a validation error, else the error's
own code. Offending values are never echoed (a field error's ``value`` is
dropped), so a protected value cannot come back in an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crmcore.errors import (
    AlreadyExists,
    ConfigurationError,
    Conflict,
    CrmError,
    DecryptionError,
    InvalidTransition,
    KeyShredded,
    KeyUnavailable,
    NotFound,
    PermissionDenied,
    QueryError,
    SchemaError,
    StorageError,
    Unauthenticated,
    ValidationError,
)

__all__ = ["api_error_body", "api_error_status"]

#: most specific first: the first class an error is an instance of decides its status
_STATUS: tuple[tuple[type[CrmError], int], ...] = (
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (KeyShredded, 410),
    (Conflict, 409),
    (AlreadyExists, 409),
    (InvalidTransition, 409),
    (ValidationError, 422),
    (QueryError, 400),
    (ConfigurationError, 400),
    (KeyUnavailable, 503),
    (StorageError, 503),
    (DecryptionError, 500),
    (SchemaError, 500),
)


def api_error_status(exc: CrmError) -> int:
    """The HTTP status of a crmcore error.

    Caller mistakes are 4xx (400 bad query or request, 401 unidentified,
    403 refused by the policy, 404 no such record, 409 stale version or
    impossible transition, 410 crypto-shredded, 422 invalid record); failures
    of the server's own storage or keys are 5xx.
    """
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def _facts(exc: CrmError) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for name in ("entity", "id", "field", "action", "reason", "event", "state", "machine"):
        value = getattr(exc, name, None)
        if value is not None and not isinstance(value, (list, tuple, dict)):
            facts[name] = value if isinstance(value, (str, int, float, bool)) else str(value)
    if isinstance(exc, InvalidTransition):
        facts["allowed"] = list(exc.allowed)
    if isinstance(exc, Conflict):
        for name in ("expected_version", "actual_version"):
            value = getattr(exc, name)
            if value is not None:
                facts[name] = value
    return facts


def api_error_body(
    exc: CrmError, *, status: int | None = None, errors: Sequence[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The JSON body of the response for ``exc``.

    Args:
        exc: the error.
        status: the status (default: :func:`api_error_status`).
        errors: field errors to report instead of ``exc``'s own.
    """
    fields: list[dict[str, Any]]
    if errors is not None:
        fields = [dict(e) for e in errors]
    elif isinstance(exc, ValidationError):
        fields = [{"path": e.path, "code": e.code, "message": e.message} for e in exc.errors]
    else:
        fields = []
    codes = [f["code"] for f in fields] or [exc.code]
    body: dict[str, Any] = {
        "status": api_error_status(exc) if status is None else status,
        "code": exc.code,
        "codes": codes,
        "message": exc.message,
        **_facts(exc),
    }
    if fields:
        body["errors"] = fields
    return {"error": body}
