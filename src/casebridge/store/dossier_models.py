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

__all__ = ["DossierPage", "DossierRow", "DossierVersion"]


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
    # RFC 8785 bytes, UTF-8. Deferred: hundreds of KB for a large dossier, and most
    # lookups of a version (status, access, each pack) need only its other columns.
    manifest: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
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
