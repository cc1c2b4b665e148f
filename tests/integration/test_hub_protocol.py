"""The hub's HTTP protocol (casebridge.hub.tls) on a real uvicorn server over loopback.

It hands request bodies over as received pieces (about 1 MiB per ASGI message) and pauses
reading at 2 MiB unread, instead of uvicorn's bytearray; these tests check that nothing
about HTTP changes for the application or for the next request on the connection: long
bodies arrive intact, in order and in bounded messages; keep-alive and pipelined requests
after them are parsed; an early answer leaves the connection usable; chunked bodies and
forms work; a client vanishing mid-body is seen as a disconnect. Over plain HTTP and TLS,
with uvloop and with asyncio's own loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from casebridge.hub import tls as hub_tls
from casebridge.hub.tls import (
    BODY_HIGH_WATER,
    BODY_MESSAGE,
    BODY_TAKEN_FROM,
    BODY_WAIT_HIGH_WATER,
    READ_BUFFER,
    TLS_RECORD,
    HubHttpProtocol,
    server_context,
    tls_protocol,
)
from casebridge.security.pki import ensure_ca, issue_server
from tests.conftest import free_port

SEEN: list[dict[str, Any]] = []  # what the app saw, one entry per /hash request


BIG = os.urandom(300_000 + 7)  # a large scanned page


async def app(scope: Any, receive: Any, send: Any) -> None:
    """/hash: SHA-256 and size of the body (and what its messages were); /reject: 413 at
    once, body unread; anything else: 'ok'."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    status, body, slow = 200, b"ok", False
    if scope["path"] == "/slow":  # as a pack waiting for a slot: the body not read at first
        await asyncio.sleep(0.5)
        scope, slow = {**scope, "path": "/hash"}, True
    if scope["path"] == "/reject":
        status, body = 413, b"too large"
    elif scope["path"] == "/big":  # a large response body in one message (as a page is sent)
        status, body = 200, BIG
    elif scope["path"] == "/slabs":  # how many slabs this event loop's thread has made
        body = str(len(hub_tls._slabs())).encode()
    elif scope["path"] == "/hash":
        digest, size, kinds, messages, largest, first = hashlib.sha256(), 0, set(), 0, 0, 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                SEEN.append({"disconnected": True, "size": size})
                return
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            messages += 1
            first = len(chunk) if messages == 1 else first
            if slow and messages == 1:  # reading has begun: let the protocol read ahead
                await asyncio.sleep(0.2)  # (else a slow TLS loop may never queue much)
            kinds.add(type(chunk).__name__)
            digest.update(chunk)
            size += len(chunk)
            largest = max(largest, len(chunk))
            if not more:
                break
        SEEN.append(
            {"size": size, "kinds": kinds, "messages": messages, "largest": largest, "first": first}
        )
        body = f"{digest.hexdigest()} {size}".encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass
class Server:
    url: str
    port: int
    verify: ssl.SSLContext | bool


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    pki = tmp_path_factory.mktemp("pki")
    ca, _ = ensure_ca(pki)
    server = issue_server(pki, ["127.0.0.1"])
    return ca, server.cert, server.key


@pytest.fixture(params=["uvloop-http", "uvloop-https", "asyncio-https", "uvloop-hubtls"])
def server(request: pytest.FixtureRequest, certs: tuple[Path, Path, Path]) -> Iterator[Server]:
    """The protocol over plain HTTP, over uvicorn's TLS on both loops, and over the hub's
    own TLS layer (``tls_protocol``, as `casebridge serve` runs it)."""
    loop, scheme = request.param.split("-")
    port = free_port()
    tls: dict[str, Any] = {"http": HubHttpProtocol}
    verify: ssl.SSLContext | bool = False
    if scheme != "http":
        ca, cert, key = certs
        verify = ssl.create_default_context(cafile=str(ca))
        if scheme == "https":
            tls.update(ssl_certfile=str(cert), ssl_keyfile=str(key))
        else:
            tls["http"] = tls_protocol(server_context(str(cert), str(key)))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, loop=loop,
        log_config=None, access_log=False, lifespan="on", **tls,
    )  # fmt: skip
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        assert thread.is_alive(), "server did not start"
        time.sleep(0.02)
    SEEN.clear()
    yield Server(f"{'http' if scheme == 'http' else 'https'}://127.0.0.1:{port}", port, verify)
    srv.should_exit = True
    thread.join(10)


def _answer(body: bytes) -> str:
    return f"{hashlib.sha256(body).hexdigest()} {len(body)}"


def test_a_body_the_app_has_not_started_reading_is_read_ahead_64_kib_not_2_mib(
    server: Server,
) -> None:
    # The app waits 0.5 s before its first receive(), as a pack waiting for a slot of the
    # hub does; what the protocol read ahead meanwhile is what that first receive() gets.
    # Before the 64 KiB mark it was about 1 MiB (BODY_MESSAGE; 2 MiB were read ahead).
    body = os.urandom(4 << 20)
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as http:
        r = http.post("/slow", content=body)
        assert r.status_code == 200
        assert r.text == _answer(body)  # and the rest came whole once reading began
        assert http.get("/next").text == "ok"
    assert SEEN[0]["size"] == len(body)
    assert 0 < SEEN[0]["first"] <= BODY_WAIT_HIGH_WATER + READ_BUFFER
    assert SEEN[0]["largest"] > BODY_WAIT_HIGH_WATER + READ_BUFFER  # full speed afterwards


