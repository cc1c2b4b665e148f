"""One-file-per-blob filesystem store (the default before segments; still read, see
:mod:`casebridge.blobs.segments`).

Layout ``ab/abcd…``: 256 folders of hash-named files (ext4's hashed directories stay fast
at millions of entries; a second folder level would cost a ``mkdir`` per page for the
first millions of pages). Blobs written by earlier versions under ``ab/cd/abcd…`` are
still read.

Each put writes a temporary file and renames it into place (a reader never sees half a
blob). On Linux the bytes go with ``O_DIRECT`` straight from an aligned buffer to the
disk: on the benchmark VM that costs 0.4 s of kernel CPU per 1.2 GB instead of 2.0 s
through the page cache and its writeback (`dd … oflag=direct`, see `bench/RESULTS.md`),
and it keeps hundreds of MB of ciphertext out of the page cache. Where the filesystem
refuses ``O_DIRECT`` (tmpfs, some network filesystems) the store falls back to buffered
writes by itself.

Durability is one ``syncfs(2)`` per pack on Linux — a single call that commits the new
files, their sizes and the renames of the whole pack, and flushes the disk's cache —
instead of one ``fsync`` per page, which would cost a journal commit each. Elsewhere it
falls back to fsync of each pending file and folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from casebridge.blobs.interface import check_key
from casebridge.errors import NotFound
from casebridge.i18n import N_

__all__ = [
    "FsBlobStore",
    "aligned_buffer",
    "fill_aligned",
    "open_fd",
    "pread_aligned",
    "pread_lent",
    "round_up",
]

_ALIGN = 4096  # O_DIRECT: buffer address, file offset and length are multiples of this
_O_DIRECT = getattr(os, "O_DIRECT", 0)


def _load_syncfs() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_SYNCFS = _load_syncfs()


def round_up(n: int) -> int:
    """``n`` rounded up to the O_DIRECT alignment."""
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


def aligned_buffer(local: threading.local, size: int) -> memoryview:
    """A page-aligned buffer of at least ``size`` bytes (anonymous mmap) kept in ``local``
    (one per thread): allocated once, so the hot path does not page-fault fresh memory for
    every blob, and aligned as O_DIRECT requires."""
    buf: mmap.mmap | None = getattr(local, "buf", None)
    if buf is None or len(buf) < size:
        buf = mmap.mmap(-1, max(round_up(size), 1 << 20))
        local.buf = buf
    return memoryview(buf)


def open_fd(path: str, flags: int, *, direct: bool, mode: int = 0o644) -> tuple[int, bool]:
    """``os.open`` with O_DIRECT when ``direct``; where the filesystem refuses it (EINVAL:
    tmpfs, some network filesystems) the file is opened without. Returns (fd, direct)."""
    if direct:
        try:
            return os.open(path, flags | _O_DIRECT, mode), True
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
    return os.open(path, flags, mode), False


def fill_aligned(
    local: threading.local, size: int, fill: Callable[[memoryview], None]
) -> memoryview:
    """The thread's aligned buffer with ``fill``'s ``size`` bytes, zero-padded to the
    alignment (no stale bytes of another blob past the end): what O_DIRECT writes."""
    padded = round_up(size)
    buf = aligned_buffer(local, padded)
    fill(buf[:size])
    buf[size:padded] = bytes(padded - size)
    return buf[:padded]


def pread_aligned(fd: int, local: threading.local, length: int, offset: int = 0) -> bytes:
    """``length`` bytes at ``offset`` (aligned) read into the thread's aligned buffer, as
    O_DIRECT requires; fewer if the file ends first."""
    return bytes(pread_lent(fd, local, length, offset))


def pread_lent(fd: int, local: threading.local, length: int, offset: int = 0) -> memoryview:
    """:func:`pread_aligned` without the copy: a view of the thread's buffer, valid until
    the thread's next read or write through it."""
    padded = round_up(length)
    buf = aligned_buffer(local, padded)
    got = 0
    while got < length:
        n = os.preadv(fd, [buf[got:padded]], offset + got)
        if n == 0:
            break
        got += n
    return buf[: min(got, length)]


