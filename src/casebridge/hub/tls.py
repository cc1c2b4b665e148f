"""The hub's HTTP protocol for uvicorn: client certificates for the app, and bulk bodies.

Five things uvicorn's httptools protocol (0.54, pinned in uv.lock) does not do:

- pass the peer certificate to ASGI: this subclass adds the ASGI TLS extension
  (``scope["extensions"]["tls"]["client_cert_chain"]``) with the certificate that the TLS
  layer has already verified against the configured client CA (mutual TLS for gateways);
- receive large bodies cheaply: uvicorn appends every received piece to a ``bytearray``,
  copies it again into ``bytes`` for each ``receive()``, and pauses the socket as soon as
  64 KiB wait — with dossier packs of tens of MB that pause/resume churn and the copies cost
  the hub more CPU than TLS itself (measured: ~3.4 CPU-s per 1.2 GB received with a body
  that is thrown away, ~1.8 with this class; `bench/RESULTS.md`). Here a long body with a
  ``Content-Length`` is taken past httptools, copied once into reused 1 MiB slabs and
  handed over as views of them, one ``receive()`` each (see
  :meth:`PeerCertHttpToolsProtocol.take_body`); other bodies are kept as httptools passes
  them and handed over about 1 MiB per ``receive()``. Reading pauses when 1 MiB waits for
  the application (bounded memory per connection) — 64 KiB (uvicorn's own mark) as long as
  the application has not started reading the body: a pack waiting for a slot of the hub
  (:mod:`casebridge.services.pack_slots`) must not hold more;
- take received bytes through the buffered-protocol interface: see :class:`HubHttpProtocol`;
- write to a TLS transport one record at a time, so that serving does not grow the heap:
  see :class:`_RecordWrites`;
- terminate TLS with CPython's ``asyncio.sslproto`` rather than uvloop's, so that receiving
  does not grow the heap either: see :func:`tls_protocol`.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from asyncio import sslproto
from collections import deque
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from casebridge.slabs import Slabs

__all__ = [
    "BODY_HIGH_WATER",
    "BODY_MESSAGE",
    "BODY_TAKEN_FROM",
    "BODY_WAIT_HIGH_WATER",
    "READ_BUFFER",
    "TLS_RECORD",
    "HubHttpProtocol",
    "PeerCertHttpToolsProtocol",
    "client_cert_der",
    "server_context",
    "tls_protocol",
]

# Bytes of request body waiting for the application before reading pauses. 1 MiB, not 2:
# the hub's slabs in use stayed at 18 over six 0.3 GB pushes into one worker (24–27 with
# 2 MiB and two batches in flight per pack), for the same push time (`bench/RESULTS.md`).
BODY_HIGH_WATER = 1 << 20
BODY_WAIT_HIGH_WATER = 64 << 10  # the same before the app's first receive()
BODY_MESSAGE = 1 << 20  # at most about this much per ASGI message (one join, bounded)
READ_BUFFER = 256 << 10  # what the transport may decrypt (or read) into it in one go
TLS_RECORD = 16 << 10  # the largest TLS record's plaintext (RFC 8446 §5.1): one write each
BODY_TAKEN_FROM = 256 << 10  # a body this long (Content-Length) is copied into slabs
SLAB = BODY_MESSAGE  # the size of every slab: one ASGI message at most
_FORMS = (b"multipart/", b"application/x-www-form-urlencoded")  # parsers index their pieces
_HEAD_END = b"\r\n\r\n"


class _ChunkedBodyCycle(RequestResponseCycle):
    """uvicorn's request cycle, with the body kept as a list of received pieces."""

    chunks: deque[bytes | memoryview]
    queued: int
    reading: bool  # the application has asked for the body (receive() called once)

    async def receive(self) -> Any:
        # Same protocol as RequestResponseCycle.receive, without the bytearray copies.
        self.reading = True
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
        if chunks and type(chunks[0]) is memoryview:  # a slab's piece: up to 1 MiB, as it lies
            body = chunks.popleft()
            self.queued -= len(body)
            if chunks:
                self.message_event.set()  # the rest is already here: the next receive() is free
            return {
                "type": "http.request",
                "body": body,
                "more_body": bool(chunks) or self.more_body,
            }
        if self.queued > BODY_MESSAGE:  # hand over about 1 MiB, keep the rest for next time
            parts = [chunks.popleft()]
            size = len(parts[0])
            while chunks and size + len(chunks[0]) <= BODY_MESSAGE:
                parts.append(chunks.popleft())
                size += len(parts[-1])
            self.queued -= size
            self.message_event.set()  # the rest is already here: the next receive() is free
            body = parts[0] if len(parts) == 1 else b"".join(parts)
            return {"type": "http.request", "body": body, "more_body": True}
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.chunks, self.queued = deque(), 0
        return {"type": "http.request", "body": body, "more_body": self.more_body}


