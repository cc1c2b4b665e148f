"""One contract, every blob store: the filesystem store and the S3 store (against moto's
standalone S3 server, a real HTTP endpoint started here) behave the same."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from casebridge.blobs import BlobStore, FsBlobStore, S3BlobStore, SealedPages, SegmentBlobStore
from casebridge.errors import CorruptData, NotFound
from casebridge.security.crypto import SUITES, FileKek
from casebridge.slabs import Slabs
from tests.conftest import free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["segments", "segments-buffered", "fs", "fs-buffered", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "segments":  # the default; O_DIRECT where the filesystem allows it
        return SegmentBlobStore(tmp_path / "blobs")
    if request.param == "segments-buffered":
        return SegmentBlobStore(tmp_path / "blobs", direct=False)
    if request.param == "fs":  # one file per blob, the earlier layout
        return FsBlobStore(tmp_path / "blobs")
    if request.param == "fs-buffered":
        return FsBlobStore(tmp_path / "blobs", direct=False)
    endpoint = request.getfixturevalue("s3_endpoint")
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return S3BlobStore(f"b-{uuid.uuid4().hex[:12]}", client=client, create_bucket=True)


def _key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_put_then_get_returns_the_bytes(store: BlobStore) -> None:
    k = _key(b"one")
    assert store.put(k, b"stored one") is True
    store.sync()
    assert store.get(k) == b"stored one"
    assert store.exists(k)


def test_a_key_is_stored_once(store: BlobStore) -> None:
    k = _key(b"two")
    assert store.put(k, b"first") is True
    assert store.put(k, b"second") is False
    assert store.get(k) == b"first"
    assert list(store.keys()).count(k) == 1


def test_missing_key_is_not_found(store: BlobStore) -> None:
    with pytest.raises(NotFound):
        store.get(_key(b"absent"))
    assert not store.exists(_key(b"absent"))


def test_delete_removes_and_tolerates_absence(store: BlobStore) -> None:
    k = _key(b"three")
    store.put(k, b"x")
    store.delete(k)
    store.delete(k)
    assert not store.exists(k)


def test_keys_lists_every_blob(store: BlobStore) -> None:
    keys = {_key(bytes([i])) for i in range(5)}
    for k in keys:
        store.put(k, b"v")
    store.sync()
    assert set(store.keys()) == keys


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "a" * 63, "g" * 64])
def test_keys_that_are_not_hashes_are_refused(store: BlobStore, bad: str) -> None:
    with pytest.raises(ValueError, match="64 lower-case hex"):
        store.put(bad, b"x")


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_sealed_pages_are_encrypted_at_rest_and_verified_on_read(
    store: BlobStore, tmp_path: Path, suite: str
) -> None:
    pages = SealedPages(store, SUITES[suite], FileKek(tmp_path / "kek.key", SUITES[suite]))
    data = b"scanned page " * 1000
    k = _key(data)
    pages.put(k, data)
    pages.sync()
    assert b"scanned page" not in store.get(k)
    assert pages.get(k, "page 1") == data
    raw = bytearray(store.get(k))
    raw[-5] ^= 0xFF
    store.delete(k)
    store.put(k, bytes(raw))
    with pytest.raises(CorruptData, match="page 1"):
        pages.get(k, "page 1")


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_pages_read_together_are_decrypted_into_one_slab(
    store: BlobStore, tmp_path: Path, suite: str
) -> None:
    """What a download serves: views of one slab per group, a page too large for the rest
    of it as bytes of its own, an altered page as its error with the others still served."""
    pages = SealedPages(store, SUITES[suite], FileKek(tmp_path / "kek.key", SUITES[suite]))
    data = [os.urandom(n) for n in (30_000, 50_000, 70_000, 20_000)]
    keys = [_key(d) for d in data]
    for k, d in zip(keys, data, strict=True):
        pages.put(k, d)
    pages.sync()
    raw = bytearray(store.get(keys[3]))
    raw[-5] ^= 0xFF
    store.delete(keys[3])
    store.put(keys[3], bytes(raw))
    slabs = Slabs(100_000)  # room for the first two pages only
    got = pages.get_many([(k, f"page {i}") for i, k in enumerate(keys)], into=slabs)
    assert [type(g).__name__ for g in got[:3]] == ["memoryview", "memoryview", "bytes"]
    assert got[0].obj is got[1].obj  # type: ignore[union-attr]
    assert [bytes(g) for g in got[:3]] == data[:3]  # type: ignore[arg-type]
    assert isinstance(got[3], CorruptData)
    assert "page 3" in got[3].message
    again = pages.get_many([(keys[0], "page 0")], into=slabs)
    assert len(slabs) == 2  # the first slab is still lent (got holds views of it)
    del got, again
    pages.get_many([(keys[0], "page 0")], into=slabs)
    assert len(slabs) == 2  # and reused once nothing refers to it


@pytest.mark.parametrize("direct", [True, False])
def test_fs_store_round_trips_sizes_around_the_alignment(tmp_path: Path, direct: bool) -> None:
    """O_DIRECT writes whole 4 KiB blocks and truncates: every size must come back exact."""
    fs = FsBlobStore(tmp_path / "blobs", direct=direct)
    for size in (0, 1, 4095, 4096, 4097, 300_001):
        data = bytes([size % 251]) * size
        k = _key(data + b"x")
        assert fs.put(k, data) is True
        fs.sync()
        assert fs.get(k) == data
        assert (tmp_path / "blobs" / k[:2] / k).stat().st_size == size


def test_fs_store_reads_blobs_of_the_two_level_layout(tmp_path: Path) -> None:
    """Blobs stored by earlier versions under ab/cd/<hash> are still found, not re-stored."""
    k = _key(b"legacy")
    old = tmp_path / "blobs" / k[:2] / k[2:4] / k
    old.parent.mkdir(parents=True)
    old.write_bytes(b"old bytes")
    fs = FsBlobStore(tmp_path / "blobs")
    assert fs.exists(k)
    assert fs.get(k) == b"old bytes"
    assert fs.put(k, b"new bytes") is False
    assert list(fs.keys()) == [k]
    fs.delete(k)
    assert not fs.exists(k)


def test_segment_store_shares_blobs_between_writers(tmp_path: Path) -> None:
    """Two hub worker processes are two writers on one folder: each finds what the other
    made durable (and only that), through the index they share."""
    a = SegmentBlobStore(tmp_path / "blobs")
    b = SegmentBlobStore(tmp_path / "blobs")
    k1, k2 = _key(b"one"), _key(b"two")
    assert a.put(k1, b"first page")
    assert not b.exists(k1)  # written, not yet durable: no record on disk yet
    a.sync()
    assert b.get(k1) == b"first page"
    assert b.put(k1, b"again") is False  # stored once
    assert b.put(k2, b"second page")
    b.sync()
    assert a.get(k2) == b"second page"
    a.delete(k1)
    assert not SegmentBlobStore(tmp_path / "blobs").exists(k1)
    assert list(SegmentBlobStore(tmp_path / "blobs").keys()) == [k2]


def test_segment_store_imports_the_index_files_of_earlier_versions(tmp_path: Path) -> None:
    """Stores written before the index moved into SQLite kept one append-only ``.idx`` file
    per writer: opening such a store imports them, once. A deletion record removes its blob;
    a torn last record (a crash mid-append) ends the import of its file there."""
    import struct
    import zlib

    segments = tmp_path / "blobs" / "segments"
    segments.mkdir(parents=True)
    one, two, gone = b"page one", b"page two" * 1000, b"deleted page"
    (segments / "w1-000001.seg").write_bytes(one.ljust(4096, b"\0") + two)
    rec = struct.Struct(">32sIQQI")

    def record(data: bytes, offset: int, kind: int = 0) -> bytes:
        packed = rec.pack(hashlib.sha256(data).digest(), 1, offset, len(data), kind)
        return packed + zlib.crc32(packed).to_bytes(4, "big")

    (segments / "w1.idx").write_bytes(
        record(one, 0)
        + record(gone, 0)
        + record(two, 4096)
        + record(gone, 0, kind=1)
        + record(b"torn", 0)[:59]
    )
    store = SegmentBlobStore(tmp_path / "blobs")
    assert store.get(_key(one)) == one
    assert store.get(_key(two)) == two
    assert list(store.keys()) == sorted([_key(one), _key(two)])
    store.delete(_key(one))
    store.close()
    again = SegmentBlobStore(tmp_path / "blobs")  # not imported twice: the deletion holds
    assert list(again.keys()) == [_key(two)]


def test_segment_store_closes_what_every_thread_opened(tmp_path: Path) -> None:
    """Each thread has its own index connection; ``close`` (from any thread) closes them
    all, after making what they wrote durable."""
    store = SegmentBlobStore(tmp_path / "blobs")
    k = _key(b"from a worker thread")
    worker = threading.Thread(target=store.put, args=(k, b"from a worker thread"))
    worker.start()
    worker.join()
    store.close()
    assert SegmentBlobStore(tmp_path / "blobs").get(k) == b"from a worker thread"


def test_segment_store_keeps_no_index_in_memory(tmp_path: Path) -> None:
    """A store that finds 2,000 blobs holds no more memory than one that finds 200: the
    index is looked up on disk (a hub holds every page it ever received)."""
    import gc
    import tracemalloc

    def held_after_finding(count: int) -> int:
        root = tmp_path / f"blobs-{count}"
        writer = SegmentBlobStore(root)
        keys = [_key(str(i).encode()) for i in range(count)]
        for start in range(0, count, 100):
            writer.put_many_with(
                [
                    (k, 10, lambda out: out.__setitem__(slice(None), b"x" * 10))
                    for k in keys[start : start + 100]
                ]
            )
        writer.close()
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        reader = SegmentBlobStore(root)
        assert all(reader.exists(k) for k in keys)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        reader.close()
        return held

    small, large = held_after_finding(200), held_after_finding(2000)
    assert large - small < 16 << 10, (small, large)


def test_segment_store_looks_keys_up_without_an_ephemeral_table(tmp_path: Path) -> None:
    """A lookup is one probe of the index's primary key: SQLite answers ``IN (list)`` by
    first building an ephemeral b-tree with its own page cache (~100 KB allocated and
    freed per query, in whichever thread asked), which fragmented the hub's heaps."""
    import sqlite3

    from casebridge.blobs import segments

    store = SegmentBlobStore(tmp_path / "blobs")
    keys = [_key(b"a"), _key(b"b")]
    store.put_many_with([(keys[0], 1, lambda out: out.__setitem__(slice(None), b"a"))])
    store.sync()
    db = sqlite3.connect(tmp_path / "blobs" / "segments" / "index.sqlite3")
    ops = [row[1] for row in db.execute("EXPLAIN " + segments._LOOKUP, (b"k",))]
    db.close()
    assert "OpenEphemeral" not in ops
    assert [store.exists(k) for k in keys] == [True, False]
    store.close()


