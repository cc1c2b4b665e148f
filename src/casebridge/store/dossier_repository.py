"""Queries of the dossier tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from casebridge.store.dossier_models import DossierPage, DossierRow, DossierVersion

__all__ = ["DossierRepository"]

_CHUNK = 900  # bound IN (...) lists: under SQLite's oldest variable limit (999)


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
        return {r[0] for r in self._held("sha256", hashes)}

    def count_present(self, hashes: Iterable[str]) -> int:
        """How many of these page hashes the hub holds (a pack's acknowledgement needs only
        the count: no row per page comes back)."""
        return sum(int(r[0]) for r in self._held("count(*)", hashes))

    def _held(self, what: str, hashes: Iterable[str]) -> list[tuple[Any, ...]]:
        """``SELECT what FROM dossier_page WHERE sha256 IN hashes``, in bounded chunks.

        The hot query of a transfer (every pack asks it for the whole version, thousands of
        hashes): it goes to the driver as plain SQL, because building an expanding ``IN``
        of thousands of bound parameters costs SQLAlchemy milliseconds per call.
        """
        wanted = list(set(hashes))
        if not wanted:
            return []
        self.session.flush()  # the raw cursor below sees only what was flushed
        conn = self.session.connection()
        dialect = conn.dialect
        mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
        column = DossierPage.sha256 if what == "sha256" else func.count()
        if mark is None:  # a driver with another paramstyle: the portable (slower) way
            rows: list[tuple[Any, ...]] = []
            for i in range(0, len(wanted), _CHUNK):
                query = select(column).where(DossierPage.sha256.in_(wanted[i : i + _CHUNK]))
                rows.extend(tuple(r) for r in self.session.execute(query))
            return rows
        # The DB-API cursor of this session's connection (same transaction): its rows come
        # back as C tuples, without SQLAlchemy's per-row result processing.
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if dialect.name == "postgresql":
                cursor.execute(f"SELECT {what} FROM dossier_page WHERE sha256 = ANY(%s)", (wanted,))  # noqa: S608
                return list(cursor.fetchall())
            rows = []
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                marks = ",".join([mark] * len(chunk))
                cursor.execute(f"SELECT {what} FROM dossier_page WHERE sha256 IN ({marks})", chunk)  # noqa: S608
                rows.extend(cursor.fetchall())
            return rows
        finally:
            cursor.close()

    def add_pages(self, pages: dict[str, int]) -> int:
        """Record accepted pages; ones already recorded are skipped. Returns how many were new."""
        held = self.present(pages)
        new = [{"sha256": h, "size": s} for h, s in pages.items() if h not in held]
        if new:  # Core insert: no ORM unit-of-work bookkeeping per row
            self.session.execute(insert(cast(Table, DossierPage.__table__)), new)
        return len(new)

    def page_count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(DossierPage)) or 0)

    def forget_pages(self, hashes: Iterable[str]) -> None:
        """Drop acceptance records (a page found corrupt must be re-sent, not served).

        A caller must also set the versions holding these pages back to ``receiving``:
        registering a child of a ``complete`` version trusts that every page of it is held.
        """
        for h in hashes:
            row = self.session.get(DossierPage, h)
            if row is not None:
                self.session.delete(row)
        self.session.flush()
