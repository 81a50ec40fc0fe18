"""Pages and keyset cursors: :class:`Page`, :func:`encode_cursor`,
:func:`decode_cursor` and the page-size check."""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Generic, TypeVar, overload

import attrs

from crmcore.errors import QueryError
from crmcore.query._codec import _decode_value, _encode_value
from crmcore.query._order import Sort
from crmcore.query._values import _check_value

T = TypeVar("T")
#: The largest ``limit=`` a find accepts (adapters fetch a row or two more, within 64 bits).
MAX_LIMIT = 2**62


def check_limit(limit: object) -> int | None:
    """A page size every adapter accepts: ``None`` or an int from 0 to :data:`MAX_LIMIT`.

    Args:
        limit: the ``limit=`` a caller passed to ``find``.

    Returns:
        The limit unchanged.

    Raises:
        QueryError: the limit is not an int (``"5"``, ``2.0``, ``True``), is
            negative, or exceeds :data:`MAX_LIMIT`.
    """
    if limit is None:
        return None
    if type(limit) is not int:
        raise QueryError(f"limit must be an int or None, not {type(limit).__name__}")
    if limit < 0:
        raise QueryError("limit must not be negative")
    if limit > MAX_LIMIT:
        raise QueryError(f"limit exceeds the largest page size, {MAX_LIMIT}")
    return limit


# --------------------------------------------------------------------------- plain data


def encode_cursor(order: Sequence[Sort], values: Sequence[object]) -> str:
    """An opaque keyset cursor: the ordering and the last row's sort values."""
    payload = {"o": [str(s) for s in order], "k": [_encode_value(v) for v in values]}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: Sequence[Sort]) -> tuple[object, ...]:
    """The sort values stored in ``cursor``.

    Raises:
        QueryError: the cursor is malformed or was made for another ordering.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        names = payload["o"]
        values = tuple(_decode_value(v) for v in payload["k"])
        for v in values:
            _check_value("cursor", v)
    except (
        ValueError,
        KeyError,
        TypeError,
        IndexError,
        AttributeError,
        ArithmeticError,
        RecursionError,
        binascii.Error,
        QueryError,
    ):
        raise QueryError("malformed cursor") from None
    if names != [str(s) for s in order] or len(values) != len(order):
        raise QueryError("cursor was made for another ordering")
    return values


@attrs.frozen
class Page(Sequence[T], Generic[T]):
    """One page of results; a sequence of records plus the cursor for the next page.

    ``next_cursor`` is ``None`` when there are no more rows.
    """

    items: tuple[T, ...]
    next_cursor: str | None = None

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...

    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __repr__(self) -> str:
        more = "more after" if self.next_cursor is not None else "last page"
        return f"<Page of {len(self.items)} {_kind_name(self.items)}, {more}>"

    def _repr_html_(self) -> str:
        """A table of the page's records (one row each, one column per field) for notebooks."""
        import html

        rows = [_row_of(item) for item in self.items[:_HTML_ROWS]]
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in columns)
            + "</tr>"
            for row in rows
        )
        shown = f" (first {_HTML_ROWS} shown)" if len(self.items) > _HTML_ROWS else ""
        caption = html.escape(repr(self)) + shown
        return (
            f"<table><caption>{caption}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


_HTML_ROWS = 50
_HTML_CELL = 80


def _kind_name(items: Sequence[object]) -> str:
    names = {type(i).__name__ for i in items}
    if len(names) == 1:
        return f"{next(iter(names))} records" if len(items) != 1 else f"{next(iter(names))} record"
    return "records" if len(items) != 1 else "record"


def _row_of(item: object) -> dict[str, object]:
    if attrs.has(type(item)):
        return {a.name: getattr(item, a.name) for a in attrs.fields(type(item))}  # type: ignore[arg-type]
    if isinstance(item, Mapping):
        return {str(k): v for k, v in item.items()}
    return {"value": item}


def _cell(v: object) -> str:
    if v is None:
        return ""
    text = str(v.value) if isinstance(v, enum.Enum) else str(v)
    return text if len(text) <= _HTML_CELL else text[: _HTML_CELL - 1] + "\u2026"