def test_segment_store_rolls_over_to_new_segments(tmp_path: Path) -> None:
    fs = SegmentBlobStore(tmp_path / "blobs", segment_bytes=64 << 10)
    blobs = {_key(bytes([i])): bytes([i]) * (20_000 + i) for i in range(10)}
    for k, v in blobs.items():
        fs.put(k, v)
    fs.sync()
    assert len(list((tmp_path / "blobs" / "segments").glob("*.seg"))) >= 3
    fresh = SegmentBlobStore(tmp_path / "blobs")
    assert {k: fresh.get(k) for k in blobs} == blobs


def test_segment_store_on_a_filesystem_without_o_direct(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filesystem that refuses O_DIRECT answers EINVAL at open; both writing and a fresh
    reader then fall back to buffered I/O by themselves. The refusal is simulated: this
    machine's filesystems (tmpfs too, since Linux 6.6) all accept O_DIRECT."""
    real_open = os.open

    def refusing_open(path: str, flags: int, *args: int) -> int:
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, "Invalid argument", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing_open)
    k = _key(b"no o_direct")
    writer = SegmentBlobStore(tmp_path / "blobs")
    assert writer.put(k, b"page written buffered")
    writer.sync()
    reader = SegmentBlobStore(tmp_path / "blobs")  # has not written: learns it on its read
    assert reader.get(k) == b"page written buffered"
    files = FsBlobStore(tmp_path / "files")
    assert files.put(k, b"one file, buffered")
    assert FsBlobStore(tmp_path / "files").get(k) == b"one file, buffered"