def test_long_bodies_arrive_whole_in_bounded_messages_and_keep_alive_still_works(
    server: Server,
) -> None:
    small = os.urandom(1000)
    exact = os.urandom(BODY_MESSAGE)  # exactly one message
    long = os.urandom(3 * BODY_MESSAGE + 12345)
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as http:
        for body in (long, small, exact, long, b""):
            r = http.post("/hash", content=body)
            assert r.status_code == 200
            assert r.text == _answer(body)
        assert http.get("/next").text == "ok"  # the same connection
    assert [s["size"] for s in SEEN] == [len(long), 1000, BODY_MESSAGE, len(long), 0]
    assert SEEN[0]["messages"] >= 3  # bounded messages, not one body of 3 MiB
    assert SEEN[0]["largest"] <= BODY_MESSAGE + 256 * 1024


def test_a_chunked_long_body_arrives_intact(server: Server) -> None:
    body = os.urandom(2 * BODY_MESSAGE + 7)

    def pieces() -> Iterator[bytes]:
        for i in range(0, len(body), 100_000):
            yield body[i : i + 100_000]

    with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as http:
        r = http.post("/hash", content=pieces())  # no Content-Length: chunked
        assert r.text == _answer(body)
        assert http.get("/next").text == "ok"


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the body pieces httptools handed over (a taken body has none)."""
    sizes: list[int] = []
    on_body = hub_tls.PeerCertHttpToolsProtocol.on_body

    def counted(self: hub_tls.PeerCertHttpToolsProtocol, body: bytes) -> None:
        sizes.append(len(body))
        on_body(self, body)

    monkeypatch.setattr(hub_tls.PeerCertHttpToolsProtocol, "on_body", counted)
    return sizes


def test_a_long_body_comes_as_views_of_slabs_that_are_reused(
    server: Server, parsed: list[int]
) -> None:
    """A Content-Length body of BODY_TAKEN_FROM bytes or more is taken past httptools:
    copied once into 1 MiB slabs and handed over as views of them, never joined; the
    slabs are reused once the application has let go of its views, so their number
    follows the bodies in flight, not how many or how long they are (see take_body)."""
    long = os.urandom(5 * BODY_MESSAGE + 4321)
    shorter = os.urandom(BODY_TAKEN_FROM)
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as http:
        for body in (long, shorter, long, long, long):
            assert http.post("/hash", content=body).text == _answer(body)
        made = int(http.get("/slabs").text)
    # 21 MiB received: at most the 2 MiB that may wait unread, the slab being filled and
    # the one the application holds (how many of those were ever at once varies by a slab)
    assert 1 <= made <= BODY_HIGH_WATER // BODY_MESSAGE + 2
    assert parsed == []  # nothing went through httptools' body callback
    # what came before the application's first receive() is copied as it is (a few KiB)
    assert all("memoryview" in s["kinds"] for s in SEEN)
    assert all(s["largest"] <= BODY_MESSAGE for s in SEEN)


def test_a_body_under_the_mark_goes_through_the_parser(server: Server, parsed: list[int]) -> None:
    body = os.urandom(BODY_TAKEN_FROM - 1)
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as http:
        assert http.post("/hash", content=body).text == _answer(body)
    assert sum(parsed) == len(body)
    assert SEEN[0]["kinds"] == {"bytes"}


@pytest.mark.parametrize("cut", [-4, -3, -2, -1, 0, 1])
def test_a_head_whose_end_straddles_two_reads_still_has_its_body_taken(
    server: Server, cut: int, parsed: list[int]
) -> None:
    """The head is sent in two writes cut around its CRLF CRLF (``cut`` bytes from its
    end), then the body, then a second request: both answered, the body taken whole."""
    body = os.urandom(BODY_TAKEN_FROM + 77)
    head = b"POST /hash HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
    at = len(head) + cut
    wire = head + body + b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n"
    with _connect(server) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(wire[:at])
        time.sleep(0.05)  # a read of its own on the server (most of the time)
        sock.sendall(wire[at:])
        got = _read_responses(sock, 2)
    assert got == [_answer(body).encode(), b"ok"]
    assert parsed == []  # taken past the parser, wherever the head's end fell


def test_a_long_form_goes_through_the_parser_as_bytes(server: Server) -> None:
    body = os.urandom(BODY_MESSAGE)
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as http:
        r = http.post(
            "/hash", content=body, headers={"Content-Type": "multipart/form-data; boundary=x"}
        )
        assert r.text == _answer(body)
    assert SEEN[0]["kinds"] == {"bytes"}  # form parsers index and search their pieces


def test_an_early_answer_leaves_the_connection_usable(server: Server) -> None:
    body = os.urandom(BODY_MESSAGE + 99)
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as http:
        assert http.post("/reject", content=body).status_code == 413
        r = http.post("/hash", content=body)
        assert r.text == _answer(body)


def _connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    if isinstance(server.verify, ssl.SSLContext):
        return server.verify.wrap_socket(sock, server_hostname="127.0.0.1")
    return sock


def _read_responses(sock: socket.socket, count: int) -> list[bytes]:
    """The bodies of ``count`` responses with Content-Length, read off one connection."""
    data, bodies = b"", []
    while len(bodies) < count:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode("latin-1").lower()
            length = int(head.split("content-length:")[1].split("\r\n")[0])
            if len(data) >= head_end + 4 + length:
                bodies.append(data[head_end + 4 : head_end + 4 + length])
                data = data[head_end + 4 + length :]
                continue
        chunk = sock.recv(65536)
        assert chunk, "connection closed early"
        data += chunk
    return bodies


def test_pipelined_requests_after_a_long_body_are_parsed(server: Server) -> None:
    body = os.urandom(BODY_MESSAGE + 4321)
    wire = (
        b"POST /hash HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body
        + b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n"
        + b"POST /hash HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
    )
    with _connect(server) as sock:
        sock.sendall(wire)  # all three at once: the second arrives behind the long body
        got = _read_responses(sock, 3)
    assert got == [_answer(body).encode(), b"ok", _answer(b"abc").encode()]


def test_a_client_vanishing_mid_body_is_a_disconnect(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(b"POST /hash HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (8 << 20))
        sock.sendall(os.urandom(3 * BODY_MESSAGE))
    deadline = time.monotonic() + 10
    while not SEEN and time.monotonic() < deadline:
        time.sleep(0.02)
    assert SEEN
    assert SEEN[0].get("disconnected")
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as http:
        assert http.get("/next").text == "ok"


def test_received_bytes_come_through_the_lent_buffer(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over TLS too, the transport decrypts into the buffer the protocol lends it, rather
    than calling ``data_received`` with a ``bytes`` made per record: that churn is what grew
    the hub's heap with every GB received (see HubHttpProtocol). A subclass of
    ``asyncio.Protocol`` would silently lose this; this test would then fail."""
    counted = {"lent": 0, "copied": 0}
    lent, copied = HubHttpProtocol.buffer_updated, HubHttpProtocol.data_received

    def buffer_updated(self: HubHttpProtocol, nbytes: int) -> None:
        counted["lent"] += nbytes
        lent(self, nbytes)

    def data_received(self: HubHttpProtocol, data: bytes) -> None:
        counted["copied"] += len(data)
        copied(self, data)

    monkeypatch.setattr(HubHttpProtocol, "buffer_updated", buffer_updated)
    monkeypatch.setattr(HubHttpProtocol, "data_received", data_received)
    body = os.urandom(2 * BODY_MESSAGE + 777)
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as http:
        r = http.post("/hash", content=body)
    assert r.text == _answer(body)
    assert counted["copied"] == 0
    assert counted["lent"] > len(body)  # the body and the request's head


