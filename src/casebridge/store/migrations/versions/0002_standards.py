"""standard code tables and dialect mappings (issue 3)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "code_dialect",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("effective_from", sa.String(length=10), nullable=False),
        sa.Column("title_zh", sa.String(length=100), nullable=False),
        sa.Column("title_en", sa.String(length=100), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column(
            "agency_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_dialect")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_code_dialect_name")),
    )
    op.create_table(
        "code_entry",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("table_version", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column(
            "successors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_entry")),
        sa.UniqueConstraint(
            "table_name", "table_version", "code", name=op.f("uq_code_entry_table_name")
        ),
    )
    with op.batch_alter_table("code_entry", schema=None) as batch_op:
        batch_op.create_index("ix_code_entry_lookup", ["table_name", "code"], unique=False)

    op.create_table(
        "code_mapping",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("dialect", sa.String(length=32), nullable=False),
        sa.Column("dialect_version", sa.String(length=32), nullable=False),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("dialect_code", sa.String(length=64), nullable=False),
        sa.Column("dialect_name", sa.String(length=200), nullable=False),
        sa.Column("standard_code", sa.String(length=64), nullable=False),
        sa.Column("outbound_preferred", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_mapping")),
        sa.UniqueConstraint(
            "dialect",
            "dialect_version",
            "table_name",
            "dialect_code",
            "standard_code",
            name=op.f("uq_code_mapping_dialect"),
        ),
    )
    op.create_table(
        "code_table",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("effective_from", sa.String(length=10), nullable=False),
        sa.Column("title_zh", sa.String(length=100), nullable=False),
        sa.Column("title_en", sa.String(length=100), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_table")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_code_table_name")),
    )


def downgrade() -> None:

    op.drop_table("code_table")
    op.drop_table("code_mapping")
    with op.batch_alter_table("code_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_code_entry_lookup")

    op.drop_table("code_entry")
    op.drop_table("code_dialect")
