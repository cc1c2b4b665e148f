"""access: case assignments and time-limited grants

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_assignment",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("agency_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("assigned_by", sa.String(36), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name="fk_case_assignment_case_id_case"),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name="fk_case_assignment_agency_id_agency"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name="fk_case_assignment_user_id_app_user"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_assignment"),
        sa.UniqueConstraint("case_id", "user_id", name="uq_case_assignment_case_user"),
    )
    op.create_index("ix_case_assignment_case_id", "case_assignment", ["case_id"])
    op.create_table(
        "access_grant",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("granted_by", sa.String(36), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name="fk_access_grant_case_id_case"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name="fk_access_grant_user_id_app_user"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_access_grant"),
    )
    op.create_index("ix_access_grant_case_id", "access_grant", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_access_grant_case_id", "access_grant")
    op.drop_table("access_grant")
    op.drop_index("ix_case_assignment_case_id", "case_assignment")
    op.drop_table("case_assignment")
