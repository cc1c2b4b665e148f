"""login: password lockout state, browser sessions, gateway client-certificate fingerprints

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as b:
        b.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("cert_fingerprint", sa.String(64), nullable=True))
        b.create_unique_constraint("uq_app_user_cert_fingerprint", ["cert_fingerprint"])
    op.create_table(
        "login_session",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name="fk_login_session_user_id_app_user"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_login_session"),
    )
    op.create_index("ix_login_session_user_id", "login_session", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_login_session_user_id", "login_session")
    op.drop_table("login_session")
    with op.batch_alter_table("app_user") as b:
        b.drop_constraint("uq_app_user_cert_fingerprint", type_="unique")
        b.drop_column("cert_fingerprint")
        b.drop_column("locked_until")
        b.drop_column("failed_logins")
