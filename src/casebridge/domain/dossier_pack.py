"""The pack: many pages in one HTTP request body, each framed by its hash and size.

Why packs: one request per page would cost a round trip and a commit per page; one request for
the whole dossier would make an interruption re-send everything. A pack of some tens of MB is
large enough to stream at full speed and small enough that a resumed transfer re-sends little.

Frame: 32 bytes SHA-256 of the page plaintext ‖ 8 bytes size (unsigned big-endian) ‖ the bytes.
The pack ends where the request body ends; a frame cut short is a truncated pack.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

__all__ = ["FRAME_HEADER", "MEDIA_TYPE", "FrameHeader", "PackReader", "frame_header"]

MEDIA_TYPE = "application/vnd.casebridge.pack"
FRAME_HEADER = 40
_FMT = ">32sQ"


def frame_header(sha256_hex: str, size: int) -> bytes:
    return struct.pack(_FMT, bytes.fromhex(sha256_hex), size)


@dataclass(frozen=True)
class FrameHeader:
    sha256: str
    size: int


class PackReader:
    """Incremental parser: feed chunks, take whole frames; memory is bounded by one page.

    A frame's bytes are handed out as the pieces of the received chunks they lie in (one
    ``memoryview`` when the frame lies inside one chunk, as most do): never joined here. The
    hub reads packs at hundreds of MB/s in one event-loop thread: a join there would be a
    copy, and a new 150–300 KB buffer for every frame split across two chunks; the worker
    thread that hashes the page joins the pieces into a buffer it reuses.
    """

    def __init__(self) -> None:
        self._chunks: deque[memoryview] = deque()
        self._len = 0
        self._current: FrameHeader | None = None

    def feed(self, chunk: bytes | memoryview) -> None:
        if chunk:
            self._chunks.append(memoryview(chunk))
            self._len += len(chunk)

    def _take(self, n: int) -> tuple[memoryview, ...]:
        """The next ``n`` bytes, as the pieces of the chunks they lie in."""
        parts: list[memoryview] = []
        need = n
        while need:
            head = self._chunks[0]
            if len(head) <= need:
                parts.append(self._chunks.popleft())
                need -= len(head)
            else:
                parts.append(head[:need])
                self._chunks[0] = head[need:]
                need = 0
        self._len -= n
        return tuple(parts)

    def next_header(self) -> FrameHeader | None:
        """The header of the next frame once it has arrived (then :meth:`next_body`)."""
        if self._current is None and self._len >= FRAME_HEADER:
            raw, size = struct.unpack(_FMT, b"".join(self._take(FRAME_HEADER)))
            self._current = FrameHeader(raw.hex(), size)
        return self._current

    def next_body(self) -> tuple[memoryview, ...] | None:
        """The body of the current frame once complete, as one or more consecutive pieces
        (none for an empty page); clears it for the next header."""
        cur = self._current
        if cur is None or self._len < cur.size:
            return None
        body = self._take(cur.size)
        self._current = None
        return body

    def pending(self) -> tuple[FrameHeader | None, int]:
        """At end of body: the unfinished frame (if any) and how many bytes of it arrived."""
        return self._current, self._len