class PeerCertHttpToolsProtocol(HttpToolsProtocol):
    # Set by HubHttpProtocol around a feed that ends exactly where a request's head ends:
    # only then may the body that follows be taken past the parser (see take_body).
    head_ends_feed = False
    between = True  # the parser is not inside a body it reads itself
    taking = 0  # body bytes still to take past the parser
    _slab: memoryview | None = None
    _fill = 0  # bytes of the current slab used
    _open: memoryview | None = None  # the queued piece the next bytes may extend
    _open_at = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self._peer_der: bytes | None = der

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
            cycle.__class__ = _ChunkedBodyCycle
            chunked: Any = cycle
            chunked.chunks, chunked.queued, chunked.reading = deque(), 0, False
            if self.head_ends_feed and not self.parser.should_upgrade():
                self.taking = _length_to_take(self.headers)
        self.between = self.taking > 0  # taken bodies: the parser sees none

    def on_message_complete(self) -> None:
        self.between, self.taking = True, 0
        super().on_message_complete()

    def take_body(self, data: memoryview) -> int:
        """Take the request body's next bytes from ``data`` past the parser; return how many.

        Why: httptools hands every body piece over as a new ``bytes`` of whatever size the
        transport read (here up to 256 KiB), and :class:`_ChunkedBodyCycle` joined them into
        messages of about 1 MiB: a 0.3 GB push made ~1,100 pieces and ~270 joins, buffers of
        every size between 16 KiB and 1 MiB made and freed for each pack, whose holes glibc's
        heap kept and reused badly, so the hub grew with every GB received. A body that is
        taken is copied once into slabs of one size (:mod:`casebridge.slabs`), handed over
        as views of them, and the slabs are reused.
        """
        self._unset_keepalive_if_required()  # as data_received does for what httptools reads
        n = min(self.taking, len(data))
        cycle: Any = self.cycle
        if not cycle.response_complete:
            if cycle.reading:
                self._into_slabs(cycle, data[:n])
                self._queued(cycle)
            else:  # not read yet: a few KiB until reading pauses, copied as they are
                self._queue(cycle, bytes(data[:n]))
        self.taking -= n
        if not self.taking:  # the parser never saw the body: a fresh one for the next request
            self.parser = httptools.HttpRequestParser(self)
            self.on_message_complete()
        return n

    def _into_slabs(self, cycle: Any, data: memoryview) -> None:
        chunks: deque[bytes | memoryview] = cycle.chunks
        while data:
            if self._slab is None or self._fill == SLAB:
                self._slab, self._fill, self._open = _slabs().take(), 0, None
            at = self._fill
            n = min(len(data), SLAB - at)
            self._slab[at : at + n] = data[:n]
            self._fill = at + n
            cycle.queued += n
            data = data[n:]
            if self._open is not None and chunks and chunks[-1] is self._open:
                chunks[-1] = self._open = self._slab[self._open_at : self._fill]
            else:  # the last piece was handed over (or there is none): start another
                self._open, self._open_at = self._slab[at : self._fill], at
                chunks.append(self._open)

    def on_body(self, body: bytes) -> None:
        if self.taking:  # the head ended before the feed did (a bare-LF head): count them
            self.taking -= len(body)
        cycle: Any = self.cycle
        if not isinstance(cycle, _ChunkedBodyCycle):
            super().on_body(body)
            return
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
        self._queue(cycle, body)

    def _queue(self, cycle: Any, piece: bytes) -> None:
        cycle.chunks.append(piece)
        cycle.queued += len(piece)
        self._queued(cycle)

    def _queued(self, cycle: Any) -> None:
        """After body bytes were queued: pause reading past the mark, wake the reader."""
        if cycle.queued > (BODY_HIGH_WATER if cycle.reading else BODY_WAIT_HIGH_WATER):
            self.flow.pause_reading()
        cycle.message_event.set()


