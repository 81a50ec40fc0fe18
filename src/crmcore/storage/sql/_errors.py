"""Driver and SQLAlchemy errors turned into crmcore errors at the adapter's boundary.

Lost races (serialisation failures, deadlocks, lock timeouts, a busy SQLite
file) become :class:`~crmcore.errors.Conflict` so callers retry the unit of
work; anything else becomes :class:`~crmcore.errors.StorageError`. The driver
error stays chained as ``__cause__``; messages name the error class and code
only, never the SQL parameters (they may hold personal data).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from crmcore.errors import Conflict, CrmError, StorageError

__all__ = ["driver_code", "guard", "is_conflict", "is_unique_violation", "translate"]

_PG_CONFLICT = frozenset({"40001", "40P01", "55P03"})
_MYSQL_CONFLICT = frozenset({1205, 1213})
_SQLITE_BUSY = frozenset({5, 6, 261, 262, 517, 773})


def driver_code(exc: BaseException) -> object:
    """The driver's error code (SQLSTATE, MySQL errno, SQLite result code), if any."""
    orig = getattr(exc, "orig", exc)
    args = getattr(orig, "args", ())
    mysql = type(orig).__module__.startswith(("pymysql", "MySQLdb", "mysql", "mariadb"))
    if mysql and args and isinstance(args[0], int):
        return args[0]  # the MySQL errno says more than the SQLSTATE
    for attr in ("sqlstate", "sqlite_errorcode"):
        code = getattr(orig, attr, None)
        if code is not None:
            return code
    if args and isinstance(args[0], int):
        return args[0]
    return None


def is_conflict(exc: BaseException) -> bool:
    """Whether a driver error means a concurrent transaction won (retrying may succeed)."""
    code = driver_code(exc)
    if code in _PG_CONFLICT or code in _MYSQL_CONFLICT:
        return True
    orig = getattr(exc, "orig", exc)
    if type(orig).__module__ == "sqlite3":
        if code in _SQLITE_BUSY:
            return True
        text = str(orig)
        return "database is locked" in text or "database is busy" in text
    return False


def is_unique_violation(exc: BaseException) -> bool:
    """Whether a driver error is a primary-key / unique-key violation."""
    if not isinstance(exc, sa_exc.IntegrityError):
        return False
    code = driver_code(exc)
    if code in ("23505", 1062, 1586, 2067, 1555):
        return True
    return "UNIQUE constraint failed" in str(getattr(exc, "orig", ""))


def translate(exc: BaseException, entity: str, id: object = None) -> CrmError:
    """The crmcore error for a SQLAlchemy or driver error."""
    if isinstance(exc, CrmError):
        return exc
    orig = getattr(exc, "orig", None) or exc
    code = driver_code(exc)
    label = type(orig).__name__ + (f" {code}" if code is not None else "")
    if is_conflict(exc):
        return Conflict(
            entity,
            id if id is not None else "(unit of work)",
            reason=f"a concurrent transaction won ({label}); retry the unit of work",
        )
    return StorageError(f"{entity}: the database refused the operation ({label})")


@contextmanager
def guard(entity: str, id: object = None) -> Iterator[None]:
    """Translate any SQLAlchemy error raised inside the block."""
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        raise translate(exc, entity, id) from exc
