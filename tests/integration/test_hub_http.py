"""The hub over real HTTP on loopback: health, docs, auth, problem+json, request ids."""

from __future__ import annotations

import httpx

from casebridge.bootstrap import Container
from casebridge.services.setup import initialise


def _token(container: Container, username: str) -> str:
    with container.uow() as uow:
        report = initialise(uow)
    return report.issued_tokens[username]


def test_healthz_and_readyz(client: httpx.Client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["schema_revision"] == ready.json()["expected_revision"]


def test_openapi_ui_is_served_from_local_assets(client: httpx.Client) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert client.get("/api/docs/static/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/me" in spec["paths"]


def test_every_response_has_a_request_id_and_echoes_a_sane_one(client: httpx.Client) -> None:
    assert len(client.get("/healthz").headers["x-request-id"]) == 32
    r = client.get("/healthz", headers={"X-Request-ID": "gw-police-000123"})
    assert r.headers["x-request-id"] == "gw-police-000123"
    r = client.get("/healthz", headers={"X-Request-ID": "bad id\twith junk"})
    assert r.headers["x-request-id"] != "bad id\twith junk"


def test_missing_token_is_a_401_problem(client: httpx.Client) -> None:
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "urn:casebridge:problem:authentication-required"
    assert body["request_id"] == r.headers["x-request-id"]
    assert r.headers["www-authenticate"] == "Bearer"


def test_unknown_token_is_refused(client: httpx.Client) -> None:
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer cbt_nope"})
    assert r.status_code == 401


def test_token_resolves_to_user_agency_and_roles(
    client: httpx.Client, container: Container
) -> None:
    token = _token(container, "procuratorate.handler")
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    me = r.json()
    assert me["username"] == "procuratorate.handler"
    assert me["agency_type"] == "procuratorate"
    assert me["agency_code"] == "DEMO350102JCY"
    assert me["roles"] == ["handler"]


def test_unknown_route_and_object_are_404_problems(
    client: httpx.Client, container: Container
) -> None:
    token = _token(container, "court.handler")
    auth = {"Authorization": f"Bearer {token}"}
    r = client.get("/api/v1/agencies/does-not-exist", headers=auth)
    assert r.status_code == 404
    assert r.json()["type"] == "urn:casebridge:problem:not-found"
    assert client.get("/nowhere").json()["type"] == "urn:casebridge:problem:not-found"


def test_agencies_lists_the_demo_region(client: httpx.Client, container: Container) -> None:
    token = _token(container, "police.handler")
    auth = {"Authorization": f"Bearer {token}"}
    agencies = client.get("/api/v1/agencies", headers=auth).json()
    assert {a["type"] for a in agencies} >= {"police", "procuratorate", "court", "judicial_admin"}
    assert all(a["division_code"] == "350102" for a in agencies)
    courts = client.get("/api/v1/agencies", params={"type": "court"}, headers=auth).json()
    assert [a["code"] for a in courts] == ["DEMO350102FY"]


def test_problem_titles_follow_accept_language(client: httpx.Client) -> None:
    zh = client.get("/api/v1/me", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.json()["title"] == "需要身份认证"
    assert zh.headers["content-language"] == "zh-Hans"
    assert zh.json()["type"] == "urn:casebridge:problem:authentication-required"
    en = client.get("/api/v1/me", headers={"Accept-Language": "en"})
    assert en.json()["title"] == "Authentication required"
    assert en.headers["content-language"] == "en"
