"""tus 1.0: the standard tuspy client uploads a scan that becomes a verified, sealed page."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest
from tusclient import client as tus_client

from casebridge.bootstrap import Container
from casebridge.domain.dossier import Document, Manifest, Page, Volume
from casebridge.gateway.dossier_client import HubClient
from tests.conftest import LiveServer
from tests.integration.dossier_helpers import demo_token


def _meta(**kv: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in kv.items())


def test_tuspy_upload_becomes_a_verified_page(
    hub: LiveServer, container: Container, tmp_path: Path
) -> None:
    token = demo_token(container)
    scan = tmp_path / "0001.jpg"
    data = os.urandom(300_000)
    scan.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    tc = tus_client.TusClient(f"{hub.url}/api/v1/tus", headers={"Authorization": f"Bearer {token}"})
    with scan.open("rb") as stream:  # tuspy leaves files it opens itself unclosed
        uploader = tc.uploader(
            file_stream=stream,
            chunk_size=64 * 1024,  # several PATCH requests, each checksummed
            metadata={"filename": "0001.jpg", "filetype": "image/jpeg", "sha256": digest},
            upload_checksum=True,
        )
        uploader.upload()
    assert uploader.offset == len(data)
    head = httpx.head(
        uploader.url, headers={"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    )
    assert head.headers["x-page-sha256"] == digest
    with container.uow() as uow:
        assert uow.dossiers.present([digest]) == {digest}
    # The page is now held: a manifest listing it needs no upload, and it reads back verified.
    doc = Document(
        "SCAN", "扫描件", "DEMO350102GA", (Page("0001.jpg", "image/jpeg", len(data), digest),)
    )
    manifest = Manifest("D-tus", "tus 上传", (Volume("01", (doc,)),)).sealed()
    with HubClient(hub.url, token) as hc:
        assert hc.register(manifest)["missing"] == []
        hc.pull("D-tus", tmp_path / "out")
    assert (tmp_path / "out" / "01" / "0001.jpg").read_bytes() == data


@pytest.fixture
def auth(container: Container) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo_token(container)}", "Tus-Resumable": "1.0.0"}


def test_options_advertises_version_and_extensions(hub: LiveServer) -> None:
    r = httpx.options(f"{hub.url}/api/v1/tus")
    assert r.status_code == 204
    assert r.headers["tus-version"] == "1.0.0"
    assert set(r.headers["tus-extension"].split(",")) == {
        "creation",
        "checksum",
        "termination",
        "expiration",
    }
    assert "sha1" in r.headers["tus-checksum-algorithm"]


def test_bad_checksum_discards_the_chunk_with_460(hub: LiveServer, auth: dict[str, str]) -> None:
    created = httpx.post(
        f"{hub.url}/api/v1/tus",
        headers={**auth, "Upload-Length": "10", "Upload-Metadata": _meta(filetype="image/png")},
    )
    assert created.status_code == 201
    assert "upload-expires" in {k.lower() for k in created.headers}
    url = f"{hub.url}{created.headers['location']}"
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()  # noqa: S324 - tus
    r = httpx.patch(
        url,
        content=b"12345",
        headers={
            **auth,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": f"sha1 {wrong}",
        },
    )
    assert r.status_code == 460
    assert httpx.head(url, headers=auth).headers["upload-offset"] == "0"
    stale = httpx.patch(
        url,
        content=b"12345",
        headers={**auth, "Upload-Offset": "3", "Content-Type": "application/offset+octet-stream"},
    )
    assert stale.status_code == 409


def test_termination_forgets_the_upload(hub: LiveServer, auth: dict[str, str]) -> None:
    created = httpx.post(
        f"{hub.url}/api/v1/tus",
        headers={
            **auth,
            "Upload-Length": "10",
            "Upload-Metadata": _meta(filetype="application/pdf"),
        },
    )
    url = f"{hub.url}{created.headers['location']}"
    assert httpx.delete(url, headers=auth).status_code == 204
    assert httpx.head(url, headers=auth).status_code == 404


def test_unsupported_media_type_and_traversal_are_refused_at_creation(
    hub: LiveServer, auth: dict[str, str]
) -> None:
    r = httpx.post(
        f"{hub.url}/api/v1/tus",
        headers={
            **auth,
            "Upload-Length": "10",
            "Upload-Metadata": _meta(filetype="text/html", filename="../x"),
        },
    )
    assert r.status_code == 422
    assert sorted(p["rule"] for p in r.json()["problems"]) == ["media-type", "path-traversal"]


def test_expired_upload_is_gone(
    hub: LiveServer, container: Container, auth: dict[str, str]
) -> None:
    created = httpx.post(
        f"{hub.url}/api/v1/tus",
        headers={**auth, "Upload-Length": "10", "Upload-Metadata": _meta(filetype="image/png")},
    )
    upload_id = created.headers["location"].rsplit("/", 1)[1]
    info = container.settings.var_dir / "tus" / f"{upload_id}.json"
    state = json.loads(info.read_text())
    info.write_text(json.dumps({**state, "expires": state["expires"] - 2 * 86400}))
    r = httpx.head(f"{hub.url}{created.headers['location']}", headers=auth)
    assert r.status_code == 404
