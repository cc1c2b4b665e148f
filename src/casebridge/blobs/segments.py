"""Segment blob store (the default filesystem store, under ``var/blobs``).

Blobs are appended to a few large *segment* files and found through an index, instead of
one file per page. Why: a page file costs an inode, a directory entry, an open, a rename
and its share of a journal commit; at thousands of pages per dossier that was the larger
part of the hub's CPU while receiving (see `bench/RESULTS.md`). Here a 1.2 GB dossier
becomes two or three segment files and 5,253 index rows.

Layout under the root::

    segments/<writer>-<n>.seg   blobs, each at a 4 KiB-aligned offset, written with O_DIRECT
    segments/index.sqlite3      the index: blob key → segment, offset, length (SQLite, WAL)
    segments/<writer>.idx       the append-only index files of earlier versions (imported)
    ab/<hash>, ab/cd/<hash>     one-file-per-blob layouts of earlier versions (still read)

A *writer* is one process (``<pid>-<random>``): each process appends only to its own segment
files, so hub worker processes never lock each other while writing bytes; they share the
index, where SQLite serialises the commits (one per pack) and every reader sees what any
process committed.

Why the index is on disk and not a dict in each process: the hub holds every page of every
dossier it has received, and a dict of them (~150 bytes a blob) grew every hub process with
all the data the hub held — a hub of 5 million pages would have kept 750 MB of index in each
worker, and read all of it from disk at every start. A lookup is now one indexed query
(a few µs against a pull's ~1 ms a page); the memory is SQLite's page cache, fixed.

Durability: ``sync()`` makes the segments' bytes durable (``fdatasync``) *before* it commits
their index rows (``synchronous=FULL``), so a row always points at durable bytes. A crash can
leave bytes no row names (harmless). Every blob is an AEAD envelope, so bytes altered on
disk are refused when read, not served.
"""

from __future__ import annotations

import itertools
import os
import secrets
import sqlite3
import struct
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from casebridge.blobs.fs import (
    FsBlobStore,
    aligned_buffer,
    open_fd,
    pread_lent,
    round_up,
)
from casebridge.blobs.interface import check_key
from casebridge.errors import NotFound
from casebridge.i18n import N_

__all__ = ["SegmentBlobStore"]

