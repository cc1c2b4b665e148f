"""Helpers shared by the dossier integration tests: folders of random pages, tokens."""

from __future__ import annotations

import random
from pathlib import Path

import httpx

from casebridge.bootstrap import Container
from casebridge.services.auth import issue_token
from casebridge.services.setup import initialise


def make_folder(root: Path, volumes: int, pages: int, size: int, seed: int = 1) -> Path:
    """A scanned-dossier folder of incompressible pages (seeded: reproducible)."""
    rnd = random.Random(seed)  # noqa: S311 - test data, not secrets
    for v in range(1, volumes + 1):
        d = root / f"{v:02d}-卷{v}"
        d.mkdir(parents=True)
        for p in range(1, pages + 1):
            (d / f"{p:04d}.jpg").write_bytes(rnd.randbytes(size))
    return root


def demo_token(container: Container, username: str = "police.handler") -> str:
    with container.uow() as uow:
        initialise(uow, demo=True)
    with container.uow() as uow:
        token = issue_token(uow, username, name="test")
        uow.commit()
    return token


def transfer_with_dossier(
    base_url: str, token: str, ref: str, key: str = "xfer-0001", *, signer: str | None = None
) -> str:
    """The police transfer a case for prosecution carrying the dossier version ``ref``
    ("<dossier id>@<merkle root>"); ``signer`` (a procuratorate token) signs for it, which
    assigns that user to the case. Returns the case id."""
    r = httpx.post(
        f"{base_url}/api/v1/exchanges",
        json={
            "node": "transfer_for_prosecution",
            "receiver_agency": "DEMO350102JCY",
            "payload": {
                "case": {"title": "张某盗窃案"},
                "persons": [{"key": "p1", "name": "张某"}],
                "documents": [{"type": "prosecution_opinion", "title": "起诉意见书"}],
            },
            "dossier_ref": ref,
            "idempotency_key": f"dossier-test-{key}",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    if signer is not None:
        signed = httpx.post(
            f"{base_url}/api/v1/exchanges/{r.json()['id']}/sign-for",
            headers={"Authorization": f"Bearer {signer}"},
            timeout=30,
        )
        assert signed.status_code == 200, signed.text
    case_id: str = r.json()["case_id"]
    return case_id
