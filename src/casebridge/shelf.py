"""The :class:`~casebridge.domain.dossier.Shelf` of gateways and the hub: volumes of a
manifest kept in an unlinked temporary file rather than in the process's memory.

A gateway process reading, packing, pushing or pulling a dossier of thousands of pages held
its whole manifest in memory (~180 bytes a page, packed), so it was larger at 1.2 GB than at
0.3 GB; the hub held every manifest it had parsed the same way. The page cache that holds
the file's pages is not the process's memory; the file is gone when the manifest is (the
kernel frees it when its descriptor closes, or the process ends, however it ends).
"""

from __future__ import annotations

import os
import tempfile
import threading
import weakref

__all__ = ["FileShelf"]

_READS = threading.local()  # each thread's read buffer
_GRAIN = 64 << 10  # its size is a multiple of this


class FileShelf:
    """Append-only bytes in a temporary file: ``put`` gives a key, ``get`` the bytes back."""

    def __init__(self, *, thread_buffers: bool = True) -> None:
        """``thread_buffers``: read into a buffer each calling thread keeps (:meth:`get`);
        for a process whose few threads read many volumes (a gateway's streams), not one
        that serves from dozens of request threads (the hub), where each would keep one."""
        self._thread_buffers = thread_buffers
        self._fd, path = tempfile.mkstemp(prefix="casebridge-shelf-")
        os.unlink(path)  # nameless from now on: nothing is left behind, whatever ends this
        # A bare descriptor, closed when the shelf is collected (a file object would warn).
        self._close = weakref.finalize(self, os.close, self._fd)
        self._spans: list[tuple[int, int]] = []  # (offset, length) of each key
        self._end = 0
        self._lock = threading.Lock()

    def put(self, data: bytes, /) -> int:
        with self._lock:
            at, self._end = self._end, self._end + len(data)
            key = len(self._spans)
            self._spans.append((at, len(data)))
        view = memoryview(data)
        while view:
            n = os.pwrite(self._fd, view, at)
            view, at = view[n:], at + n
        return key

    def get(self, key: int, /) -> bytes | memoryview:
        """The bytes of ``key``; with ``thread_buffers``, read into this thread's buffer and
        valid until this thread's next ``get`` (:class:`ShelvedVolumes` unpickles them at
        once). Not a new buffer each time: volumes of tens of KB read into new buffers by
        several threads (a pull's streams) left the heap larger the more volumes were read,
        so a pull with four streams was 50–100 KiB larger at 5,253 pages than at 1,313."""
        at, length = self._spans[key]
        if not self._thread_buffers:
            data = os.pread(self._fd, length, at)
            if len(data) != length:  # a regular file reads whole; anything else is lost
                raise OSError(f"shelf: {len(data)} of {length} bytes at {at}")
            return data
        buf: bytearray | None = getattr(_READS, "buf", None)
        if buf is None or len(buf) < length:
            buf = _READS.buf = bytearray(-(-length // _GRAIN) * _GRAIN)
        view = memoryview(buf)[:length]
        done = 0
        while done < length:
            n = os.preadv(self._fd, [view[done:]], at + done)
            if n == 0:  # a regular file reads whole; anything else is a lost file
                raise OSError(f"shelf: {done} of {length} bytes at {at}")
            done += n
        return view

    def close(self) -> None:
        self._close()
