"""The hub's HTTP protocol for uvicorn: client certificates for the app, and bulk bodies.

Three things uvicorn's httptools protocol (0.54, pinned in uv.lock) does not do:

- pass the peer certificate to ASGI: the ASGI TLS extension
  (``scope["extensions"]["tls"]["client_cert_chain"]``) carries the certificate that the TLS
  layer has already verified against the configured client CA (mutual TLS for gateways);
- hand large bodies over without copies: uvicorn appends every received piece to a
  ``bytearray``, copies it again into ``bytes`` for each ``receive()``, and pauses the socket
  as soon as 64 KiB wait. With dossier packs of tens of MB those copies cost the hub more CPU
  than TLS itself (measured: ~3.4 CPU-s per 1.2 GB received with a body that is thrown away,
  ~1.8 without them; ``bench/RESULTS.md``);
- keep the process's memory flat however much it receives: every received piece was a new
  ``bytes`` of 16–256 KB from the malloc heap, freed in another order than it was made, and
  glibc kept the holes (the hub's peak grew with the pages it had received in its life).

So the event loop sees a *buffered* protocol (:class:`HubProtocol`): TLS decrypts straight
into memory the hub owns. Request heads and small bodies go through httptools as before,
from one scratch buffer per connection. A body announced by ``Content-Length`` of at least
:data:`RAW_BODY_MIN` bytes (forms excepted) is received straight into 1 MiB slabs from
:data:`SLABS` (anonymous mmap, outside the malloc heap) and handed to the application as
``memoryview`` slices of them, no copy at all — code that needs ``bytes`` joins them, as
Starlette's ``request.body()`` does; a slab is reused once nothing refers to it any more. httptools never
sees those bytes, so after the body a fresh parser takes the connection's next request.
Reading pauses while :data:`BODY_HIGH_WATER` bytes wait for the application (bounded
memory per connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import mmap
import ssl
import sys
from collections import deque
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

__all__ = [
    "BODY_HIGH_WATER",
    "BODY_MESSAGE",
    "RAW_BODY_MIN",
    "SLABS",
    "HubProtocol",
    "SlabPool",
    "client_cert_der",
]

BODY_HIGH_WATER = 2 << 20  # bytes of request body waiting for the app before reading pauses
BODY_MESSAGE = 1 << 20  # a parsed (small) body: at most about this much per ASGI message
RAW_BODY_MIN = 256 << 10  # Content-Length from which a body bypasses the parser into slabs
SLAB_BYTES = 1 << 20
_SCRATCH_BYTES = 64 << 10  # a connection's buffer for request heads and small bodies
_FORMS = (b"multipart/", b"application/x-www-form-urlencoded")


class SlabPool:
    """Fixed-size receive buffers, reused as soon as no ``memoryview`` of them is alive.

    Why reference counts: a slab's slices travel from the protocol through the ASGI app into
    pack readers and worker threads, and die wherever the last one is dropped — including on
    every error path. A slab is free exactly when the pool's list holds the only reference
    (CPython counts references deterministically; each live slice holds one through its
    buffer). ``keep`` slabs are kept; beyond that a slab is made for one use and unmapped when
    its last slice dies, so a consumer that holds slices costs memory, never correctness.
    """

    def __init__(self, size: int = SLAB_BYTES, keep: int = 64) -> None:
        self.size = size
        self.keep = keep
        self._slabs: list[mmap.mmap] = []
        self._slabs.append(mmap.mmap(-1, 1))
        self._free_refs = self._refs(0)  # what "only the list holds it" reads as, here
        self._slabs.clear()

    def _refs(self, i: int) -> int:
        return sys.getrefcount(self._slabs[i])

    def take(self) -> mmap.mmap:
        for i in range(len(self._slabs)):
            if self._refs(i) <= self._free_refs:
                return self._slabs[i]
        slab = mmap.mmap(-1, self.size)
        if len(self._slabs) < self.keep:
            self._slabs.append(slab)
        return slab

    def stats(self) -> tuple[int, int]:
        """(slabs kept, of which in use): for tests and diagnostics."""
        used = sum(1 for i in range(len(self._slabs)) if self._refs(i) > self._free_refs)
        return len(self._slabs), used


SLABS = SlabPool()


class _BodyCycle(RequestResponseCycle):
    """uvicorn's request cycle, with the body kept as received pieces (``bytes`` from the
    parser, or slab slices) instead of one growing ``bytearray``."""

    chunks: deque[bytes | memoryview]
    queued: int
    raw_length: int  # Content-Length if the body may go to slabs, else 0
    parsed: int  # body bytes that went through the parser
    raw: bool  # the rest of the body comes in slabs
    tail: tuple[Any, int, int] | None  # (slab, start, end) of the last queued slice

    def _setup(self, raw_length: int) -> None:
        self.chunks, self.queued = deque(), 0
        self.raw_length, self.parsed, self.raw, self.tail = raw_length, 0, False, None

    async def receive(self) -> Any:
        # Same protocol as RequestResponseCycle.receive, without the bytearray copies.
        if self.waiting_for_100_continue and not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.waiting_for_100_continue = False
        if not self.disconnected and not self.response_complete:
            self.flow.resume_reading()
            await self.message_event.wait()
            self.message_event.clear()
        if self.disconnected or self.response_complete:
            return {"type": "http.disconnect"}
        chunks = self.chunks
        if self.raw:  # slab slices: one per message, never joined
            self.tail = None
            if not chunks:
                return {"type": "http.request", "body": b"", "more_body": self.more_body}
            body = chunks.popleft()
            self.queued -= len(body)
            if chunks:
                self.message_event.set()  # the rest is already here: the next receive() is free
            more = bool(chunks) or self.more_body
            return {"type": "http.request", "body": body, "more_body": more}
        if self.queued > BODY_MESSAGE:  # hand over about 1 MiB, keep the rest for next time
            parts = [chunks.popleft()]
            size = len(parts[0])
            while chunks and size + len(chunks[0]) <= BODY_MESSAGE:
                parts.append(chunks.popleft())
                size += len(parts[-1])
            self.queued -= size
            self.message_event.set()
            body = parts[0] if len(parts) == 1 else b"".join(parts)
            return {"type": "http.request", "body": body, "more_body": True}
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.chunks, self.queued = deque(), 0
        return {"type": "http.request", "body": body, "more_body": self.more_body}

    def queue_slab(self, slab: Any, view: memoryview, start: int, end: int) -> None:
        """Queue ``slab[start:end]``, extending the last slice when it ends at ``start``."""
        tail = self.tail
        if tail is not None and tail[0] is slab and tail[2] == start and self.chunks:
            self.chunks[-1] = view[tail[1] : end]
            self.tail = (slab, tail[1], end)
        else:
            self.chunks.append(view[start:end])
            self.tail = (slab, start, end)
        self.queued += end - start


class _HubHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol, fed from buffers the hub owns (see :class:`HubProtocol`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._peer_der: bytes | None = None
        self._scratch: memoryview | None = None
        self._raw_left = 0  # body bytes still to come straight into slabs
        self._slab: mmap.mmap | None = None
        self._slab_view: memoryview | None = None
        self._slab_pos = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self._peer_der = der

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._raw_left = 0
        self._slab = self._slab_view = self._scratch = None

    # Buffered reading

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._raw_left:
            if self._slab is None or self._slab_pos == len(self._slab):
                self._slab = SLABS.take()
                self._slab_view = memoryview(self._slab)
                self._slab_pos = 0
            assert self._slab_view is not None
            end = min(len(self._slab_view), self._slab_pos + self._raw_left)
            return self._slab_view[self._slab_pos : end]
        if self._scratch is None:
            self._scratch = memoryview(bytearray(_SCRATCH_BYTES))
        return self._scratch

    def buffer_updated(self, nbytes: int) -> None:
        if not self._raw_left:
            assert self._scratch is not None
            # httptools takes any buffer, and copies what it keeps
            self.data_received(self._scratch[:nbytes])  # type: ignore[arg-type]
            self._maybe_go_raw()
            return
        self._unset_keepalive_if_required()
        start = self._slab_pos
        self._slab_pos += nbytes
        self._raw_left -= nbytes
        cycle: Any = self.cycle
        if not (cycle.response_complete or cycle.disconnected):
            cycle.queue_slab(self._slab, self._slab_view, start, self._slab_pos)
            if cycle.queued > BODY_HIGH_WATER:
                self.flow.pause_reading()
            cycle.message_event.set()
        if not self._raw_left:
            self._end_raw()

    def _maybe_go_raw(self) -> None:
        """After the parser ran: if the current request's body is long and not all here yet,
        take the rest of it (and only it) into slabs, past the parser."""
        cycle: Any = self.cycle
        if (
            self.parser is not None
            and isinstance(cycle, _BodyCycle)
            and cycle.raw_length
            and not cycle.raw
            and cycle.more_body
            and not cycle.response_complete
            and cycle.parsed < cycle.raw_length
        ):
            cycle.raw = True
            self._raw_left = cycle.raw_length - cycle.parsed

    def _end_raw(self) -> None:
        """The body is complete: end the message, and parse the next request afresh (the old
        parser still thinks it is inside this body)."""
        self._slab = self._slab_view = None  # let the pool reuse it once the app is done
        self.on_message_complete()
        self.parser = httptools.HttpRequestParser(self)
        with contextlib.suppress(AttributeError):  # httptools < 0.6.3, as uvicorn does
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True)

    # httptools callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._peer_der:
            pem = ssl.DER_cert_to_PEM_cert(self._peer_der)
            scope: Any = self.scope
            scope["extensions"] = {
                "tls": {"client_cert_chain": [pem], "client_cert_der": self._peer_der}
            }

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle: Any = getattr(self, "cycle", None)
        if type(cycle) is RequestResponseCycle:
            cycle.__class__ = _BodyCycle
            body_cycle: Any = cycle
            body_cycle._setup(self._raw_length())

    def _raw_length(self) -> int:
        """Content-Length when this body may bypass the parser: long, not chunked, no
        upgrade, not a form (form parsers want ``bytes`` pieces); else 0."""
        if self.parser.should_upgrade():
            return 0
        length = 0
        for name, value in self.headers:
            if name == b"transfer-encoding":
                return 0
            if name == b"content-type" and value.lower().startswith(_FORMS):
                return 0
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return 0
        return length if length >= RAW_BODY_MIN else 0

    def on_body(self, body: bytes) -> None:
        cycle: Any = self.cycle
        if not isinstance(cycle, _BodyCycle):
            super().on_body(body)
            return
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
        cycle.parsed += len(body)
        cycle.chunks.append(body)
        cycle.tail = None
        cycle.queued += len(body)
        if cycle.queued > BODY_HIGH_WATER:
            self.flow.pause_reading()
        cycle.message_event.set()


class HubProtocol(asyncio.BufferedProtocol):
    """What uvicorn runs per connection (``--http casebridge.hub.tls:HubProtocol``).

    A wrapper, because event loops take the buffered path only for a protocol that is not an
    ``asyncio.Protocol`` (uvloop checks exactly that), and uvicorn's protocol is one. All
    HTTP work is done by the wrapped :class:`_HubHttp`.
    """

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.http = _HubHttp(config, server_state, app_state, _loop)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.http.connection_made(transport)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        self.http.connection_lost(exc)

    def eof_received(self) -> bool | None:
        self.http.eof_received()
        return None

    def pause_writing(self) -> None:
        self.http.pause_writing()

    def resume_writing(self) -> None:
        self.http.resume_writing()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.http.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        self.http.buffer_updated(nbytes)


def client_cert_der(scope: Any) -> bytes | None:
    tls = (scope.get("extensions") or {}).get("tls") or {}
    der = tls.get("client_cert_der")
    return der if isinstance(der, bytes) else None