class HubHttpProtocol(asyncio.BufferedProtocol):
    """The class uvicorn runs (``--http``): :class:`PeerCertHttpToolsProtocol` fed through
    the buffered-protocol interface, so the transport reads into a buffer it is lent.

    Why: to a plain ``asyncio.Protocol`` the TLS layer (uvloop's and asyncio's alike) hands
    ``SSLObject.read(256 KiB)``: a 256 KiB ``bytes`` made and shrunk to the one ~16 KiB
    record it holds, some 70,000 times per GB received. A bare uvicorn server over TLS that
    only hashed request bodies peaked at 40–42 MB after 0.3 GB and 44–45 MB after 1.2 GB;
    over plain HTTP at 31.0 and 31.3; through this interface at 36.4–36.6 and 36.6–36.9.
    In the hub (one worker, push only) the peak is ~5 MB lower at both sizes; the hub's own
    growth from 0.3 to 1.2 GB has other sources (`bench/RESULTS.md`).

    The buffer is one per event-loop thread: httptools parses the bytes where they lie and
    passes on copies (URL, headers, body pieces), so the buffer is free again before the
    transport's next read.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._http = PeerCertHttpToolsProtocol(*args, **kwargs)
        raw: bytearray | None = getattr(_READ, "raw", None)
        if raw is None:
            raw = _READ.raw = bytearray(READ_BUFFER)
            _READ.buf = memoryview(raw)
        self._raw: bytearray = raw
        self._buf: memoryview = _READ.buf
        self._tail = b""  # the last bytes of a request head fed so far (its end may straddle)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if transport.get_extra_info("ssl_object") is not None:
            transport = _RecordWrites(transport)  # type: ignore[assignment]
        self._http.connection_made(transport)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        self._http.connection_lost(exc)

    def eof_received(self) -> bool | None:
        self._http.eof_received()
        return None  # close the transport (uvicorn's own answer)

    def pause_writing(self) -> None:
        self._http.pause_writing()

    def resume_writing(self) -> None:
        self._http.resume_writing()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buf

    def buffer_updated(self, nbytes: int) -> None:
        # httptools parses the view where it lies; what it passes on (URL, headers, body
        # pieces) are copies, and a taken body is copied into slabs, so the buffer is free
        # again when this returns. Feeds are cut where a request's head ends, so that the
        # body after it can be taken past the parser (PeerCertHttpToolsProtocol.take_body).
        http, buf, at = self._http, self._buf, 0
        while at < nbytes:
            if http.taking:
                at += http.take_body(buf[at:nbytes])
                continue
            end = self._head_end(at, nbytes) if http.between else -1
            if end < 0:
                if http.between:  # the head goes on in the next read
                    self._tail = (self._tail + bytes(buf[max(at, nbytes - 3) : nbytes]))[-3:]
                http.data_received(buf[at:nbytes])  # type: ignore[arg-type]
                return
            self._tail = b""
            http.head_ends_feed = True
            try:
                http.data_received(buf[at:end])  # type: ignore[arg-type]
            finally:
                http.head_ends_feed = False
            if http.transport.is_closing():  # a malformed head, answered with 400
                return
            at = end

    def _head_end(self, at: int, stop: int) -> int:
        """The offset in the read buffer just after the first CRLF CRLF at or after ``at``
        (it may begin in the bytes fed before: ``_tail``), or -1."""
        if self._tail:
            seam = (self._tail + bytes(self._buf[at : min(at + 3, stop)])).find(_HEAD_END)
            if seam >= 0:
                return at + seam + 4 - len(self._tail)
        found = self._raw.find(_HEAD_END, at, stop)
        return found + 4 if found >= 0 else -1

    def data_received(self, data: bytes) -> None:  # a transport that does not lend buffers
        self._http.data_received(data)


_READ = threading.local()


def _length_to_take(headers: list[tuple[bytes, bytes]]) -> int:
    """The body length if the body is to be taken past the parser, else 0: a plain
    ``Content-Length`` body of at least :data:`BODY_TAKEN_FROM` bytes that is not a form
    (form parsers search their pieces, which must be ``bytes``)."""
    length = 0
    for name, value in headers:
        if name == b"transfer-encoding" or (
            name == b"content-type" and value.lower().startswith(_FORMS)
        ):
            return 0
        if name == b"content-length":
            if not value.isdigit() or length:
                return 0  # malformed or repeated: the parser's to judge
            length = int(value)
    return length if length >= BODY_TAKEN_FROM else 0


def _slabs() -> Slabs:
    """This event-loop thread's slabs for taken bodies (:mod:`casebridge.slabs`)."""
    slabs: Slabs | None = getattr(_READ, "slabs", None)
    if slabs is None:
        slabs = _READ.slabs = Slabs(SLAB)
    return slabs


