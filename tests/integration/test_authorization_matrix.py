"""The authorization matrix, generated from the application's route table.

Every API route × every role × own or foreign agency × with or without a grant: the HTTP
answer must be the access policy's answer. A route that declares no policy, or that this
matrix has no example request for, fails the suite — so no route is added without a decision.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from casebridge.bootstrap import Container
from casebridge.domain.access import Action, GrantScope, decide, decide_dossier
from casebridge.domain.dossier import (
    EXTENSION_SCHEMA,
    Document,
    Page,
    Volume,
    manifest_from_dict,
    union,
)
from casebridge.gateway.dossier_client import HubClient
from casebridge.gateway.dossier_folder import pack
from casebridge.hub.api.policy import POLICY_KEY
from casebridge.hub.app import create_app
from casebridge.services.auth import issue_token, principal_for
from casebridge.services.login import set_password
from casebridge.services.setup import initialise
from casebridge.store.models import AccessGrant, User
from casebridge.store.types import utcnow
from tests.conftest import LiveServer

MATRIX_PASSWORD = "correct horse battery staple"
PNG_META = "filetype aW1hZ2UvcG5n"  # tus metadata: filetype image/png, base64
EXTRA_USERS = [
    ("police.handler2", "DEMO350102GA", ["handler"]),
    ("police.gateway", "DEMO350102GA", ["gateway"]),
    ("procuratorate.admin", "DEMO350102JCY", ["agency_admin"]),
    ("court.gateway", "DEMO350102FY", ["gateway"]),
]


@dataclass
class World:
    container: Container
    client: httpx.Client
    tokens: dict[str, str]
    cases: dict[str, str]  # "plain" / "granted" → case id
    exchanges: dict[str, str]  # same keys → the case's exchange id
    agency_ids: dict[str, str]
    dossiers: dict[str, tuple[str, str, str, dict[str, Any]]]  # key → id, root, page, manifest
    upload: str  # a tus upload owned by police.handler


Req = tuple[str, str, Any]  # method, url, JSON body — or a dict with "headers"/"content"
Example = Callable[[World, str], Req]


def _send_body(w: World, case: str) -> dict[str, Any]:
    # a reply no one in this world may send: allowed callers get 422, denied ones 404
    return {
        "node": "prosecution_accepted",
        "receiver_agency": "DEMO350102JCY",
        "case_id": w.cases[case],
        "payload": {},
        "idempotency_key": "matrix-never-accepted",
    }


EXAMPLES: dict[tuple[str, str], Example] = {
    ("GET", "/healthz"): lambda w, c: ("GET", "/healthz", None),
    ("GET", "/readyz"): lambda w, c: ("GET", "/readyz", None),
    ("GET", "/api/v1/me"): lambda w, c: ("GET", "/api/v1/me", None),
    ("GET", "/api/v1/agencies"): lambda w, c: ("GET", "/api/v1/agencies", None),
    ("GET", "/api/v1/agencies/{agency_id}"): lambda w, c: (
        "GET",
        f"/api/v1/agencies/{w.agency_ids['DEMO350102GA']}",
        None,
    ),
    ("POST", "/api/v1/exchanges"): lambda w, c: ("POST", "/api/v1/exchanges", _send_body(w, c)),
    ("GET", "/api/v1/inbox"): lambda w, c: ("GET", "/api/v1/inbox", None),
    ("GET", "/api/v1/exchanges/{exchange_id}"): lambda w, c: (
        "GET",
        f"/api/v1/exchanges/{w.exchanges[c]}",
        None,
    ),
    ("POST", "/api/v1/exchanges/{exchange_id}/sign-for"): lambda w, c: (
        "POST",
        f"/api/v1/exchanges/{w.exchanges[c]}/sign-for",
        None,
    ),
    ("GET", "/api/v1/nodes"): lambda w, c: ("GET", "/api/v1/nodes", None),
    ("GET", "/api/v1/nodes/{code}"): lambda w, c: ("GET", "/api/v1/nodes/arrest_request", None),
    ("GET", "/api/v1/cases/{case_id}/procedure"): lambda w, c: (
        "GET",
        f"/api/v1/cases/{w.cases[c]}/procedure",
        None,
    ),
    ("GET", "/api/v1/alerts"): lambda w, c: ("GET", "/api/v1/alerts", None),
    ("GET", "/api/v1/cases"): lambda w, c: ("GET", "/api/v1/cases", None),
    ("POST", "/api/v1/cases/{case_id}/assignments"): lambda w, c: (
        "POST",
        f"/api/v1/cases/{w.cases[c]}/assignments",
        {"username": "nobody"},
    ),
    ("POST", "/api/v1/cases/{case_id}/grants"): lambda w, c: (
        "POST",
        f"/api/v1/cases/{w.cases[c]}/grants",
        {"username": "nobody", "days": 1},
    ),
    ("GET", "/api/v1/audit/events"): lambda w, c: ("GET", "/api/v1/audit/events", None),
    ("GET", "/api/v1/audit/verify"): lambda w, c: ("GET", "/api/v1/audit/verify", None),
    ("POST", "/api/v1/auth/login"): lambda w, c: (
        "POST",
        "/api/v1/auth/login",
        {"username": "court.head", "password": MATRIX_PASSWORD},
    ),
    ("POST", "/api/v1/auth/logout"): lambda w, c: ("POST", "/api/v1/auth/logout", None),
    ("POST", "/api/v1/dossiers"): lambda w, c: (
        "POST",
        "/api/v1/dossiers",
        {**w.dossiers[c][3], "dossier_id": f"M-new-{uuid.uuid4()}"},
    ),
    ("GET", "/api/v1/dossiers/{dossier_id}"): lambda w, c: (
        "GET",
        f"/api/v1/dossiers/{w.dossiers[c][0]}",
        None,
    ),
    ("GET", "/api/v1/dossiers/{dossier_id}/versions/{root}"): lambda w, c: ("GET", _v(w, c), None),
    ("GET", "/api/v1/dossiers/{dossier_id}/versions/{root}/manifest"): lambda w, c: (
        "GET",
        _v(w, c) + "/manifest",
        None,
    ),
    ("POST", "/api/v1/dossiers/{dossier_id}/versions/{root}/packs"): lambda w, c: (
        "POST",
        _v(w, c) + "/packs",
        {"headers": {"Content-Type": "application/vnd.casebridge.pack"}, "content": b""},
    ),
    ("POST", "/api/v1/dossiers/{dossier_id}/versions/{root}/children"): lambda w, c: (
        "POST",
        _v(w, c) + "/children",
        _extension(w, c),
    ),
    ("GET", "/api/v1/dossiers/{dossier_id}/versions/{root}/content"): lambda w, c: (
        "GET",
        _v(w, c) + "/content",
        None,
    ),
    ("GET", "/api/v1/dossiers/{dossier_id}/versions/{root}/pages/{sha256}"): lambda w, c: (
        "GET",
        _v(w, c) + f"/pages/{w.dossiers[c][2]}",
        None,
    ),
    ("POST", "/api/v1/dossiers/{dossier_id}/versions/{root}/verify"): lambda w, c: (
        "POST",
        _v(w, c) + "/verify",
        None,
    ),
    ("OPTIONS", "/api/v1/tus"): lambda w, c: ("OPTIONS", "/api/v1/tus", None),
    ("POST", "/api/v1/tus"): lambda w, c: (
        "POST",
        "/api/v1/tus",
        {
            "headers": {
                "Tus-Resumable": "1.0.0",
                "Upload-Length": "10",
                "Upload-Metadata": PNG_META,
            },
            "content": b"",
        },
    ),
    ("HEAD", "/api/v1/tus/{upload_id}"): lambda w, c: (
        "HEAD",
        f"/api/v1/tus/{w.upload}",
        {"headers": {"Tus-Resumable": "1.0.0"}},
    ),
    ("PATCH", "/api/v1/tus/{upload_id}"): lambda w, c: (
        "PATCH",
        f"/api/v1/tus/{w.upload}",
        {
            "headers": {
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": "99",
                "Content-Type": "application/offset+octet-stream",
            },
            "content": b"x",
        },
    ),
    ("DELETE", "/api/v1/tus/{upload_id}"): lambda w, c: (
        "DELETE",
        f"/api/v1/tus/{_fresh_upload(w)}",
        {"headers": {"Tus-Resumable": "1.0.0"}},
    ),
    ("GET", "/api/v1/codes"): lambda w, c: ("GET", "/api/v1/codes", None),
    ("GET", "/api/v1/codes/{table}"): lambda w, c: ("GET", "/api/v1/codes/gender", None),
    ("GET", "/api/v1/codes/{table}/{code}"): lambda w, c: ("GET", "/api/v1/codes/gender/1", None),
    ("POST", "/api/v1/codes/convert"): lambda w, c: (
        "POST",
        "/api/v1/codes/convert",
        {"from": "police", "to": "court", "payload": {"persons": [{"key": "p1", "gender": "M"}]}},
    ),
    ("POST", "/api/v1/validate/{kind}"): lambda w, c: (
        "POST",
        "/api/v1/validate/id-number",
        {"value": "11010519491231002X"},
    ),
}


def _fresh_upload(w: World) -> str:
    """A new upload by police.handler (deleting one must not spoil the next request)."""
    r = w.client.post(
        "/api/v1/tus",
        headers={
            "Authorization": f"Bearer {w.tokens['police.handler']}",
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "10",
            "Upload-Metadata": PNG_META,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.headers["location"].rsplit("/", 1)[1])


def _v(w: World, case: str) -> str:
    dossier_id, root, _, _ = w.dossiers[case]
    return f"/api/v1/dossiers/{dossier_id}/versions/{root}"


def _extension(w: World, case: str) -> dict[str, Any]:
    """A child version of the case's dossier adding one volume of one page."""
    parent, _ = manifest_from_dict(w.dossiers[case][3])
    assert parent is not None
    page = Page("0001.jpg", "image/jpeg", 3, hashlib.sha256(b"new").hexdigest())
    added = Volume("02-卷2", (Document("", "added", "DEMO350102JCY", (page,)),))
    child = union(parent, [added])
    return {
        "schema": EXTENSION_SCHEMA,
        "volumes": json.loads(child.canonical())["volumes"][1:],
        "merkle_root": child.root,
    }


