"""A case driven over the real HTTP API: police → procuratorate → court, with sign-for at each
step, inboxes, idempotent retries, refusals and the procedure view (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from casebridge.bootstrap import Container
from casebridge.services.clock import today_cn
from casebridge.services.setup import initialise
from casebridge.store.repositories import count_rows
from tests.conftest import LiveServer, post_at_once

TODAY = today_cn()


def day(offset: int) -> str:
    return (TODAY - timedelta(days=offset)).isoformat()


class Agent:
    """One demo user talking to the hub."""

    def __init__(self, client: httpx.Client, token: str) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {token}"}

    def send(self, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
        r = self.client.post("/api/v1/exchanges", json=body, headers=self.auth)
        assert r.status_code == expect, r.text
        out: dict[str, Any] = r.json()
        return out

    def inbox(self) -> list[dict[str, Any]]:
        r = self.client.get("/api/v1/inbox", headers=self.auth)
        assert r.status_code == 200, r.text
        out: list[dict[str, Any]] = r.json()
        return out

    def sign_for(self, exchange_id: str) -> dict[str, Any]:
        r = self.client.post(f"/api/v1/exchanges/{exchange_id}/sign-for", headers=self.auth)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def get(self, path: str, expect: int = 200) -> Any:
        r = self.client.get(path, headers=self.auth)
        assert r.status_code == expect, r.text
        return r.json()


@pytest.fixture
def agents(client: httpx.Client, container: Container) -> dict[str, Agent]:
    with container.uow() as uow:
        tokens = initialise(uow).issued_tokens
    return {
        name: Agent(client, tokens[f"{name}.handler"])
        for name in ("police", "procuratorate", "court")
    }


# In the police's own (synthetic demo) codes: gender "M", crime category 050204 (其他盗窃案).
PERSON = {
    "key": "p1",
    "name": "张三",
    "role": "suspect",
    "gender": "M",
    "ethnicity": "01",
    "id_type": "resident_id_card",
    "id_number": "11010519491231002X",
    "birth_date": "1949-12-31",
    "charges": [{"crime": "050204"}],
}


def test_case_moves_police_to_procuratorate_to_court(
    agents: dict[str, Agent], container: Container
) -> None:
    police, proc, court = agents["police"], agents["procuratorate"], agents["court"]

    # 1. police: request for arrest approval opens the case at the hub
    req = police.send(
        {
            "node": "arrest_request",
            "receiver_agency": "DEMO350102JCY",
            "payload": {
                "case": {"title": "张三盗窃案", "case_ref": "A3501020000002026030001"},
                "persons": [PERSON],
                "documents": [{"type": "arrest_request", "title": "提请批准逮捕书", "pages": 4}],
            },
            "idempotency_key": "police-0001-arrest-request",
            "occurred_on": day(6),
        }
    )
    case_id = req["case_id"]
    assert req["status"] == "delivered"
    inbox = proc.inbox()
    assert [x["id"] for x in inbox] == [req["id"]]
    # not yet assigned: the handler sees the arrival, not the content, until signing for it
    assert inbox[0]["withheld"] is True
    assert inbox[0]["payload"] == {}
    proc.sign_for(req["id"])
    signed = proc.inbox()[0]
    assert signed["withheld"] is False
    person = signed["payload"]["persons"][0]
    assert person["name"] == "张三"
    # the procuratorate reads its own codes: 盗窃罪 is 05002 there, gender the GB/T 2261.1 "1"
    assert person["charges"] == [{"crime": "05002"}]
    assert person["gender"] == "1"
    assert signed["table_versions"]["police/crime"]
    seen = police.get(f"/api/v1/exchanges/{req['id']}")
    assert seen["status"] == "signed_for"
    assert [r["kind"] for r in seen["receipts"]] == ["signed_for"]

    # 2. procuratorate: approval, answering the request (in_reply_to resolved by the hub)
    ok = proc.send(
        {
            "node": "批准逮捕",
            "receiver_agency": "DEMO350102GA",
            "case_id": case_id,
            "payload": {
                "persons": [{"key": "p1", "name": "张三"}],
                "documents": [{"type": "arrest_approval_decision"}],
            },
            "idempotency_key": "proc-0001-arrest-approved",
            "occurred_on": day(4),
        }
    )
    assert ok["in_reply_to"] == req["id"]
    assert [x["id"] for x in police.inbox()] == [ok["id"]]
    police.sign_for(ok["id"])
    assert police.get(f"/api/v1/exchanges/{req['id']}")["replies"] == [ok["id"]]

    # 3. police: transfer for prosecution
    transfer = police.send(
        {
            "node": "transfer_for_prosecution",
            "receiver_agency": "DEMO350102JCY",
            "case_id": case_id,
            "payload": {
                "persons": [{"key": "p1", "name": "张三"}],
                "documents": [{"type": "prosecution_opinion", "title": "起诉意见书"}],
            },
            "idempotency_key": "police-0002-transfer",
            "occurred_on": day(2),
        }
    )
    proc.sign_for(transfer["id"])

    # 4. procuratorate: public prosecution to the court
    prosecution_body = {
        "node": "public_prosecution",
        "receiver_agency": "DEMO350102FY",
        "case_id": case_id,
        "payload": {
            "persons": [{"key": "p1", "name": "张三", "role": "defendant"}],
            "documents": [{"type": "indictment", "title": "起诉书"}, {"type": "plea_agreement"}],
        },
        "idempotency_key": "proc-0002-prosecution",
        "occurred_on": day(1),
    }
    pros = proc.send(prosecution_body)
    assert [x["id"] for x in court.inbox()] == [pros["id"]]
    court.sign_for(pros["id"])
    # the court reads its 案由 codes and its own person-role codes
    in_court = court.get(f"/api/v1/exchanges/{pros['id']}")
    assert in_court["payload"]["persons"][0]["role"] == "BGR"  # 被告人
    first = court.get(f"/api/v1/exchanges/{req['id']}", expect=404)  # not a party to it
    assert first["type"] == "urn:casebridge:problem:not-found"

    # the court sees the case's procedure: first instance, acceptance review running
    view = court.get(f"/api/v1/cases/{case_id}/procedure")
    assert view["state"]["stage"] == "first_instance"
    assert view["state"]["handler_agency_type"] == "court"
    running = {v["rule"]: v["status"] for v in view["limits"]}
    assert running["public_prosecution_acceptance"] == "running"
    assert running["investigative_custody"] == "met"
    assert "prosecution_accepted" in view["next_nodes"]

    # 5. a retried request with the same idempotency key creates nothing new
    with container.uow() as uow:
        before = count_rows(uow.session)
    r = proc.client.post("/api/v1/exchanges", json=prosecution_body, headers=proc.auth)
    assert r.status_code == 200
    assert r.headers["idempotent-replayed"] == "true"
    assert r.json()["id"] == pros["id"]
    with container.uow() as uow:
        assert count_rows(uow.session) == before

    # … and the same key for a different request is a conflict, not a silent replay
    changed = {**prosecution_body, "occurred_on": day(0)}
    r = proc.client.post("/api/v1/exchanges", json=changed, headers=proc.auth)
    assert r.status_code == 409
    assert r.json()["type"] == "urn:casebridge:problem:conflict"


def test_refused_exchange_names_rule_and_basis_and_changes_nothing(
    agents: dict[str, Agent], container: Container
) -> None:
    with container.uow() as uow:
        before = count_rows(uow.session)
    r = agents["court"].client.post(
        "/api/v1/exchanges",
        json={
            "node": "arrest_request",
            "receiver_agency": "DEMO350102JCY",
            "payload": {
                "case": {"title": "x"},
                "persons": [{"key": "p1", "name": "张三"}],
                "documents": [{"type": "arrest_request"}],
            },
            "idempotency_key": "court-0001-wrong",
        },
        headers=agents["court"].auth,
    )
    assert r.status_code == 422
    body = r.json()
    assert body["type"] == "urn:casebridge:problem:procedure-refused"
    [problem] = body["problems"]
    assert problem["rule"] == "sender_type"
    assert problem["basis"][0]["law"] == "CPL"
    with container.uow() as uow:
        assert count_rows(uow.session) == before


def test_agency_cannot_see_a_case_never_sent_to_it(agents: dict[str, Agent]) -> None:
    police, court = agents["police"], agents["court"]
    x = police.send(
        {
            "node": "detention_executed",
            "payload": {"case": {"title": "李四案"}, "persons": [{"key": "p1", "name": "李四"}]},
            "idempotency_key": "police-0003-detention",
        }
    )
    assert x["kind"] == "fact"
    assert x["receiver_agency_id"] is None
    court.get(f"/api/v1/cases/{x['case_id']}/procedure", expect=404)
    court.get(f"/api/v1/exchanges/{x['id']}", expect=404)
    assert police.get(f"/api/v1/cases/{x['case_id']}/procedure")["state"]["stage"] == (
        "investigation"
    )


def test_bad_requests_name_the_field(agents: dict[str, Agent]) -> None:
    police = agents["police"]
    r = police.client.post(
        "/api/v1/exchanges",
        json={
            "node": "arrest_request",
            "receiver_agency": "NOPE",
            "payload": {"persons": []},
            "idempotency_key": "police-0004-bad",
        },
        headers=police.auth,
    )
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "receiver_agency"
    r = police.client.post(
        "/api/v1/exchanges",
        json={"node": "no_such_node", "payload": {}, "idempotency_key": "police-0005-bad"},
        headers=police.auth,
    )
    assert r.json()["problems"][0]["field"] == "node"
    r = police.client.post(
        "/api/v1/exchanges",
        json={"node": "arrest_request", "idempotency_key": "short"},
        headers=police.auth,
    )
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "body.idempotency_key"


def test_nodes_and_alerts_endpoints(agents: dict[str, Agent]) -> None:
    police = agents["police"]
    nodes = police.get("/api/v1/nodes")
    assert all(n["basis"] for n in nodes)
    node = police.get("/api/v1/nodes/提请批准逮捕")
    assert node["code"] == "arrest_request"
    police.get("/api/v1/nodes/nope", expect=404)
    police.send(
        {
            "node": "detention_executed",
            "payload": {"case": {"title": "王五案"}, "persons": [{"key": "p1", "name": "王五"}]},
            "idempotency_key": "police-0006-detention",
            "occurred_on": day(10),
        }
    )
    found = police.get("/api/v1/alerts")
    kinds = {a["kind"] for c in found for a in c["alerts"]}
    assert {"overdue", "custody_without_basis"} <= kinds


def test_the_same_request_sent_twice_at_once_opens_one_case(
    hub: LiveServer, container: Container
) -> None:
    """A gateway that retries before the first answer arrives (a double click, a timeout)
    sends one idempotency key twice at the same moment: both get the one exchange. The
    loser of the race for the unique key was once an unhandled 500."""
    with container.uow() as uow:
        token = initialise(uow).issued_tokens["police.handler"]
    auth = {"Authorization": f"Bearer {token}"}
    for n in range(5):
        body = {
            "node": "detention_executed",
            "payload": {
                "case": {"title": f"王五案 {n}"},
                "persons": [{"key": "p1", "name": "王五"}],
            },
            "idempotency_key": f"police-race-{n:04d}",
        }
        answers = post_at_once(hub.url, "/api/v1/exchanges", body, auth)
        codes = sorted(a.status_code for a in answers)
        assert codes in ([200, 201], [201, 201]), [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
