"""dossier_version.manifest: text → bytes (the canonical RFC 8785 bytes as they are)

Why: held as text, a manifest was decoded on every read and encoded on every write, and a
manifest with Chinese titles decodes to two bytes a character — a 5,253-page manifest
(0.76 MB) became 1.5 MB of text, plus the copies between them, several times per
registration. As bytes it is stored, spliced and served as it is.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _retype(sa.Text(), sa.LargeBinary(), "convert_to(manifest, 'UTF8')")


def downgrade() -> None:
    _retype(sa.LargeBinary(), sa.Text(), "convert_from(manifest, 'UTF8')")


def _retype(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any], pg_using: str) -> None:
    """Change the manifest column's type, converting each value (UTF-8 either way)."""
    if op.get_bind().dialect.name == "sqlite":
        # Batch mode copies the table with CAST(manifest AS <new type>): text ↔ its UTF-8.
        with op.batch_alter_table("dossier_version") as b:
            b.alter_column("manifest", existing_type=old, type_=new)
    else:
        op.alter_column(
            "dossier_version",
            "manifest",
            existing_type=old,
            type_=new,
            existing_nullable=False,
            postgresql_using=pg_using,
        )
