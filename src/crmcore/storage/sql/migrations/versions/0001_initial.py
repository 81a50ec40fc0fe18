"""initial schema: every crmcore table

Revision ID: 0001
Revises:
Create Date: 2026-11-22 21:12:27.730662
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmcore.storage.sql import _types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("name", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("registration_id", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("industry", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("employees", sa.BigInteger(), autoincrement=False, nullable=True),
        sa.Column(
            "annual_revenue_amount", _types.DecimalType(), autoincrement=False, nullable=True
        ),
        sa.Column("annual_revenue_currency", _types.Str(3), autoincrement=False, nullable=True),
        sa.Column("website", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("email", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("phone", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("parent_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("source", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("owner_id", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("team_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_accounts_tenant_id_id"), "accounts", ["tenant_id", "id"], unique=False)
    op.create_index(
        op.f("ix_accounts_tenant_id_name"), "accounts", ["tenant_id", "name"], unique=False
    )
    op.create_index(
        op.f("ix_accounts_tenant_id_owner_id"), "accounts", ["tenant_id", "owner_id"], unique=False
    )
    op.create_index(
        op.f("ix_accounts_tenant_id_registration_id"),
        "accounts",
        ["tenant_id", "registration_id"],
        unique=False,
    )
    op.create_table(
        "activities",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("type", _types.Str(32), autoincrement=False, nullable=False),
        sa.Column("subject", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("body", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("due_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("done_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("duration_minutes", sa.BigInteger(), autoincrement=False, nullable=True),
        sa.Column("participants", _types.JsonType(), nullable=False),
        sa.Column("customer_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("account_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("lead_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("opportunity_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("ticket_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("owner_id", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("team_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_activities_tenant_id_customer_id"),
        "activities",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_activities_tenant_id_due_at"), "activities", ["tenant_id", "due_at"], unique=False
    )
    op.create_index(
        op.f("ix_activities_tenant_id_id"), "activities", ["tenant_id", "id"], unique=False
    )
    op.create_index(
        op.f("ix_activities_tenant_id_owner_id"),
        "activities",
        ["tenant_id", "owner_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_activities_tenant_id_type"), "activities", ["tenant_id", "type"], unique=False
    )
    op.create_table(
        "articles",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("title", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("body", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("status", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("language", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("author_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_articles_tenant_id_id"), "articles", ["tenant_id", "id"], unique=False)
    op.create_index(
        op.f("ix_articles_tenant_id_language"), "articles", ["tenant_id", "language"], unique=False
    )
    op.create_index(
        op.f("ix_articles_tenant_id_status"), "articles", ["tenant_id", "status"], unique=False
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("actor", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("action", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("entity", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("record_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("changes", _types.JsonType(), nullable=False),
        sa.Column("system", sa.Boolean(), autoincrement=False, nullable=False),
        sa.Column("correlation_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("prev_hash", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("hash", _types.LongText(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_audit_entries_tenant_id_entity"),
        "audit_entries",
        ["tenant_id", "entity"],
        unique=False,
    )
    op.create_index(
        op.f("ix_audit_entries_tenant_id_id"), "audit_entries", ["tenant_id", "id"], unique=False
    )
    op.create_index(
        op.f("ix_audit_entries_tenant_id_record_id"),
        "audit_entries",
        ["tenant_id", "record_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_audit_entries_tenant_id_seq"), "audit_entries", ["tenant_id", "seq"], unique=False
    )
    op.create_table(
        "campaign_events",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("campaign_id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("customer_id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("kind", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("occurred_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("value_amount", _types.DecimalType(), autoincrement=False, nullable=True),
        sa.Column("value_currency", _types.Str(3), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_events")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_campaign_events_tenant_id_campaign_id"),
        "campaign_events",
        ["tenant_id", "campaign_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_campaign_events_tenant_id_customer_id"),
        "campaign_events",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_campaign_events_tenant_id_id"),
        "campaign_events",
        ["tenant_id", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_campaign_events_tenant_id_kind"),
        "campaign_events",
        ["tenant_id", "kind"],
        unique=False,
    )
    op.create_table(
        "campaign_members",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("campaign_id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("customer_id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("status", _types.LongText(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_members")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_campaign_members_tenant_id_campaign_id"),
        "campaign_members",
        ["tenant_id", "campaign_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_campaign_members_tenant_id_customer_id"),
        "campaign_members",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_campaign_members_tenant_id_id"),
        "campaign_members",
        ["tenant_id", "id"],
        unique=False,
    )
    op.create_table(
        "campaigns",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("name", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("channel", _types.Str(32), autoincrement=False, nullable=True),
        sa.Column("status", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("scheduled_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("ends_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("started_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("completed_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("budget_amount", _types.DecimalType(), autoincrement=False, nullable=True),
        sa.Column("budget_currency", _types.Str(3), autoincrement=False, nullable=True),
        sa.Column("segment_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("owner_id", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("team_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_campaigns_tenant_id_id"), "campaigns", ["tenant_id", "id"], unique=False
    )
    op.create_index(
        op.f("ix_campaigns_tenant_id_owner_id"),
        "campaigns",
        ["tenant_id", "owner_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_campaigns_tenant_id_status"), "campaigns", ["tenant_id", "status"], unique=False
    )
    op.create_table(
        "consents",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("customer_id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("purpose", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("status", _types.Str(32), autoincrement=False, nullable=False),
        sa.Column("channel", _types.Str(32), autoincrement=False, nullable=True),
        sa.Column("recorded_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("source", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("evidence", _types.LongText(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_consents_tenant_id_customer_id"),
        "consents",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_index(op.f("ix_consents_tenant_id_id"), "consents", ["tenant_id", "id"], unique=False)
    op.create_index(
        op.f("ix_consents_tenant_id_purpose"), "consents", ["tenant_id", "purpose"], unique=False
    )
    op.create_table(
        "contact_roles",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("customer_id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("account_id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("role", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("title", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("is_primary", sa.Boolean(), autoincrement=False, nullable=False),
        sa.Column("started_on", sa.Date(), autoincrement=False, nullable=True),
        sa.Column("ended_on", sa.Date(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_roles")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_contact_roles_tenant_id_account_id"),
        "contact_roles",
        ["tenant_id", "account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_contact_roles_tenant_id_customer_id"),
        "contact_roles",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_contact_roles_tenant_id_id"), "contact_roles", ["tenant_id", "id"], unique=False
    )
    op.create_table(
        "customers",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("first_name", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("last_name", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("email", _types.Str(320), autoincrement=False, nullable=True),
        sa.Column("phone", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("date_of_birth", sa.Date(), autoincrement=False, nullable=True),
        sa.Column("gender", _types.Str(32), autoincrement=False, nullable=True),
        sa.Column("national_id", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("preferred_language", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("preferred_channel", _types.Str(32), autoincrement=False, nullable=True),
        sa.Column("lifecycle_stage", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("source", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("owner_id", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("team_id", _types.Str(255), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_customers_tenant_id_email"), "customers", ["tenant_id", "email"], unique=False
    )
    op.create_index(
        op.f("ix_customers_tenant_id_id"), "customers", ["tenant_id", "id"], unique=False
    )
    op.create_index(
        op.f("ix_customers_tenant_id_last_name"),
        "customers",
        ["tenant_id", "last_name"],
        unique=False,
    )
    op.create_index(
        op.f("ix_customers_tenant_id_lifecycle_stage"),
        "customers",
        ["tenant_id", "lifecycle_stage"],
        unique=False,
    )
    op.create_index(
        op.f("ix_customers_tenant_id_national_id"),
        "customers",
        ["tenant_id", "national_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_customers_tenant_id_owner_id"),
        "customers",
        ["tenant_id", "owner_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_customers_tenant_id_phone"), "customers", ["tenant_id", "phone"], unique=False
    )
    op.create_index(
        op.f("ix_customers_tenant_id_team_id"), "customers", ["tenant_id", "team_id"], unique=False
    )
    op.create_table(
        "leads",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("first_name", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("last_name", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("company", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("title", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("email", _types.Str(320), autoincrement=False, nullable=True),
        sa.Column("phone", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("status", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("score", sa.BigInteger(), autoincrement=False, nullable=True),
        sa.Column("disqualified_reason", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("converted_customer_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("converted_account_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column(
            "converted_opportunity_id", _types.UuidType(), autoincrement=False, nullable=True
        ),
        sa.Column("converted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("source", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("owner_id", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("team_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_leads_tenant_id_email"), "leads", ["tenant_id", "email"], unique=False)
    op.create_index(op.f("ix_leads_tenant_id_id"), "leads", ["tenant_id", "id"], unique=False)
    op.create_index(
        op.f("ix_leads_tenant_id_owner_id"), "leads", ["tenant_id", "owner_id"], unique=False
    )
    op.create_index(op.f("ix_leads_tenant_id_phone"), "leads", ["tenant_id", "phone"], unique=False)
    op.create_index(
        op.f("ix_leads_tenant_id_status"), "leads", ["tenant_id", "status"], unique=False
    )
    op.create_table(
        "merges",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("entity", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("survivor_id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("merged_ids", _types.JsonType(), nullable=False),
        sa.Column("actor", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("undone_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("journal", _types.JsonType(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merges")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_merges_tenant_id_entity"), "merges", ["tenant_id", "entity"], unique=False
    )
    op.create_index(op.f("ix_merges_tenant_id_id"), "merges", ["tenant_id", "id"], unique=False)
    op.create_index(
        op.f("ix_merges_tenant_id_survivor_id"),
        "merges",
        ["tenant_id", "survivor_id"],
        unique=False,
    )
    op.create_table(
        "opportunities",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("name", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("account_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("customer_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("lead_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("amount_amount", _types.DecimalType(), autoincrement=False, nullable=True),
        sa.Column("amount_currency", _types.Str(3), autoincrement=False, nullable=True),
        sa.Column("stage", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("probability", sa.Double(), autoincrement=False, nullable=True),
        sa.Column("forecast_category", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("expected_close_date", sa.Date(), autoincrement=False, nullable=True),
        sa.Column("closed_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("lost_reason", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("source", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("owner_id", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("team_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_opportunities_tenant_id_account_id"),
        "opportunities",
        ["tenant_id", "account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_opportunities_tenant_id_customer_id"),
        "opportunities",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_opportunities_tenant_id_expected_close_date"),
        "opportunities",
        ["tenant_id", "expected_close_date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_opportunities_tenant_id_id"), "opportunities", ["tenant_id", "id"], unique=False
    )
    op.create_index(
        op.f("ix_opportunities_tenant_id_owner_id"),
        "opportunities",
        ["tenant_id", "owner_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_opportunities_tenant_id_stage"),
        "opportunities",
        ["tenant_id", "stage"],
        unique=False,
    )
    op.create_table(
        "orders",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("customer_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("account_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("number", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("status", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("currency", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("ordered_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("owner_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("team_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_orders_tenant_id_customer_id"),
        "orders",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_index(op.f("ix_orders_tenant_id_id"), "orders", ["tenant_id", "id"], unique=False)
    op.create_index(
        op.f("ix_orders_tenant_id_ordered_at"), "orders", ["tenant_id", "ordered_at"], unique=False
    )
    op.create_index(
        op.f("ix_orders_tenant_id_status"), "orders", ["tenant_id", "status"], unique=False
    )
    op.create_table(
        "products",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("sku", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("name", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("price_amount", _types.DecimalType(), autoincrement=False, nullable=False),
        sa.Column("price_currency", _types.Str(3), autoincrement=False, nullable=False),
        sa.Column("description", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("category", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("active", sa.Boolean(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_products_tenant_id_category"), "products", ["tenant_id", "category"], unique=False
    )
    op.create_index(op.f("ix_products_tenant_id_id"), "products", ["tenant_id", "id"], unique=False)
    op.create_index(
        op.f("ix_products_tenant_id_sku"), "products", ["tenant_id", "sku"], unique=False
    )
    op.create_table(
        "segments",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("name", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("entity", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("filter", _types.JsonType(), nullable=False),
        sa.Column("description", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("owner_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("team_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_segments_tenant_id_id"), "segments", ["tenant_id", "id"], unique=False)
    op.create_index(
        op.f("ix_segments_tenant_id_name"), "segments", ["tenant_id", "name"], unique=False
    )
    op.create_table(
        "survey_responses",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("kind", _types.Str(32), autoincrement=False, nullable=False),
        sa.Column("score", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("customer_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("ticket_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("campaign_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("comment", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("responded_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_survey_responses_tenant_id_customer_id"),
        "survey_responses",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_survey_responses_tenant_id_id"),
        "survey_responses",
        ["tenant_id", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_survey_responses_tenant_id_kind"),
        "survey_responses",
        ["tenant_id", "kind"],
        unique=False,
    )
    op.create_index(
        op.f("ix_survey_responses_tenant_id_ticket_id"),
        "survey_responses",
        ["tenant_id", "ticket_id"],
        unique=False,
    )
    op.create_table(
        "tickets",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("subject", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("description", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("priority", _types.Str(32), autoincrement=False, nullable=False),
        sa.Column("channel", _types.Str(32), autoincrement=False, nullable=True),
        sa.Column("status", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("category", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("customer_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("account_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("assignee_id", _types.Str(255), autoincrement=False, nullable=True),
        sa.Column("owner_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("team_id", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column(
            "first_response_due_at", _types.UtcDateTime(), autoincrement=False, nullable=True
        ),
        sa.Column("resolution_due_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("first_response_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("resolved_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("closed_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_tickets_tenant_id_assignee_id"),
        "tickets",
        ["tenant_id", "assignee_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tickets_tenant_id_customer_id"),
        "tickets",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_index(op.f("ix_tickets_tenant_id_id"), "tickets", ["tenant_id", "id"], unique=False)
    op.create_index(
        op.f("ix_tickets_tenant_id_priority"), "tickets", ["tenant_id", "priority"], unique=False
    )
    op.create_index(
        op.f("ix_tickets_tenant_id_resolution_due_at"),
        "tickets",
        ["tenant_id", "resolution_due_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tickets_tenant_id_status"), "tickets", ["tenant_id", "status"], unique=False
    )
    op.create_table(
        "transitions",
        sa.Column("id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", _types.Str(128), autoincrement=False, nullable=False),
        sa.Column("created_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("updated_at", _types.UtcDateTime(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deleted_at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("custom", _types.JsonType(), nullable=False),
        sa.Column("sealed", _types.JsonType(), nullable=False),
        sa.Column("entity", _types.Str(255), autoincrement=False, nullable=False),
        sa.Column("record_id", _types.UuidType(), autoincrement=False, nullable=False),
        sa.Column("machine", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("event", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("from_state", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("to_state", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("actor", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("at", _types.UtcDateTime(), autoincrement=False, nullable=True),
        sa.Column("comment", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("data", _types.JsonType(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transitions")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_transitions_tenant_id_at"), "transitions", ["tenant_id", "at"], unique=False
    )
    op.create_index(
        op.f("ix_transitions_tenant_id_entity"),
        "transitions",
        ["tenant_id", "entity"],
        unique=False,
    )
    op.create_index(
        op.f("ix_transitions_tenant_id_id"), "transitions", ["tenant_id", "id"], unique=False
    )
    op.create_index(
        op.f("ix_transitions_tenant_id_record_id"),
        "transitions",
        ["tenant_id", "record_id"],
        unique=False,
    )
    op.create_table(
        "accounts_addresses",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("line1", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("line2", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("city", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("region", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("postcode", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("country", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("kind", _types.LongText(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["accounts.id"],
            name=op.f("fk_accounts_addresses_record_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "position", name=op.f("pk_accounts_addresses")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "accounts_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["accounts.id"],
            name=op.f("fk_accounts_search_keys_record_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_accounts_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_accounts_search_keys_search_key"),
        "accounts_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "accounts_tags",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("tag", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["accounts.id"],
            name=op.f("fk_accounts_tags_record_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "tag", name=op.f("pk_accounts_tags")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_accounts_tags_tag"), "accounts_tags", ["tag"], unique=False)
    op.create_table(
        "activities_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["activities.id"],
            name=op.f("fk_activities_search_keys_record_id_activities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_activities_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_activities_search_keys_search_key"),
        "activities_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "articles_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["articles.id"],
            name=op.f("fk_articles_search_keys_record_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_articles_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_articles_search_keys_search_key"),
        "articles_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "articles_tags",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("tag", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["articles.id"],
            name=op.f("fk_articles_tags_record_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "tag", name=op.f("pk_articles_tags")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_articles_tags_tag"), "articles_tags", ["tag"], unique=False)
    op.create_table(
        "audit_entries_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["audit_entries.id"],
            name=op.f("fk_audit_entries_search_keys_record_id_audit_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "record_id", "search_key", name=op.f("pk_audit_entries_search_keys")
        ),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_audit_entries_search_keys_search_key"),
        "audit_entries_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "campaign_events_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["campaign_events.id"],
            name=op.f("fk_campaign_events_search_keys_record_id_campaign_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "record_id", "search_key", name=op.f("pk_campaign_events_search_keys")
        ),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_campaign_events_search_keys_search_key"),
        "campaign_events_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "campaign_members_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["campaign_members.id"],
            name=op.f("fk_campaign_members_search_keys_record_id_campaign_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "record_id", "search_key", name=op.f("pk_campaign_members_search_keys")
        ),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_campaign_members_search_keys_search_key"),
        "campaign_members_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "campaigns_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["campaigns.id"],
            name=op.f("fk_campaigns_search_keys_record_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_campaigns_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_campaigns_search_keys_search_key"),
        "campaigns_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "campaigns_tags",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("tag", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["campaigns.id"],
            name=op.f("fk_campaigns_tags_record_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "tag", name=op.f("pk_campaigns_tags")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_campaigns_tags_tag"), "campaigns_tags", ["tag"], unique=False)
    op.create_table(
        "consents_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["consents.id"],
            name=op.f("fk_consents_search_keys_record_id_consents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_consents_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_consents_search_keys_search_key"),
        "consents_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "contact_roles_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["contact_roles.id"],
            name=op.f("fk_contact_roles_search_keys_record_id_contact_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "record_id", "search_key", name=op.f("pk_contact_roles_search_keys")
        ),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_contact_roles_search_keys_search_key"),
        "contact_roles_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "customers_addresses",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("line1", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("line2", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("city", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("region", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("postcode", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("country", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("kind", _types.LongText(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["customers.id"],
            name=op.f("fk_customers_addresses_record_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "position", name=op.f("pk_customers_addresses")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "customers_emails",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("address", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("label", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("verified", sa.Boolean(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["customers.id"],
            name=op.f("fk_customers_emails_record_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "position", name=op.f("pk_customers_emails")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "customers_phones",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("number", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("kind", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("label", _types.LongText(), autoincrement=False, nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["customers.id"],
            name=op.f("fk_customers_phones_record_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "position", name=op.f("pk_customers_phones")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "customers_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["customers.id"],
            name=op.f("fk_customers_search_keys_record_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_customers_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_customers_search_keys_search_key"),
        "customers_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "customers_tags",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("tag", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["customers.id"],
            name=op.f("fk_customers_tags_record_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "tag", name=op.f("pk_customers_tags")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_customers_tags_tag"), "customers_tags", ["tag"], unique=False)
    op.create_table(
        "leads_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["leads.id"],
            name=op.f("fk_leads_search_keys_record_id_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_leads_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_leads_search_keys_search_key"), "leads_search_keys", ["search_key"], unique=False
    )
    op.create_table(
        "leads_tags",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("tag", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["leads.id"],
            name=op.f("fk_leads_tags_record_id_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "tag", name=op.f("pk_leads_tags")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_leads_tags_tag"), "leads_tags", ["tag"], unique=False)
    op.create_table(
        "merges_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["merges.id"],
            name=op.f("fk_merges_search_keys_record_id_merges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_merges_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_merges_search_keys_search_key"), "merges_search_keys", ["search_key"], unique=False
    )
    op.create_table(
        "opportunities_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunities_search_keys_record_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "record_id", "search_key", name=op.f("pk_opportunities_search_keys")
        ),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_opportunities_search_keys_search_key"),
        "opportunities_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "opportunities_tags",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("tag", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunities_tags_record_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "tag", name=op.f("pk_opportunities_tags")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_opportunities_tags_tag"), "opportunities_tags", ["tag"], unique=False)
    op.create_table(
        "orders_lines",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("product_id", _types.UuidType(), autoincrement=False, nullable=True),
        sa.Column("sku", _types.LongText(), autoincrement=False, nullable=True),
        sa.Column("description", _types.LongText(), autoincrement=False, nullable=False),
        sa.Column("quantity", _types.DecimalType(), autoincrement=False, nullable=False),
        sa.Column("unit_price_amount", _types.DecimalType(), autoincrement=False, nullable=False),
        sa.Column("unit_price_currency", _types.Str(3), autoincrement=False, nullable=False),
        sa.Column("discount", _types.DecimalType(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["orders.id"],
            name=op.f("fk_orders_lines_record_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "position", name=op.f("pk_orders_lines")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "orders_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["orders.id"],
            name=op.f("fk_orders_search_keys_record_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_orders_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_orders_search_keys_search_key"), "orders_search_keys", ["search_key"], unique=False
    )
    op.create_table(
        "products_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["products.id"],
            name=op.f("fk_products_search_keys_record_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_products_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_products_search_keys_search_key"),
        "products_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "products_tags",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("tag", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["products.id"],
            name=op.f("fk_products_tags_record_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "tag", name=op.f("pk_products_tags")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_products_tags_tag"), "products_tags", ["tag"], unique=False)
    op.create_table(
        "segments_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["segments.id"],
            name=op.f("fk_segments_search_keys_record_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_segments_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_segments_search_keys_search_key"),
        "segments_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "survey_responses_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["survey_responses.id"],
            name=op.f("fk_survey_responses_search_keys_record_id_survey_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "record_id", "search_key", name=op.f("pk_survey_responses_search_keys")
        ),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_survey_responses_search_keys_search_key"),
        "survey_responses_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "tickets_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["tickets.id"],
            name=op.f("fk_tickets_search_keys_record_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_tickets_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_tickets_search_keys_search_key"),
        "tickets_search_keys",
        ["search_key"],
        unique=False,
    )
    op.create_table(
        "tickets_skills",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("skill", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["tickets.id"],
            name=op.f("fk_tickets_skills_record_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "skill", name=op.f("pk_tickets_skills")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_tickets_skills_skill"), "tickets_skills", ["skill"], unique=False)
    op.create_table(
        "tickets_tags",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("tag", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["tickets.id"],
            name=op.f("fk_tickets_tags_record_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "tag", name=op.f("pk_tickets_tags")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_tickets_tags_tag"), "tickets_tags", ["tag"], unique=False)
    op.create_table(
        "transitions_search_keys",
        sa.Column("record_id", _types.UuidType(), nullable=False),
        sa.Column("search_key", _types.Str(255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["transitions.id"],
            name=op.f("fk_transitions_search_keys_record_id_transitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "search_key", name=op.f("pk_transitions_search_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_nopad_bin",
        mysql_engine="InnoDB",
    )
    op.create_index(
        op.f("ix_transitions_search_keys_search_key"),
        "transitions_search_keys",
        ["search_key"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_transitions_search_keys_search_key"), table_name="transitions_search_keys"
    )
    op.drop_table("transitions_search_keys")
    op.drop_index(op.f("ix_tickets_tags_tag"), table_name="tickets_tags")
    op.drop_table("tickets_tags")
    op.drop_index(op.f("ix_tickets_skills_skill"), table_name="tickets_skills")
    op.drop_table("tickets_skills")
    op.drop_index(op.f("ix_tickets_search_keys_search_key"), table_name="tickets_search_keys")
    op.drop_table("tickets_search_keys")
    op.drop_index(
        op.f("ix_survey_responses_search_keys_search_key"),
        table_name="survey_responses_search_keys",
    )
    op.drop_table("survey_responses_search_keys")
    op.drop_index(op.f("ix_segments_search_keys_search_key"), table_name="segments_search_keys")
    op.drop_table("segments_search_keys")
    op.drop_index(op.f("ix_products_tags_tag"), table_name="products_tags")
    op.drop_table("products_tags")
    op.drop_index(op.f("ix_products_search_keys_search_key"), table_name="products_search_keys")
    op.drop_table("products_search_keys")
    op.drop_index(op.f("ix_orders_search_keys_search_key"), table_name="orders_search_keys")
    op.drop_table("orders_search_keys")
    op.drop_table("orders_lines")
    op.drop_index(op.f("ix_opportunities_tags_tag"), table_name="opportunities_tags")
    op.drop_table("opportunities_tags")
    op.drop_index(
        op.f("ix_opportunities_search_keys_search_key"), table_name="opportunities_search_keys"
    )
    op.drop_table("opportunities_search_keys")
    op.drop_index(op.f("ix_merges_search_keys_search_key"), table_name="merges_search_keys")
    op.drop_table("merges_search_keys")
    op.drop_index(op.f("ix_leads_tags_tag"), table_name="leads_tags")
    op.drop_table("leads_tags")
    op.drop_index(op.f("ix_leads_search_keys_search_key"), table_name="leads_search_keys")
    op.drop_table("leads_search_keys")
    op.drop_index(op.f("ix_customers_tags_tag"), table_name="customers_tags")
    op.drop_table("customers_tags")
    op.drop_index(op.f("ix_customers_search_keys_search_key"), table_name="customers_search_keys")
    op.drop_table("customers_search_keys")
    op.drop_table("customers_phones")
    op.drop_table("customers_emails")
    op.drop_table("customers_addresses")
    op.drop_index(
        op.f("ix_contact_roles_search_keys_search_key"), table_name="contact_roles_search_keys"
    )
    op.drop_table("contact_roles_search_keys")
    op.drop_index(op.f("ix_consents_search_keys_search_key"), table_name="consents_search_keys")
    op.drop_table("consents_search_keys")
    op.drop_index(op.f("ix_campaigns_tags_tag"), table_name="campaigns_tags")
    op.drop_table("campaigns_tags")
    op.drop_index(op.f("ix_campaigns_search_keys_search_key"), table_name="campaigns_search_keys")
    op.drop_table("campaigns_search_keys")
    op.drop_index(
        op.f("ix_campaign_members_search_keys_search_key"),
        table_name="campaign_members_search_keys",
    )
    op.drop_table("campaign_members_search_keys")
    op.drop_index(
        op.f("ix_campaign_events_search_keys_search_key"), table_name="campaign_events_search_keys"
    )
    op.drop_table("campaign_events_search_keys")
    op.drop_index(
        op.f("ix_audit_entries_search_keys_search_key"), table_name="audit_entries_search_keys"
    )
    op.drop_table("audit_entries_search_keys")
    op.drop_index(op.f("ix_articles_tags_tag"), table_name="articles_tags")
    op.drop_table("articles_tags")
    op.drop_index(op.f("ix_articles_search_keys_search_key"), table_name="articles_search_keys")
    op.drop_table("articles_search_keys")
    op.drop_index(op.f("ix_activities_search_keys_search_key"), table_name="activities_search_keys")
    op.drop_table("activities_search_keys")
    op.drop_index(op.f("ix_accounts_tags_tag"), table_name="accounts_tags")
    op.drop_table("accounts_tags")
    op.drop_index(op.f("ix_accounts_search_keys_search_key"), table_name="accounts_search_keys")
    op.drop_table("accounts_search_keys")
    op.drop_table("accounts_addresses")
    op.drop_index(op.f("ix_transitions_tenant_id_record_id"), table_name="transitions")
    op.drop_index(op.f("ix_transitions_tenant_id_id"), table_name="transitions")
    op.drop_index(op.f("ix_transitions_tenant_id_entity"), table_name="transitions")
    op.drop_index(op.f("ix_transitions_tenant_id_at"), table_name="transitions")
    op.drop_table("transitions")
    op.drop_index(op.f("ix_tickets_tenant_id_status"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_tenant_id_resolution_due_at"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_tenant_id_priority"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_tenant_id_id"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_tenant_id_customer_id"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_tenant_id_assignee_id"), table_name="tickets")
    op.drop_table("tickets")
    op.drop_index(op.f("ix_survey_responses_tenant_id_ticket_id"), table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_tenant_id_kind"), table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_tenant_id_id"), table_name="survey_responses")
    op.drop_index(op.f("ix_survey_responses_tenant_id_customer_id"), table_name="survey_responses")
    op.drop_table("survey_responses")
    op.drop_index(op.f("ix_segments_tenant_id_name"), table_name="segments")
    op.drop_index(op.f("ix_segments_tenant_id_id"), table_name="segments")
    op.drop_table("segments")
    op.drop_index(op.f("ix_products_tenant_id_sku"), table_name="products")
    op.drop_index(op.f("ix_products_tenant_id_id"), table_name="products")
    op.drop_index(op.f("ix_products_tenant_id_category"), table_name="products")
    op.drop_table("products")
    op.drop_index(op.f("ix_orders_tenant_id_status"), table_name="orders")
    op.drop_index(op.f("ix_orders_tenant_id_ordered_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_tenant_id_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_tenant_id_customer_id"), table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_opportunities_tenant_id_stage"), table_name="opportunities")
    op.drop_index(op.f("ix_opportunities_tenant_id_owner_id"), table_name="opportunities")
    op.drop_index(op.f("ix_opportunities_tenant_id_id"), table_name="opportunities")
    op.drop_index(
        op.f("ix_opportunities_tenant_id_expected_close_date"), table_name="opportunities"
    )
    op.drop_index(op.f("ix_opportunities_tenant_id_customer_id"), table_name="opportunities")
    op.drop_index(op.f("ix_opportunities_tenant_id_account_id"), table_name="opportunities")
    op.drop_table("opportunities")
    op.drop_index(op.f("ix_merges_tenant_id_survivor_id"), table_name="merges")
    op.drop_index(op.f("ix_merges_tenant_id_id"), table_name="merges")
    op.drop_index(op.f("ix_merges_tenant_id_entity"), table_name="merges")
    op.drop_table("merges")
    op.drop_index(op.f("ix_leads_tenant_id_status"), table_name="leads")
    op.drop_index(op.f("ix_leads_tenant_id_phone"), table_name="leads")
    op.drop_index(op.f("ix_leads_tenant_id_owner_id"), table_name="leads")
    op.drop_index(op.f("ix_leads_tenant_id_id"), table_name="leads")
    op.drop_index(op.f("ix_leads_tenant_id_email"), table_name="leads")
    op.drop_table("leads")
    op.drop_index(op.f("ix_customers_tenant_id_team_id"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_phone"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_owner_id"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_national_id"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_lifecycle_stage"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_last_name"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_id"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_email"), table_name="customers")
    op.drop_table("customers")
    op.drop_index(op.f("ix_contact_roles_tenant_id_id"), table_name="contact_roles")
    op.drop_index(op.f("ix_contact_roles_tenant_id_customer_id"), table_name="contact_roles")
    op.drop_index(op.f("ix_contact_roles_tenant_id_account_id"), table_name="contact_roles")
    op.drop_table("contact_roles")
    op.drop_index(op.f("ix_consents_tenant_id_purpose"), table_name="consents")
    op.drop_index(op.f("ix_consents_tenant_id_id"), table_name="consents")
    op.drop_index(op.f("ix_consents_tenant_id_customer_id"), table_name="consents")
    op.drop_table("consents")
    op.drop_index(op.f("ix_campaigns_tenant_id_status"), table_name="campaigns")
    op.drop_index(op.f("ix_campaigns_tenant_id_owner_id"), table_name="campaigns")
    op.drop_index(op.f("ix_campaigns_tenant_id_id"), table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_index(op.f("ix_campaign_members_tenant_id_id"), table_name="campaign_members")
    op.drop_index(op.f("ix_campaign_members_tenant_id_customer_id"), table_name="campaign_members")
    op.drop_index(op.f("ix_campaign_members_tenant_id_campaign_id"), table_name="campaign_members")
    op.drop_table("campaign_members")
    op.drop_index(op.f("ix_campaign_events_tenant_id_kind"), table_name="campaign_events")
    op.drop_index(op.f("ix_campaign_events_tenant_id_id"), table_name="campaign_events")
    op.drop_index(op.f("ix_campaign_events_tenant_id_customer_id"), table_name="campaign_events")
    op.drop_index(op.f("ix_campaign_events_tenant_id_campaign_id"), table_name="campaign_events")
    op.drop_table("campaign_events")
    op.drop_index(op.f("ix_audit_entries_tenant_id_seq"), table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_tenant_id_record_id"), table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_tenant_id_id"), table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_tenant_id_entity"), table_name="audit_entries")
    op.drop_table("audit_entries")
    op.drop_index(op.f("ix_articles_tenant_id_status"), table_name="articles")
    op.drop_index(op.f("ix_articles_tenant_id_language"), table_name="articles")
    op.drop_index(op.f("ix_articles_tenant_id_id"), table_name="articles")
    op.drop_table("articles")
    op.drop_index(op.f("ix_activities_tenant_id_type"), table_name="activities")
    op.drop_index(op.f("ix_activities_tenant_id_owner_id"), table_name="activities")
    op.drop_index(op.f("ix_activities_tenant_id_id"), table_name="activities")
    op.drop_index(op.f("ix_activities_tenant_id_due_at"), table_name="activities")
    op.drop_index(op.f("ix_activities_tenant_id_customer_id"), table_name="activities")
    op.drop_table("activities")
    op.drop_index(op.f("ix_accounts_tenant_id_registration_id"), table_name="accounts")
    op.drop_index(op.f("ix_accounts_tenant_id_owner_id"), table_name="accounts")
    op.drop_index(op.f("ix_accounts_tenant_id_name"), table_name="accounts")
    op.drop_index(op.f("ix_accounts_tenant_id_id"), table_name="accounts")
    op.drop_table("accounts")
