"""The security issue's acceptance, end to end over HTTP: what a procuratorate user and a
supervisor can and cannot see, and that grants and page reads land in the audit log."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from casebridge.bootstrap import Container
from casebridge.gateway.dossier_client import HubClient
from casebridge.gateway.dossier_folder import pack
from casebridge.services.setup import initialise
from casebridge.store.models import AuditEvent
from tests.conftest import LiveServer
from tests.integration.dossier_helpers import make_folder, transfer_with_dossier


def _get(client: httpx.Client, token: str, path: str) -> httpx.Response:
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_procuratorate_and_supervisor_see_only_what_the_policy_allows(
    hub: LiveServer, container: Container, client: httpx.Client, tmp_path: Path
) -> None:
    with container.uow() as uow:
        tokens = initialise(uow).issued_tokens
    police, proc = tokens["police.handler"], tokens["procuratorate.handler"]
    supervisor, head = tokens["supervisor"], tokens["police.head"]

    # The police push a dossier and send it with the case; a second version with one more
    # volume, and a second case, stay with the police.
    folder = make_folder(tmp_path / "scans", volumes=1, pages=3, size=2000)
    v1 = pack(folder, dossier_id="D-ACC-1", title="张某盗窃案", agency="DEMO350102GA")
    with HubClient(hub.url, police) as hc:
        hc.push(folder, v1)
    case_id = transfer_with_dossier(hub.url, police, f"D-ACC-1@{v1.root}", signer=proc)
    extra = folder / "02-补充材料"
    extra.mkdir()
    (extra / "0001.jpg").write_bytes(b"\x01" * 3000)
    v2 = pack(folder, dossier_id="D-ACC-1", title="张某盗窃案", agency="DEMO350102GA", extends=v1)
    with HubClient(hub.url, police) as hc:
        hc.push(folder, v2)
    other = client.post(
        "/api/v1/exchanges",
        json={
            "node": "detention_executed",
            "payload": {"case": {"title": "李某案"}, "persons": [{"key": "p1", "name": "李某"}]},
            "idempotency_key": "acceptance-other-case",
        },
        headers={"Authorization": f"Bearer {police}"},
    )
    assert other.status_code == 201
    police_only = other.json()["case_id"]

    # Procuratorate: the case it received, yes; the police-only case, no (404).
    assert _get(client, proc, f"/api/v1/cases/{case_id}/procedure").status_code == 200
    assert _get(client, proc, f"/api/v1/cases/{police_only}/procedure").status_code == 404
    # Pages it received, yes; pages of the version never sent to it, no (404).
    received = f"/api/v1/dossiers/D-ACC-1/versions/{v1.root}"
    kept = f"/api/v1/dossiers/D-ACC-1/versions/{v2.root}"
    assert _get(client, proc, f"{received}/content").status_code == 200
    assert _get(client, proc, f"{kept}/content").status_code == 404
    new_page = next(p for p in v2.pages() if p.sha256 not in set(v1.distinct_pages()))
    assert _get(client, proc, f"{kept}/pages/{new_page.sha256}").status_code == 404
    # It may have the hub check the pages it received, not make the hub forget any of them.
    auth = {"Authorization": f"Bearer {proc}"}
    assert client.post(f"{received}/verify", headers=auth).status_code == 200
    repair = client.post(f"{received}/verify", params={"repair": "true"}, headers=auth)
    assert repair.status_code == 404, repair.text  # the policy's answer to any denied write

    # Supervisor: progress and alerts, yes; pages, no — until granted.
    progress = _get(client, supervisor, f"/api/v1/cases/{case_id}/procedure")
    assert progress.status_code == 200
    assert progress.json()["state"]["stage"] == "prosecution_review"
    assert _get(client, supervisor, "/api/v1/alerts").status_code == 200
    exchange_id = _get(client, proc, "/api/v1/inbox").json()[0]["id"]
    assert _get(client, supervisor, f"/api/v1/exchanges/{exchange_id}").status_code == 404
    assert _get(client, supervisor, f"{received}/content").status_code == 404

    granted = client.post(
        f"/api/v1/cases/{case_id}/grants",
        json={"username": "supervisor", "scope": "dossier", "days": 3},
        headers={"Authorization": f"Bearer {head}"},
    )
    assert granted.status_code == 201, granted.text
    assert _get(client, supervisor, f"{received}/content").status_code == 200
    page = next(v1.pages()).sha256
    assert _get(client, supervisor, f"{received}/pages/{page}").status_code == 200
    assert _get(client, supervisor, f"{kept}/content").status_code == 404  # not in the case

    with container.uow() as uow:
        sup = uow.users.by_username("supervisor")
        assert sup is not None
        events = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.actor_user_id == sup.id).order_by(AuditEvent.seq)
        ).all()
        actions = [(e.action, e.outcome) for e in events]
        grant = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "access.grant")
        ).one()
        assert grant.case_id == case_id
        assert grant.detail["scope"] == "dossier"
    assert ("dossier.read.denied", "denied") in actions
    assert ("dossier.read", "ok") in actions
    assert ("dossier.page.read", "ok") in actions
    assert ("case.read.denied", "denied") in actions