DOSSIER_ACTIONS = {Action.DOSSIER_READ, Action.DOSSIER_WRITE}
# Registering a child version needs both: the role may register versions (403 otherwise)
# and the caller may read the version it extends (404 otherwise: it does not exist for them).
CHILD_OF = ("POST", "/api/v1/dossiers/{dossier_id}/versions/{root}/children")
# tus uploads belong to their uploader: for anyone else an upload does not exist (404)
OWNER_ONLY = {
    ("HEAD", "/api/v1/tus/{upload_id}"),
    ("PATCH", "/api/v1/tus/{upload_id}"),
    ("DELETE", "/api/v1/tus/{upload_id}"),
}

CASE_ACTIONS = {
    Action.CASE_PROGRESS,
    Action.CASE_READ,
    Action.CASE_WRITE,
    Action.CASE_ASSIGN,
    Action.DOSSIER_READ,
    Action.SIGN_FOR,
}


def route_table(container: Container) -> list[tuple[str, str, Action | None]]:
    """(method, path, declared action) of every route, from the app's OpenAPI route table."""
    app = create_app(container=container)
    out = []
    for path, operations in app.openapi()["paths"].items():
        for method, op in operations.items():
            declared = op.get(POLICY_KEY)
            action = Action(declared) if declared in {a.value for a in Action} else None
            out.append((method.upper(), path, action))
    return sorted(out, key=lambda t: (t[1], t[0]))


