"""Dossier transfer over real HTTP (loopback): manifest → missing pages → packs → download."""

from __future__ import annotations

import base64
import gc
import hashlib
import http.client
import io
import itertools
import json
import random
import threading
import time
import tracemalloc
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from casebridge.bootstrap import Container
from casebridge.domain.dossier import (
    EXTENSION_SCHEMA,
    Document,
    Manifest,
    Page,
    ShelvedVolumes,
    Volume,
    union,
    volume_to_dict,
)
from casebridge.domain.dossier_pack import MEDIA_TYPE, frame_header
from casebridge.domain.page_bits import checked_bits, first_places, is_set
from casebridge.errors import CorruptData, InvalidInput, NotFound
from casebridge.gateway.dossier_client import HubClient
from casebridge.gateway.dossier_folder import MANIFEST_NAME, pack, read_manifest, verify_folder
from casebridge.native import sha256 as native_sha256
from casebridge.services import dossiers
from casebridge.services.pack_slots import PackSlots
from tests.conftest import LiveServer, police_principal, post_at_once
from tests.integration.dossier_helpers import demo_token, make_folder, transfer_with_dossier


@pytest.fixture
def token(container: Container) -> str:
    return demo_token(container)


@pytest.fixture
def api(hub: LiveServer, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        yield client


@pytest.fixture(params=["hashlib", "simd"])
def hash_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways the hub and the client hash pages, whichever this CPU would pick: one page
    at a time (hashlib), or batches of 16 side by side (casebridge.native)."""
    kernel = native_sha256.kernel_for(request.param)
    if request.param == "simd" and kernel == "hashlib":
        pytest.skip("no SIMD kernel here (test_sha256_batch says why)")
    batch = 1 if kernel == "hashlib" else 16
    monkeypatch.setattr(native_sha256, "KERNEL", kernel)
    monkeypatch.setattr(native_sha256, "BATCH", batch)
    return kernel


def _packed(tmp_path: Path, name: str = "D-2026-001", **kw: int) -> tuple[Path, object]:
    folder = make_folder(
        tmp_path / name, kw.get("volumes", 2), kw.get("pages", 5), kw.get("size", 3000)
    )
    return folder, pack(folder, dossier_id=name, title="张某盗窃案", agency="DEMO350102GA")


def test_push_then_pull_gives_back_every_page_verified(
    hub: LiveServer, token: str, tmp_path: Path, hash_path: str
) -> None:
    folder, manifest = _packed(tmp_path)
    with HubClient(hub.url, token) as client:
        pushed = client.push(folder, manifest, pack_bytes=8000)  # type: ignore[arg-type]
        assert pushed.status == "complete"
        assert pushed.pages_sent == 10
        assert pushed.packs_sent > 1
        pulled = client.pull("D-2026-001", tmp_path / "out")
    assert pulled.pages == 10
    received = read_manifest(tmp_path / "out" / MANIFEST_NAME)
    assert received.root == manifest.root  # type: ignore[attr-defined]
    assert verify_folder(tmp_path / "out", received).bad == []


def test_a_page_the_hub_holds_is_never_uploaded_again(
    hub: LiveServer, token: str, tmp_path: Path
) -> None:
    folder, manifest = _packed(tmp_path)
    with HubClient(hub.url, token) as client:
        client.push(folder, manifest)  # type: ignore[arg-type]
        again = client.push(folder, manifest)  # type: ignore[arg-type]
        assert again.pages_missing_at_start == 0
        assert again.pages_sent == 0
        # Same scans under another dossier id: stored once, nothing travels.
        other = pack(folder, dossier_id="D-other", title="另案", agency="X")
        assert client.register(other)["missing"] == []


def test_registration_answers_the_missing_pages_as_bits_when_asked(
    api: httpx.Client, tmp_path: Path
) -> None:
    """``?missing=bits``: one bit a page in manifest order, set at the first place of each
    missing hash (a hash listed twice is sent once); the same pages as the hashes answer,
    before and after some are held. An unknown form is refused, naming the parameter."""
    folder = make_folder(tmp_path / "D-2026-001", 2, 5, 3000)
    first = folder / "01-卷1" / "0001.jpg"
    (folder / "02-卷2" / "0006.jpg").write_bytes(first.read_bytes())  # page 1, again last
    manifest = pack(folder, dossier_id="D-2026-001", title="张某盗窃案", agency="DEMO350102GA")
    body = manifest.canonical()
    headers = {"Content-Type": "application/json"}
    fresh = api.post("/api/v1/dossiers?missing=bits", content=body, headers=headers)
    assert fresh.status_code == 201
    answer = fresh.json()
    assert "missing" not in answer
    assert answer["missing_count"] == 10  # 11 pages, 10 distinct
    bits = checked_bits(base64.b64decode(answer["missing_bits"]), 11)
    assert [int(is_set(bits, i)) for i in range(11)] == [1] * 10 + [0]
    # Two pages held: the bits and the hashes name the same others.
    pages = _pages(folder)[:2]
    pack_body = b"".join(frame_header(sha, len(data)) + data for sha, data in pages)
    url = f"/api/v1/dossiers/D-2026-001/versions/{manifest.root}/packs"
    assert api.post(url, content=pack_body, headers={"Content-Type": MEDIA_TYPE}).is_success
    bits = api.post("/api/v1/dossiers?missing=bits", content=body, headers=headers).json()
    hashes = api.post("/api/v1/dossiers", content=body, headers=headers).json()
    assert bits["missing_count"] == len(hashes["missing"]) == 8
    assert base64.b64decode(bits["missing_bits"]) == first_places(manifest, hashes["missing"])
    assert {sha for sha, _ in pages}.isdisjoint(hashes["missing"])
    bad = api.post("/api/v1/dossiers?missing=list", content=body, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["field"] == "query.missing"
    # A version's status (and a dossier's) answers in either form as well.
    status_url = f"/api/v1/dossiers/D-2026-001/versions/{manifest.root}"
    for url in (status_url, "/api/v1/dossiers/D-2026-001"):
        as_bits = api.get(url, params={"missing": "bits"}).json()
        as_hashes = api.get(url).json()
        assert "missing" not in as_bits
        assert as_bits["missing_count"] == len(as_hashes["missing"]) == 8
        assert base64.b64decode(as_bits["missing_bits"]) == base64.b64decode(bits["missing_bits"])
        assert {k: v for k, v in as_bits.items() if not k.startswith("missing")} == {
            k: v for k, v in as_hashes.items() if k != "missing"
        }
    assert api.get(status_url, params={"missing": "list"}).status_code == 422


def test_push_works_with_a_hub_that_answers_in_hashes(
    hub: LiveServer, token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub without ``?missing=bits`` (the parameter ignored): the client marks the pages
    from the list of hashes. Here the client simply does not ask for bits."""
    original = HubClient._register_on

    def hashes_only(self: HubClient, *args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = original(self, *args, **{**kwargs, "bits": False})
        assert "missing_bits" not in answer
        return answer

    monkeypatch.setattr(HubClient, "_register_on", hashes_only)
    folder, manifest = _packed(tmp_path)
    with HubClient(hub.url, token) as client:
        pushed = client.push(folder, manifest, pack_bytes=8000)  # type: ignore[arg-type]
        again = client.push(folder, manifest)  # type: ignore[arg-type]
    assert (pushed.status, pushed.pages_sent) == ("complete", 10)
    assert (again.pages_missing_at_start, again.pages_sent) == (0, 0)


def test_forwarded_version_sends_only_the_new_pages(
    hub: LiveServer, container: Container, tmp_path: Path
) -> None:
    police = demo_token(container, "police.handler")
    proc = demo_token(container, "procuratorate.handler")
    folder, manifest = _packed(tmp_path)
    with HubClient(hub.url, police) as client:
        client.push(folder, manifest)  # type: ignore[arg-type]
    inbox = tmp_path / "proc"
    # Never sent to the procuratorate: for it the dossier does not exist.
    with HubClient(hub.url, proc) as client, pytest.raises(NotFound):
        client.pull("D-2026-001", tmp_path / "too-early")
    ref = f"D-2026-001@{manifest.root}"  # type: ignore[attr-defined]
    transfer_with_dossier(hub.url, police, ref, signer=proc)
    with HubClient(hub.url, proc) as client:
        client.pull("D-2026-001", inbox)
        received = read_manifest(inbox / MANIFEST_NAME)
        new = inbox / "03-检察文书"
        new.mkdir()
        for i in range(3):
            (new / f"{i:04d}.pdf").write_bytes(bytes([i]) * 500)
        child = pack(inbox, dossier_id="", title="", agency="DEMO350102JCY", extends=received)
        assert child.parent == received.root
        sent = client.push(inbox, child)
    assert sent.pages_missing_at_start == 3
    assert sent.pages_sent == 3
    assert sent.status == "complete"


def _forwarding(
    hub: LiveServer, container: Container, tmp_path: Path
) -> tuple[str, Path, Manifest, Manifest]:
    """The police push a dossier and send it; the procuratorate pulls it and adds a volume.
    Returns (procuratorate token, its folder, the received manifest, the new version)."""
    police = demo_token(container, "police.handler")
    proc = demo_token(container, "procuratorate.handler")
    folder, manifest = _packed(tmp_path)
    with HubClient(hub.url, police) as client:
        client.push(folder, manifest)  # type: ignore[arg-type]
    transfer_with_dossier(hub.url, police, f"D-2026-001@{manifest.root}", signer=proc)  # type: ignore[attr-defined]
    inbox = tmp_path / "proc"
    with HubClient(hub.url, proc) as client:
        client.pull("D-2026-001", inbox)
    received = read_manifest(inbox / MANIFEST_NAME)
    (inbox / "03-检察文书").mkdir()
    for i in range(3):
        (inbox / "03-检察文书" / f"{i:04d}.pdf").write_bytes(bytes([i + 7]) * 700)
    child = pack(inbox, dossier_id="", title="", agency="DEMO350102JCY", extends=received)
    return proc, inbox, received, child


def test_forwarding_with_the_received_manifest_registers_only_what_it_adds(
    hub: LiveServer, container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, inbox, received, child = _forwarding(hub, container, tmp_path)
    sent_to: list[tuple[str, int]] = []
    request = http.client.HTTPConnection.request

    def spy(
        self: http.client.HTTPConnection, method: str, url: str, body: Any = None, **kw: Any
    ) -> None:
        sent_to.append((url, len(body) if isinstance(body, bytes) else 0))
        request(self, method, url, body, **kw)

    monkeypatch.setattr(http.client.HTTPConnection, "request", spy)
    with HubClient(hub.url, proc) as client:
        sent = client.push(inbox, child, base=received)
        stored = client.manifest("D-2026-001", child.root)
    register_url, register_bytes = sent_to[0]
    assert register_url.endswith(f"/versions/{received.root}/children?missing=bits")
    assert register_bytes < len(child.canonical()) / 2  # the added volume, not the whole
    assert (sent.pages_missing_at_start, sent.pages_sent, sent.status) == (3, 3, "complete")
    # The hub built the same version: same root, same canonical bytes.
    assert stored.root == child.root
    assert stored.canonical() == child.canonical()


def test_extension_with_another_root_is_refused_and_stores_nothing(
    hub: LiveServer, container: Container, tmp_path: Path
) -> None:
    proc, _, received, child = _forwarding(hub, container, tmp_path)
    url = f"{hub.url}/api/v1/dossiers/D-2026-001/versions/{received.root}/children"
    body = {
        "schema": EXTENSION_SCHEMA,
        "volumes": [volume_to_dict(v) for v in child.volumes[len(received.volumes) :]],
        "merkle_root": "0" * 64,
    }
    auth = {"Authorization": f"Bearer {proc}"}
    resp = httpx.post(url, json=body, headers=auth)
    assert resp.status_code == 422
    assert resp.json()["problems"][0]["field"] == "merkle_root"
    versions = httpx.get(f"{hub.url}/api/v1/dossiers/D-2026-001", headers=auth).json()["versions"]
    assert [v["merkle_root"] for v in versions] == [received.root]
    # Declared right: registered (201), and again it is a resume (200, same gaps).
    first = httpx.post(url, json={**body, "merkle_root": child.root}, headers=auth)
    again = httpx.post(url, json={**body, "merkle_root": child.root}, headers=auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["missing"] == again.json()["missing"]
    assert len(first.json()["missing"]) == 3
    # A version the hub does not have cannot be extended.
    gone = httpx.post(url.replace(received.root, "f" * 64), json=body, headers=auth)
    assert gone.status_code == 404
    # Neither can one the caller may not read (a stranger: it does not exist for them).
    court = demo_token(container, "court.handler")
    hidden = httpx.post(url, json=body, headers={"Authorization": f"Bearer {court}"})
    assert hidden.status_code == 404


def test_pull_of_chosen_documents_and_http_range(
    api: httpx.Client, hub: LiveServer, token: str, tmp_path: Path
) -> None:
    folder, manifest = _packed(tmp_path)
    with HubClient(hub.url, token) as client:
        client.push(folder, manifest)  # type: ignore[arg-type]
        part = client.pull("D-2026-001", tmp_path / "part", documents=[(2, 1)])
    assert part.pages == 5
    assert not any((tmp_path / "part" / "01-卷1").iterdir())
    root = manifest.root  # type: ignore[attr-defined]
    url = f"/api/v1/dossiers/D-2026-001/versions/{root}/content"
    whole = api.get(url)
    assert whole.headers["accept-ranges"] == "bytes"
    tail = api.get(url, headers={"Range": "bytes=4000-"})
    assert tail.status_code == 206
    assert (
        tail.headers["content-range"] == f"bytes 4000-{len(whole.content) - 1}/{len(whole.content)}"
    )
    assert tail.content == whole.content[4000:]
    assert api.get(url, headers={"Range": "bytes=99999999-"}).status_code == 416


def test_an_altered_page_is_forgotten_on_repair_and_the_next_push_sends_it_again(
    hub: LiveServer, container: Container, token: str, tmp_path: Path
) -> None:
    """Detection is not the end: ``verify?repair=true`` forgets a page whose stored bytes
    were altered (blob and acceptance record), the version goes back to ``receiving`` with
    that page missing, and the sender's next push sends that page and nothing else."""
    folder, manifest = _packed(tmp_path)
    m: Any = manifest
    with HubClient(hub.url, token) as client:
        client.push(folder, m)
    page3 = m.volumes[1].documents[0].pages[2]
    where = container.page_store().store.locate(page3.sha256)  # type: ignore[attr-defined]
    assert where is not None
    with open(where[0], "r+b") as fh:
        fh.seek(where[1] + where[2] // 2)
        byte = fh.read(1)[0]
        fh.seek(where[1] + where[2] // 2)
        fh.write(bytes([byte ^ 0x01]))
    from casebridge.services import dossiers as service

    key = ("D-2026-001", m.root)
    stale = service._HOLDINGS[container.engine][key]  # this process's flags: all held
    with HubClient(hub.url, token) as client:
        checked = client.verify_remote("D-2026-001", m.root)
        assert not checked["ok"]
        assert len(checked["corrupt"]) == 1
        assert "page 3 (0003.jpg)" in checked["corrupt"][0]
        assert "forgotten" not in checked  # reading alone changes nothing
        assert client.status("D-2026-001", m.root)["status"] == "complete"

        repaired = client.verify_remote("D-2026-001", m.root, repair=True)
        assert len(repaired["forgotten"]) == 1
        assert "page 3 (0003.jpg)" in repaired["forgotten"][0]
        status = client.status("D-2026-001", m.root)
        assert status["status"] == "receiving"
        assert status["missing"] == [page3.sha256]
        assert client.verify_remote("D-2026-001", m.root, repair=True)["forgotten"] == []

        # Another hub process still has flags saying every page is held: a pack of a page
        # it holds must not make the version "complete" while page 3 is missing.
        service._HOLDINGS[container.engine][key] = stale
        h1, d1 = _pages(folder)[0]
        resent = client.http.post(
            f"/api/v1/dossiers/D-2026-001/versions/{m.root}/packs",
            content=frame_header(h1, len(d1)) + d1,
            headers={"Content-Type": MEDIA_TYPE},
        )
        assert resent.status_code == 200, resent.text
        assert resent.json()["status"] == "receiving"
        assert client.status("D-2026-001", m.root)["status"] == "receiving"

        again = client.push(folder, m)
        assert again.pages_sent == 1
        assert again.status == "complete"
        client.pull("D-2026-001", tmp_path / "out")
    assert (tmp_path / "out" / "02-卷2" / "0003.jpg").read_bytes() == (
        folder / "02-卷2" / "0003.jpg"
    ).read_bytes()
    with container.uow() as uow:
        events = [e for e in uow.audit.iter_all() if e.action == "dossier.page.forget"]
    assert len(events) == 1
    assert events[0].detail["pages"] == [page3.sha256]


def test_one_flipped_byte_in_a_stored_blob_is_named_on_pull(
    hub: LiveServer, container: Container, token: str, tmp_path: Path, hash_path: str
) -> None:
    folder, manifest = _packed(tmp_path)
    with HubClient(hub.url, token) as client:
        client.push(folder, manifest)  # type: ignore[arg-type]
    page3 = manifest.volumes[1].documents[0].pages[2]  # type: ignore[attr-defined]
    where = container.page_store().store.locate(page3.sha256)  # type: ignore[attr-defined]
    assert where is not None
    segment, offset, length = where
    with open(segment, "r+b") as fh:  # one flipped bit in the middle of the stored blob
        fh.seek(offset + length // 2)
        byte = fh.read(1)[0]
        fh.seek(offset + length // 2)
        fh.write(bytes([byte ^ 0x01]))
    with HubClient(hub.url, token) as client, pytest.raises(CorruptData) as caught:
        client.pull("D-2026-001", tmp_path / "out", streams=1)  # one stream: pages in order
    message = caught.value.message
    assert "dossier D-2026-001" in message
    assert "volume 2" in message
    assert "document 1 «02-卷2»" in message
    assert "page 3 (0003.jpg)" in message
    assert not (tmp_path / "out" / "02-卷2" / "0003.jpg").exists()
    assert (tmp_path / "out" / "02-卷2" / "0002.jpg").exists()  # earlier pages verified, kept
    # The same, for a client in Chinese, in parallel streams (the others stop at a page
    # boundary): the hub's own finding comes back in Chinese too, and nothing unverified
    # was written.
    with HubClient(hub.url, token, lang="zh_Hans") as client, pytest.raises(CorruptData) as zh:
        client.pull("D-2026-001", tmp_path / "out-zh")
    assert not (tmp_path / "out-zh" / "02-卷2" / "0003.jpg").exists()
    for ref, page in manifest.select(None):  # type: ignore[attr-defined]
        path = tmp_path / "out-zh" / ref.volume_title / ref.name
        if path.exists():
            assert hashlib.sha256(path.read_bytes()).hexdigest() == page.sha256
    assert not list((tmp_path / "out-zh").rglob("*.part"))
    said = zh.value.localized("zh_Hans")
    assert said.startswith("电子卷宗 D-2026-001，第 2 卷《02-卷2》，第 1 份材料《02-卷2》，第 3 页")
    assert "中心平台存储的副本未通过校验" in said
    assert "认证标签校验失败（已被篡改）" in said  # the hub's detail, in the asked language


def _post_pack(api: httpx.Client, manifest: object, body: bytes) -> httpx.Response:
    root = manifest.root  # type: ignore[attr-defined]
    api.post("/api/v1/dossiers", json=manifest.to_dict())  # type: ignore[attr-defined]
    return api.post(
        f"/api/v1/dossiers/D-2026-001/versions/{root}/packs",
        content=body,
        headers={"Content-Type": MEDIA_TYPE},
    )


def _pages(folder: Path) -> list[tuple[str, bytes]]:
    files = sorted(folder.glob("*/*.jpg"))
    return [(hashlib.sha256(f.read_bytes()).hexdigest(), f.read_bytes()) for f in files]


def test_bytes_that_do_not_match_are_refused_naming_the_page_and_others_kept(
    api: httpx.Client, tmp_path: Path
) -> None:
    folder, manifest = _packed(tmp_path)
    pages = _pages(folder)
    (h1, d1), (h2, d2) = pages[0], pages[1]
    bad = bytes([d2[0] ^ 1]) + d2[1:]
    resp = _post_pack(
        api, manifest, frame_header(h1, len(d1)) + d1 + frame_header(h2, len(bad)) + bad
    )
    assert resp.status_code == 422
    problem = resp.json()
    assert "1 verified page(s) kept" in problem["detail"]
    assert problem["problems"][0]["rule"] == "digest"
    assert "page 2 (0002.jpg)" in problem["problems"][0]["field"]
    status = api.get(f"/api/v1/dossiers/D-2026-001/versions/{manifest.root}").json()  # type: ignore[attr-defined]
    assert h1 not in status["missing"]
    assert h2 in status["missing"]


def test_pages_of_every_size_hashed_in_batches_push_and_pull_intact(
    hub: LiveServer, token: str, tmp_path: Path, hash_path: str
) -> None:
    """More pages than a batch, of sizes around SHA-256's block edges: batches fill, lanes
    refill, the last batch is short; every page lands and comes back verified."""
    rnd = random.Random(5)  # noqa: S311 - test data, not secrets
    folder = tmp_path / "D-2026-001"
    sizes = [1, 55, 56, 63, 64, 65, 119, 120, 4096, 9000]
    for v in (1, 2):
        (folder / f"{v:02d}-卷{v}").mkdir(parents=True)
        for p in range(1, 24):  # 46 pages: two batches of 16 and a short one
            size = sizes[p % len(sizes)] if p <= len(sizes) else rnd.randint(1, 70_000)
            (folder / f"{v:02d}-卷{v}" / f"{p:04d}.jpg").write_bytes(rnd.randbytes(size))
    manifest = pack(folder, dossier_id="D-2026-001", title="张某盗窃案", agency="DEMO350102GA")
    with HubClient(hub.url, token) as client:
        pushed = client.push(folder, manifest)
        assert pushed.status == "complete"
        assert pushed.pages_sent == 46
        pulled = client.pull("D-2026-001", tmp_path / "out", streams=2)
    assert pulled.pages == 46
    assert (
        verify_folder(tmp_path / "out", read_manifest(tmp_path / "out" / MANIFEST_NAME)).bad == []
    )


def test_bad_pages_in_a_batch_are_refused_alone(
    api: httpx.Client, tmp_path: Path, hash_path: str
) -> None:
    """Two altered pages among 20 sent in one pack: each named, the 18 others kept."""
    folder, manifest = _packed(tmp_path, volumes=2, pages=10, size=5000)
    pages = _pages(folder)
    body = b""
    for i, (sha, data) in enumerate(pages):
        if i in (2, 16):
            data = data[:100] + bytes([data[100] ^ 0x80]) + data[101:]
        body += frame_header(sha, len(data)) + data
    resp = _post_pack(api, manifest, body)
    assert resp.status_code == 422
    problem = resp.json()
    assert "2 page(s) refused; 18 verified page(s) kept" in problem["detail"]
    fields = [p["field"] for p in problem["problems"]]
    assert [p["rule"] for p in problem["problems"]] == ["digest", "digest"]
    assert any("volume 1" in f and "page 3 (0003.jpg)" in f for f in fields)
    assert any("volume 2" in f and "page 7 (0007.jpg)" in f for f in fields)
    status = api.get(f"/api/v1/dossiers/D-2026-001/versions/{manifest.root}").json()  # type: ignore[attr-defined]
    assert sorted(status["missing"]) == sorted([pages[2][0], pages[16][0]])


def test_truncated_pack_is_refused_naming_the_page(api: httpx.Client, tmp_path: Path) -> None:
    folder, manifest = _packed(tmp_path)
    (h1, d1), (h2, d2) = _pages(folder)[:2]
    resp = _post_pack(
        api, manifest, frame_header(h1, len(d1)) + d1 + frame_header(h2, len(d2)) + d2[:100]
    )
    assert resp.status_code == 422
    item = resp.json()["problems"][0]
    assert item["rule"] == "truncated"
    assert "page 2 (0002.jpg)" in item["field"]
    assert "100 of 3000 bytes" in item["message"]
    # Asked in Chinese: the detail and the messages are; the field and rule codes are not.
    zh = api.post(
        f"/api/v1/dossiers/D-2026-001/versions/{manifest.root}/packs",  # type: ignore[attr-defined]
        content=frame_header(h2, len(d2)) + d2[:100],
        headers={"Content-Type": MEDIA_TYPE, "Accept-Language": "zh-CN,zh;q=0.9"},
    )
    assert zh.status_code == 422
    assert zh.headers["Content-Language"] == "zh-Hans"
    assert zh.json()["detail"] == "电子卷宗 D-2026-001 的数据包：拒收 1 页；已校验并保存 0 页"
    item = zh.json()["problems"][0]
    assert item["message"] == "数据包不完整：3000 字节中只收到 100 字节"
    assert item["rule"] == "truncated"
    assert "page 2 (0002.jpg)" in item["field"]


def test_page_not_in_the_manifest_is_refused(api: httpx.Client, tmp_path: Path) -> None:
    _, manifest = _packed(tmp_path)
    stranger = b"not listed"
    h = hashlib.sha256(stranger).hexdigest()
    resp = _post_pack(api, manifest, frame_header(h, len(stranger)) + stranger)
    assert resp.status_code == 422
    assert resp.json()["problems"][0]["rule"] == "unknown-page"


def test_bad_manifest_lists_every_problem(api: httpx.Client, tmp_path: Path) -> None:
    _, manifest = _packed(tmp_path)
    data = json.loads(json.dumps(manifest.to_dict()))  # type: ignore[attr-defined]
    del data["merkle_root"]
    first = data["volumes"][0]["documents"][0]["pages"]
    first[0]["name"] = "../evil.jpg"
    first[1]["media_type"] = "text/html"
    resp = api.post("/api/v1/dossiers", json=data)
    assert resp.status_code == 422
    rules = sorted(p["rule"] for p in resp.json()["problems"])
    assert rules == ["media-type", "path-traversal"]
    zh = api.post("/api/v1/dossiers", json=data, headers={"Accept-Language": "zh-CN"})
    said = {p["rule"]: p["message"] for p in zh.json()["problems"]}
    assert said["path-traversal"].startswith("页面文件名须为单纯的文件名")
    assert said["media-type"].startswith("不支持的媒体类型 'text/html'（允许：")


def test_dossier_routes_need_a_token(hub: LiveServer) -> None:
    resp = httpx.get(f"{hub.url}/api/v1/dossiers/x")
    assert resp.status_code == 401


def test_push_of_a_changed_file_is_refused(hub: LiveServer, token: str, tmp_path: Path) -> None:
    folder, manifest = _packed(tmp_path)
    target = sorted(folder.glob("01-*/*.jpg"))[0]
    target.write_bytes(target.read_bytes()[:-1])
    with (
        HubClient(hub.url, token) as client,
        pytest.raises((CorruptData, InvalidInput, httpx.HTTPError)),
    ):
        client.push(folder, manifest)  # type: ignore[arg-type]


class _CutAfter:
    """A socket that delivers ``limit`` more body bytes, then reads as closed (a network cut;
    a stand-in for a real one, which a loopback test cannot produce on cue)."""

    def __init__(self, sock: object, limit: int) -> None:
        self._sock, self._left = sock, limit

    def recv_into(self, view: memoryview, *args: int) -> int:
        if self._left <= 0:
            return 0
        n = int(self._sock.recv_into(view[: self._left]))  # type: ignore[attr-defined]
        self._left -= n
        return n

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


def test_a_broken_download_resumes_at_the_first_unverified_page(
    hub: LiveServer, token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hash_path: str
) -> None:
    folder, manifest = _packed(tmp_path, pages=10, size=70_000)
    with HubClient(hub.url, token) as client:
        client.push(folder, manifest)  # type: ignore[arg-type]
    real = HubClient._bulk_connection
    ranges: list[str | None] = []

    def cut_first(self: HubClient) -> object:
        conn = real(self)
        first = not ranges
        connect, request = conn.connect, conn.request

        def cut_connect() -> None:
            connect()
            if first:
                conn.sock = _CutAfter(conn.sock, 5 * 70_000)  # type: ignore[assignment]

        def note_request(method: str, url: str, *args: object, **kw: object) -> None:
            headers = kw.get("headers") or {}
            ranges.append(headers.get("Range"))  # type: ignore[union-attr]
            request(method, url, *args, **kw)  # type: ignore[arg-type]

        conn.connect = cut_connect  # type: ignore[method-assign]
        conn.request = note_request  # type: ignore[method-assign]
        return conn

    monkeypatch.setattr(HubClient, "_bulk_connection", cut_first)
    with HubClient(hub.url, token) as client:
        pulled = client.pull("D-2026-001", tmp_path / "out", streams=1)
    assert pulled.resumed == 1
    assert pulled.pages == 20
    assert ranges[0] is None
    # the second request starts at a page boundary after the pages already verified
    offsets = [0]
    for vol in manifest.volumes:  # type: ignore[attr-defined]
        for doc in vol.documents:
            for page in doc.pages:
                offsets.append(offsets[-1] + page.size)
    assert ranges[1] is not None
    assert ranges[1].startswith("bytes=")
    start, end = (int(x) for x in ranges[1].removeprefix("bytes=").split("-"))
    assert start in offsets
    assert 0 < start < offsets[-1]
    assert end == offsets[-1] - 1
    received = read_manifest(tmp_path / "out" / MANIFEST_NAME)
    assert verify_folder(tmp_path / "out", received).bad == []
    assert not list((tmp_path / "out").rglob("*.part"))


def test_a_parallel_download_splits_the_pages_into_ranges_and_resumes_the_cut_one(
    hub: LiveServer,
    container: Container,
    token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three streams: three Range requests that tile the content at page boundaries; the
    one cut after two pages resumes inside its own range, the others are not disturbed."""
    import threading

    folder, manifest = _packed(tmp_path, pages=10, size=70_000)
    with HubClient(hub.url, token) as client:
        client.push(folder, manifest)  # type: ignore[arg-type]
    real = HubClient._bulk_connection
    ranges: list[tuple[int, int]] = []
    cut: list[tuple[int, int]] = []
    lock = threading.Lock()

    def spy(self: HubClient) -> object:
        conn = real(self)
        connect, request = conn.connect, conn.request

        def note_request(method: str, url: str, *args: object, **kw: object) -> None:
            spec = (kw.get("headers") or {})["Range"]  # type: ignore[index]
            lo, hi = (int(x) for x in spec.removeprefix("bytes=").split("-"))
            with lock:
                ranges.append((lo, hi))
                cut_this = lo == 0 and not cut
                if cut_this:
                    cut.append((lo, hi))

            def cut_connect() -> None:
                connect()
                if cut_this:
                    conn.sock = _CutAfter(conn.sock, 2 * 70_000 + 100)  # type: ignore[assignment]

            conn.connect = cut_connect  # type: ignore[method-assign]
            request(method, url, *args, **kw)  # type: ignore[arg-type]

        conn.request = note_request  # type: ignore[method-assign]
        return conn

    monkeypatch.setattr(HubClient, "_bulk_connection", spy)
    with HubClient(hub.url, token) as client:
        pulled = client.pull("D-2026-001", tmp_path / "out", streams=3)
    assert (pulled.pages, pulled.resumed, pulled.pages_reused) == (20, 1, 0)
    offsets = [0]
    for vol in manifest.volumes:  # type: ignore[attr-defined]
        for doc in vol.documents:
            for page in doc.pages:
                offsets.append(offsets[-1] + page.size)
    [(_, cut_end)] = cut
    [resumed] = [r for r in ranges if r[1] == cut_end and r[0] > 0]
    assert resumed[0] in offsets  # at a page boundary, after the two verified pages
    assert resumed[0] >= offsets[2]
    first = sorted(r for r in ranges if r != resumed)
    assert len(first) == 3
    assert first[0][0] == 0
    assert first[-1][1] == offsets[-1] - 1
    assert all(a[1] + 1 == b[0] and b[0] in offsets for a, b in itertools.pairwise(first))
    received = read_manifest(tmp_path / "out" / MANIFEST_NAME)
    assert verify_folder(tmp_path / "out", received).bad == []
    assert not list((tmp_path / "out").rglob("*.part"))
    with container.uow() as uow:  # each request is audited with the range it read
        audited = [e.detail["range"] for e in uow.audit.iter_all() if e.action == "dossier.read"]
    assert sorted(audited) == sorted(f"bytes={lo}-{hi}" for lo, hi in ranges)


def test_a_failing_stream_stops_the_others_and_its_own_error_is_raised(
    hub: LiveServer, token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The streams' work is faked here (the orchestration is what is tested): the first
    range fails after 0.2 s; the two others, which would run for 10 s, stop at their next
    page instead of finishing a download that has already failed (or ignoring a Ctrl-C)."""
    import time

    folder, manifest = _packed(tmp_path, pages=10, size=70_000)
    with HubClient(hub.url, token) as client:
        client.push(folder, manifest)  # type: ignore[arg-type]
    stopped: list[str] = []

    def fake(self: HubClient, *args: Any) -> None:
        index, on_progress = args[4], args[8]
        if index == 0:
            time.sleep(0.2)
            raise CorruptData("range one is bad")
        try:
            for _ in range(1000):
                on_progress(1, 1)
                time.sleep(0.01)
        except Exception as exc:
            stopped.append(type(exc).__name__)
            raise

    monkeypatch.setattr(HubClient, "_pull_range", fake)
    with HubClient(hub.url, token) as client, pytest.raises(CorruptData, match="range one is bad"):
        client.pull("D-2026-001", tmp_path / "out", streams=3)
    assert stopped == ["_Stopped", "_Stopped"]  # had they run on, they would have ended quietly


def test_the_same_version_registered_twice_at_once_is_one_version(
    hub: LiveServer, token: str, tmp_path: Path
) -> None:
    """A sender's retry can reach the hub while its first registration is still being
    stored: both are answered for the one version (the second was once an unhandled 500)."""
    auth = {"Authorization": f"Bearer {token}"}
    for n in range(4):
        _, manifest = _packed(tmp_path, name=f"D-RACE-{n}")
        body = manifest.to_dict()  # type: ignore[attr-defined]
        answers = post_at_once(hub.url, "/api/v1/dossiers", body, auth)
        codes = sorted(a.status_code for a in answers)
        assert codes in ([200, 201], [201, 201]), [a.text for a in answers]
        assert {a.json()["merkle_root"] for a in answers} == {manifest.root}  # type: ignore[attr-defined]


def test_a_manifest_that_is_not_json_is_refused(api: httpx.Client) -> None:
    r = api.post(
        "/api/v1/dossiers", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "body"


def test_a_pack_asks_the_database_about_its_own_pages_not_the_whole_version(
    hub: LiveServer, token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting what is still missing after each pack over every page of the version made
    a push quadratic; now the whole version is asked about once per hub process, then each
    pack only about its own pages (and, once few remain, about those few)."""
    from casebridge.services import dossiers as service
    from casebridge.store.dossier_repository import DossierRepository

    monkeypatch.setattr(service, "_RECHECK", 4)
    asked: list[int] = []  # hashes per question (every "which are held" is present())
    real = DossierRepository.present

    def counting(self: DossierRepository, hashes: object) -> set[str]:
        hashes = list(hashes)  # type: ignore[call-overload]
        asked.append(len(hashes))
        return real(self, hashes)

    monkeypatch.setattr(DossierRepository, "present", counting)
    folder, manifest = _packed(tmp_path, volumes=4, pages=10, size=3000)  # 40 pages
    seen: list[tuple[int, str]] = []

    def on_pack(_n: int, _b: int, result: object) -> None:
        seen.append((result.pages_sent, result.status))  # type: ignore[attr-defined]

    with HubClient(hub.url, token) as client:
        client.parallel = 1  # acknowledgements in order, so the counts can be checked
        pushed = client.push(folder, manifest, pack_bytes=12_500, on_pack=on_pack)  # type: ignore[arg-type]
    assert pushed.status == "complete"
    assert pushed.packs_sent == 10
    assert seen[-1] == (40, "complete")
    assert all(status == "receiving" for _, status in seen[:-1])
    # registration asks about all 40 once, the first pack's count once more; after that
    # no call asks about more than one pack's pages (4) or the few left (_RECHECK = 4),
    # until the last pack: "complete" is confirmed by one count of the whole version (a
    # stale flag must not complete a version: see verify_stored's repair)
    assert asked.count(40) == 3
    assert asked[-1] == 40
    assert max(asked[asked.index(40) + 2 : -1]) <= 4


def test_pages_another_hub_process_stored_complete_the_version(
    api: httpx.Client, container: Container, tmp_path: Path
) -> None:
    """Hub processes share the database, not their memory: pages recorded by another
    process (simulated: recorded straight into the store and the database) are found when
    few remain, and the version completes on this process's next pack."""
    folder, manifest = _packed(tmp_path)  # 10 pages
    pages = _pages(folder)
    (h1, d1) = pages[0]
    first = _post_pack(api, manifest, frame_header(h1, len(d1)) + d1)
    assert first.status_code == 200, first.text
    assert first.json()["missing_count"] == 9
    store = container.page_store()
    for sha, data in pages[1:9]:  # what "the other process" stored
        store.put(sha, data)
    store.sync()
    with container.uow() as uow:
        uow.dossiers.add_pages({sha: len(data) for sha, data in pages[1:9]})
        uow.commit()
    h10, d10 = pages[9]
    last = api.post(
        f"/api/v1/dossiers/D-2026-001/versions/{manifest.root}/packs",  # type: ignore[attr-defined]
        content=frame_header(h10, len(d10)) + d10,
        headers={"Content-Type": MEDIA_TYPE},
    )
    assert last.status_code == 200, last.text
    assert last.json()["missing_count"] == 0
    assert last.json()["status"] == "complete"


def test_packs_beyond_the_process_slots_wait_unread_and_all_land(
    container: Container, api: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One slot: three packs sent at once, each body arriving slowly (half, 0.3 s, the rest),
    # are received one after the other; every page still lands and the version completes.
    slots = container._pack_slots = PackSlots(1)
    active, most = 0, 0
    receive = dossiers._receive_pack

    async def counted(*args: Any) -> Any:  # packs being read, seen from outside the slots
        nonlocal active, most
        active += 1
        most = max(most, active)
        try:
            return await receive(*args)
        finally:
            active -= 1

    monkeypatch.setattr(dossiers, "_receive_pack", counted)
    folder, manifest = _packed(tmp_path, volumes=3, pages=2)
    root = manifest.root  # type: ignore[attr-defined]
    assert api.post("/api/v1/dossiers", json=manifest.to_dict()).status_code in (200, 201)  # type: ignore[attr-defined]
    pages = _pages(folder)
    bodies = [b"".join(frame_header(h, len(d)) + d for h, d in pages[i : i + 2]) for i in (0, 2, 4)]
    start = threading.Barrier(len(bodies))

    def slowly(body: bytes) -> Iterator[bytes]:
        yield body[: len(body) // 2]
        time.sleep(0.3)
        yield body[len(body) // 2 :]

    def send(body: bytes) -> int:
        start.wait()
        return api.post(
            f"/api/v1/dossiers/D-2026-001/versions/{root}/packs",
            content=slowly(body),
            headers={"Content-Type": MEDIA_TYPE},
        ).status_code

    with ThreadPoolExecutor(len(bodies)) as pool:
        codes = list(pool.map(send, bodies))
    assert codes == [200, 200, 200]
    assert most == 1  # never two packs received at once (without the slots: 3)
    assert slots.peak == 1
    assert slots.waited >= 1  # and they did arrive together: some had to wait
    assert slots.in_use == 0
    status = api.get(f"/api/v1/dossiers/D-2026-001/versions/{root}").json()
    assert status["status"] == "complete"
    assert status["missing"] == []


def _big_manifest(pages: int) -> Manifest:
    """A manifest of ``pages`` pages in volumes of 500, with Chinese titles as real ones have."""
    volumes = []
    for v in range(0, pages, 500):
        listed = [
            Page(f"{p:04d}.jpg", "image/jpeg", 200_000 + p, hashlib.sha256(b"%d" % p).hexdigest())
            for p in range(v, min(pages, v + 500))
        ]
        doc = Document("0101", f"讯问笔录 第{v // 500 + 1}册", "110000000000", tuple(listed))
        volumes.append(Volume(f"第{v // 500 + 1}卷 证据材料", (doc,)))
    return Manifest("D-2026-MEM", "张某某盗窃案", tuple(volumes)).sealed()


def test_registering_versions_of_a_large_dossier_holds_few_copies_of_its_manifest(
    container: Container,
) -> None:
    """The hub's memory while it registers a version and then a child of it, in copies of
    the manifest's canonical size (Python allocations, tracemalloc: deterministic).

    The manifest used to be stored as text: decoded (two bytes a character once a title is
    Chinese), encoded back, spliced and decoded again, and every status listed every page
    hash as a string — registering the child of a 5,253-page version peaked at 6.9 MB for a
    0.76 MB manifest (9 copies). Stored as bytes, spliced through a view, with the status
    asked a chunk at a time, it needs about two; three with the parse of the body, which is
    read a volume at a time.
    """
    police = police_principal(container)
    parent = _big_manifest(4000)
    size = len(parent.canonical())
    body = parent.canonical()
    added = Volume(
        "补充材料",
        (
            Document(
                "0102", "补充笔录", "110000000000", (Page("1.jpg", "image/jpeg", 5, "ab" * 32),)
            ),
        ),
    )
    child = union(parent, [added])
    ext = {
        "schema": EXTENSION_SCHEMA,
        "title": child.title,
        "volumes": [volume_to_dict(added)],
        "merkle_root": child.root,
    }

    def peak(step: Callable[[], object]) -> float:
        """Peak of Python allocations during ``step``, in manifest sizes."""
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            step()
            return (tracemalloc.get_traced_memory()[1] - base) / size
        finally:
            tracemalloc.stop()

    def register() -> object:
        with container.uow() as uow:
            return dossiers.register_manifest(
                uow, io.BytesIO(body), principal=police, settings=container.settings
            )

    def extend() -> object:
        with container.uow() as uow:
            return dossiers.register_extension(
                uow,
                parent.dossier_id,
                parent.root,
                ext,
                principal=police,
                settings=container.settings,
            )

    def status() -> object:
        with container.uow() as uow:
            return dossiers.version_status(uow, parent.dossier_id, parent.root)

    # parsed from the body a volume at a time, the answer listing every page (none held)
    assert peak(register) < 3.5
    with container.uow() as uow:  # as if every page had arrived
        uow.dossiers.add_pages(dict(parent.distinct_pages().items()))
        uow.commit()
    assert peak(status) < 1.5  # thousands of pages checked, none of them listed
    assert peak(extend) < 3.0


def test_the_hub_keeps_the_manifests_it_parsed_on_a_shelf_and_bounds_how_many(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registered version's manifest is parsed from the body a volume at a time and
    each volume is shelved: the hub's cached copy holds a line per volume, not ~180 bytes
    a page. A version parsed again from the database is shelved the same way. The cache is
    bounded by entries too (each shelf is an open file), not only by pages."""
    monkeypatch.setattr(dossiers, "_MANIFESTS", OrderedDict())
    monkeypatch.setattr(dossiers, "_CACHE_ENTRIES", 2)
    police = police_principal(container)
    versions = [
        Manifest(f"D-SHELF-{n}", "t", _big_manifest(1200).volumes).sealed() for n in range(3)
    ]
    for m in versions:
        with container.uow() as uow:
            dossiers.register_manifest(
                uow, io.BytesIO(m.canonical()), principal=police, settings=container.settings
            )
    assert list(dossiers._MANIFESTS) == [(m.dossier_id, m.root) for m in versions[1:]]
    for m in versions:  # the first one again: parsed from the database, shelved too
        with container.uow() as uow:
            got = dossiers.load_manifest(uow, m.dossier_id, m.root)
        assert isinstance(got.volumes, ShelvedVolumes)
        assert len(got.volumes) == 3  # 1,200 pages in volumes of 500
        assert got.canonical() == m.canonical()
    assert len(dossiers._MANIFESTS) == 2


def test_a_manifest_is_stored_a_volume_a_row_and_a_child_copies_its_parents_rows(
    api: httpx.Client, container: Container, tmp_path: Path
) -> None:
    """The hub writes a manifest as its head, a row a volume and its end, and never holds
    it whole; joined, the rows are the canonical bytes the hub serves. A child registered
    as what it adds copies its parent's volume rows. A re-posted manifest is known by its
    digest; one with the same root but other bytes (a changed title) is a conflict."""
    _, parent = _packed(tmp_path, volumes=3, pages=4)
    canonical = parent.canonical()  # type: ignore[attr-defined]
    r = api.post(
        "/api/v1/dossiers", content=canonical, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 201, r.text
    root = parent.root  # type: ignore[attr-defined]
    got = api.get(f"/api/v1/dossiers/{parent.dossier_id}/versions/{root}/manifest")  # type: ignore[attr-defined]
    assert got.content == canonical
    assert got.headers["content-length"] == str(len(canonical))
    added = Volume(
        "补充材料",
        (
            Document(
                "0102", "补充笔录", "110000000000", (Page("1.jpg", "image/jpeg", 5, "cd" * 32),)
            ),
        ),
    )
    child = union(parent, [added])  # type: ignore[arg-type]
    ext = {
        "schema": EXTENSION_SCHEMA,
        "title": child.title,
        "volumes": [volume_to_dict(added)],
        "merkle_root": child.root,
    }
    r = api.post(f"/api/v1/dossiers/{child.dossier_id}/versions/{root}/children", json=ext)
    assert r.status_code == 201, r.text
    with container.uow() as uow:
        rows = {
            v.merkle_root: list(uow.dossiers.manifest_parts(v.id))
            for v in uow.dossiers.versions(child.dossier_id)
        }
    assert len(rows[root]) == 3 + 2  # head, three volumes, end
    assert b"".join(rows[root]) == canonical
    assert rows[child.root][1:4] == rows[root][1:4]  # the parent's volumes, copied
    assert b"".join(rows[child.root]) == child.canonical()
    got = api.get(f"/api/v1/dossiers/{child.dossier_id}/versions/{child.root}/manifest")
    assert got.content == child.canonical()
    again = api.post(f"/api/v1/dossiers/{child.dossier_id}/versions/{root}/children", json=ext)
    assert again.status_code == 200, again.text  # known: the same bytes, by digest
    renamed = Manifest(parent.dossier_id, "另一个标题", parent.volumes).sealed()  # type: ignore[attr-defined]
    assert renamed.root == root
    r = api.post(
        "/api/v1/dossiers",
        content=renamed.canonical(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 409, r.text


def test_a_manifest_body_over_the_limit_is_refused_unread_and_nothing_is_registered(
    api: httpx.Client, container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub spools a manifest to disk rather than memory; the limit keeps one endless
    body from filling that disk. 413, the setting named, in either language."""
    _, manifest = _packed(tmp_path)
    body = manifest.canonical()  # type: ignore[attr-defined]
    limit = {"dossier_max_manifest_bytes": len(body) - 1}
    monkeypatch.setattr(container, "settings", container.settings.model_copy(update=limit))
    resp = api.post("/api/v1/dossiers", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    problem = resp.json()
    assert f"over {len(body) - 1} bytes (setting dossier_max_manifest_bytes)" in problem["detail"]
    assert problem["problems"][0]["rule"] == "size"
    assert api.get("/api/v1/dossiers/D-2026-001").status_code == 404
    zh = api.post(
        "/api/v1/dossiers",
        content=body,
        headers={"Content-Type": "application/json", "Accept-Language": "zh-CN"},
    )
    assert zh.status_code == 413
    assert "dossier_max_manifest_bytes" in zh.json()["detail"]
    assert "字节" in zh.json()["detail"]
    limit = {"dossier_max_manifest_bytes": len(body)}
    monkeypatch.setattr(container, "settings", container.settings.model_copy(update=limit))
    assert api.post("/api/v1/dossiers", content=body).status_code == 201  # at the limit: read