class FsBlobStore:
    def __init__(self, root: Path, *, direct: bool | None = None) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._base = str(root)
        self._pending: list[str] = []
        self._dirs: set[str] = set()  # folders known to exist (skips a mkdir per page)
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self.direct = bool(_O_DIRECT) and (direct is None or direct)
        self._local = threading.local()  # one aligned buffer per thread, reused

    def _path(self, key: str) -> str:
        check_key(key)
        return f"{self._base}/{key[:2]}/{key}"

    def _legacy(self, key: str) -> str:
        return f"{self._base}/{key[:2]}/{key[2:4]}/{key}"

    def put(self, key: str, data: bytes) -> bool:
        def fill(out: memoryview) -> None:
            out[:] = data

        return self.put_with(key, len(data), fill)

    def put_with(self, key: str, size: int, fill: Callable[[memoryview], None]) -> bool:
        """Store ``size`` bytes that ``fill`` writes into a buffer the store provides (the
        sealed page is encrypted straight into the aligned buffer O_DIRECT writes from)."""
        # Plain os calls on str paths: this runs once per page at hundreds of pages a second.
        path = self._path(key)
        if os.path.exists(path) or os.path.exists(self._legacy(key)):
            return False
        folder = path[: -len(key) - 1]
        if folder not in self._dirs:
            os.makedirs(folder, exist_ok=True)
            self._dirs.add(folder)
        tmp = f"{folder}/.{key}.{secrets.token_hex(4)}.tmp"
        buf = fill_aligned(self._local, size, fill)
        if not (self.direct and self._write_direct(tmp, buf, size)):
            self._write_buffered(tmp, buf[:size])
        os.replace(tmp, path)
        with self._lock:
            self._pending.append(path)
        return True

    def _write_buffered(self, tmp: str, data: bytes | memoryview) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def _write_direct(self, tmp: str, buf: memoryview, n: int) -> bool:
        """Write ``buf[:n]`` (aligned, zero-padded) with O_DIRECT; False if refused."""
        padded = len(buf)
        fd, self.direct = open_fd(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, direct=True)
        if not self.direct:
            os.close(fd)
            return False  # the caller writes buffered, over the file just created
        try:
            done = 0
            while done < padded:
                done += os.write(fd, buf[done:padded])
            os.ftruncate(fd, n)  # the padding was only for alignment
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self.direct = False
            os.close(fd)
            os.unlink(tmp)
            return False
        os.close(fd)
        return True

    def _open(self, key: str, flags: int) -> int:
        """The blob's file (either layout), with O_DIRECT while the filesystem allows it."""
        for path in (self._path(key), self._legacy(key)):
            try:
                fd, self.direct = open_fd(path, flags, direct=self.direct)
                return fd
            except FileNotFoundError:
                continue
        raise NotFound(N_("no blob {key}"), params={"key": key})

    def get(self, key: str) -> bytes:
        fd = self._open(key, os.O_RDONLY)
        try:
            return pread_aligned(fd, self._local, os.fstat(fd).st_size)
        finally:
            os.close(fd)

    def exists(self, key: str) -> bool:
        return os.path.exists(self._path(key)) or os.path.exists(self._legacy(key))

    def delete(self, key: str) -> None:
        for path in (self._path(key), self._legacy(key)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def sync(self) -> None:
        # Serialised, so that a caller whose files another thread's sync took returns only
        # after that sync completed.
        with self._sync_lock:
            self._sync()

    def _sync(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        if _SYNCFS is not None:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                if _SYNCFS(fd) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, os.strerror(err), str(self.root))
            finally:
                os.close(fd)
            return
        for path in pending:  # portable fallback: the file, then the folder holding its name
            for target in (path, os.path.dirname(path)):
                fd = os.open(target, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def keys(self) -> Iterator[str]:
        found: list[str] = []
        for _dirpath, _dirs, files in os.walk(self._base):
            found.extend(f for f in files if len(f) == 64 and not f.startswith("."))
        yield from sorted(found)
