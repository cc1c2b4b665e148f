"""Filesystem blob store (the default, under ``var/blobs``).

Layout ``ab/cd/abcd…``: two levels of 256 folders keep directories small at millions of pages.
Each put writes a temporary file and renames it into place (a reader never sees half a blob).
Durability is one ``syncfs(2)`` per pack on Linux — a single call that flushes the file data
and the renames of the whole pack — instead of one ``fsync`` per page, which would cost a
journal commit each. Elsewhere it falls back to fsync of each pending file and folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from casebridge.blobs.interface import check_key
from casebridge.errors import NotFound

__all__ = ["FsBlobStore"]


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


class FsBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._pending: list[Path] = []
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{key}.{secrets.token_hex(4)}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        with self._lock:
            self._pending.append(path)
        return True

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no blob {key}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def sync(self) -> None:
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
            for target, flags in ((path, os.O_RDONLY), (path.parent, os.O_RDONLY)):
                fd = os.open(target, flags)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def keys(self) -> Iterator[str]:
        for first in sorted(self.root.iterdir()):
            if not first.is_dir() or len(first.name) != 2:
                continue
            for second in sorted(first.iterdir()):
                with contextlib.suppress(NotADirectoryError):
                    for f in sorted(second.iterdir()):
                        if not f.name.startswith("."):
                            yield f.name
