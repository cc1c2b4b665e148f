"""Sending and receiving dossiers over HTTP(S): the gateway's side of the transfer.

Push: post the manifest, learn which pages the hub lacks, send them in packs of ``pack_bytes``
on ``parallel`` connections; each pack's answer means its pages are verified and durable at
the hub. Killed midway, a rerun posts the manifest again and the hub answers only what it
still lacks: at most the packs that were in flight travel twice.

Pull: stream the concatenated page bytes, split them by the manifest's sizes, verify each
page's hash before it is renamed into place. The pages are cut into ``parallel`` contiguous
ranges of about equal bytes, each streamed on its own connection (HTTP Range) by its own
thread. A broken stream resumes with HTTP Range at its first unverified page; a page the hub
cannot serve (its stored blob fails authentication) is named by dossier, volume, document
and page.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import queue
import ssl
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from casebridge.domain.dossier import (
    EXTENSION_SCHEMA,
    Manifest,
    Page,
    PagePlan,
    PageRef,
    Volume,
    extends,
    manifest_from_file,
    volume_to_dict,
)
from casebridge.domain.dossier_pack import FRAME_HEADER, MEDIA_TYPE, frame_header
from casebridge.domain.page_bits import count_set
from casebridge.errors import (
    AuthenticationRequired,
    CasebridgeError,
    Conflict,
    CorruptData,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Problem,
    Said,
)
from casebridge.gateway.dossier_folder import (
    MANIFEST_NAME,
    hash_file,
    mark_bits,
    mark_pages,
    marked_pages,
    marked_sizes,
    page_path,
    volume_dir,
    write_manifest,
)
from casebridge.i18n import N_, accept_language
from casebridge.native import sha256 as native_sha256
from casebridge.native.sha256 import digests as sha256_digests
from casebridge.shelf import FileShelf

__all__ = ["HubClient", "PullResult", "PushResult"]

Progress = Callable[[int, int], None]  # (pages, bytes) just done
_ERRORS: dict[int, type[CasebridgeError]] = {
    401: AuthenticationRequired,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
}


@dataclass
class PushResult:
    dossier_id: str
    merkle_root: str
    pages_total: int
    pages_missing_at_start: int
    pages_sent: int = 0
    bytes_sent: int = 0
    packs_sent: int = 0
    status: str = "receiving"
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PullResult:
    dossier_id: str
    merkle_root: str
    pages: int = 0
    pages_reused: int = 0
    bytes: int = 0
    resumed: int = 0
    seconds: float = 0.0
    folder: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _added_volumes(manifest: Manifest, base: Manifest | None) -> tuple[Volume, ...] | None:
    """The volumes ``manifest`` adds to ``base``, if it is a child version of it."""
    if base is None or not base.root or manifest.parent != base.root:
        return None
    k = len(base.volumes)
    if len(manifest.volumes) <= k or not extends(manifest, base):
        return None
    return tuple(manifest.volumes[k:])


def _raise_for(resp: httpx.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        body = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = {}
    detail = body.get("detail") or body.get("title") or f"HTTP {resp.status_code}"
    problems = [
        Problem(str(p.get("field", "")), str(p.get("message", "")), p.get("code"), p.get("rule"))
        for p in body.get("problems", [])
        if isinstance(p, dict)
    ]
    kind = _ERRORS.get(resp.status_code)
    if kind is None and body.get("type", "").endswith(":corrupt-data"):
        kind = CorruptData
    raise (kind or CasebridgeError)(
        N_("hub: {detail}"), problems=problems, params={"detail": detail}
    )


class _Throttle:
    """A bandwidth limit shared by all connections (like rsync --bwlimit)."""

    def __init__(self, bytes_per_second: float | None) -> None:
        self.rate = bytes_per_second
        self.start = time.monotonic()
        self.sent = 0
        self.lock = threading.Lock()

    def take(self, n: int) -> None:
        if not self.rate:
            return
        with self.lock:
            self.sent += n
            due = self.start + self.sent / self.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class HubClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        verify: bool | str = True,
        timeout: float = 120.0,
        parallel: int = 4,
        lang: str = "en",
    ) -> None:
        """``lang``: the language the hub's error messages come back in (Accept-Language)."""
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept-Language": accept_language(lang)},
            verify=verify,
            timeout=timeout,
            limits=httpx.Limits(max_connections=parallel + 2),
        )
        self.parallel = parallel
        self._base = httpx.URL(base_url.rstrip("/"))
        self._token = token
        self._verify = verify
        self._timeout = timeout

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- metadata -------------------------------------------------------------------------

    def register(self, manifest: Manifest) -> dict[str, Any]:
        conn = self._bulk_connection()
        try:
            return self._register_on(lambda: conn, lambda _: None, manifest, bits=False)
        finally:
            conn.close()

    def status(
        self, dossier_id: str, root: str | None = None, *, bits: bool = False
    ) -> dict[str, Any]:
        """The hub's status of a version (the latest if ``root`` is None); ``bits``: the
        missing pages as ``missing_bits`` and ``missing_count`` instead of a list of hashes
        (what a push's last question and ``dossier show`` need: the count)."""
        path = f"/api/v1/dossiers/{dossier_id}"
        resp = self.http.get(
            path if root is None else f"{path}/versions/{root}",
            params={"missing": "bits"} if bits else None,
        )
        _raise_for(resp)
        data: dict[str, Any] = resp.json()
        return data

    def manifest(self, dossier_id: str, root: str | None = None) -> Manifest:
        if root is None:
            root = str(self.status(dossier_id, bits=True)["merkle_root"])
        # Spooled to a file, parsed one volume at a time, each volume shelved as it is parsed
        # (manifest_from_file): this process never holds the manifest whole.
        with (
            tempfile.SpooledTemporaryFile(max_size=1 << 16) as tmp,
            self.http.stream(
                "GET", f"/api/v1/dossiers/{dossier_id}/versions/{root}/manifest"
            ) as resp,
        ):
            if resp.status_code >= 400:
                resp.read()
                _raise_for(resp)
            for chunk in resp.iter_bytes():
                tmp.write(chunk)
            tmp.seek(0)
            manifest, _ = manifest_from_file(tmp, shelf=FileShelf())
        if manifest is None or manifest.root != root:
            raise CorruptData(
                N_("hub sent a manifest for {dossier} that does not match {root}"),
                params={"dossier": dossier_id, "root": root},
            )
        return manifest

    def verify_remote(self, dossier_id: str, root: str, *, repair: bool = False) -> dict[str, Any]:
        """The hub checks every stored page of a version; ``repair``: it forgets the pages
        found altered, so that pushing the version again sends them."""
        resp = self.http.post(
            f"/api/v1/dossiers/{dossier_id}/versions/{root}/verify",
            params={"repair": "true"} if repair else None,
            timeout=None,  # thousands of pages decrypted and hashed before the answer
        )
        _raise_for(resp)
        data: dict[str, Any] = resp.json()
        return data

    # --- push -----------------------------------------------------------------------------

    def push(
        self,
        folder: Path,
        manifest: Manifest,
        *,
        pack_bytes: int = 64 << 20,
        bwlimit: float | None = None,
        on_pack: Callable[[int, int, PushResult], None] | None = None,
        on_bytes: Progress | None = None,
        base: Manifest | None = None,
    ) -> PushResult:
        """Send a version: register it, then upload the pages the hub lacks, in packs.

        ``base``: the version it extends, as this side holds it (the received manifest).
        The version is then registered as what it adds to it — a few new volumes, not
        thousands of pages the hub holds already.
        """
        started = time.perf_counter()
        # The manifest and the packs go through http.client connections kept alive and
        # shared in a small pool: the first pack rides the manifest's connection, so it
        # reaches the hub worker that has just parsed the manifest (a forwarded version
        # with 20 new pages is one manifest and one pack).
        idle: queue.SimpleQueue[http.client.HTTPConnection] = queue.SimpleQueue()
        opened: list[http.client.HTTPConnection] = []
        lock = threading.Lock()

        def take() -> http.client.HTTPConnection:
            try:
                return idle.get_nowait()
            except queue.Empty:
                conn = self._bulk_connection()
                with lock:
                    opened.append(conn)
                return conn

        try:
            answer = self._register_on(take, idle.put, manifest, base)
            return self._push_packs(
                folder, manifest, answer, take, idle.put, started, pack_bytes, bwlimit,
                on_pack, on_bytes,
            )  # fmt: skip
        finally:
            for conn in opened:
                conn.close()

    def _register_on(
        self,
        take: Callable[[], http.client.HTTPConnection],
        give: Callable[[http.client.HTTPConnection], None],
        manifest: Manifest,
        base: Manifest | None = None,
        *,
        bits: bool = True,
    ) -> dict[str, Any]:
        """Register ``manifest`` (as what it adds to ``base`` where it can); ``bits``: ask
        for the missing pages as one bit a page (``missing_bits``) rather than as hashes."""
        prefix = self._base.raw_path.decode().rstrip("/") + "/api/v1/dossiers"
        added = _added_volumes(manifest, base)
        body: bytes | Iterable[bytes]
        if added is None:  # sent volume by volume, never joined (thousands of pages)
            path, body = prefix, manifest.canonical_chunks()
            length = sum(len(c) for c in manifest.canonical_chunks())
        else:
            path = f"{prefix}/{manifest.dossier_id}/versions/{manifest.parent}/children"
            body = json.dumps(
                {
                    "schema": EXTENSION_SCHEMA,
                    "title": manifest.title,
                    "volumes": [volume_to_dict(v) for v in added],
                    "merkle_root": manifest.root,
                },
                ensure_ascii=False,
            ).encode("utf-8")
            length = len(body)
        if bits:
            path += "?missing=bits"
        conn = take()
        try:
            conn.request(
                "POST",
                path,
                body=body,
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Content-Type": "application/json",
                    "Content-Length": str(length),
                },
            )
            resp = conn.getresponse()
            status, headers, content = resp.status, resp.getheaders(), resp.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise CasebridgeError(
                N_("hub connection failed while registering: {error}"), params={"error": exc}
            ) from None
        give(conn)
        _raise_for(httpx.Response(status, headers=headers, content=content))
        data: dict[str, Any] = json.loads(content)
        return data

    def _push_packs(
        self,
        folder: Path,
        manifest: Manifest,
        answer: dict[str, Any],
        take: Callable[[], http.client.HTTPConnection],
        give: Callable[[http.client.HTTPConnection], None],
        started: float,
        pack_bytes: int,
        bwlimit: float | None,
        on_pack: Callable[[int, int, PushResult], None] | None,
        on_bytes: Progress | None,
    ) -> PushResult:
        # What the hub lacks, as one bit per page (as the hub answers). A pack is planned as
        # a run of pages and its pages are made again as it is sent: this side holds no list
        # of pages, not even of the packs in flight.
        if "missing_bits" in answer:
            bits = mark_bits(manifest, answer.pop("missing_bits"))
        else:  # a hub that answers with hashes only
            bits = mark_pages(manifest, answer.pop("missing"))
        missing = count_set(bits)
        result = PushResult(manifest.dossier_id, manifest.root, manifest.page_count, missing)
        packs = _packs(marked_sizes(manifest, bits), pack_bytes)
        url = f"/api/v1/dossiers/{manifest.dossier_id}/versions/{manifest.root}/packs"
        throttle = _Throttle(bwlimit)
        lock = threading.Lock()
        complete_seen: list[bool] = []

        # Each page is read into a reused buffer and handed to the socket as is (httpx
        # copied every piece of the body on its way, which cost this client more than TLS).
        local = threading.local()
        target = self._base.raw_path.decode().rstrip("/") + url

        def buffer(size: int) -> memoryview:
            buf: bytearray | None = getattr(local, "buf", None)
            if buf is None or len(buf) < size:
                buf = local.buf = bytearray(max(size, 1 << 20))
            return memoryview(buf)[:size]

        def post(pack: _Pack, length: int) -> tuple[int, list[tuple[str, str]], bytes]:
            conn = take()
            try:
                conn.putrequest("POST", target, skip_accept_encoding=True)
                conn.putheader("Authorization", f"Bearer {self._token}")
                conn.putheader("Content-Type", MEDIA_TYPE)
                conn.putheader("Content-Length", str(length))
                conn.endheaders()
                for _, path, h, size in marked_pages(folder, manifest, bits, pack.first, pack.stop):
                    # The frame's header and its page go out in one send: one write and one
                    # run of TLS records, not a 40-byte record of its own per page.
                    view = buffer(FRAME_HEADER + size)
                    view[:FRAME_HEADER] = frame_header(h, size)
                    with open(path, "rb", buffering=0) as fh:
                        got = fh.readinto(view[FRAME_HEADER:])
                        if got != size or fh.read(1):
                            raise CorruptData(
                                N_("{path} changed since it was packed (size)"),
                                params={"path": path},
                            )
                    throttle.take(FRAME_HEADER + size)
                    conn.send(view)
                    if on_bytes:
                        on_bytes(0, size)
                resp = conn.getresponse()
                reply = resp.status, resp.getheaders(), resp.read()
            except BaseException:
                conn.close()  # a half-sent request: this connection cannot be reused
                raise
            give(conn)
            return reply

        def send(pack: _Pack) -> None:
            length = pack.nbytes + FRAME_HEADER * pack.count
            try:
                status, headers, content = post(pack, length)
            except (OSError, http.client.HTTPException) as exc:
                raise CasebridgeError(
                    N_("hub connection failed while sending a pack: {error}"),
                    params={"error": exc},
                ) from None
            _raise_for(httpx.Response(status, headers=headers, content=content))
            ack = json.loads(content)
            with lock:
                result.pages_sent += pack.count
                result.bytes_sent += length
                result.packs_sent += 1
                result.status = ack["status"]
                if ack["status"] == "complete":
                    complete_seen.append(True)
                if on_pack:
                    on_pack(pack.count, length, result)

        sent = 0
        with ThreadPoolExecutor(self.parallel) as pool:
            inflight: deque[Future[None]] = deque()
            for pack in packs:  # at most two packs per connection planned ahead
                inflight.append(pool.submit(send, pack))
                sent += 1
                if len(inflight) >= 2 * self.parallel:
                    inflight.popleft().result()
            for fut in inflight:
                fut.result()
        if complete_seen:  # an acknowledgement saw every page held: that is final
            result.status = "complete"
        elif sent:
            # Two packs acknowledged at once each see the other's pages uncommitted; the
            # version's status is derived from the pages held, so ask once all are in.
            result.status = str(
                self.status(manifest.dossier_id, manifest.root, bits=True)["status"]
            )
        else:
            result.status = answer["status"]
        result.seconds = time.perf_counter() - started
        return result

    # --- pull -----------------------------------------------------------------------------

    def pull(
        self,
        dossier_id: str,
        out: Path,
        *,
        root: str | None = None,
        documents: list[tuple[int, int]] | None = None,
        on_progress: Progress | None = None,
        retries: int = 3,
        streams: int | None = None,
    ) -> PullResult:
        """Receive the chosen pages into ``out``, every page verified, in ``streams`` (default
        ``parallel``) ranges at once; ``on_progress`` is called from their threads, one call
        at a time.

        One stream kept one thread busy with TLS, SHA-256 and the file writes while the other
        core waited on it: two to four streams took 2.9–3.2 s for 1.2 GB where one took
        3.4–3.6 (`bench/RESULTS.md`).
        """
        started = time.perf_counter()
        manifest = self.manifest(dossier_id, root)
        out.mkdir(parents=True, exist_ok=True)
        chosen = manifest.select(documents or None)
        result = PullResult(dossier_id, manifest.root, folder=str(out))
        for vi, title in enumerate(manifest.volume_titles, 1):
            (out / volume_dir(vi, title)).mkdir(parents=True, exist_ok=True)
        query = {"documents": ",".join(f"{v}.{d}" for v, d in documents)} if documents else None
        url = f"/api/v1/dossiers/{dossier_id}/versions/{manifest.root}/content"
        lock = threading.Lock()
        stopped = threading.Event()

        def progress(pages: int, nbytes: int) -> None:
            if stopped.is_set():  # another stream failed, or Ctrl-C: stop after this page
                raise _Stopped
            if on_progress is not None:
                with lock:
                    on_progress(pages, nbytes)

        ranges = _ranges(chosen, streams or self.parallel)
        parts = [PullResult(dossier_id, manifest.root) for _ in ranges]
        running: list[Future[None]] = []
        pool = ThreadPoolExecutor(max(1, len(ranges)), thread_name_prefix="pull")
        try:
            for (lo, hi), part in zip(ranges, parts, strict=True):
                running.append(
                    pool.submit(
                        self._pull_range,
                        url,
                        query,
                        manifest,
                        chosen,
                        lo,
                        hi,
                        out,
                        part,
                        progress,
                        retries,
                    )
                )
            wait(running, return_when=FIRST_EXCEPTION)
        finally:
            stopped.set()  # all done, one failed, or interrupted: the rest stop at a page
            pool.shutdown(wait=True)
        for fut in running:  # the first range's own error (not a stop it caused) first
            error = fut.exception()
            if error is not None and not isinstance(error, _Stopped):
                raise error
        for part in parts:
            result.pages += part.pages
            result.pages_reused += part.pages_reused
            result.bytes += part.bytes
            result.resumed += part.resumed
        write_manifest(manifest, out / MANIFEST_NAME)
        result.seconds = time.perf_counter() - started
        return result

    def _pull_range(
        self,
        url: str,
        query: dict[str, str] | None,
        manifest: Manifest,
        chosen: PagePlan,
        index: int,
        stop: int,
        out: Path,
        result: PullResult,
        on_progress: Progress,
        retries: int,
    ) -> None:
        """Pages ``index`` to ``stop`` (excluded) of the plan, on one connection."""
        # Pages already here and intact are kept (a rerun after an interruption).
        while index < stop:
            ref, page = chosen[index]
            if not _intact(page_path(out, ref, manifest), page):
                break
            index += 1
            result.pages_reused += 1
        attempts = 0
        whole = (0, len(chosen))
        while index < stop:
            writer = _PageWriter(out, manifest, chosen, index, stop, result, on_progress)
            headers = {}
            if (index, stop) != whole:
                headers["Range"] = f"bytes={chosen.offset(index)}-{chosen.offset(stop) - 1}"
            try:
                self._receive(url, query, headers, writer)
            except _ShortBody as exc:  # a verified page is already on disk: resume after it
                index = writer.index
                ref, page = chosen[index]
                self._diagnose(manifest.dossier_id, manifest.root, ref, page)
                attempts += 1
                result.resumed += 1
                if attempts > retries:
                    raise CasebridgeError(
                        N_("pull of {dossier} failed at {ref}: {reason}"),
                        params={"dossier": manifest.dossier_id, "ref": ref, "reason": exc},
                    ) from None
                continue
            index = writer.index

    def _diagnose(self, dossier_id: str, root: str, ref: PageRef, page: Page) -> None:
        """After a broken stream: is it the network, or is the hub's copy of this page bad?"""
        resp = self.http.get(f"/api/v1/dossiers/{dossier_id}/versions/{root}/pages/{page.sha256}")
        if resp.status_code >= 400:
            try:
                _raise_for(resp)
            except CorruptData as exc:
                raise CorruptData(
                    N_("{ref}: the hub's stored copy failed verification ({reason})"),
                    params={"ref": ref, "reason": exc.message},
                ) from None

    def _bulk_connection(self) -> http.client.HTTPConnection:
        """A plain ``http.client`` connection for the download stream.

        The metadata calls go through httpx; the dossier's bytes do not: httpx (h11) hands
        the body over in 64 KiB ``bytes`` that it has copied twice, which cost this client
        more CPU than TLS and hashing together (~4 CPU-s per 1.2 GB against ~1.3 with
        ``readinto`` into one reused buffer; `bench/RESULTS.md`).
        """
        host, port = self._base.host, self._base.port
        if self._base.scheme == "https":
            if self._verify is False:
                ctx = ssl._create_unverified_context()  # noqa: S323 - the caller asked for it
            elif isinstance(self._verify, str):
                ctx = ssl.create_default_context(cafile=self._verify)
            else:
                ctx = ssl.create_default_context()
            return http.client.HTTPSConnection(
                host, port or 443, context=ctx, timeout=self._timeout
            )
        return http.client.HTTPConnection(host, port or 80, timeout=self._timeout)

    def _receive(
        self, url: str, query: dict[str, str] | None, headers: dict[str, str], writer: _PageWriter
    ) -> None:
        target = self._base.raw_path.decode().rstrip("/") + url
        if query:
            target += "?" + urlencode(query)
        conn = self._bulk_connection()
        try:
            try:
                conn.request(
                    "GET", target, headers={"Authorization": f"Bearer {self._token}", **headers}
                )
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                raise _ShortBody(Said(N_("connection failed: {error}"), error=exc)) from None
            if resp.status >= 400:
                _raise_for(
                    httpx.Response(resp.status, headers=resp.getheaders(), content=resp.read())
                )
            length = int(resp.getheader("Content-Length") or -1)
            if length < 0 or resp.chunked:
                raise CasebridgeError(N_("hub answered the download without a Content-Length"))
            # http.client parsed the head; the body is read here, straight from the socket
            # into each page's buffer (first what http.client had already buffered).
            early = resp.fp.read1(min(length, 1 << 16)) if length else b""
            sock = conn.sock
            assert sock is not None

            def recv_into(view: memoryview) -> int:
                try:
                    return int(sock.recv_into(view))
                except OSError as exc:
                    raise _ShortBody(Said(N_("stream broken: {error}"), error=exc)) from None

            writer.take(recv_into, early, length)
            if writer.index < writer.stop:
                raise _ShortBody(
                    Said(
                        N_("stream ended at page {page} of {pages}"),
                        page=writer.index + 1,
                        pages=len(writer.chosen),
                    )
                )
        finally:
            conn.close()