@pytest.mark.parametrize("direct", [True, False])
def test_segment_store_writes_a_batch_at_once_and_indexes_each_blob(
    tmp_path: Path, direct: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``put_many_with``: one ``pwrite`` for blobs that fit in ``_WRITE_BYTES``, more for the
    rest; each blob at its own aligned place; keys already stored, or twice in the batch,
    are skipped (False); all of it found again by a fresh store after ``sync``."""
    from casebridge.blobs import segments

    writes: list[int] = []
    real_pwrite = os.pwrite

    def pwrite(fd: int, data: bytes | memoryview, offset: int) -> int:
        writes.append(len(data))
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(segments.os, "pwrite", pwrite)
    store = SegmentBlobStore(tmp_path / "blobs", direct=direct)
    blobs = [os.urandom(n) for n in (1, 4095, 4096, 4097, 225_000, 0)]
    keys = [_key(b) for b in blobs]
    store.put(keys[0], blobs[0])
    writes.clear()

    def filler(data: bytes) -> segments.Filler:
        def fill(out: memoryview) -> None:
            out[:] = data

        return fill

    items = [(k, len(b), filler(b)) for k, b in zip(keys, blobs, strict=True)]
    items.append((keys[4], len(blobs[4]), filler(blobs[4])))  # the same page twice
    assert store.put_many_with(items) == [False, True, True, True, True, True, False]
    assert len(writes) == 1  # ~250 KB: one write
    for k, b in zip(keys, blobs, strict=True):
        where = store.locate(k)
        assert where is not None
        assert where[1] % 4096 == 0
        assert store.get(k) == b

    big = [os.urandom(300_000) for _ in range(8)]  # 2.4 MB: several writes, each bounded
    writes.clear()
    assert store.put_many_with([(_key(b), len(b), filler(b)) for b in big]) == [True] * 8
    assert len(writes) == 3  # 3 + 3 + 2 blobs of 296 KiB (padded) per MiB
    assert max(writes) <= segments._WRITE_BYTES
    store.sync()
    fresh = SegmentBlobStore(tmp_path / "blobs", direct=direct)
    for b in [*blobs, *big]:
        assert fresh.get(_key(b)) == b


def test_a_batch_with_two_joined_pages_stores_each_intact(tmp_path: Path) -> None:
    """Pages received in several pieces are joined in one reused buffer per thread; a batch
    written at once must not let the second joined page overwrite the first before it is
    sealed (the hub's _verify_and_store). A page whose bytes do not match is not stored."""
    from casebridge.services.dossiers import _verify_and_store

    suite = SUITES["intl"]
    pages = SealedPages(
        SegmentBlobStore(tmp_path / "blobs"), suite, FileKek(tmp_path / "kek.key", suite)
    )
    p1, p2, p3, bad = (os.urandom(n) for n in (300_000, 100_000, 250_000, 5000))

    def cut(data: bytes, at: int) -> tuple[memoryview, ...]:
        view = memoryview(data)
        return (view[:at], view[at:])

    batch = [
        (_key(p1), cut(p1, 123_456)),
        (_key(p2), (memoryview(p2),)),
        (_key(p3), cut(p3, 7)),
        (_key(b"something else"), (memoryview(bad),)),
    ]
    assert _verify_and_store(pages, batch) == [True, True, True, False]
    pages.sync()
    for page in (p1, p2, p3):
        assert pages.get(_key(page), "page") == page
    assert not pages.exists(_key(b"something else"))
    # A page larger than the thread's join buffer (a batch of one: the hub closes a batch
    # before it would outgrow the buffer) is joined in a buffer of its own.
    huge = os.urandom(6 << 20)
    view = memoryview(huge)
    assert _verify_and_store(pages, [(_key(huge), (view[:1000], view[1000:]))]) == [True]
    pages.sync()
    assert pages.get(_key(huge), "page") == huge


def test_pages_stored_together_are_read_together_and_a_bad_one_is_named_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``get_many``: pages a batch stored side by side come back with one read; a page
    stored apart (another thread's segment) needs its own; a blob altered on disk is its
    CorruptData in the list, between pages that still open (a download serves those before
    it)."""
    from casebridge.blobs import fs

    suite = SUITES["intl"]
    store = SegmentBlobStore(tmp_path / "blobs")
    pages = SealedPages(store, suite, FileKek(tmp_path / "kek.key", suite))
    together = [os.urandom(n) for n in (200_000, 5000, 300_000, 4096)]
    apart = os.urandom(77_777)
    pages.put_many([(_key(p), p) for p in together])
    other = threading.Thread(target=pages.put, args=(_key(apart), apart))  # its own segment
    other.start()
    other.join()
    pages.sync()
    reads: list[int] = []
    real_preadv = os.preadv

    def preadv(fd: int, buffers: list[memoryview], offset: int) -> int:
        reads.append(offset)
        return real_preadv(fd, buffers, offset)

    monkeypatch.setattr(fs.os, "preadv", preadv)
    wanted = [*together, apart]
    got = pages.get_many([(_key(p), f"page {i}") for i, p in enumerate(wanted)])
    assert got == wanted
    assert len(reads) == 2

    where = store.locate(_key(together[1]))
    assert where is not None
    with open(where[0], "r+b") as fh:  # one flipped bit in the second page
        fh.seek(where[1] + where[2] // 2)
        byte = fh.read(1)[0]
        fh.seek(where[1] + where[2] // 2)
        fh.write(bytes([byte ^ 1]))
    got = pages.get_many([(_key(p), f"page {i}") for i, p in enumerate(wanted)])
    assert got[0] == together[0]
    assert isinstance(got[1], CorruptData)
    assert "page 1" in got[1].message
    assert got[2:] == wanted[2:]
