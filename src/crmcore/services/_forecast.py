"""The pipeline forecast: one call from the open and won deals to the numbers a sales lead asks for.

Every deal counts in the forecast category its record carries (a rep may
commit a deal by hand) or, failing that, the one its stage declares; its win
probability likewise. Amounts are summed per currency, never across: a
forecast over CNY and USD deals has a row per currency.

The views follow the usual pipeline practice:

- ``won``: closed deals in the ``closed`` category;
- ``commit``: won plus open deals in ``commit``;
- ``best_case``: commit plus open deals in ``best_case``;
- ``pipeline``: every open deal (``pipeline``, ``best_case``, ``commit``);
- ``weighted``: won plus each open deal's amount times its win probability.

Deals in ``omitted`` (lost, or left out by hand) count nowhere; deals
without an amount are counted in :attr:`Forecast.without_amount`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import attrs

from crmcore._table import html_table, text_table
from crmcore.errors import ValidationError
from crmcore.lifecycle import Machine
from crmcore.model import Opportunity
from crmcore.query import Filter
from crmcore.services._transitions import machine_for

if TYPE_CHECKING:
    import pandas as pd

    from crmcore.storage.ports import UnitOfWorkContext

__all__ = ["FORECAST_DIMENSIONS", "Forecast", "ForecastRow", "forecast"]

#: What a forecast can be broken down by.
FORECAST_DIMENSIONS = ("owner", "team", "period", "category", "stage")

Period = Literal["month", "quarter", "year"]

_VIEWS = ("won", "commit", "best_case", "pipeline", "weighted")
_OPEN = frozenset({"pipeline", "best_case", "commit"})
_ZERO = Decimal(0)


@attrs.frozen
class ForecastRow:
    """One group of deals in one currency, with every forecast view summed."""

    key: tuple[str | None, ...]
    currency: str
    deals: int
    won: Decimal
    commit: Decimal
    best_case: Decimal
    pipeline: Decimal
    weighted: Decimal


@attrs.frozen
class Forecast:
    """A pipeline forecast broken down by :attr:`by`, one row per group and currency."""

    by: tuple[str, ...]
    rows: tuple[ForecastRow, ...]
    without_amount: int
    period: Period

    def total(self, currency: str) -> ForecastRow:
        """The sum of every row in ``currency`` (a row with an empty key)."""
        mine = [r for r in self.rows if r.currency == currency]
        sums = {v: sum((getattr(r, v) for r in mine), _ZERO) for v in _VIEWS}
        return ForecastRow(key=(), currency=currency, deals=sum(r.deals for r in mine), **sums)

    @property
    def currencies(self) -> tuple[str, ...]:
        """Every currency that has a row, sorted."""
        return tuple(sorted({r.currency for r in self.rows}))

    def _header(self) -> list[str]:
        return [*self.by, "currency", "deals", *_VIEWS]

    def _cells(self, *, shown: bool = False) -> list[list[object]]:
        def cell(value: Decimal) -> object:
            return f"{value:,.2f}" if shown else value

        return [
            [*r.key, r.currency, r.deals, *(cell(getattr(r, v)) for v in _VIEWS)] for r in self.rows
        ]

    def to_pandas(self) -> pd.DataFrame:
        """The rows as a DataFrame: one column per dimension, ``currency``, ``deals`` and the views.

        Amounts are ``Decimal`` objects (exact); ``.astype(float)`` for plotting.
        """
        import pandas as pd

        return pd.DataFrame(self._cells(), columns=self._header())

    def __repr__(self) -> str:
        by = ", ".join(self.by) or "nothing"
        title = f"Forecast by {by}: {len(self.rows)} rows"
        if self.without_amount:
            title += f", {self.without_amount} deals without an amount left out"
        return text_table(self._header(), self._cells(shown=True)[:30], title=title)

    def _repr_html_(self) -> str:
        footer = (
            f"{self.without_amount} deals without an amount left out" if self.without_amount else ""
        )
        return html_table(
            self._header(),
            self._cells(shown=True)[:200],
            title=f"Forecast by {', '.join(self.by) or 'nothing'}",
            footer=footer,
        )


def _period_of(day: _dt.date | None, period: Period) -> str | None:
    if day is None:
        return None
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def _category(deal: Opportunity, machine: Machine) -> str | None:
    if deal.forecast_category is not None:
        return deal.forecast_category
    if deal.stage in machine.state_names:
        value = machine.state(deal.stage).data.get("forecast_category")
        return value if isinstance(value, str) else None
    return None


def _probability(deal: Opportunity, machine: Machine) -> Decimal:
    p: Any = deal.probability
    if p is None and deal.stage in machine.state_names:
        p = machine.state(deal.stage).data.get("probability")
    return Decimal(str(p)) if p is not None else _ZERO


def _day(deal: Opportunity, category: str) -> _dt.date | None:
    if category == "closed" and deal.closed_at is not None:
        return deal.closed_at.date()
    return deal.expected_close_date


def _check(by: Sequence[str], period: str) -> tuple[str, ...]:
    unknown = [d for d in by if d not in FORECAST_DIMENSIONS]
    if unknown:
        raise ValidationError.single(
            "by",
            "unknown_dimension",
            f"cannot break a forecast down by {unknown[0]!r};"
            f" choose from {', '.join(FORECAST_DIMENSIONS)}",
        )
    if period not in ("month", "quarter", "year"):
        raise ValidationError.single(
            "period", "unknown_period", f"period must be month, quarter or year, not {period!r}"
        )
    return tuple(by)


def forecast(
    uow: UnitOfWorkContext,
    *,
    by: Sequence[str] = ("category",),
    period: Period = "quarter",
    start: _dt.date | None = None,
    end: _dt.date | None = None,
    where: Filter | None = None,
) -> Forecast:
    """The pipeline forecast of the deals the principal may see, in one call.

    Args:
        uow: the unit of work (a session); the policy's row filter applies.
        by: dimensions to break the numbers down by, from
            :data:`FORECAST_DIMENSIONS` (``owner``, ``team``, ``period``,
            ``category``, ``stage``); ``()`` for one row per currency.
        period: the calendar bucket for ``period``: month, quarter or year,
            of the expected close date (the close date for won deals).
        start, end: keep deals whose forecast date falls in ``[start, end]``
            (deals without one are kept only when neither bound is given).
        where: a further filter on opportunities (for example one team).

    Returns:
        A :class:`Forecast`; ``to_pandas()`` gives a DataFrame.

    Raises:
        ValidationError: an unknown dimension or period.
    """
    dims = _check(by, period)
    machine = machine_for(uow, Opportunity)
    deals: Iterable[Opportunity] = uow.repo(Opportunity).stream(where)
    groups: dict[tuple[tuple[str | None, ...], str], dict[str, Any]] = {}
    without_amount = 0
    for deal in deals:
        category = _category(deal, machine)
        if category is None or category == "omitted":
            continue
        won = category == "closed"
        if not won and category not in _OPEN:
            continue
        day = _day(deal, category)
        if (start is not None or end is not None) and (
            day is None or (start is not None and day < start) or (end is not None and day > end)
        ):
            continue
        if deal.amount is None:
            without_amount += 1
            continue
        values = {
            "owner": deal.owner_id,
            "team": deal.team_id,
            "period": _period_of(day, period),
            "category": category,
            "stage": deal.stage,
        }
        key = (tuple(values[d] for d in dims), deal.amount.currency)
        acc = groups.setdefault(key, {"deals": 0, **dict.fromkeys(_VIEWS, _ZERO)})
        amount = deal.amount.amount
        acc["deals"] += 1
        if won:
            for view in ("won", "commit", "best_case", "weighted"):
                acc[view] += amount
            continue
        acc["pipeline"] += amount
        acc["weighted"] += amount * _probability(deal, machine)
        if category in ("commit", "best_case"):
            acc["best_case"] += amount
        if category == "commit":
            acc["commit"] += amount
    rows = tuple(
        ForecastRow(key=k, currency=cur, **acc)
        for (k, cur), acc in sorted(groups.items(), key=lambda kv: _sort_key(kv[0]))
    )
    return Forecast(by=dims, rows=rows, without_amount=without_amount, period=period)


def _sort_key(key: tuple[tuple[str | None, ...], str]) -> tuple[Any, ...]:
    parts, currency = key
    return (*((p is None, p or "") for p in parts), currency)
