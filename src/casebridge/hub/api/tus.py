"""`/api/v1/tus`: tus 1.0 endpoint (core, creation, checksum, termination, expiration).

Needs an API token like every dossier route (tus clients send custom headers). A finished
upload answers ``X-Page-Sha256``: the page's address, to list in a manifest.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from casebridge.bootstrap import Container
from casebridge.domain.access import Action
from casebridge.errors import CasebridgeError, InvalidInput, Problem, Said
from casebridge.hub.api.policy import policy
from casebridge.hub.deps import CurrentPrincipal
from casebridge.i18n import N_
from casebridge.services import tus
from casebridge.services.access import require

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/tus", tags=["dossiers"])
VERSION = "1.0.0"
EXTENSIONS = "creation,checksum,termination,expiration"


def _base() -> dict[str, str]:
    return {"Tus-Resumable": VERSION, "Cache-Control": "no-store"}


def _check_version(value: str | None) -> None:
    if value != VERSION:
        raise _VersionMismatch(N_("Tus-Resumable must be {version}"), params={"version": VERSION})


class _VersionMismatch(CasebridgeError):
    code = "tus-version-mismatch"
    status = 412
    title = N_("Unsupported tus version")


@router.options("", openapi_extra=policy(Action.PUBLIC))
def discover(request: Request) -> Response:
    """Server capabilities (no token needed: the protocol's discovery request)."""
    c: Container = request.app.state.container
    return Response(
        status_code=204,
        headers={
            **_base(),
            "Tus-Version": VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(c.settings.dossier_max_page_bytes),
            "Tus-Checksum-Algorithm": ",".join(sorted(tus.CHECKSUMS)),
        },
    )


@router.post("", openapi_extra=policy(Action.CASE_CREATE))
def create(
    principal: CurrentPrincipal,
    request: Request,
    upload_length: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header()] = None,
    tus_resumable: Annotated[str | None, Header()] = None,
) -> Response:
    """Creation: announce a file of ``Upload-Length`` bytes; the answer's Location is its URL."""
    _check_version(tus_resumable)
    if upload_length is None or not upload_length.isdigit():
        raise InvalidInput(
            N_("Upload-Length is required"),
            problems=[
                Problem("Upload-Length", Said(N_("a non-negative integer (no deferred length)")))
            ],
        )
    c: Container = request.app.state.container
    with c.uow() as uow:  # scans are uploaded by those who may open cases
        require(uow, principal, Action.CASE_CREATE)
    up = tus.create(c, principal, int(upload_length), tus.parse_metadata(upload_metadata))
    return Response(
        status_code=201,
        headers={**_base(), **tus.headers_for(up), "Location": f"{router.prefix}/{up.id}"},
    )


@router.head("/{upload_id}", openapi_extra=policy(Action.CASE_CREATE))
def offset(upload_id: str, principal: CurrentPrincipal, request: Request) -> Response:
    c: Container = request.app.state.container
    up = tus.get(c, principal, upload_id)
    return Response(status_code=200, headers={**_base(), **tus.headers_for(up)})


@router.patch("/{upload_id}", openapi_extra=policy(Action.CASE_CREATE))
async def append(
    upload_id: str,
    principal: CurrentPrincipal,
    request: Request,
    upload_offset: Annotated[str | None, Header()] = None,
    upload_checksum: Annotated[str | None, Header()] = None,
    tus_resumable: Annotated[str | None, Header()] = None,
) -> Response:
    """Core: append bytes at ``Upload-Offset``; with ``Upload-Checksum`` all or nothing."""
    _check_version(tus_resumable)
    if request.headers.get("content-type") != "application/offset+octet-stream":
        return Response(status_code=415, headers=_base())
    if upload_offset is None or not upload_offset.isdigit():
        raise InvalidInput(N_("Upload-Offset is required"))
    c: Container = request.app.state.container
    up = await tus.append(
        c, principal, upload_id, int(upload_offset), upload_checksum, request.stream()
    )
    return Response(status_code=204, headers={**_base(), **tus.headers_for(up)})


@router.delete("/{upload_id}", openapi_extra=policy(Action.CASE_CREATE))
def terminate(upload_id: str, principal: CurrentPrincipal, request: Request) -> Response:
    """Termination: forget an unfinished upload and its bytes."""
    c: Container = request.app.state.container
    tus.terminate(c, principal, upload_id)
    return Response(status_code=204, headers=_base())
