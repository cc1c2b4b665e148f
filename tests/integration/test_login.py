"""Password login over HTTP: argon2id, lockout after repeated failures (audited), sessions
with an HttpOnly cookie and a CSRF token required on writes."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from casebridge.bootstrap import Container
from casebridge.services.login import set_password
from casebridge.services.setup import initialise
from casebridge.store.models import AuditEvent
from casebridge.store.types import utcnow
from tests.conftest import LiveServer, post_at_once

PASSWORD = "correct horse battery staple"


def _ready(container: Container) -> None:
    with container.uow() as uow:
        initialise(uow)
    with container.uow() as uow:
        set_password(uow, "court.handler", PASSWORD)


def test_ten_wrong_passwords_lock_the_account_and_everything_is_audited(
    container: Container, client: httpx.Client
) -> None:
    _ready(container)
    for _ in range(10):
        r = client.post("/api/v1/auth/login", json={"username": "court.handler", "password": "x"})
        assert r.status_code == 401
        assert r.json()["detail"] == "wrong username or password"
    locked = client.post(
        "/api/v1/auth/login", json={"username": "court.handler", "password": PASSWORD}
    )
    assert locked.status_code == 401
    assert "locked until" in locked.json()["detail"]
    with container.uow() as uow:
        events = uow.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.in_(["auth.login", "auth.lock"]))
            .order_by(AuditEvent.seq)
        ).all()
        outcomes = [(e.action, e.outcome) for e in events]
        assert outcomes == [("auth.login", "failed")] * 10 + [
            ("auth.lock", "locked"),
            ("auth.login", "locked"),
        ]
        assert all(e.client_addr == "127.0.0.1" for e in events)
        # the configured time passes
        user = uow.users.by_username("court.handler")
        assert user is not None
        assert user.locked_until is not None
        user.locked_until = utcnow() - timedelta(seconds=1)
        uow.commit()
    ok = client.post("/api/v1/auth/login", json={"username": "court.handler", "password": PASSWORD})
    assert ok.status_code == 200


def test_unknown_user_fails_like_a_wrong_password(
    container: Container, client: httpx.Client
) -> None:
    _ready(container)
    r = client.post("/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD})
    assert r.status_code == 401
    assert r.json()["detail"] == "wrong username or password"


def test_session_cookie_needs_csrf_token_on_writes(container: Container) -> None:
    _ready(container)
    from casebridge.hub.app import create_app

    container.settings = container.settings.model_copy(update={"cookie_secure": False})
    with (
        LiveServer(create_app(container=container)) as server,
        httpx.Client(base_url=server.url) as browser,
    ):
        r = browser.post(
            "/api/v1/auth/login", json={"username": "court.handler", "password": PASSWORD}
        )
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        token = cookie.split("=", 1)[1].split(";", 1)[0]
        assert "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        csrf = r.json()["csrf_token"]
        assert browser.get("/api/v1/me").json()["username"] == "court.handler"
        assert browser.post("/api/v1/auth/logout").status_code == 403  # no CSRF token
        forged = browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "forged"})
        assert forged.status_code == 403
        done = browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert done.status_code == 204
        with httpx.Client(base_url=server.url, cookies={"cb_session": token}) as replay:
            assert replay.get("/api/v1/me").status_code == 401  # the session is gone


def test_parallel_wrong_passwords_still_lock_the_account(
    container: Container, hub: LiveServer
) -> None:
    """Guesses sent in parallel each count: they once all read the same failure count, each
    wrote it plus one, and twenty guesses at once never locked the account."""
    _ready(container)
    wrong = {"username": "court.handler", "password": "x"}
    guesses = post_at_once(hub.url, "/api/v1/auth/login", wrong, {}, times=20)
    assert {g.status_code for g in guesses} == {401}
    with httpx.Client(base_url=hub.url, timeout=60) as c:
        right = c.post(
            "/api/v1/auth/login", json={"username": "court.handler", "password": PASSWORD}
        )
    assert right.status_code == 401
    assert "locked until" in right.json()["detail"]
