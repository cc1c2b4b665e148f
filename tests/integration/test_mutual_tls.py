"""Gateways authenticate by their client certificate over real mutual TLS on loopback."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from casebridge.bootstrap import Container
from casebridge.cli import tls_options
from casebridge.hub.app import create_app
from casebridge.security.pki import ensure_ca, issue_client, issue_server
from casebridge.services.auth import register_certificate
from casebridge.services.setup import initialise
from casebridge.store.models import User
from tests.conftest import free_port


@pytest.fixture
def tls_hub(container: Container, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if container.engine.dialect.name != "sqlite":
        pytest.skip("transport security does not depend on the database engine")
    pki = tmp_path / "pki"
    ca, _ = ensure_ca(pki)
    server = issue_server(pki, ["127.0.0.1"])
    container.settings = container.settings.model_copy(
        update={"tls_cert_file": server.cert, "tls_key_file": server.key, "tls_client_ca_file": ca}
    )
    with container.uow() as uow:
        initialise(uow)
    with container.uow() as uow:
        agency = uow.agencies.by_code("DEMO350102GA")
        assert agency is not None
        uow.users.add(
            User(
                username="police.gateway",
                display_name="公安子平台",
                agency_id=agency.id,
                roles=["gateway"],
            )
        )
        uow.commit()
    port = free_port()
    config = uvicorn.Config(
        create_app(container=container),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        **tls_options(container.settings),
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.started
    yield f"https://127.0.0.1:{port}", pki
    srv.should_exit = True
    thread.join(10)


def _client(pki: Path, cert: Path | None = None, key: Path | None = None) -> httpx.Client:
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if cert is not None and key is not None:
        ctx.load_cert_chain(str(cert), str(key))
    return httpx.Client(verify=ctx, timeout=10)


def test_registered_client_certificate_authenticates_the_gateway(
    tls_hub: tuple[str, Path], container: Container
) -> None:
    url, pki = tls_hub
    issued = issue_client(pki, "police.gateway")
    with container.uow() as uow:
        register_certificate(uow, "police.gateway", issued.fingerprint)
    with _client(pki, issued.cert, issued.key) as c:
        me = c.get(f"{url}/api/v1/me")
    assert me.status_code == 200
    assert me.json()["username"] == "police.gateway"
    assert me.json()["roles"] == ["gateway"]


def test_no_certificate_and_no_token_is_401(tls_hub: tuple[str, Path]) -> None:
    url, pki = tls_hub
    with _client(pki) as c:
        assert c.get(f"{url}/healthz").status_code == 200
        assert c.get(f"{url}/api/v1/me").status_code == 401


def test_unregistered_certificate_is_401(tls_hub: tuple[str, Path]) -> None:
    url, pki = tls_hub
    issued = issue_client(pki, "someone.else")
    with _client(pki, issued.cert, issued.key) as c:
        r = c.get(f"{url}/api/v1/me")
    assert r.status_code == 401
    assert "not registered" in r.json()["detail"]


def test_certificate_from_another_ca_is_refused_at_the_handshake(
    tls_hub: tuple[str, Path], tmp_path: Path
) -> None:
    url, pki = tls_hub
    rogue = issue_client(tmp_path / "rogue-pki", "police.gateway")
    with _client(pki, rogue.cert, rogue.key) as c, pytest.raises(httpx.HTTPError):
        c.get(f"{url}/api/v1/me")


def test_the_hub_terminates_tls_itself_not_in_uvloop(tmp_path: Path) -> None:
    """`casebridge serve` gives uvicorn no TLS settings: TLS is CPython's ``sslproto``
    around the hub's protocol (uvloop's own TLS grew a worker with every byte received;
    see ``casebridge.hub.tls.tls_protocol``)."""
    from asyncio import sslproto

    from casebridge.config import Settings

    pki = tmp_path / "pki"
    ca, _ = ensure_ca(pki)
    server = issue_server(pki, ["127.0.0.1"])
    s = Settings(
        var_dir=tmp_path / "var",
        tls_cert_file=server.cert,
        tls_key_file=server.key,
        tls_client_ca_file=ca,
    )
    opts = tls_options(s)
    assert not [k for k in opts if k.startswith("ssl")]
    assert issubclass(opts["http"], sslproto.SSLProtocol)
