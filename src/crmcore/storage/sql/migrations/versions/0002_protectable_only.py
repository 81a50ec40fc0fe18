"""sealed storage only for protectable entity types

Only customers, accounts and leads (the ``Protectable`` entity types) keep the
encryption layer's ``sealed`` column and ``<table>_search_keys`` child table;
every other table loses them. Nothing is lost: those columns and tables could
only be written by an encryption protection naming the type, which the
encryption layer now refuses (and the built-in protection covers customers
only), so they are empty.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 13:20:12.195263
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmcore.storage.sql import _types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: the tables of entity types that are not Protectable
PLAIN = (
    "activities",
    "articles",
    "audit_entries",
    "campaign_events",
    "campaign_members",
    "campaigns",
    "consents",
    "contact_roles",
    "merges",
    "opportunities",
    "orders",
    "products",
    "segments",
    "survey_responses",
    "tickets",
    "transitions",
)


def upgrade() -> None:
    for table in PLAIN:
        op.drop_index(op.f(f"ix_{table}_search_keys_search_key"), table_name=f"{table}_search_keys")
        op.drop_table(f"{table}_search_keys")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("sealed")


def downgrade() -> None:
    for table in PLAIN:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("sealed", _types.JsonType(), nullable=False, server_default="{}")
            )
        op.create_table(
            f"{table}_search_keys",
            sa.Column("record_id", _types.UuidType(), nullable=False),
            sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
            sa.ForeignKeyConstraint(
                ["record_id"],
                [f"{table}.id"],
                name=op.f(f"fk_{table}_search_keys_record_id_{table}"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint(
                "record_id", "search_key", name=op.f(f"pk_{table}_search_keys")
            ),
            mysql_charset="utf8mb4",
            mysql_collate="utf8mb4_nopad_bin",
            mysql_engine="InnoDB",
        )
        op.create_index(
            op.f(f"ix_{table}_search_keys_search_key"),
            f"{table}_search_keys",
            ["search_key"],
            unique=False,
        )
