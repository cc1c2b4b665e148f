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


class FileShelf:
    """Append-only bytes in a temporary file: ``put`` gives a key, ``get`` the bytes back."""

    def __init__(self) -> None:
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

    def get(self, key: int, /) -> bytes:
        at, length = self._spans[key]
        data = os.pread(self._fd, length, at)
        if len(data) != length:  # a regular file reads whole; anything else is a lost file
            raise OSError(f"shelf: {len(data)} of {length} bytes at {at}")
        return data

    def close(self) -> None:
        self._close()
