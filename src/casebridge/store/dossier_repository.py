"""Queries of the dossier tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casebridge.store.dossier_models import DossierPage, DossierRow, DossierVersion

__all__ = ["DossierRepository"]

_CHUNK = 500  # bound IN (...) lists: SQLite's variable limit, PostgreSQL's plan size


class DossierRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, dossier_id: str) -> DossierRow | None:
        return self.session.get(DossierRow, dossier_id)

    def add(self, row: DossierRow) -> DossierRow:
        self.session.add(row)
        self.session.flush()
        return row

    def version(self, dossier_id: str, merkle_root: str) -> DossierVersion | None:
        return self.session.scalar(
            select(DossierVersion).where(
                DossierVersion.dossier_id == dossier_id, DossierVersion.merkle_root == merkle_root
            )
        )

    def versions(self, dossier_id: str) -> Sequence[DossierVersion]:
        return self.session.scalars(
            select(DossierVersion)
            .where(DossierVersion.dossier_id == dossier_id)
            .order_by(DossierVersion.created_at)
        ).all()

    def latest_version(self, dossier_id: str) -> DossierVersion | None:
        return self.session.scalar(
            select(DossierVersion)
            .where(DossierVersion.dossier_id == dossier_id)
            .order_by(DossierVersion.created_at.desc())
            .limit(1)
        )

    def add_version(self, version: DossierVersion) -> DossierVersion:
        self.session.add(version)
        self.session.flush()
        return version

    def present(self, hashes: Iterable[str]) -> set[str]:
        """Which of these page hashes the hub holds (verified and durable)."""
        wanted = sorted(set(hashes))
        found: set[str] = set()
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            found.update(
                self.session.scalars(
                    select(DossierPage.sha256).where(DossierPage.sha256.in_(chunk))
                )
            )
        return found

    def add_pages(self, pages: dict[str, int]) -> int:
        """Record accepted pages; ones already recorded are skipped. Returns how many were new."""
        new = {h: s for h, s in pages.items() if h not in self.present(pages)}
        self.session.add_all(DossierPage(sha256=h, size=s) for h, s in new.items())
        self.session.flush()
        return len(new)

    def page_count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(DossierPage)) or 0)

    def forget_pages(self, hashes: Iterable[str]) -> None:
        """Drop acceptance records (a page found corrupt must be re-sent, not served)."""
        for h in hashes:
            row = self.session.get(DossierPage, h)
            if row is not None:
                self.session.delete(row)
        self.session.flush()