@dataclass(frozen=True, slots=True)
class _Pack:
    """The marked pages from index ``first`` to ``stop`` (excluded) of the manifest."""

    first: int
    stop: int
    count: int  # pages sent
    nbytes: int  # their bytes, without the frames' headers


def _packs(pages: Iterable[tuple[int, int]], pack_bytes: int) -> Iterator[_Pack]:
    """Pages (index, size: :func:`marked_sizes`) grouped in order into packs of at most
    ``pack_bytes`` (or one larger page)."""
    first = count = nbytes = 0
    stop = 0
    for i, size in pages:
        if count and nbytes + size > pack_bytes:
            yield _Pack(first, stop, count, nbytes)
            count = nbytes = 0
        if not count:
            first = i
        count += 1
        nbytes += size
        stop = i + 1
    if count:
        yield _Pack(first, stop, count, nbytes)


def _ranges(chosen: PagePlan, streams: int) -> list[tuple[int, int]]:
    """The plan cut into at most ``streams`` contiguous, non-empty runs of pages of about
    equal bytes: (first page, page after the last)."""
    count, total = len(chosen), chosen.length
    cuts = sorted({0, count, *(chosen.index_at(total * i // streams) for i in range(1, streams))})
    return [(lo, hi) for lo, hi in itertools.pairwise(cuts) if lo < hi]


class _Stopped(Exception):
    """A pull stream told to stop (another failed, or the user interrupted the pull)."""


class _ShortBody(Exception):
    """A download cut short (resumed from the first unverified page); says why in the
    reader's language too, as the ``reason`` of the error a final failure raises."""

    def __init__(self, message: Said) -> None:
        super().__init__(message)
        self.message = message

    def localized(self, lang: str) -> str:
        return self.message.localized(lang)


def _intact(path: Path, page: Page) -> bool:
    try:
        if path.stat().st_size != page.size:
            return False
    except FileNotFoundError:
        return False
    return hash_file(path) == (page.sha256, page.size)


class _PageWriter:
    """Receives the stream page by page into reused buffers; pages are hashed a batch at a
    time and each is written under its final name only if it matches the manifest.

    TLS decrypts straight into a page's buffer and SHA-256 reads it there. A batch is
    :data:`~casebridge.native.sha256.BATCH` pages (16 where the CPU lacks SHA-NI: hashed side
    by side; 1 elsewhere): what arrived whole is verified and kept even when the stream
    breaks, so a resumed range starts after it. Files are written through the page cache:
    O_DIRECT (as the hub's store does from its worker threads) would make this one thread
    wait for the disk at every page.
    """

    def __init__(
        self,
        out: Path,
        manifest: Manifest,
        chosen: PagePlan,
        index: int,
        stop: int,
        result: PullResult,
        on_progress: Progress | None,
    ) -> None:
        self.out, self.manifest, self.chosen = out, manifest, chosen
        self.index, self.stop, self.result, self.on_progress = index, stop, result, on_progress
        # One buffer of the dossier's largest page per page of a batch, made once: grown
        # page by page instead, they made this process larger the more pages it received.
        # A batch is at most native_sha256.BATCH_BYTES (fewer, larger pages; one at least).
        sizes = (max(d.pages.sizes(), default=0) for v in manifest.volumes for d in v.documents)
        largest = max(1, max(sizes, default=0))
        slots = max(1, min(native_sha256.BATCH, native_sha256.BATCH_BYTES // largest))
        self._bufs = [bytearray(largest) for _ in range(slots)]
        self._held: list[tuple[PageRef, Page, memoryview]] = []
        self._dirs = {
            vi: str(out / volume_dir(vi, title))
            for vi, title in enumerate(manifest.volume_titles, 1)
        }

    def take(self, recv_into: Callable[[memoryview], int], early: bytes, length: int) -> None:
        """Read ``length`` bytes of pages from ``recv_into`` (after ``early``, already read)."""
        pending = memoryview(early)
        left = length
        try:
            while left and self.index + len(self._held) < self.stop:
                ref, page = self.chosen[self.index + len(self._held)]
                size = page.size
                if size > left:
                    raise CorruptData(
                        N_("{ref}: the hub's answer ends inside this page"), params={"ref": ref}
                    )
                buf = memoryview(self._bufs[len(self._held)])[:size]
                got = min(len(pending), size)
                buf[:got] = pending[:got]
                pending = pending[got:]
                while got < size:
                    n = recv_into(buf[got:size])
                    if n == 0:
                        raise _ShortBody(Said(N_("stream ended inside {ref}"), ref=ref))
                    got += n
                left -= size
                self._held.append((ref, page, buf))
                if len(self._held) == len(self._bufs):
                    self._finish()
        finally:
            self._finish()  # the pages that arrived whole, whatever stopped the stream
        if left or pending:
            raise CorruptData(N_("hub sent more bytes than the manifest lists"))

    def _finish(self) -> None:
        """Verify the held pages at once, then write them in order (stops at a bad one)."""
        held, self._held = self._held, []
        if not held:
            return
        hashes = sha256_digests([buf for _, _, buf in held])
        for (ref, page, buf), digest in zip(held, hashes, strict=True):
            if digest.hex() != page.sha256:
                raise CorruptData(
                    N_("{ref}: received bytes do not match the manifest's hash"),
                    params={"ref": ref},
                )
            final = f"{self._dirs[ref.volume]}/{ref.name}"
            part = final + ".part"
            try:
                with open(part, "wb", buffering=0) as fh:
                    fh.write(buf)
                os.replace(part, final)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(part)
                raise
            self.result.pages += 1
            self.result.bytes += page.size
            self.index += 1
            if self.on_progress:
                self.on_progress(1, page.size)