class _Transport:
    """Records what is written; answers one other attribute (delegation)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return False


def test_a_large_write_reaches_a_tls_transport_one_record_at_a_time() -> None:
    """Why a TLS transport gets records, not pages: see ``hub.tls._RecordWrites`` (a worker
    serving over TLS grew with every download when handed whole pages)."""
    inner = _Transport()
    wrapped: Any = hub_tls._RecordWrites(inner)  # type: ignore[arg-type]
    page = os.urandom(3 * TLS_RECORD + 5)
    wrapped.write(page)
    wrapped.write(b"small")
    assert [len(w) for w in inner.writes] == [TLS_RECORD] * 3 + [5, 5]
    assert b"".join(inner.writes) == page + b"small"
    assert wrapped.is_closing() is False  # everything else is the transport's


def test_responses_go_out_in_records_over_tls_only(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrapped = {"writes": 0}
    write = hub_tls._RecordWrites.write

    def counted(self: Any, data: bytes | memoryview) -> None:
        wrapped["writes"] += 1
        write(self, data)

    monkeypatch.setattr(hub_tls._RecordWrites, "write", counted)
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as http:
        r = http.get("/big")
        assert r.content == BIG
        assert http.get("/big").content == BIG  # and the connection goes on
    if server.url.startswith("https"):
        assert wrapped["writes"] >= 4  # each response: its head and its body
    else:  # plain sockets take whole buffers: no wrapper
        assert wrapped["writes"] == 0


@pytest.mark.parametrize("split", range(1, 5))
def test_the_end_of_a_head_is_found_across_two_reads(split: int) -> None:
    """``_head_end`` with the first ``split`` bytes of CRLF CRLF fed in an earlier read."""
    proto: Any = HubHttpProtocol.__new__(HubHttpProtocol)
    proto._raw = bytearray(64)
    proto._buf = memoryview(proto._raw)
    proto._tail = (b"Host: x" + b"\r\n\r\n"[:split])[-3:]  # the last 3 bytes fed
    rest = b"\r\n\r\n"[split:] + b"body"
    proto._raw[: len(rest)] = rest
    expected = 4 - split if split < 4 else -1  # all four already fed: found back then
    assert proto._head_end(0, len(rest)) == expected
