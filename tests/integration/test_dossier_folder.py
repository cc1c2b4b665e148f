"""The gateway's folder side of dossiers: packing, the manifest file, re-verifying a folder."""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casebridge.domain.page_bits import count_set, is_set
from casebridge.errors import CorruptData, InvalidInput
from casebridge.gateway import dossier_folder
from casebridge.gateway.dossier_client import _packs
from casebridge.gateway.dossier_folder import (
    MANIFEST_NAME,
    mark_pages,
    marked_pages,
    marked_sizes,
    pack,
    read_manifest,
    verify_folder,
    write_manifest,
)
from casebridge.shelf import FileShelf
from tests.integration.dossier_helpers import make_folder


def test_manifest_file_holds_the_canonical_bytes(tmp_path: Path) -> None:
    """What is on disk is exactly what a signature or a receipt covers."""
    folder = make_folder(tmp_path / "D", volumes=3, pages=4, size=500)
    manifest = pack(folder, dossier_id="D-1", title="张某盗窃案", agency="DEMO350102GA")
    write_manifest(manifest, folder / MANIFEST_NAME)
    assert (folder / MANIFEST_NAME).read_bytes() == manifest.canonical()
    again = read_manifest(folder / MANIFEST_NAME)
    assert again == manifest
    assert again.root == manifest.root


def test_pack_hashes_every_page_in_name_order(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "D", volumes=2, pages=30, size=3000)
    done: list[int] = []
    manifest = pack(
        folder, dossier_id="D-1", title="", agency="", on_progress=lambda n, b: done.append(b)
    )
    assert len(done) == 60
    assert sum(done) == manifest.total_bytes == 60 * 3000
    for vi, vol in enumerate(manifest.volumes, 1):
        names = [p.name for d in vol.documents for p in d.pages]
        assert names == sorted(names)
        for d in vol.documents:
            for p in d.pages:
                data = (folder / f"{vi:02d}-卷{vi}" / p.name).read_bytes()
                assert p.sha256 == hashlib.sha256(data).hexdigest()


def test_pack_refuses_a_page_that_is_not_a_file_naming_it(tmp_path: Path) -> None:
    """A dangling link where a page should be is reported, not silently left out."""
    folder = make_folder(tmp_path / "D", volumes=1, pages=3, size=100)
    (folder / "01-卷1" / "0002.jpg").unlink()
    (folder / "01-卷1" / "0002.jpg").symlink_to(tmp_path / "nowhere")
    with pytest.raises(InvalidInput) as err:
        pack(folder, dossier_id="D-1", title="", agency="")
    assert [(p.field, p.rule) for p in err.value.problems] == [
        (str(folder / "01-卷1" / "0002.jpg"), "layout")
    ]


def test_verify_folder_names_missing_and_altered_pages(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "D", volumes=2, pages=5, size=800)
    manifest = pack(folder, dossier_id="D-1", title="", agency="")
    assert verify_folder(folder, manifest).bad == []
    (folder / "01-卷1" / "0003.jpg").unlink()
    altered = folder / "02-卷2" / "0005.jpg"
    altered.write_bytes(b"x" + altered.read_bytes()[1:])
    check = verify_folder(folder, manifest)
    assert check.pages == 10
    assert len(check.bad) == 2
    assert "volume 1 «01-卷1», document 1 «01-卷1», page 3 (0003.jpg)" in check.bad[0]
    assert "is missing" in check.bad[0]
    assert "page 5 (0005.jpg): bytes do not match" in check.bad[1]


def test_the_pages_a_push_sends_are_marked_then_made_one_at_a_time(tmp_path: Path) -> None:
    """The hub's list of missing hashes becomes a bit per page; paths and packs are made as
    the push goes, in manifest order, each page once; a pack is a run of pages, whose pages
    are made again, the same, when it is sent."""
    folder = make_folder(tmp_path / "D", volumes=3, pages=5, size=100)
    manifest = pack(folder, dossier_id="D-1", title="", agency="")
    located = list(manifest.located_pages())
    wanted = [p.sha256 for _, p in located[3:9]] + [located[0][1].sha256]
    bits = mark_pages(manifest, reversed(wanted))
    assert len(bits) == (manifest.page_count + 7) // 8
    assert count_set(bits) == len(set(wanted))
    files = [(path, sha, size) for _, path, sha, size in marked_pages(folder, manifest, bits)]
    in_order = [located[0], *located[3:9]]
    assert [(sha, size) for _, sha, size in files] == [(p.sha256, p.size) for _, p in in_order]
    for path, sha, _ in files:
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha
    sizes = list(marked_sizes(manifest, bits))
    assert sizes == [(i, size) for i, _, _, size in marked_pages(folder, manifest, bits)]
    packs = list(_packs(sizes, 250))
    assert [(p.first, p.stop, p.count, p.nbytes) for p in packs] == [
        (0, 4, 2, 200),  # pages 0 and 3 (1 and 2 are not marked)
        (4, 6, 2, 200),
        (6, 8, 2, 200),  # crosses from volume 1 into volume 2
        (8, 9, 1, 100),
    ]
    again = [
        (path, sha, size)
        for p in packs
        for _, path, sha, size in marked_pages(folder, manifest, bits, p.first, p.stop)
    ]
    assert again == files
    with pytest.raises(CorruptData):
        mark_pages(manifest, ["0" * 64])


