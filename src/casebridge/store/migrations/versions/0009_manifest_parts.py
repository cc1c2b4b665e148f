"""dossier_version.manifest → dossier_manifest_part: a manifest's bytes a volume a row

Why: a manifest of thousands of pages is hundreds of KB. Built, stored and read back as one
value, it was the largest object the hub made while registering a version (1.5 MB at once
for 5,253 pages), and what that left in the allocator made the hub larger after a large
dossier than after a small one. Each version keeps the digest and length of its manifest,
so that a re-posted manifest is compared, and a download announced, without reading it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VOLUMES_AT = b'"volumes":['
_NEXT_VOLUME = b',{"documents":['

_version = sa.table(
    "dossier_version",
    sa.column("id", sa.String),
    sa.column("manifest", sa.LargeBinary),
    sa.column("manifest_sha256", sa.String),
    sa.column("manifest_size", sa.BigInteger),
)
_part = sa.table(
    "dossier_manifest_part",
    sa.column("version_id", sa.String),
    sa.column("seq", sa.Integer),
    sa.column("data", sa.LargeBinary),
)


def parts_of(manifest: bytes) -> list[bytes]:
    """The canonical bytes cut as the hub writes them: the head up to ``"volumes":[``, each
    volume (with its leading comma), then ``]}``. Inside a JSON string every quote is
    escaped, so these markers occur only between values. Bytes laid out otherwise stay
    one part (joined, the parts are the bytes either way)."""
    at = manifest.find(_VOLUMES_AT)
    if at < 0 or not manifest.endswith(b"]}"):
        return [manifest]
    head = manifest[: at + len(_VOLUMES_AT)]
    inner = manifest[len(head) : -2]
    volumes: list[bytes] = []
    start = 0
    while inner:
        cut = inner.find(_NEXT_VOLUME, start + 1)
        if cut < 0:
            volumes.append(inner[start:])
            break
        volumes.append(inner[start:cut])
        start = cut
    return [head, *volumes, b"]}"]


def upgrade() -> None:
    # SQLite rebuilds dossier_version to drop its manifest column: no table may refer to it
    # then (the rebuild drops the old one), so the parts wait in a table without a key.
    op.add_column("dossier_version", sa.Column("manifest_sha256", sa.String(64), nullable=True))
    op.add_column("dossier_version", sa.Column("manifest_size", sa.BigInteger(), nullable=True))
    _parts_table("_manifest_part_new", keyed=False)
    conn = op.get_bind()
    ids = conn.execute(sa.select(_version.c.id)).scalars().all()
    for vid in ids:  # one manifest in memory at a time
        manifest = bytes(
            conn.execute(sa.select(_version.c.manifest).where(_version.c.id == vid)).scalar_one()
        )
        conn.execute(
            sa.insert(sa.table("_manifest_part_new", *_part_columns())),
            [{"version_id": vid, "seq": i, "data": p} for i, p in enumerate(parts_of(manifest))],
        )
        conn.execute(
            sa.update(_version)
            .where(_version.c.id == vid)
            .values(
                manifest_sha256=hashlib.sha256(manifest).hexdigest(), manifest_size=len(manifest)
            )
        )
    with op.batch_alter_table("dossier_version") as b:
        b.alter_column("manifest_sha256", existing_type=sa.String(length=64), nullable=False)
        b.alter_column("manifest_size", existing_type=sa.BigInteger(), nullable=False)
        b.drop_column("manifest")
    _parts_table("dossier_manifest_part", keyed=True)
    op.execute(
        "INSERT INTO dossier_manifest_part (version_id, seq, data)"
        " SELECT version_id, seq, data FROM _manifest_part_new"
    )
    op.drop_table("_manifest_part_new")


def downgrade() -> None:
    op.add_column("dossier_version", sa.Column("manifest", sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    ids = conn.execute(sa.select(_version.c.id)).scalars().all()
    for vid in ids:
        parts = conn.execute(
            sa.select(_part.c.data).where(_part.c.version_id == vid).order_by(_part.c.seq)
        ).scalars()
        conn.execute(
            sa.update(_version)
            .where(_version.c.id == vid)
            .values(manifest=b"".join(bytes(p) for p in parts))
        )
    op.drop_table("dossier_manifest_part")  # before SQLite rebuilds dossier_version
    with op.batch_alter_table("dossier_version") as b:
        b.alter_column("manifest", existing_type=sa.LargeBinary(), nullable=False)
        b.drop_column("manifest_size")
        b.drop_column("manifest_sha256")


def _part_columns() -> list[sa.sql.expression.ColumnClause[object]]:
    return [
        sa.column("version_id", sa.String),
        sa.column("seq", sa.Integer),
        sa.column("data", sa.LargeBinary),
    ]


def _parts_table(name: str, *, keyed: bool) -> None:
    constraints: list[sa.schema.Constraint] = [
        sa.PrimaryKeyConstraint("version_id", "seq", name=op.f(f"pk_{name}"))
    ]
    if keyed:
        constraints.append(
            sa.ForeignKeyConstraint(
                ["version_id"],
                ["dossier_version.id"],
                name=op.f(f"fk_{name}_version_id_dossier_version"),
            )
        )
    op.create_table(
        name,
        sa.Column("version_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        *constraints,
    )