def test_every_route_declares_a_policy_and_has_a_matrix_example(container: Container) -> None:
    table = route_table(container)
    assert len(table) >= len(EXAMPLES) - 1
    missing_policy = [(m, p) for m, p, a in table if a is None]
    assert missing_policy == [], "routes without an access-policy decision (x-policy)"
    missing_example = [(m, p) for m, p, _ in table if (m, p) not in EXAMPLES]
    assert missing_example == [], "routes the authorization matrix does not exercise"


@pytest.fixture
def world(container: Container, tmp_path: Path) -> World:
    if container.engine.dialect.name != "sqlite":
        pytest.skip("the policy is engine-independent; the matrix runs on SQLite")
    with container.uow() as uow:
        tokens = dict(initialise(uow).issued_tokens)
    with container.uow() as uow:
        for name, code, roles in EXTRA_USERS:
            agency = uow.agencies.by_code(code)
            assert agency is not None
            uow.users.add(User(username=name, display_name=name, agency_id=agency.id, roles=roles))
            tokens[name] = issue_token(uow, name)
        uow.commit()
        agency_ids = {a.code: a.id for a in uow.agencies.list()}
    with container.uow() as uow:
        set_password(uow, "court.head", MATRIX_PASSWORD)
    server = LiveServer(create_app(container=container))
    server.__enter__()
    client = httpx.Client(base_url=server.url, timeout=10)
    police = tokens["police.handler"]
    cases, exchanges = {}, {}
    dossiers: dict[str, tuple[str, str, str, dict[str, Any]]] = {}
    for key in ("plain", "granted"):
        folder = tmp_path / f"scans-{key}"
        (folder / "01-卷1").mkdir(parents=True)
        (folder / "01-卷1" / "0001.jpg").write_bytes(key.encode() * 500)
        manifest = pack(folder, dossier_id=f"M-{key}", title="matrix", agency="DEMO350102GA")
        with HubClient(server.url, police) as hc:
            assert hc.push(folder, manifest).status == "complete"
        page = next(manifest.pages()).sha256
        dossiers[key] = (f"M-{key}", manifest.root, page, json.loads(manifest.canonical()))
        r = client.post(
            "/api/v1/exchanges",
            json={
                "node": "arrest_request",
                "receiver_agency": "DEMO350102JCY",
                "payload": {
                    "case": {"title": f"matrix {key}"},
                    "persons": [{"key": "p1", "name": "张三"}],
                    "documents": [{"type": "arrest_request"}],
                },
                "dossier_ref": f"M-{key}@{manifest.root}",
                "idempotency_key": f"matrix-{key}-0001",
            },
            headers={"Authorization": f"Bearer {police}"},
        )
        assert r.status_code == 201, r.text
        cases[key], exchanges[key] = r.json()["case_id"], r.json()["id"]
    r = client.post(
        "/api/v1/tus",
        headers={
            "Authorization": f"Bearer {police}",
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "10",
            "Upload-Metadata": PNG_META,
        },
    )
    assert r.status_code == 201, r.text
    upload = r.headers["location"].rsplit("/", 1)[1]
    with container.uow() as uow:  # grants for everyone on the "granted" case
        for user in uow.users.list():
            uow.session.add(
                AccessGrant(
                    case_id=cases["granted"],
                    user_id=user.id,
                    scope=GrantScope.DOSSIER.value,
                    granted_by="matrix",
                    expires_at=utcnow() + timedelta(days=1),
                )
            )
        uow.commit()
    w = World(container, client, tokens, cases, exchanges, agency_ids, dossiers, upload)
    yield w  # type: ignore[misc]
    client.close()
    server.__exit__()