T = TypeVar("T")
_WRITE_BYTES = 1 << 20  # at most this much per pwrite or pread (a larger blob goes alone)
Filler = Callable[[memoryview], None]  # writes a blob's bytes into the buffer it is given
_INDEX = "index.sqlite3"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS segment (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE TABLE IF NOT EXISTS blob (key BLOB PRIMARY KEY, segment INTEGER NOT NULL,"
    " offset INTEGER NOT NULL, length INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS imported (name TEXT PRIMARY KEY)",  # legacy .idx files
)
# One key a query, by equality: SQLite answers ``key IN (?, ...)`` by building an ephemeral
# b-tree of the list first, with its own pager and page cache (~100 KB of allocations made
# and freed per query, several per pack received), where ``key = ?`` is one index probe.
_LOOKUP = "SELECT key, segment, offset, length FROM blob WHERE key = ?"
# SQLite's page cache per connection (one connection per thread): small and fixed, so that
# the index costs a process the same memory whatever it holds. Misses are reads from the
# OS page cache; a lookup touches two or three pages.
_CACHE_KIB = 64

# Legacy index record (big-endian): key (32) · segment number (4) · offset (8) · length (8)
# · kind (4: 0 blob, 1 deletion) · CRC-32 of the preceding 56 bytes (4).
_REC = struct.Struct(">32sIQQI")
_RECORD = _REC.size + 4
_DELETED = 1


@dataclass
class _Segment:
    id: int  # its row in the index
    path: str
    fd: int
    end: int = 0  # next free (aligned) offset


@dataclass(frozen=True)
class _Place:
    segment: int
    path: str
    offset: int
    length: int


class SegmentBlobStore:
    def __init__(
        self, root: Path, *, direct: bool | None = None, segment_bytes: int = 1 << 30
    ) -> None:
        self.root = root
        self._dir = root / "segments"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._files = FsBlobStore(root, direct=direct)  # blobs of the older layouts
        self.direct = self._files.direct  # O_DIRECT where this platform has it
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()  # the pending places, the open segments, connections
        self._sync_lock = threading.Lock()  # one sync at a time (see sync)
        self._start_writer()
        db = self._db()
        with _transaction(db):
            for statement in _SCHEMA:
                db.execute(statement)
            self._import_legacy(db)

    # --- writer identity ------------------------------------------------------------------

    def _start_writer(self) -> None:
        self._pid = os.getpid()
        self._writer = f"{self._pid}-{secrets.token_hex(4)}"
        self._numbers = itertools.count(1)
        self._segments: list[_Segment] = []
        self._pending: dict[bytes, _Place] = {}  # written, not yet durable (until sync)
        self._dirty: set[int] = set()  # segment fds written since the last sync
        self._writing: set[str] = set()
        self._connections: list[sqlite3.Connection] = []
        self._paths: dict[int, str] = {}  # segment id → file (one per segment, ~1 GiB each)
        self._local = threading.local()

    def _check_fork(self) -> None:
        if os.getpid() != self._pid:  # a forked child must not use its parent's files
            self._start_writer()

    # --- the index ------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        """This thread's connection to the index (SQLite connections are not shared)."""
        self._check_fork()
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(  # closed by close(), from whichever thread calls it
                self._dir / _INDEX, isolation_level=None, timeout=30, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            self._local.db = db
            self._local.cursor = db.cursor()  # reused: lookups make no cursor each
            with self._lock:
                self._connections.append(db)
        return db

    def _cursor(self) -> sqlite3.Cursor:
        self._db()
        cursor: sqlite3.Cursor = self._local.cursor
        return cursor

    def _import_legacy(self, db: sqlite3.Connection) -> None:
        """Index rows for the records of the ``.idx`` files earlier versions wrote (once:
        the file's name is recorded in the same transaction). A torn last record (a crash
        mid-append: its CRC fails) ends a file's import there."""
        done = {name for (name,) in db.execute("SELECT name FROM imported")}
        for path in sorted(self._dir.glob("*.idx")):
            if path.name in done:
                continue
            data = path.read_bytes()
            writer = path.name[: -len(".idx")]
            for at in range(0, len(data) - _RECORD + 1, _RECORD):
                rec = data[at : at + _RECORD]
                if zlib.crc32(rec[:-4]) != int.from_bytes(rec[-4:], "big"):
                    break
                raw, number, offset, length, kind = _REC.unpack(rec[:-4])
                if kind == _DELETED:
                    db.execute("DELETE FROM blob WHERE key = ?", (raw,))
                    continue
                segment = self._segment_id(db, f"{writer}-{number:06d}.seg")
                db.execute(
                    "INSERT OR REPLACE INTO blob VALUES (?, ?, ?, ?)",
                    (raw, segment, offset, length),
                )
            db.execute("INSERT INTO imported VALUES (?)", (path.name,))

    @staticmethod
    def _segment_id(db: sqlite3.Connection, name: str) -> int:
        db.execute("INSERT OR IGNORE INTO segment (name) VALUES (?)", (name,))
        (found,) = db.execute("SELECT id FROM segment WHERE name = ?", (name,)).fetchone()
        return int(found)

    def _where(self, key: str) -> tuple[str, int, int] | None:
        """Segment file, offset and length of a blob: written by this process and not yet
        synced, or committed to the index by any process."""
        return self._places([key])[0]

    def _places(self, keys: Sequence[str]) -> list[tuple[str, int, int] | None]:
        """:meth:`_where` for several keys, the committed ones asked in one query (a
        download asks for the few pages of one read at a time)."""
        raws = [bytes.fromhex(check_key(key)) for key in keys]
        found: dict[bytes, tuple[int, int, int]] = {}
        with self._lock:
            for raw in raws:
                place = self._pending.get(raw)
                if place is not None:
                    found[raw] = (place.segment, place.offset, place.length)
        cur = self._cursor()
        for raw, segment, offset, length in self._rows(cur, [r for r in raws if r not in found]):
            found[raw] = (segment, offset, length)
        out: list[tuple[str, int, int] | None] = []
        for raw in raws:
            hit = found.get(raw)
            out.append(None if hit is None else (self._path(cur, hit[0]), hit[1], hit[2]))
        return out

    @staticmethod
    def _rows(cur: sqlite3.Cursor, raws: list[bytes]) -> Iterator[tuple[bytes, int, int, int]]:
        """The index rows (key, segment, offset, length) of those keys it holds (see
        :data:`_LOOKUP`)."""
        for raw in raws:
            yield from cur.execute(_LOOKUP, (raw,))

    def _path(self, cur: sqlite3.Cursor, segment: int) -> str:
        path = self._paths.get(segment)
        if path is None:  # a segment of another process, or of an earlier run
            (name,) = cur.execute("SELECT name FROM segment WHERE id = ?", (segment,)).fetchone()
            path = self._paths[segment] = f"{self._dir}/{name}"
        return path

    def locate(self, key: str) -> tuple[Path, int, int] | None:
        """Segment file, offset and length of a blob (for operators and tests)."""
        w = self._where(key)
        return (Path(w[0]), w[1], w[2]) if w else None

    # --- writing --------------------------------------------------------------------------

    def _segment(self, need: int) -> _Segment:
        seg: _Segment | None = getattr(self._local, "segment", None)
        if seg is None or seg.end + need > self.segment_bytes:
            name = f"{self._writer}-{next(self._numbers):06d}.seg"
            db = self._db()
            with _transaction(db):  # once per segment (1 GiB by default)
                segment = self._segment_id(db, name)
            path = f"{self._dir}/{name}"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
            fd, self.direct = open_fd(path, flags, direct=self.direct)
            seg = _Segment(segment, path, fd)
            self._local.segment = seg
            with self._lock:
                self._segments.append(seg)
        return seg

    def put(self, key: str, data: bytes) -> bool:
        def fill(out: memoryview) -> None:
            out[:] = data

        return self.put_with(key, len(data), fill)

    def put_with(self, key: str, size: int, fill: Callable[[memoryview], None]) -> bool:
        """Store ``size`` bytes that ``fill`` writes into the store's aligned buffer."""
        return self.put_many_with([(key, size, fill)])[0]

    def put_many_with(self, items: Sequence[tuple[str, int, Filler]]) -> list[bool]:
        """:meth:`put_with` for several blobs (key, size, fill): laid out one after another
        in this thread's segment and written with one ``pwrite`` per :data:`_WRITE_BYTES`.
        For each, False if the key was already stored (or is being stored by another thread).

        Why: an ``O_DIRECT`` write costs about the same kernel CPU up to ~1 MiB. Measured on
        the benchmark's VM: 101–115 µs a 225 KB page written alone, 47–51 µs four at a
        time, 29–30 µs sixteen at a time (`bench/RESULTS.md`).
        """
        raws = [bytes.fromhex(check_key(key)) for key, _, _ in items]
        self._check_fork()
        committed = {row[0] for row in self._rows(self._cursor(), raws)}
        mine: list[int] = []
        with self._lock:
            for i, ((key, _, _), raw) in enumerate(zip(items, raws, strict=True)):
                if raw in committed or raw in self._pending or key in self._writing:
                    continue
                self._writing.add(key)
                mine.append(i)
        try:
            # (A blob of the older one-file layout is not looked for here: storing it again
            # in a segment is harmless — same key, same bytes — and saves two stats a page.)
            group: list[int] = []
            group_bytes = 0
            for i in mine:
                padded = round_up(items[i][1])
                if group and group_bytes + padded > _WRITE_BYTES:
                    self._write(items, group, group_bytes)
                    group, group_bytes = [], 0
                group.append(i)
                group_bytes += padded
            if group:
                self._write(items, group, group_bytes)
        finally:
            with self._lock:
                for i in mine:
                    self._writing.discard(items[i][0])
        stored = [False] * len(items)
        for i in mine:
            stored[i] = True
        return stored

    def _write(
        self, items: Sequence[tuple[str, int, Filler]], group: list[int], total: int
    ) -> None:
        """Fill the aligned buffer with ``group``'s blobs, each at an aligned place and
        zero-padded, write it at the end of this thread's segment; their places wait in
        ``_pending`` for the next :meth:`sync`."""
        buf = aligned_buffer(self._local, total)
        places: list[tuple[int, int]] = []
        pos = 0
        for i in group:
            _, size, fill = items[i]
            padded = round_up(size)
            fill(buf[pos : pos + size])
            buf[pos + size : pos + padded] = bytes(padded - size)  # no stale bytes past the end
            places.append((i, pos))
            pos += padded
        seg = self._segment(total)
        offset = seg.end
        done = 0
        while done < total:
            done += os.pwrite(seg.fd, buf[done:total], offset + done)
        seg.end = offset + total
        with self._lock:
            for i, at in places:
                key, size, _ = items[i]
                self._pending[bytes.fromhex(key)] = _Place(seg.id, seg.path, offset + at, size)
            self._dirty.add(seg.fd)

    def sync(self) -> None:
        """Make every put so far durable: segment bytes first, then their index rows.

        Serialised: a caller whose blobs another thread's sync already took waits for that
        sync to finish, so no caller returns before its own blobs are durable. The blobs
        stay in ``_pending`` (found by this process) until their rows are committed.
        """
        self._check_fork()
        with self._sync_lock:
            with self._lock:
                pending = list(self._pending.items())
                dirty, self._dirty = self._dirty, set()
            if not pending:
                return
            try:
                for fd in dirty:
                    os.fdatasync(fd)
                db = self._db()
                with _transaction(db):
                    db.executemany(
                        "INSERT OR IGNORE INTO blob VALUES (?, ?, ?, ?)",
                        [(raw, p.segment, p.offset, p.length) for raw, p in pending],
                    )
            except BaseException:
                with self._lock:
                    self._dirty |= dirty  # not durable: the next sync tries again
                raise
            with self._lock:
                for raw, place in pending:
                    if self._pending.get(raw) is place:
                        del self._pending[raw]

    # --- the rest of the protocol ---------------------------------------------------------

    def get(self, key: str) -> bytes:
        return self.get_many_with([key], lambda _, blob: bytes(blob))[0]

    def get_many_with(self, keys: Sequence[str], use: Callable[[int, memoryview], T]) -> list[T]:
        """``use(i, blob)`` for each key in order, the blob lent from this thread's buffer
        (valid during the call); blobs lying one after another in a segment are read with
        one ``pread`` (up to :data:`_WRITE_BYTES`), as a pack wrote them.

        Why: a download reads pages in the order a pack stored them, and an ``O_DIRECT``
        read, like a write, costs about the same up to ~1 MiB.
        """
        where = self._places(keys)
        out: list[T] = []
        i = 0
        while i < len(keys):
            first = where[i]
            if first is None:  # a blob of an older layout: one file
                out.append(use(i, memoryview(self._files.get(keys[i]))))
                i += 1
                continue
            path, start, _ = first
            j, end = i, start
            while j < len(keys):
                w = where[j]
                if (
                    w is None
                    or w[0] != path
                    or w[1] != end
                    or (j > i and w[1] + w[2] - start > _WRITE_BYTES)
                ):
                    break
                end = w[1] + round_up(w[2])
                j += 1
            last = where[j - 1]
            assert last is not None
            try:
                fd, self.direct = open_fd(path, os.O_RDONLY, direct=self.direct)
            except FileNotFoundError:
                raise NotFound(
                    N_("no blob {key} (segment {path} is gone)"),
                    params={"key": keys[i], "path": path},
                ) from None
            try:
                run = pread_lent(fd, self._local, last[1] + last[2] - start, start)
            finally:
                os.close(fd)
            for k in range(i, j):
                w = where[k]
                assert w is not None
                out.append(use(k, run[w[1] - start : w[1] - start + w[2]]))
            i = j
        return out

    def exists(self, key: str) -> bool:
        return self._where(key) is not None or self._files.exists(key)

    def delete(self, key: str) -> None:
        """Forget a blob (its index row; the segment space is not reclaimed)."""
        check_key(key)
        self.sync()  # the blob's own row first, so that none lands after its deletion
        db = self._db()
        with _transaction(db):
            db.execute("DELETE FROM blob WHERE key = ?", (bytes.fromhex(key),))
        self._files.delete(key)

    def keys(self) -> Iterator[str]:
        found = {raw.hex() for (raw,) in self._db().execute("SELECT key FROM blob")}
        with self._lock:
            found.update(raw.hex() for raw in self._pending)
        found.update(self._files.keys())
        yield from sorted(found)

    def close(self) -> None:
        self.sync()
        with self._lock:
            segments, self._segments = self._segments, []
            connections, self._connections = self._connections, []
        for seg in segments:
            os.close(seg.fd)
        for db in connections:
            db.close()
        self._local = threading.local()


class _transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` on a connection in autocommit mode; rolled back if
    the block raises. Immediate: the write lock is taken at the start, so two processes
    never both read and then fail to upgrade (SQLite's deadlock answer, SQLITE_BUSY)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
