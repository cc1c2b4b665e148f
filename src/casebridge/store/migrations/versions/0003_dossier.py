"""electronic dossiers: dossier, dossier_version, dossier_page

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dossier",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("created_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier")),
    )
    op.create_table(
        "dossier_version",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("dossier_id", sa.String(length=255), nullable=False),
        sa.Column("merkle_root", sa.String(length=64), nullable=False),
        sa.Column("parent_root", sa.String(length=64), nullable=True),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_id"], ["dossier.id"], name=op.f("fk_dossier_version_dossier_id_dossier")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_version")),
        sa.UniqueConstraint("dossier_id", "merkle_root", name="uq_dossier_version_root"),
    )
    op.create_index(
        op.f("ix_dossier_version_dossier_id"), "dossier_version", ["dossier_id"], unique=False
    )
    op.create_table(
        "dossier_page",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_dossier_page")),
    )


def downgrade() -> None:
    op.drop_table("dossier_page")
    op.drop_index(op.f("ix_dossier_version_dossier_id"), table_name="dossier_version")
    op.drop_table("dossier_version")
    op.drop_table("dossier")