def _expected(w: World, username: str, action: Action, case: str, route: tuple[str, str]) -> int:
    """What the policy says: 0 = allowed, else the status a denial must answer."""
    with w.container.uow() as uow:
        user = uow.users.by_username(username)
        assert user is not None
        p = principal_for(user)
        facts = uow.access.facts(w.cases[case])
        x = uow.exchanges.get(w.exchanges[case])
        assert x is not None
        parties = frozenset({x.sender_agency_id, x.receiver_agency_id})
        receiver = x.receiver_agency_id
        police_id = x.sender_agency_id  # the police registered the dossiers
    now = utcnow()
    if route in OWNER_ONLY:
        return 0 if username == "police.handler" else 404
    if route == CHILD_OF:
        if not decide(p, Action.CASE_CREATE, now=now):
            return 403
        ok = decide_dossier(
            p, Action.DOSSIER_READ, creator_agency=police_id, carried_by=[(facts, parties)], now=now
        )
        return 0 if ok else 404
    if action in DOSSIER_ACTIONS:
        ok = decide_dossier(
            p, action, creator_agency=police_id, carried_by=[(facts, parties)], now=now
        )
        return 0 if ok else 404
    if action in CASE_ACTIONS:
        ok = decide(p, action, facts, now=now, parties=parties, receiver=receiver)
        return 0 if ok else 404
    return 0 if decide(p, action, now=now) else 403


def test_authorization_matrix(world: World) -> None:
    table = route_table(world.container)
    users = sorted(world.tokens)
    checked = 0
    failures = []
    for method, path, action in table:
        assert action is not None
        for case in ("plain", "granted"):
            for username in users:
                m, url, body = EXAMPLES[(method, path)](world, case)
                denied = _expected(world, username, action, case, (method, path))
                headers = (
                    {}
                    if action is Action.PUBLIC
                    else {"Authorization": f"Bearer {world.tokens[username]}"}
                )
                if isinstance(body, dict) and "headers" in body:
                    headers.update(body["headers"])
                    r = world.client.request(m, url, content=body.get("content"), headers=headers)
                else:
                    r = world.client.request(m, url, json=body, headers=headers)
                checked += 1
                ok = (
                    (r.status_code == denied)
                    if denied
                    else (r.status_code not in (401, 403, 404) and r.status_code < 500)
                )
                if not ok:
                    failures.append(
                        f"{m} {path} {case} {username}: policy says "
                        f"{denied or 'allow'}, got {r.status_code}"
                    )
    assert not failures, "\n".join(failures)
    assert checked >= len(table) * len(users) * 2
