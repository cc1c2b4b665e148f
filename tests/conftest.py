"""Shared fixtures: databases (SQLite and, when configured, PostgreSQL) and a live hub.

PostgreSQL isolation: each test gets its own schema (search_path set in the URL), dropped
afterwards, so tests never see each other's rows and can run migrations from scratch.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, create_engine, text

from casebridge.bootstrap import Container, procedure_context
from casebridge.config import Settings
from casebridge.domain.agency import Principal
from casebridge.hub.app import create_app
from casebridge.hub.tls import HubHttpProtocol
from casebridge.logs import configure_logging
from casebridge.services.auth import principal_for
from casebridge.services.setup import initialise
from casebridge.store.db import make_engine
from casebridge.store.migrate import upgrade
from casebridge.store.uow import UnitOfWorkFactory

POSTGRES_URL = os.environ.get("CASEBRIDGE_TEST_POSTGRES_URL")
configure_logging("console", "warning")  # request logs would drown pytest's output


def _pg_schema_url(schema: str) -> str:
    assert POSTGRES_URL
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("CASEBRIDGE_TEST_POSTGRES_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def uow_factory(engine: Engine) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine)


def police_principal(container: Container) -> Principal:
    """The police handler of a hub database initialised here (the demo-free set-up)."""
    with container.uow() as uow:
        initialise(uow)
    with container.uow() as uow:
        user = uow.users.by_username("police.handler")
        assert user is not None
        return principal_for(user)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def post_at_once(
    url: str, path: str, body: object, headers: dict[str, str], times: int = 2
) -> list[httpx.Response]:
    """POST the same request ``times`` times at the same moment, each on its own connection
    (threads released together by a barrier): how races between requests are shown."""
    go = threading.Barrier(times)
    answers: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            go.wait()
            answers.append(c.post(path, json=body, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


class LiveServer:
    """A real uvicorn server on loopback, in a thread, serving the given app."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            http=HubHttpProtocol,  # the hub's own protocol, as `casebridge serve` runs it
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def container(engine: Engine, tmp_path: Path) -> Container:
    settings = Settings(var_dir=tmp_path / "var", database_url=str(engine.url))
    return Container(
        settings=settings,
        engine=engine,
        uow=UnitOfWorkFactory(engine),
        procedure=procedure_context(settings),
    )


@pytest.fixture
def hub(container: Container) -> Iterator[LiveServer]:
    with LiveServer(create_app(container=container)) as server:
        yield server


@pytest.fixture
def client(hub: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.url, timeout=10) as c:
        yield c