class _RecordWrites:
    """A TLS transport whose large writes are handed to it one TLS record at a time.

    Why: given a whole page (150–300 KB), the TLS layer encrypts it into one buffer of
    that size, reads it out of OpenSSL's memory BIO as one ``bytes`` and, when the socket
    takes only part, copies the rest: buffers of every size between, made and freed per
    page, which glibc's heap keeps and does not reuse. A hub worker serving the same
    0.3 GB dossier eight times grew from 124 to 155 MB at rest (peak 152 → 162, still
    rising); without TLS it stayed flat. Written a record (16 KiB) at a time, every buffer
    on the way is the same small size and is reused: 124 → 138 MB, peak flat at 147
    (`bench/RESULTS.md`, 2026-11-28). Everything but ``write`` is the transport's own.
    """

    __slots__ = ("_transport",)

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        write = self._transport.write  # type: ignore[attr-defined]
        if len(data) <= TLS_RECORD:
            write(data)
            return
        view = memoryview(data)
        for at in range(0, len(view), TLS_RECORD):
            write(view[at : at + TLS_RECORD])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def client_cert_der(scope: Any) -> bytes | None:
    tls = (scope.get("extensions") or {}).get("tls") or {}
    der = tls.get("client_cert_der")
    return der if isinstance(der, bytes) else None


def server_context(certfile: str, keyfile: str, client_ca: str | None = None) -> ssl.SSLContext:
    """The hub's TLS server context: its certificate, and with ``client_ca`` client
    certificates asked for (optional) and verified against that CA (mutual TLS)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    if client_ca is not None:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def tls_protocol(context: ssl.SSLContext) -> type[asyncio.BaseProtocol]:
    """uvicorn's ``http`` class for a hub serving TLS with ``context``: CPython's
    ``asyncio.sslproto.SSLProtocol`` around :class:`HubHttpProtocol`, on uvloop's event loop.
    uvicorn is then given no TLS settings of its own (it would hand them to uvloop).

    Why: with uvloop's own TLS a hub worker grew with every byte it received. Four 0.3 GB
    pushes into one worker: peak 149, 155, 160, 162 MB, at rest 124 → 136; the same with
    this class 151, 151, 153, 153 and 126 → 129, for the same CPU per push (1.1–1.4 s
    against 1.0–1.1; `bench/RESULTS.md`, 2026-11-28). CPython's TLS layer lends the
    protocol's buffer to ``SSLObject.read`` as uvloop's does, and gives the same transport
    (``ssl_object``, ``sslcontext``, peer certificate) to the protocol inside.
    """

    class TlsHubProtocol(sslproto.SSLProtocol):
        def __init__(
            self,
            config: Any,
            server_state: Any,
            app_state: Any,
            _loop: asyncio.AbstractEventLoop | None = None,
        ) -> None:
            inner = HubHttpProtocol(
                config=config, server_state=server_state, app_state=app_state, _loop=_loop
            )
            loop = _loop or asyncio.get_running_loop()
            # no waiter: nothing awaits the handshake (typeshed wants a Future; None is valid)
            super().__init__(loop, inner, context, None, server_side=True)  # type: ignore[arg-type]

    return TlsHubProtocol
