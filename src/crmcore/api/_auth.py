"""Who is calling: the authentication hook that maps a request to a Principal."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any

from crmcore.errors import ConfigurationError, Unauthenticated
from crmcore.model import Principal

__all__ = ["Authenticate", "bearer_tokens"]

#: maps an incoming request (a Starlette ``Request``) to the principal it acts as;
#: raises :class:`crmcore.errors.Unauthenticated` (or returns None) to refuse it with 401
Authenticate = Callable[[Any], "Principal | None"]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def bearer_tokens(tokens: Mapping[str, Principal]) -> Authenticate:
    """An :data:`Authenticate` hook for ``Authorization: Bearer <token>`` headers.

    Args:
        tokens: token -> the principal it acts as (the embedder issues them).

    Returns:
        A hook refusing (401) a request without a bearer token or with one
        not in ``tokens``. Tokens are compared by digest in constant time,
        and never appear in an error.

    Raises:
        ConfigurationError: a token is empty or a value is not a Principal.
    """
    table: list[tuple[bytes, Principal]] = []
    for token, principal in tokens.items():
        if not isinstance(token, str) or not token.strip():
            raise ConfigurationError("bearer tokens must be non-empty text")
        if not isinstance(principal, Principal):
            raise ConfigurationError("every bearer token must map to a crmcore Principal")
        table.append((_digest(token), principal))

    def authenticate(request: Any) -> Principal:
        header = request.headers.get("authorization")
        if not header:
            raise Unauthenticated("missing bearer token")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise Unauthenticated("expected an Authorization: Bearer <token> header")
        given = _digest(credentials.strip())
        found: Principal | None = None
        for digest, principal in table:  # no early exit: time does not tell which matched
            if hmac.compare_digest(digest, given):
                found = principal
        if found is None:
            raise Unauthenticated("unknown bearer token")
        return found

    return authenticate
