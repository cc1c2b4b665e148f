"""procedure: exchange details, receipts, raised alerts, person keys

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("person") as b:
        b.add_column(sa.Column("key", sa.String(32), nullable=False, server_default=""))
    with op.batch_alter_table("case") as b:
        b.add_column(sa.Column("handler_agency_id", sa.String(36), nullable=True))
        b.add_column(sa.Column("event_count", sa.Integer(), nullable=False, server_default="0"))
        b.create_foreign_key(
            "fk_case_handler_agency_id_agency", "agency", ["handler_agency_id"], ["id"]
        )
    with op.batch_alter_table("exchange") as b:
        b.add_column(sa.Column("request_hash", sa.String(64), nullable=False, server_default=""))
        b.add_column(
            sa.Column("node_kind", sa.String(16), nullable=False, server_default="exchange")
        )
        b.add_column(sa.Column("occurred_on", sa.Date(), nullable=True))
        b.add_column(sa.Column("dossier_ref", sa.String(400), nullable=True))
        b.add_column(sa.Column("table_versions", JSON, nullable=False, server_default="{}"))
    op.create_table(
        "receipt",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("exchange_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("agency_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["exchange_id"], ["exchange.id"], name="fk_receipt_exchange_id_exchange"
        ),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name="fk_receipt_agency_id_agency"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name="fk_receipt_user_id_app_user"),
        sa.PrimaryKeyConstraint("id", name="pk_receipt"),
        sa.UniqueConstraint("exchange_id", "kind", name="uq_receipt_exchange_kind"),
    )
    op.create_index("ix_receipt_exchange_id", "receipt", ["exchange_id"])
    op.create_table(
        "raised_alert",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("first_raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name="fk_raised_alert_case_id_case"),
        sa.PrimaryKeyConstraint("id", name="pk_raised_alert"),
        sa.UniqueConstraint("case_id", "key", name="uq_raised_alert_case_key"),
    )
    op.create_index("ix_raised_alert_case_id", "raised_alert", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_raised_alert_case_id", "raised_alert")
    op.drop_table("raised_alert")
    op.drop_index("ix_receipt_exchange_id", "receipt")
    op.drop_table("receipt")
    with op.batch_alter_table("exchange") as b:
        for col in ("table_versions", "dossier_ref", "occurred_on", "node_kind", "request_hash"):
            b.drop_column(col)
    with op.batch_alter_table("case") as b:
        b.drop_constraint("fk_case_handler_agency_id_agency", type_="foreignkey")
        b.drop_column("event_count")
        b.drop_column("handler_agency_id")
    with op.batch_alter_table("person") as b:
        b.drop_column("key")