@pytest.mark.parametrize("path", ["hashlib", "simd"])
@pytest.mark.parametrize("group_bytes", [5 << 20, 20_000])
def test_files_hashed_in_groups_give_each_files_own_hash_and_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, group_bytes: int
) -> None:
    """Pages read whole and hashed side by side (or, where they do not fit the thread's
    buffer, streaming), or one at a time with hashlib: the same (hash, size) for every file;
    a missing file is reported as such, in its place."""
    from casebridge.gateway import dossier_folder
    from casebridge.native import sha256 as native

    kernel = native.kernel_for(path)
    if path == "simd" and kernel == "hashlib":
        pytest.skip("no SIMD kernel here (test_sha256_batch says why)")
    monkeypatch.setattr(native, "KERNEL", kernel)
    monkeypatch.setattr(native, "BATCH", 1 if kernel == "hashlib" else 16)
    monkeypatch.setattr(native, "BATCH_BYTES", group_bytes)
    rnd = random.Random(4)  # noqa: S311 - test data, not secrets
    paths, want = [], []
    for i in range(37):
        data = rnd.randbytes(rnd.choice([0, 1, 55, 64, 4096, 9000, 30_000]))
        p = tmp_path / f"{i:04d}.jpg"
        p.write_bytes(data)
        paths.append(str(p))
        want.append((hashlib.sha256(data).hexdigest(), len(data)))
    paths[20] = str(tmp_path / "gone.jpg")
    want[20] = ("", -1)
    got = dossier_folder._hash_all(paths, None, missing=("", -1))
    assert got == want
    with pytest.raises(FileNotFoundError):
        dossier_folder._hash_all(paths, None)


def test_the_file_shelf_gives_back_what_it_was_given_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes put from several threads at once come back each under its key, read at once
    (a thread's next read reuses its buffer); the file has no name from the start and its
    descriptor closes with the shelf."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    shelf = FileShelf()
    assert list(tmp_path.iterdir()) == []  # unlinked at once
    blobs = [bytes([i]) * (i * 997 % 70_000 + 1) for i in range(64)]
    with ThreadPoolExecutor(4) as pool:
        keys = list(pool.map(shelf.put, blobs))
    assert sorted(keys) == list(range(64))
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda k: bytes(shelf.get(k)), keys)) == blobs
    first, second = shelf.get(1), shelf.get(0)  # one thread: the same buffer, reused
    assert isinstance(first, memoryview)
    assert isinstance(second, memoryview)
    assert first.obj is second.obj
    assert bytes(second) == blobs[0]
    plain = FileShelf(thread_buffers=False)  # the hub's: dozens of request threads
    kept = [plain.get(plain.put(b)) for b in blobs[:3]]
    assert kept == blobs[:3]  # each its own bytes
    fd = shelf._fd
    os.fstat(fd)
    shelf.close()
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(fd)


def test_a_manifest_file_cut_inside_a_character_is_refused_clearly(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "D", volumes=1, pages=2, size=10)
    manifest = pack(folder, dossier_id="D-1", title="张某盗窃案", agency="")
    raw = manifest.canonical()
    cut = raw.index("张".encode()) + 1  # inside the three bytes of 张
    (tmp_path / "cut.json").write_bytes(raw[:cut])
    with pytest.raises(InvalidInput, match="is not JSON"):
        read_manifest(tmp_path / "cut.json")


@given(st.binary(min_size=1, max_size=6), st.data())
def test_a_run_of_pages_is_marked_if_any_of_its_bits_is(bits: bytes, data: st.DataObject) -> None:
    """The push's planning skips unmarked volumes and documents a byte at a time."""
    n = 8 * len(bits)
    lo = data.draw(st.integers(0, n))
    hi = data.draw(st.integers(lo, n))
    assert dossier_folder._any_set(bits, lo, hi) == any(is_set(bits, i) for i in range(lo, hi))
