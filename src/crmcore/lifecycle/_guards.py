"""The built-in guards and effects, and the read-only registry that names them.

Guards refuse with a reason a person can read; effects only touch fields the
record actually has, so the same machine works on a full entity and on a
notebook row. Names (for machines stored as data):

- ``requires_comment``: the context must carry a comment (the reason).
- ``positive_amount``: a record with an ``amount`` field needs it set and > 0.
- ``{"name": "within", "days": 7, "fields": [...]}``: the first set timestamp
  among ``fields`` (``closed_at``, ``resolved_at``) is at most ``days`` old.
- ``{"name": "in_future", "field": "scheduled_at"}``: the field is set and later
  than now.
- ``{"name": "stamp", "field": "closed_at"}``: set the field to ``ctx.now``.
- ``{"name": "clear", "field": "closed_at"}``: set the field to ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from crmcore.lifecycle._context import Effect, Guard, TransitionContext, utc
from crmcore.lifecycle._records import access_for
from crmcore.lifecycle._registry import Registry

__all__ = [
    "BUILTINS",
    "clear",
    "in_future",
    "positive_amount",
    "requires_comment",
    "stamp",
    "within",
]


def requires_comment(record: Any, ctx: TransitionContext) -> str | None:
    """Refuse unless the context carries a non-blank comment giving the reason."""
    if ctx.comment and ctx.comment.strip():
        return None
    return "a comment giving the reason is required"


def positive_amount(record: Any, ctx: TransitionContext) -> str | None:
    """Refuse when the record has an ``amount`` field that is unset or not positive."""
    acc = access_for(record)
    if not acc.has(record, "amount"):
        return None
    amount = _numeric(acc.get(record, "amount"))
    if amount is None:
        return "the amount must be set and positive"
    if amount <= 0:
        return f"the amount must be positive (it is {amount})"
    return None


def _numeric(value: Any) -> Decimal | None:
    """The number inside an amount: a ``Money``, its plain-data mapping, or a number.

    Returns ``None`` for an unset or unreadable amount (the guard then refuses).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Mapping):
        value = value.get("amount")
    elif not isinstance(value, int | float | Decimal | str):
        value = getattr(value, "amount", None)
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def within(days: float = 7, fields: Sequence[str] = ("closed_at", "resolved_at")) -> Guard:
    """A guard: the first set timestamp among ``fields`` is at most ``days`` before now.

    Args:
        days: the length of the window.
        fields: timestamp fields to look at, in order (the first one set counts).

    Returns:
        The guard (one shared object per parameters, named for :meth:`Machine.to_dict`);
        it refuses with a reason naming the window, or when no timestamp is set.
    """
    guard: Guard = BUILTINS.build("within", days=days, fields=list(fields))
    return guard


def _within(days: float = 7, fields: Sequence[str] = ("closed_at", "resolved_at")) -> Guard:
    window = timedelta(days=days)
    names = tuple(fields)
    shown = f"{days:g} day" + ("" if days == 1 else "s")

    def guard(record: Any, ctx: TransitionContext) -> str | None:
        acc = access_for(record)
        for name in names:
            value = acc.get(record, name, None)
            if isinstance(value, datetime):
                since = utc(value)
                if ctx.now - since > window:
                    return (
                        f"the {shown} window after {name} ({since.date().isoformat()}) has passed"
                    )
                return None
        return f"cannot tell when the window started: none of {', '.join(names)} is set"

    guard.__name__ = guard.__qualname__ = f"within_{days:g}_days"
    return guard


def in_future(field: str = "scheduled_at") -> Guard:
    """A guard: a record with ``field`` must have it set later than now.

    Args:
        field: the timestamp field; records without it pass.

    Returns:
        The guard (one shared object per field, named for :meth:`Machine.to_dict`).
    """
    guard: Guard = BUILTINS.build("in_future", field=field)
    return guard


def _in_future(field: str = "scheduled_at") -> Guard:

    def guard(record: Any, ctx: TransitionContext) -> str | None:
        acc = access_for(record)
        if not acc.has(record, field):
            return None
        value = acc.get(record, field)
        if not isinstance(value, datetime):
            return f"{field} must be set"
        if utc(value) <= ctx.now:
            return f"{field} must be in the future"
        return None

    guard.__name__ = guard.__qualname__ = f"{field}_in_future"
    return guard


def stamp(field: str) -> Effect:
    """An effect setting ``field`` to ``ctx.now`` on records that have it.

    Args:
        field: the timestamp field (``"closed_at"``).

    Returns:
        The effect (one shared object per field, named for :meth:`Machine.to_dict`).
    """
    return BUILTINS.build("stamp", field=field)


def _stamp(field: str) -> Effect:

    def effect(record: Any, ctx: TransitionContext) -> Any:
        acc = access_for(record)
        if acc.has(record, field):
            return acc.evolve(record, {field: ctx.now})
        return record

    effect.__name__ = effect.__qualname__ = f"stamp_{field}"
    return effect


def clear(field: str) -> Effect:
    """An effect setting ``field`` to ``None`` on records that have it.

    Args:
        field: the field to clear (``"closed_at"``).

    Returns:
        The effect (one shared object per field, named for :meth:`Machine.to_dict`).
    """
    return BUILTINS.build("clear", field=field)


def _clear(field: str) -> Effect:

    def effect(record: Any, ctx: TransitionContext) -> Any:
        acc = access_for(record)
        if acc.has(record, field) and acc.get(record, field) is not None:
            return acc.evolve(record, {field: None})
        return record

    effect.__name__ = effect.__qualname__ = f"clear_{field}"
    return effect


def _builtins() -> Registry:
    reg = Registry(None)
    reg.register("requires_comment", requires_comment)
    reg.register("positive_amount", positive_amount)
    reg.register_factory("within", _within)
    reg.register_factory("in_future", _in_future)
    reg.register_factory("stamp", _stamp)
    reg.register_factory("clear", _clear)
    reg.freeze()
    return reg


#: The read-only registry of built-in guards and effects; every :class:`Registry`
#: falls back to it.
BUILTINS = _builtins()
