"""Segment blob store (the default filesystem store, under ``var/blobs``).

Blobs are appended to a few large *segment* files and found through an append-only index,
instead of one file per page. Why: a page file costs an inode, a directory entry, an open,
a rename and its share of a journal commit; at thousands of pages per dossier that was the
larger part of the hub's CPU while receiving (see `bench/RESULTS.md`). Here a 1.2 GB dossier
becomes two or three segment files and 5,253 index records of 60 bytes.

Layout under the root::

    segments/<writer>-<n>.seg   blobs, each at a 4 KiB-aligned offset, written with O_DIRECT
    segments/<writer>.idx       the writer's index: one 60-byte record per blob or deletion
    ab/<hash>, ab/cd/<hash>     one-file-per-blob layouts of earlier versions (still read)

A *writer* is one process (``<pid>-<random>``): each process appends only to its own files,
so hub worker processes never lock each other; a reader that misses a key re-reads the
other writers' index files from where it stopped (they only grow).

Durability: ``sync()`` makes the segments' bytes durable (``fdatasync``) *before* it appends
and syncs their index records, so a record on disk always points at durable bytes. A crash
can leave bytes no record names (harmless) or a torn last record (its CRC fails; ignored).
Every blob is an AEAD envelope, so bytes altered on disk are refused when read, not served.

Index record (big-endian): key (32) · segment number (4) · offset (8) · length (8) ·
kind (4: 0 blob, 1 deletion) · CRC-32 of the preceding 56 bytes (4).
"""

from __future__ import annotations

import itertools
import os
import secrets
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

_REC = struct.Struct(">32sIQQI")
_RECORD = _REC.size + 4  # + CRC-32
_BLOB, _DELETED = 0, 1
T = TypeVar("T")
_WRITE_BYTES = 1 << 20  # at most this much per pwrite or pread (a larger blob goes alone)
Filler = Callable[[memoryview], None]  # writes a blob's bytes into the buffer it is given


@dataclass
class _Segment:
    number: int
    path: str
    fd: int
    end: int = 0  # next free (aligned) offset


