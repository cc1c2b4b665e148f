"""The hub with `blob_backend = "s3"` and the `gm` suite: the same transfer, pages in S3."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import Engine

from casebridge.bootstrap import Container, procedure_context
from casebridge.config import Settings
from casebridge.errors import CorruptData
from casebridge.gateway.dossier_client import HubClient
from casebridge.gateway.dossier_folder import pack
from casebridge.hub.app import create_app
from casebridge.store.uow import UnitOfWorkFactory
from tests.conftest import LiveServer, free_port
from tests.integration.dossier_helpers import demo_token, make_folder


@pytest.fixture
def s3_hub(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LiveServer, Container, object]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"pages-{uuid.uuid4().hex[:12]}"  # moto keeps state per process
    s3.create_bucket(Bucket=bucket)
    settings = Settings(
        var_dir=tmp_path / "var",
        database_url=str(engine.url),
        blob_backend="s3",
        s3_bucket=bucket,
        s3_endpoint_url=endpoint,
        crypto_suite="gm",
    )
    container = Container(
        settings=settings,
        engine=engine,
        uow=UnitOfWorkFactory(engine),
        procedure=procedure_context(settings),
    )
    try:
        with LiveServer(create_app(container=container)) as server:
            yield server, container, (s3, bucket)
    finally:
        moto.stop()


def test_pages_live_encrypted_in_s3_and_a_flipped_byte_is_named(
    s3_hub: tuple[LiveServer, Container, object], tmp_path: Path
) -> None:
    server, container, (s3, bucket) = s3_hub  # type: ignore[misc]
    token = demo_token(container)
    folder = make_folder(tmp_path / "D-s3", volumes=1, pages=4, size=5000)
    manifest = pack(folder, dossier_id="D-s3", title="S3", agency="X")
    with HubClient(server.url, token) as client:
        assert client.push(folder, manifest).status == "complete"
        client.pull("D-s3", tmp_path / "out")
    page2 = manifest.volumes[0].documents[0].pages[1]
    assert (tmp_path / "out" / "01-卷1" / "0002.jpg").read_bytes() == (
        folder / "01-卷1" / "0002.jpg"
    ).read_bytes()
    key = f"pages/{page2.sha256[:2]}/{page2.sha256}"
    stored = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())  # type: ignore[attr-defined]
    assert b"CBE1\x02gm" in stored[:8]  # sealed with the gm suite (SM4-GCM)
    stored[-20] ^= 0x01
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(stored))  # type: ignore[attr-defined]
    with (
        HubClient(server.url, token) as client,
        pytest.raises(CorruptData, match=r"page 2 \(0002.jpg\)"),
    ):
        client.pull("D-s3", tmp_path / "again")
