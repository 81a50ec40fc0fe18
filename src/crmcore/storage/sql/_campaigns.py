"""The SQL side of :mod:`crmcore.storage._campaigns`: campaign funnels and timelines as GROUP BY."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from crmcore.errors import QueryError
from crmcore.model import CampaignEvent, Entity
from crmcore.storage._campaigns import FUNNEL_RANK, FunnelRow
from crmcore.storage.ports import Repository
from crmcore.storage.sql._errors import guard
from crmcore.storage.sql._schema import ColumnTerm
from crmcore.storage.sql._store import SqlRepository

__all__ = ["sql_campaign_funnel", "sql_campaign_timeline", "sql_stored_ids"]


def sql_stored_ids(repo: Repository[Any], ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The ids among ``ids`` stored or staged (not staged for deletion) in the unit of work."""
    assert isinstance(repo, SqlRepository)
    uow, etype = repo._uow, repo.entity_type
    staged = uow.staged(etype)
    with guard(repo.entity_type.__name__), uow.reading() as conn:
        found = repo._ops.existing_ids(conn, list(ids))
    for i in ids:
        row = staged.get(i.int)
        if row is not None:
            if isinstance(row, Entity):
                found.add(i)
            else:
                found.discard(i)
    return found


def _column(repo: SqlRepository[Any], name: str) -> sa.ColumnElement[Any]:
    term = repo._ops.tr.m.term(name)
    if not isinstance(term, ColumnTerm):  # pragma: no cover - the schema maps these to columns
        raise QueryError("not a column", field=name)
    return term.column


def _scope(repo: SqlRepository[Any], tenant_id: str, campaign_id: uuid.UUID) -> Any:
    t = repo._ops.table
    return sa.and_(
        t.c.tenant_id == tenant_id, t.c.campaign_id == campaign_id, t.c.deleted_at.is_(None)
    )


def sql_campaign_funnel(
    repo: Repository[CampaignEvent], tenant_id: str, campaign_id: uuid.UUID
) -> list[FunnelRow]:
    """One GROUP BY per recipient and variant (highest stage, outcome flags), then per variant."""
    assert isinstance(repo, SqlRepository)
    t = repo._ops.table
    kind, variant = t.c.kind, _column(repo, "variant")
    rank = sa.case(*((kind == k, r) for k, r in FUNNEL_RANK.items()), else_=None)

    def flag(k: str) -> Any:
        return sa.func.max(sa.case((kind == k, 1), else_=0)).label(k)

    outcomes = ("converted", "unsubscribed", "bounced", "complained")
    per_person = (
        sa.select(
            variant.label("variant"),
            sa.func.max(rank).label("stage"),
            *(flag(k) for k in outcomes),
        )
        .where(_scope(repo, tenant_id, campaign_id), kind.in_(list(FUNNEL_RANK)))
        .group_by(variant, t.c.customer_id)
        .subquery()
    )
    p = per_person.c

    def reached(n: int) -> Any:
        return sa.func.sum(sa.case((p.stage >= n, 1), else_=0))

    stmt = sa.select(
        p.variant,
        sa.func.count(),
        reached(1),
        reached(2),
        reached(3),
        *(sa.func.sum(p[k]) for k in outcomes),
    ).group_by(p.variant)
    amount, currency = _column(repo, "value.amount"), _column(repo, "value.currency")
    converted = sa.and_(
        _scope(repo, tenant_id, campaign_id), kind == "converted", amount.is_not(None)
    )
    sqlite = repo._uow._store.backend.name == "sqlite"
    if sqlite:  # decimals are order-preserving text there: SUM cannot add them
        values_stmt = sa.select(variant, currency, amount).where(converted)
    else:
        values_stmt = (
            sa.select(variant, currency, sa.func.sum(amount))
            .where(converted)
            .group_by(variant, currency)
        )
    with guard("CampaignEvent"), repo._uow.reading() as conn:
        rows = conn.execute(stmt).all()
        values: dict[str | None, dict[str, Decimal]] = defaultdict(dict)
        for v, cur, total in conn.execute(values_stmt):
            values[v][cur] = values[v].get(cur, Decimal(0)) + Decimal(str(total))
    out = [
        FunnelRow(
            r[0],
            sent=int(r[1]),
            delivered=int(r[2] or 0),
            opened=int(r[3] or 0),
            clicked=int(r[4] or 0),
            converted=int(r[5] or 0),
            unsubscribed=int(r[6] or 0),
            bounced=int(r[7] or 0),
            complained=int(r[8] or 0),
            value=values.get(r[0], {}),
        )
        for r in rows
    ]
    return sorted(out, key=lambda f: (f.variant is not None, f.variant or ""))


def sql_campaign_timeline(
    repo: Repository[CampaignEvent], tenant_id: str, campaign_id: uuid.UUID
) -> list[tuple[str, str, int]]:
    """Distinct recipients per UTC day and kind, grouped in the database."""
    assert isinstance(repo, SqlRepository)
    t = repo._ops.table
    at = sa.func.coalesce(t.c.occurred_at, t.c.created_at)
    day = _day(at, repo._uow._store.backend.name)
    stmt = (
        sa.select(day.label("day"), t.c.kind, sa.func.count(sa.distinct(t.c.customer_id)))
        .where(_scope(repo, tenant_id, campaign_id))
        .group_by(day, t.c.kind)
        .order_by(day, t.c.kind)
    )
    with guard("CampaignEvent"), repo._uow.reading() as conn:
        return [(str(d), str(k), int(n)) for d, k, n in conn.execute(stmt)]


def _day(at: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", at), "YYYY-MM-DD")
    if dialect in ("mysql", "mariadb"):
        return sa.func.date_format(at, "%Y-%m-%d")
    return sa.func.substr(at, 1, 10)  # SQLite keeps fixed-width ISO text in UTC