# The index holds one entry per blob the hub has, in every hub process: packed small. Key:
# the raw 32-byte digest; value: one int = segment number in ``_paths`` << 72 | offset << 32
# | length (segments ≤ 1 TiB, blobs < 4 GiB). ~150 bytes a blob instead of ~400 with a str
# key and an object per blob.
_OFFSET_BITS, _LENGTH_BITS = 40, 32
_LENGTH_MASK = (1 << _LENGTH_BITS) - 1
_OFFSET_MASK = (1 << _OFFSET_BITS) - 1


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
        self._lock = threading.Lock()  # the index, the pending records, the open segments
        self._sync_lock = threading.Lock()  # one sync at a time (see sync)
        self._index: dict[bytes, int] = {}  # raw digest → packed location (see above)
        self._paths: list[str] = []  # segment files, by the number packed in the index
        self._path_ids: dict[str, int] = {}
        self._seen: dict[str, int] = {}  # index file → bytes of it already read
        self._pending: list[bytes] = []  # records of written blobs, not yet durable
        self._dirty: set[int] = set()  # segment fds written since the last sync
        self._writing: set[str] = set()
        self._local = threading.local()
        self._start_writer()
        self._refresh()

    # --- writer identity ------------------------------------------------------------------

    def _start_writer(self) -> None:
        self._pid = os.getpid()
        self._writer = f"{self._pid}-{secrets.token_hex(4)}"
        self._numbers = itertools.count(1)
        self._segments: list[_Segment] = []
        self._idx_fd: int | None = None
        self._local = threading.local()

    def _check_fork(self) -> None:
        if os.getpid() != self._pid:  # a forked child must not append to its parent's files
            self._start_writer()

    # --- reading the index ----------------------------------------------------------------

    def _refresh(self) -> None:
        """Read what other writers appended to their index files since the last look."""
        own = f"{self._writer}.idx"
        for entry in os.scandir(self._dir):
            name = entry.name
            if not name.endswith(".idx") or name == own:
                continue
            start = self._seen.get(name, 0)
            try:
                size = entry.stat().st_size
            except FileNotFoundError:
                continue
            if size - start < _RECORD:
                continue
            with open(entry.path, "rb") as fh:
                fh.seek(start)
                data = fh.read(size - start)
            writer = name[: -len(".idx")]
            good = 0
            with self._lock:
                for at in range(0, len(data) - _RECORD + 1, _RECORD):
                    rec = data[at : at + _RECORD]
                    if zlib.crc32(rec[:-4]) != int.from_bytes(rec[-4:], "big"):
                        break  # torn (being written, or cut by a crash): stop here
                    raw, number, offset, length, kind = _REC.unpack(rec[:-4])
                    if kind == _DELETED:
                        self._index.pop(raw, None)
                    else:
                        path = f"{self._dir}/{writer}-{number:06d}.seg"
                        self._index[raw] = self._pack(path, offset, length)
                    good = at + _RECORD
            self._seen[name] = start + good

    def _pack(self, path: str, offset: int, length: int) -> int:
        """The index value of a blob (called with ``_lock`` held)."""
        if length > _LENGTH_MASK or offset > _OFFSET_MASK:
            raise ValueError(f"blob of {length} bytes at {offset}: beyond the segment index")
        pid = self._path_ids.get(path)
        if pid is None:
            pid = self._path_ids[path] = len(self._paths)
            self._paths.append(path)
        return (pid << (_OFFSET_BITS + _LENGTH_BITS)) | (offset << _LENGTH_BITS) | length

    def _where(self, key: str) -> tuple[str, int, int] | None:
        """Segment file, offset and length of a blob, re-reading the index files once if
        it is not known (another process may have written it)."""
        check_key(key)
        raw = bytes.fromhex(key)
        packed = self._index.get(raw)
        if packed is None:
            self._refresh()
            packed = self._index.get(raw)
            if packed is None:
                return None
        path = self._paths[packed >> (_OFFSET_BITS + _LENGTH_BITS)]
        return path, (packed >> _LENGTH_BITS) & _OFFSET_MASK, packed & _LENGTH_MASK

    def locate(self, key: str) -> tuple[Path, int, int] | None:
        """Segment file, offset and length of a blob (for operators and tests)."""
        w = self._where(key)
        return (Path(w[0]), w[1], w[2]) if w else None

    # --- writing --------------------------------------------------------------------------

    def _segment(self, need: int) -> _Segment:
        seg: _Segment | None = getattr(self._local, "segment", None)
        if seg is None or seg.end + need > self.segment_bytes:
            number = next(self._numbers)
            path = f"{self._dir}/{self._writer}-{number:06d}.seg"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
            fd, self.direct = open_fd(path, flags, direct=self.direct)
            seg = _Segment(number, path, fd)
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
        for key, _, _ in items:
            check_key(key)
        self._check_fork()
        mine: list[int] = []
        with self._lock:
            for i, (key, _, _) in enumerate(items):
                if bytes.fromhex(key) in self._index or key in self._writing:
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
        zero-padded, write it at the end of this thread's segment and index them."""
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
                raw = bytes.fromhex(key)
                rec = _REC.pack(raw, seg.number, offset + at, size, _BLOB)
                self._index[raw] = self._pack(seg.path, offset + at, size)
                self._pending.append(rec + zlib.crc32(rec).to_bytes(4, "big"))
            self._dirty.add(seg.fd)

    def sync(self) -> None:
        """Make every put so far durable: segment bytes first, then their index records.

        Serialised: a caller whose records another thread's sync already took waits for
        that sync to finish, so no caller returns before its own blobs are durable.
        """
        with self._sync_lock:
            with self._lock:
                pending, self._pending = self._pending, []
                dirty, self._dirty = self._dirty, set()
            if not pending:
                return
            for fd in dirty:
                os.fdatasync(fd)
            if self._idx_fd is None:
                self._idx_fd = os.open(
                    f"{self._dir}/{self._writer}.idx",
                    os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                    0o644,
                )
            data = memoryview(b"".join(pending))
            while data:
                data = data[os.write(self._idx_fd, data) :]
            os.fdatasync(self._idx_fd)

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
        where = [self._where(key) for key in keys]
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
        """Forget a blob (a deletion record; the segment space is not reclaimed)."""
        check_key(key)
        self._check_fork()
        self.sync()  # the deletion must land after the blob's own record
        with self._lock:
            gone = self._index.pop(bytes.fromhex(key), None)
            if gone is not None:
                rec = _REC.pack(bytes.fromhex(key), 0, 0, 0, _DELETED)
                self._pending.append(rec + zlib.crc32(rec).to_bytes(4, "big"))
        if gone is not None:
            self.sync()
        self._files.delete(key)

    def keys(self) -> Iterator[str]:
        self._refresh()
        with self._lock:
            found = {raw.hex() for raw in self._index}
        found.update(self._files.keys())
        yield from sorted(found)

    def close(self) -> None:
        self.sync()
        with self._lock:
            segments, self._segments = self._segments, []
        for seg in segments:
            os.close(seg.fd)
        if self._idx_fd is not None:
            os.close(self._idx_fd)
            self._idx_fd = None
        self._local = threading.local()
