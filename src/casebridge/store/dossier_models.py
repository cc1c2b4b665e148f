"""Tables of electronic dossiers: dossiers, their versions (manifests) and the accepted pages.

``dossier_page`` is the hub's record of pages that were verified *and* made durable: a page is
inserted only after its pack was synced, so a row is the acknowledgement. Blobs without a row
(a crash between write and commit) are simply re-sent and overwritten by the same content.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casebridge.store.models import Base
from casebridge.store.types import UTCDateTime, new_id, utcnow

__all__ = ["DossierManifestPart", "DossierPage", "DossierRow", "DossierVersion"]


class DossierRow(Base):
    """A dossier (电子卷宗) under the id its first sender gave it."""

    __tablename__ = "dossier"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    created_by_user_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DossierVersion(Base):
    """One manifest (canonical JSON) of a dossier; ``parent_root`` links the stages."""

    __tablename__ = "dossier_version"
    __table_args__ = (
        UniqueConstraint("dossier_id", "merkle_root", name="uq_dossier_version_root"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    dossier_id: Mapped[str] = mapped_column(ForeignKey("dossier.id"), index=True)
    merkle_root: Mapped[str] = mapped_column(String(64))
    parent_root: Mapped[str | None] = mapped_column(String(64), default=None)
    # The manifest's RFC 8785 bytes are in dossier_manifest_part; their SHA-256 (hex) and
    # length are here: a re-posted manifest is compared by digest, a download is announced
    # with its length, and neither reads the bytes.
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    manifest_size: Mapped[int] = mapped_column(BigInteger)
    page_count: Mapped[int] = mapped_column(Integer)
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="receiving")  # receiving|complete
    created_by_user_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DossierPage(Base):
    """A page the hub holds, verified and durable, addressed by its plaintext SHA-256."""

    __tablename__ = "dossier_page"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DossierManifestPart(Base):
    """A version's manifest bytes, a volume a row, in order (``seq``): the head (every field
    but the volumes), then each volume as the canonical JSON writes it (a comma first, but
    for the first), then ``]}``. Joined, they are the canonical bytes.

    Why not one value: a manifest of thousands of pages is hundreds of KB. Built, stored and
    read back whole, it was the largest object the hub made while registering a version
    (1.5 MB at once for 5,253 pages), and what it left behind made the hub larger after a
    large dossier than after a small one. A row a volume is written and read a volume at a
    time, and a child version shares its parent's volumes by copying their rows.
    """

    __tablename__ = "dossier_manifest_part"

    version_id: Mapped[str] = mapped_column(ForeignKey("dossier_version.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
