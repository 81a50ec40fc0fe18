"""orders store their total, so segments and reports can filter and sum it (issue #18)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 15:16:36.043923
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

import sqlalchemy as sa
from alembic import op

from crmcore.storage.sql import _types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PLACES = Decimal("0.000001")


def _backfill() -> None:
    """Every existing order's total: the sum of its lines, as ``Order`` computes it."""
    conn = op.get_bind()
    orders = sa.table(
        "orders",
        sa.column("id", _types.UuidType()),
        sa.column("currency", _types.Str(3)),
        sa.column("total_amount", _types.DecimalType()),
        sa.column("total_currency", _types.Str(3)),
    )
    lines = sa.table(
        "orders_lines",
        sa.column("record_id", _types.UuidType()),
        sa.column("quantity", _types.DecimalType()),
        sa.column("unit_price_amount", _types.DecimalType()),
        sa.column("discount", _types.DecimalType()),
    )
    sums: dict[object, Decimal] = defaultdict(Decimal)
    for record_id, quantity, price, discount in conn.execute(
        sa.select(lines.c.record_id, lines.c.quantity, lines.c.unit_price_amount, lines.c.discount)
    ):
        sums[record_id] += price * (quantity * (1 - discount))
    rows = conn.execute(sa.select(orders.c.id, orders.c.currency)).all()
    if not rows:
        return
    conn.execute(
        orders.update()
        .where(orders.c.id == sa.bindparam("b_id"))
        .values(total_amount=sa.bindparam("b_amount"), total_currency=sa.bindparam("b_currency")),
        [
            {
                "b_id": order_id,
                "b_amount": sums[order_id].quantize(_PLACES, ROUND_HALF_EVEN),
                "b_currency": currency,
            }
            for order_id, currency in rows
        ],
    )


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("total_amount", _types.DecimalType(), autoincrement=False, nullable=True)
        )
        batch_op.add_column(
            sa.Column("total_currency", _types.Str(3), autoincrement=False, nullable=True)
        )
    _backfill()
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("total_amount", existing_type=_types.DecimalType(), nullable=False)
        batch_op.alter_column("total_currency", existing_type=_types.Str(3), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("total_currency")
        batch_op.drop_column("total_amount")
