"""`/api/v1/codes` and `/api/v1/validate` over real HTTP on loopback."""

from __future__ import annotations

import httpx
import pytest

from casebridge.bootstrap import Container
from casebridge.services.setup import initialise
from casebridge.standards.registry import load_standards


@pytest.fixture
def auth(container: Container) -> dict[str, str]:
    with container.uow() as uow:
        report = initialise(uow)
    return {"Authorization": f"Bearer {report.issued_tokens['police.handler']}"}


def test_code_tables_are_public_reference_data(client: httpx.Client) -> None:
    r = client.get("/api/v1/codes")
    assert r.status_code == 200
    assert {t["table"] for t in r.json()["tables"]} == set(load_standards().tables)
    crime = client.get("/api/v1/codes/crime").json()
    assert sum(1 for c in crime["codes"] if not c["retired"]) == 483
    assert crime["version"] == load_standards().table("crime").version


def test_one_code_and_a_filtered_table(client: httpx.Client) -> None:
    theft = client.get("/api/v1/codes/crime/C0221").json()
    assert (theft["name_zh"], theft["article"]) == ("盗窃罪", "264")
    hits = client.get("/api/v1/codes/crime", params={"q": "盗窃"}).json()["codes"]
    assert any(h["name_zh"] == "盗窃罪" and h["article"] == "264" for h in hits)
    assert all("盗窃" in h["name_zh"] for h in hits)


def test_unknown_table_or_code_is_a_404_problem(client: httpx.Client) -> None:
    r = client.get("/api/v1/codes/nope")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/codes/crime/C9999").status_code == 404


def test_convert_needs_a_token(client: httpx.Client) -> None:
    r = client.post("/api/v1/codes/convert", json={"from": "police", "payload": {}})
    assert r.status_code == 401


def test_convert_returns_the_payload_and_table_versions(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    body = {
        "from": "police",
        "to": "procuratorate",
        "payload": {"case": {"title": "t", "case_ref": "r", "crime": "050204"}},
    }
    r = client.post("/api/v1/codes/convert", json=body, headers=auth)
    assert r.status_code == 200, r.text
    out = r.json()
    proc = load_standards().dialects["procuratorate"].tables["crime"]
    assert proc.inbound[out["payload"]["case"]["crime"]] == ("C0221",)
    assert out["table_versions"] == {"crime": load_standards().table("crime").version}
    assert out["from"] == "police"


def test_convert_problems_are_one_422_listing_all(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    payload = {
        "case": {"title": "t", "case_ref": "r", "crime": "999999"},
        "persons": [{"name": "n", "gender": "Q", "charges": [{"crime": "020100"}]}],
    }
    r = client.post(
        "/api/v1/codes/convert", json={"from": "police", "to": "court", "payload": payload},
        headers=auth,
    )  # fmt: skip
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert {p["field"] for p in problems} == {
        "case.crime",
        "persons[0].gender",
        "persons[0].charges[0].crime",
    }
    assert all(p["dialect"] == "police" for p in problems)


def test_validate_answers_valid_and_invalid_with_reasons(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    ok = client.post(
        "/api/v1/validate/id-number", json={"value": "11010519491231002X"}, headers=auth
    )
    assert ok.status_code == 200
    assert ok.json()["valid"] is True
    bad = client.post(
        "/api/v1/validate/court-case-number", json={"value": "（2022）闽0102民初1号"}, headers=auth
    )
    assert bad.status_code == 200
    assert bad.json()["valid"] is False
    assert bad.json()["reasons"]
    assert client.post("/api/v1/validate/zip", json={"value": "x"}, headers=auth).status_code == 404
