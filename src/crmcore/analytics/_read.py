"""Session readers: stream records through a unit of work into DataFrames.

Every reader goes through ``uow.repo(...)``, page by page, so the tenant
scope, the policy guard (row filter and field masks) and soft deletes apply
exactly as for any other caller. They are deliberately small: each turns one
entity type into one documented frame, and the pure functions of this
package take it from there.

Pages are large (5,000 records) by default: the memory adapter filters and
sorts the whole table for every page, so small pages cost pages x records.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from crmcore.model import (
    CampaignEvent,
    Entity,
    Order,
    OrderLine,
    SurveyKind,
    SurveyResponse,
    Ticket,
)
from crmcore.query import Filter, field
from crmcore.storage.aggregate import bucket, count, max_, min_, sum_

if TYPE_CHECKING:
    import pandas as pd

    from crmcore.storage.ports import UnitOfWorkContext

__all__ = [
    "order_currencies",
    "read_campaign_events",
    "read_customer_days",
    "read_customer_orders",
    "read_order_lines",
    "read_orders",
    "read_surveys",
    "read_tickets",
]

E = TypeVar("E", bound=Entity)

#: order statuses left out of value analytics unless a filter says otherwise
EXCLUDED_ORDER_STATUSES = ("cancelled", "canceled", "refunded", "draft")


def _pages(uow: UnitOfWorkContext, entity: type[E], where: Filter | None, page: int) -> Iterator[E]:
    repo = uow.repo(entity)
    cursor: str | None = None
    while True:
        found = repo.find(where, limit=page, after=cursor)
        yield from found.items
        cursor = found.next_cursor
        if cursor is None or not found.items:
            return


def _frame(rows: dict[str, list[Any]], dtypes: dict[str, str]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(rows)
    for name, dtype in dtypes.items():
        if dtype == "datetime":
            frame[name] = pd.to_datetime(frame[name], utc=True)
        else:
            frame[name] = frame[name].astype(dtype)
    return frame


def _order_filter(where: Filter | None, exclude_statuses: Sequence[str]) -> Filter:
    scope = field("customer_id").not_null()
    if exclude_statuses:
        scope = scope & ~field("status").in_(tuple(exclude_statuses))
    return scope if where is None else scope & where


def _line_amount(line: OrderLine) -> Decimal:
    # OrderLine.total without building Money objects: the same Decimal arithmetic
    return line.unit_price.amount * (line.quantity * (1 - line.discount))


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def read_orders(
    uow: UnitOfWorkContext,
    where: Filter | None = None,
    *,
    exclude_statuses: Sequence[str] = EXCLUDED_ORDER_STATUSES,
    page_size: int = 5000,
) -> pd.DataFrame:
    """One row per order.

    Columns: ``order_id``, ``customer_id`` (str), ``ordered_at`` (UTC
    datetime; ``created_at`` when the order has none), ``amount`` (float, the
    order total), ``currency``, ``status``.

    Args:
        uow: a unit of work (``crm.session()``).
        where: a filter on orders, ANDed with the scope: orders with a
            customer whose status is not in ``exclude_statuses``.
        exclude_statuses: statuses left out (default cancelled, canceled,
            refunded, draft; pass ``()`` to keep every order).
        page_size: records fetched per page.
    """
    cols: dict[str, list[Any]] = {
        k: [] for k in ("order_id", "customer_id", "ordered_at", "amount", "currency", "status")
    }
    for order in _pages(uow, Order, _order_filter(where, exclude_statuses), page_size):
        cols["order_id"].append(str(order.id))
        cols["customer_id"].append(_str(order.customer_id))
        cols["ordered_at"].append(order.ordered_at or order.created_at)
        cols["amount"].append(float(sum((_line_amount(li) for li in order.lines), Decimal(0))))
        cols["currency"].append(order.currency)
        cols["status"].append(order.status)
    return _frame(cols, {"ordered_at": "datetime", "amount": "float64"})


def read_order_lines(
    uow: UnitOfWorkContext,
    where: Filter | None = None,
    *,
    exclude_statuses: Sequence[str] = EXCLUDED_ORDER_STATUSES,
    page_size: int = 5000,
) -> pd.DataFrame:
    """One row per order line.

    Columns: ``order_id``, ``customer_id``, ``ordered_at``, ``item`` (the
    line's sku, else its product id, else its description), ``quantity``
    (float), ``amount`` (float, the line total).

    Args:
        uow: a unit of work.
        where, exclude_statuses: as in :func:`read_orders`.
        page_size: records fetched per page.
    """
    cols: dict[str, list[Any]] = {
        k: [] for k in ("order_id", "customer_id", "ordered_at", "item", "quantity", "amount")
    }
    for order in _pages(uow, Order, _order_filter(where, exclude_statuses), page_size):
        at = order.ordered_at or order.created_at
        for line in order.lines:
            cols["order_id"].append(str(order.id))
            cols["customer_id"].append(_str(order.customer_id))
            cols["ordered_at"].append(at)
            cols["item"].append(line.sku or _str(line.product_id) or line.description)
            cols["quantity"].append(float(line.quantity))
            cols["amount"].append(float(_line_amount(line)))
    return _frame(cols, {"ordered_at": "datetime", "quantity": "float64", "amount": "float64"})


def _simple(
    uow: UnitOfWorkContext,
    entity: type[E],
    where: Filter | None,
    page_size: int,
    columns: dict[str, Callable[[E], object]],
    dtypes: dict[str, str],
) -> pd.DataFrame:
    cols: dict[str, list[Any]] = {k: [] for k in columns}
    for record in _pages(uow, entity, where, page_size):
        for name, get in columns.items():
            cols[name].append(get(record))
    return _frame(cols, dtypes)


def _at(value: _dt.datetime | None, fallback: _dt.datetime | None) -> _dt.datetime | None:
    return value or fallback


def read_tickets(
    uow: UnitOfWorkContext, where: Filter | None = None, *, page_size: int = 5000
) -> pd.DataFrame:
    """One row per ticket.

    Columns: ``ticket_id``, ``customer_id``, ``opened_at``, ``status``, ``priority``.
    """
    return _simple(
        uow,
        Ticket,
        where,
        page_size,
        {
            "ticket_id": lambda t: str(t.id),
            "customer_id": lambda t: _str(t.customer_id),
            "opened_at": lambda t: t.created_at,
            "status": lambda t: t.status,
            "priority": lambda t: str(getattr(t.priority, "value", t.priority)),
        },
        {"opened_at": "datetime"},
    )


def read_surveys(
    uow: UnitOfWorkContext,
    where: Filter | None = None,
    *,
    kind: SurveyKind | str | None = SurveyKind.CSAT,
    page_size: int = 5000,
) -> pd.DataFrame:
    """One row per survey answer: ``customer_id``, ``kind``, ``score`` (float), ``responded_at``.

    Args:
        kind: keep only answers of this kind (CSAT by default; None keeps all).
    """
    if kind is not None:
        only = field("kind") == SurveyKind(kind).value
        where = only if where is None else where & only
    return _simple(
        uow,
        SurveyResponse,
        where,
        page_size,
        {
            "customer_id": lambda r: _str(r.customer_id),
            "kind": lambda r: SurveyKind(r.kind).value,
            "score": lambda r: float(r.score),
            "responded_at": lambda r: _at(r.responded_at, r.created_at),
        },
        {"score": "float64", "responded_at": "datetime"},
    )


def read_campaign_events(
    uow: UnitOfWorkContext, where: Filter | None = None, *, page_size: int = 5000
) -> pd.DataFrame:
    """One row per campaign event: ``campaign_id``, ``customer_id``, ``kind``, ``occurred_at``."""
    return _simple(
        uow,
        CampaignEvent,
        where,
        page_size,
        {
            "campaign_id": lambda e: str(e.campaign_id),
            "customer_id": lambda e: str(e.customer_id),
            "kind": lambda e: e.kind,
            "occurred_at": lambda e: _at(e.occurred_at, e.created_at),
        },
        {"occurred_at": "datetime"},
    )


# --------------------------------------------------------------------------- aggregates


def _order_groups(
    uow: UnitOfWorkContext,
    where: Filter | None,
    exclude_statuses: Sequence[str],
    keys: Callable[[str], list[Any]],
    measures: Callable[[str], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Order aggregates keyed by the order time: ``ordered_at``, else ``created_at``.

    Two ``GROUP BY`` queries: the orders with an ``ordered_at`` and those
    without (grouped by their ``created_at``, as :func:`read_orders` does);
    each row gets the time under the name ``at``.
    """
    repo = uow.repo(Order)
    scope = _order_filter(where, exclude_statuses)
    rows: list[dict[str, Any]] = []
    for name, part in (
        ("ordered_at", field("ordered_at").not_null()),
        ("created_at", field("ordered_at").is_null()),
    ):
        found = repo.aggregate(scope & part, group_by=keys(name), measures=measures(name))
        for row in found:
            row["at"] = row.pop(f"{name}_day", None)
        rows += found
    return rows


def order_currencies(
    uow: UnitOfWorkContext,
    where: Filter | None = None,
    *,
    exclude_statuses: Sequence[str] = EXCLUDED_ORDER_STATUSES,
) -> list[str]:
    """The currencies of the orders in scope (one ``GROUP BY currency``), sorted."""
    rows = uow.repo(Order).aggregate(
        _order_filter(where, exclude_statuses), group_by=["currency"], measures={"n": count()}
    )
    return sorted(str(r["currency"]) for r in rows if r["currency"] is not None)


def read_customer_orders(
    uow: UnitOfWorkContext,
    where: Filter | None = None,
    *,
    exclude_statuses: Sequence[str] = EXCLUDED_ORDER_STATUSES,
) -> pd.DataFrame:
    """Per customer: how many orders, how much, first and last, aggregated in the engine.

    What :func:`~crmcore.analytics.rfm` needs, without reading a single order
    record: ``GROUP BY customer_id`` with ``count``, ``sum(total.amount)``,
    ``min`` and ``max`` of the order time (``ordered_at``, else
    ``created_at``, as in :func:`read_orders`).

    Columns: ``customer_id`` (str), ``frequency`` (int), ``monetary`` (float,
    the sum of the stored order totals), ``first_order_at``,
    ``last_order_at`` (UTC datetimes); one row per customer, sorted by id.

    Args:
        uow, where, exclude_statuses: as in :func:`read_orders`.
    """
    import pandas as pd

    rows = _order_groups(
        uow,
        where,
        exclude_statuses,
        lambda _t: ["customer_id"],
        lambda t: {"n": count(), "money": sum_("total.amount"), "lo": min_(t), "hi": max_(t)},
    )
    frame = pd.DataFrame(
        {
            "customer_id": [str(r["customer_id"]) for r in rows],
            "frequency": [r["n"] for r in rows],
            "monetary": [float(r["money"] or 0) for r in rows],
            "first_order_at": pd.to_datetime([r["lo"] for r in rows], utc=True),
            "last_order_at": pd.to_datetime([r["hi"] for r in rows], utc=True),
        }
    )
    frame["frequency"] = frame["frequency"].astype("int64")
    frame["monetary"] = frame["monetary"].astype("float64")
    if frame["customer_id"].duplicated().any():  # customers with orders of both kinds
        frame = frame.groupby("customer_id", as_index=False).agg(
            frequency=("frequency", "sum"),
            monetary=("monetary", "sum"),
            first_order_at=("first_order_at", "min"),
            last_order_at=("last_order_at", "max"),
        )
    return frame.sort_values("customer_id", ignore_index=True)


def read_customer_days(
    uow: UnitOfWorkContext,
    where: Filter | None = None,
    *,
    exclude_statuses: Sequence[str] = EXCLUDED_ORDER_STATUSES,
) -> pd.DataFrame:
    """Per customer and UTC day with orders: the day's amount, aggregated in the engine.

    What the BG/NBD and Gamma-Gamma summary
    (:func:`~crmcore.analytics.clv_summary`) needs: ``GROUP BY customer_id,
    day(order time)`` with ``sum(total.amount)``, one row per purchase day
    rather than per order record. (A count of distinct days per customer
    would give frequency and, with min and max, recency and T, but not the
    Gamma-Gamma spend, which leaves out the first day's amount.)

    Columns: ``customer_id`` (str), ``day`` (UTC midnight), ``amount`` (float).
    """
    import pandas as pd

    rows = _order_groups(
        uow,
        where,
        exclude_statuses,
        lambda t: ["customer_id", bucket(t, "day")],
        lambda _t: {"money": sum_("total.amount")},
    )
    frame = pd.DataFrame(
        {
            "customer_id": [str(r["customer_id"]) for r in rows],
            "day": pd.to_datetime([r["at"] for r in rows], utc=True),
            "amount": [float(r["money"] or 0) for r in rows],
        }
    )
    frame["amount"] = frame["amount"].astype("float64")
    if frame.duplicated(["customer_id", "day"]).any():
        frame = frame.groupby(["customer_id", "day"], as_index=False)["amount"].sum()
    return frame.sort_values(["customer_id", "day"], ignore_index=True)
