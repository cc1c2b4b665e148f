"""The hub's problem documents for errors no service translated."""

from __future__ import annotations

import sqlite3

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from casebridge.hub.problems import install_problem_handlers
from tests.conftest import LiveServer


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/race")
    def race() -> None:
        orig = sqlite3.IntegrityError("UNIQUE constraint failed: exchange.idempotency_key")
        raise IntegrityError("INSERT INTO exchange …", {}, orig)

    return app


def test_a_constraint_no_service_translated_is_a_conflict_not_an_internal_error() -> None:
    """A race for a unique key between two requests: 409, naming the constraint, in the
    asked language."""
    with LiveServer(_app()) as hub, httpx.Client(base_url=hub.url) as client:
        en = client.get("/race")
        zh = client.get("/race", headers={"Accept-Language": "zh-CN"})
    assert en.status_code == 409
    assert en.json()["type"] == "urn:casebridge:problem:conflict"
    assert en.json()["detail"] == (
        "the write collides with existing data: UNIQUE constraint failed: exchange.idempotency_key"
    )
    assert zh.status_code == 409
    assert zh.json()["detail"].endswith("UNIQUE constraint failed: exchange.idempotency_key")
    assert zh.json()["detail"] != en.json()["detail"]
