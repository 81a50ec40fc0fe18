"""Ordering: sort terms and :func:`normalize_order` (every ordering ends with ``id``)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from crmcore.errors import QueryError
from crmcore.query._values import _check_field


@attrs.frozen
class Sort:
    """One ordering term."""

    field: str
    descending: bool = False

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


def asc(name: str) -> Sort:
    """Ascending order on ``name``."""
    return Sort(_check_field(name))


def desc(name: str) -> Sort:
    """Descending order on ``name``."""
    return Sort(_check_field(name), descending=True)


OrderSpec = str | Sort | Sequence[str | Sort] | None


def normalize_order(order_by: OrderSpec) -> tuple[Sort, ...]:
    """Turn ``"-created_at"``, a ``Sort`` or a list of them into sort terms ending in ``id``.

    ``id`` is appended (ascending) unless already present, so every ordering is
    total and pages are stable.
    """
    if order_by is None:
        items: Sequence[str | Sort] = ()
    elif isinstance(order_by, (str, Sort)):
        items = (order_by,)
    elif isinstance(order_by, Sequence):
        items = order_by
    else:
        raise QueryError(f"cannot order by {order_by!r}: pass a field name, a Sort or a list")
    terms: list[Sort] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, str):
            term = Sort(_check_field(item[1:]), True) if item.startswith("-") else Sort(item)
            _check_field(term.field)
        elif isinstance(item, Sort):
            _check_field(item.field)
            term = item
        else:
            raise QueryError(f"cannot order by {item!r}")
        if term.field in seen:
            raise QueryError("field ordered twice", field=term.field)
        seen.add(term.field)
        terms.append(term)
        if term.field == "id":
            break
    if "id" not in seen:
        terms.append(Sort("id"))
    return tuple(terms)
