"""audit: hash chain columns, head row with Merkle frontier, signed checkpoints

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("audit_event") as b:
        b.add_column(sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
        b.add_column(sa.Column("hash", sa.String(64), nullable=False, server_default=""))
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", BIG, nullable=False),
        sa.Column("last_seq", BIG, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("frontier", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("size", BIG, autoincrement=False, nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("size", name="pk_audit_checkpoint"),
    )
    # Chain the events written before this revision, in seq order, so that the log verifies.
    from casebridge.audit.chain import GENESIS, event_hash
    from casebridge.audit.merkle import Frontier, leaf_hash, push
    from casebridge.store.models import JSONType
    from casebridge.store.types import UTCDateTime

    conn = op.get_bind()
    typed: dict[str, Any] = {"at": UTCDateTime(), "detail": JSONType}
    events = sa.table(
        "audit_event",
        *(
            sa.column(c, typed.get(c))
            for c in (
                "seq",
                "id",
                "at",
                "actor_user_id",
                "agency_id",
                "action",
                "object_type",
                "object_id",
                "case_id",
                "request_id",
                "client_addr",
                "outcome",
                "detail",
                "note",
                "prev_hash",
                "hash",
            )
        ),
    )
    prev, size, last_seq = GENESIS, 0, 0
    frontier: Frontier = []
    rows = conn.execute(sa.select(events).order_by(events.c.seq)).mappings().all()
    for row in rows:
        fields = {k: row[k] for k in row if k not in ("prev_hash", "hash")}
        digest = event_hash(prev, fields)
        conn.execute(
            events.update().where(events.c.seq == row["seq"]).values(prev_hash=prev, hash=digest)
        )
        prev, size, last_seq = digest, size + 1, row["seq"]
        frontier = push(frontier, leaf_hash(bytes.fromhex(digest)))
    op.bulk_insert(
        head,
        [
            {
                "id": 1,
                "size": size,
                "last_seq": last_seq,
                "last_hash": prev,
                "frontier": [[h, v.hex()] for h, v in frontier],
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_event") as b:
        b.drop_column("hash")
        b.drop_column("prev_hash")
