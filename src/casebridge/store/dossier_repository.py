"""Queries of the dossier tables."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import cast

from sqlalchemy import String, Table, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from casebridge.store.dossier_models import (
    DossierManifestPart,
    DossierPage,
    DossierRow,
    DossierVersion,
)

__all__ = ["DossierRepository"]

_HEX64 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 900  # bound IN (...) lists: under SQLite's oldest variable limit (999)


def _chunks(hashes: Iterable[str], size: int) -> Iterator[list[str]]:
    """Distinct hashes, ``size`` at a time (a set or a mapping's keys are distinct already)."""
    distinct: Iterable[str] = (
        hashes if isinstance(hashes, (AbstractSet, Mapping)) else dict.fromkeys(hashes)
    )
    it = iter(distinct)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


_SHAPES = (8, 64, _CHUNK)
_FROM_JSON = "(SELECT value FROM json_each(?))"
_JSON_EACH = sqlite3.sqlite_version_info >= (3, 38)  # JSON functions built in by default


def _padded(chunk: list[str]) -> list[str]:
    """The chunk with its last hash repeated up to 8, 64 or 900 entries (a repeated value
    changes nothing in ``IN``). The driver caches a compiled statement per distinct SQL
    text, per connection; with one text per list length, a long transfer (packs of every
    size) filled those caches with hundreds of statements and the hub grew with it."""
    size = next(n for n in _SHAPES if n >= len(chunk))
    return chunk + [chunk[-1]] * (size - len(chunk))


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

    def add_manifest_parts(self, version_id: str, first: int, parts: Iterable[bytes]) -> None:
        """Write manifest parts ``first``, ``first + 1``, … of a version, one row each (a
        volume at a time: never the whole manifest in one value)."""
        table = cast(Table, DossierManifestPart.__table__)
        for seq, data in enumerate(parts, first):
            self.session.execute(
                insert(table), {"version_id": version_id, "seq": seq, "data": data}
            )

    def copy_manifest_parts(self, source_id: str, first: int, stop: int, to_id: str) -> None:
        """Copy parts ``first`` … ``stop - 1`` of one version's manifest to another, at the
        same places, inside the database (a child version shares its parent's volumes)."""
        part = DossierManifestPart
        table = cast(Table, part.__table__)
        rows = select(literal(to_id, String), part.seq, part.data).where(
            part.version_id == source_id, part.seq >= first, part.seq < stop
        )
        self.session.execute(insert(table).from_select(["version_id", "seq", "data"], rows))

    def manifest_part_count(self, version_id: str) -> int:
        query = select(func.count()).where(DossierManifestPart.version_id == version_id)
        return int(self.session.scalar(query) or 0)

    def manifest_parts(
        self, version_id: str, first: int = 0, stop: int | None = None
    ) -> Iterator[bytes]:
        """A version's manifest parts in order, each read as it is asked for (one row in
        memory at a time, whatever the driver's fetching)."""
        part = DossierManifestPart
        seq = first
        while stop is None or seq < stop:
            data = self.session.scalar(
                select(part.data).where(part.version_id == version_id, part.seq == seq)
            )
            if data is None:
                return
            yield bytes(data)
            seq += 1

    def present(self, hashes: Iterable[str]) -> set[str]:
        """Which of these page hashes the hub holds (verified and durable).

        A hot query of a transfer (registration asks it for the whole version, thousands of
        hashes): it goes to the driver as plain SQL, because building an expanding ``IN``
        of thousands of bound parameters costs SQLAlchemy milliseconds per call. The hashes
        are taken a chunk at a time: a packed manifest makes its hash strings as they are
        asked for, and thousands of them at once would grow the hub with the dossier.
        """
        chunks = _chunks(hashes, _CHUNK)
        first = next(chunks, None)
        if first is None:
            return set()
        chunks = itertools.chain([first], chunks)
        self.session.flush()  # the raw cursor below sees only what was flushed
        conn = self.session.connection()
        dialect = conn.dialect
        mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
        held: set[str] = set()
        if mark is None:  # a driver with another paramstyle: the portable (slower) way
            for chunk in chunks:
                query = select(DossierPage.sha256).where(DossierPage.sha256.in_(chunk))
                held.update(self.session.scalars(query))
            return held
        # The DB-API cursor of this session's connection (same transaction): its rows come
        # back as C tuples, without SQLAlchemy's per-row result processing.
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for chunk in chunks:
                head = "SELECT sha256 FROM dossier_page WHERE sha256"
                if dialect.name == "postgresql":
                    cursor.execute(f"{head} = ANY(%s)", (chunk,))
                elif dialect.name == "sqlite" and _JSON_EACH:
                    # One parameter, a JSON array of the hashes: one statement whatever the
                    # chunk's length, and SQLite does not build a 900-term expression for it.
                    cursor.execute(f"{head} IN {_FROM_JSON}", (json.dumps(chunk),))
                else:  # padded to one of a few lengths: see _padded
                    chunk = _padded(chunk)
                    cursor.execute(f"{head} IN ({','.join([mark] * len(chunk))})", chunk)
                held.update(r[0] for r in cursor.fetchall())
            return held
        finally:
            cursor.close()

    def missing(self, hashes: Iterable[str]) -> list[str]:
        """Which of these page hashes the hub does not hold, in their order.

        Asked a chunk at a time, so that a version of thousands of pages, nearly all held,
        costs one chunk of hash strings and the (short) answer, not a list and a set of
        every hash it lists.
        """
        out: list[str] = []
        for chunk in _chunks(hashes, _CHUNK):
            held = self.present(chunk)
            out.extend(h for h in chunk if h not in held)
        return out

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
        """Drop acceptance records (a page found altered must be re-sent, not served).

        The caller (``services.dossiers.verify_stored`` with ``repair``) also deletes the
        blobs and sets the versions listing these pages back to ``receiving``.
        """
        for h in hashes:
            row = self.session.get(DossierPage, h)
            if row is not None:
                self.session.delete(row)
        self.session.flush()

    def versions_listing(self, hashes: Iterable[str]) -> list[DossierVersion]:
        """Every version whose manifest lists one of these pages (a scan of the manifests'
        bytes: an operator's repair, not a hot path)."""
        # A manifest part holds canonical bytes, where a page hash (64 hex digits) appears
        # as those ASCII bytes, never across two parts (a part is a whole volume): instr()
        # finds them in SQLite (its LIKE does not match inside a BLOB), LIKE on bytea in
        # PostgreSQL (hex holds no wildcard). Anything that is not a page hash matches nothing.
        needles = [h.encode("ascii") for h in hashes if _HEX64.fullmatch(h)]
        column = DossierManifestPart.data
        if self.session.get_bind().dialect.name == "sqlite":
            listed = [func.instr(column, n) > 0 for n in needles]
        else:
            listed = [column.op("LIKE", is_comparison=True)(b"%" + n + b"%") for n in needles]
        if not listed:
            return []
        ids = select(DossierManifestPart.version_id).where(or_(*listed)).distinct()
        return list(self.session.scalars(select(DossierVersion).where(DossierVersion.id.in_(ids))))
