"""One contract, every blob store: the filesystem store and the S3 store (against moto's
standalone S3 server, a real HTTP endpoint started here) behave the same."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from casebridge.blobs import BlobStore, FsBlobStore, S3BlobStore, SealedPages
from casebridge.errors import CorruptData, NotFound
from casebridge.security.crypto import SUITES, FileKek
from tests.conftest import free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["fs", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "fs":
        return FsBlobStore(tmp_path / "blobs")
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
