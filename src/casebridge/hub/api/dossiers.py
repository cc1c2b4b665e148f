"""`/api/v1/dossiers`: electronic dossier transfer (manifest → missing pages → packs → download).

Every route needs an API token: dossiers are case files, never public.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from casebridge.bootstrap import Container
from casebridge.domain.access import Action
from casebridge.domain.agency import Principal
from casebridge.domain.dossier import loads_manifest_file
from casebridge.domain.dossier_pack import MEDIA_TYPE
from casebridge.errors import InvalidInput, Problem, Said, TooLarge
from casebridge.gcsettings import trim_heap
from casebridge.hub.api.policy import policy
from casebridge.hub.deps import CurrentPrincipal, Uow
from casebridge.i18n import N_
from casebridge.services import audit, dossiers
from casebridge.services.dossier_access import require_dossier
from casebridge.services.dossiers import VersionStatus

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])

MissingForm = Annotated[
    Literal["hashes", "bits"],
    Query(
        description="How the answer lists the pages the hub lacks: `hashes` (`missing`, a list"
        " of page hashes) or `bits` (`missing_bits`: base64, one bit a page in manifest order,"
        " set at the first place of each missing hash; and `missing_count`)"
    ),
]


def _require(
    c: Container,
    principal: Principal,
    dossier_id: str,
    root: str,
    action: Action,
    *,
    page: str | None = None,
) -> None:
    """Access check in its own unit of work (for routes that stream or run off the loop);
    a single page read is audited here, naming the page."""
    with c.uow() as uow:
        require_dossier(uow, principal, dossier_id, root, action)
        if page is not None:
            audit.record(
                uow,
                "dossier.page.read",
                "dossier",
                dossier_id,
                actor=principal,
                detail={"merkle_root": root, "page": page},
            )
            uow.commit()


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


_MANIFEST_BODY = {
    "requestBody": {
        "required": True,
        "description": "Dossier manifest (RFC 8785 JSON, schema casebridge.dossier/1)",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post("", openapi_extra={**policy(Action.CASE_CREATE), **_MANIFEST_BODY})
async def register(
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    missing: MissingForm = "hashes",
) -> Any:
    """Register a dossier version; the answer lists the pages the hub still lacks (as
    hashes, or one bit a page with ``?missing=bits``).

    The body is handed to the manifest parser as a file rather than declared as a model: a
    manifest is thousands of pages, the parser reads it a volume at a time, and it checks
    every field anyway (validating it twice cost the forwarding step a sixth of its time).
    """
    c: Container = request.app.state.container
    with await _spooled(request, c.settings.dossier_max_manifest_bytes) as body:

        def run() -> tuple[VersionStatus, dict[str, Any]]:
            try:
                with c.uow() as uow:
                    status = dossiers.register_manifest(
                        uow, body, principal=principal, settings=c.settings
                    )
                    return status, dossiers.status_answer(uow, status, missing)
            finally:
                trim_heap()  # thousands of parsed pages just freed: see casebridge.gcsettings

        return await _registered(response, run)


async def _registered(
    response: Response, run: Callable[[], tuple[VersionStatus, dict[str, Any]]]
) -> Any:
    """Run a registration off the event loop; 201 for a new version, 200 for a known one."""
    status, answer = await run_in_threadpool(run)
    response.status_code = 201 if status.created else 200
    return answer


_SPOOL = 1 << 16  # a request body larger than this waits on disk, not in memory


async def _spooled(request: Request, limit: int) -> IO[bytes]:
    """The request body in a temporary file (in memory up to 64 KiB); over ``limit`` bytes
    (``dossier_max_manifest_bytes``) it is refused with 413 and the rest is not read.

    Why: a manifest of thousands of pages is megabytes; held as one ``bytes`` (and kept by
    the request for its whole life) it was one more whole copy beside the parsed pages,
    the canonical bytes and the database's, and the hub's memory grew with the dossier.
    The parser reads the file one volume at a time (``manifest_from_file``). The limit
    keeps a sender from filling the hub's disk with one endless body.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - returned open
    try:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(
                    N_("the body is over {limit} bytes (setting dossier_max_manifest_bytes)"),
                    problems=[Problem("body", Said(N_("too large")), rule="size")],
                    params={"limit": limit},
                )
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def _json(body: IO[bytes], what: str) -> Any:
    try:
        return loads_manifest_file(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(what, problems=[Problem("body", str(exc), rule="json")]) from None


_EXTENSION_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            "What the new version adds (schema casebridge.dossier-extension/1): "
            '{"schema", "title" (optional), "volumes": [...], "merkle_root": root of the union}'
        ),
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post(
    "/{dossier_id}/versions/{root}/children",
    openapi_extra={**policy(Action.CASE_CREATE), **_EXTENSION_BODY},
)
async def register_child(
    dossier_id: str,
    root: str,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    missing: MissingForm = "hashes",
) -> Any:
    """Register a child version of ``root`` sent as the volumes it adds (forwarding a
    received dossier with new documents); the answer is the same as registering it whole.

    The hub builds the union from its own copy of ``root`` and refuses it unless its Merkle
    root is the declared one.
    """
    c: Container = request.app.state.container
    with await _spooled(request, c.settings.dossier_max_manifest_bytes) as body:

        def run() -> tuple[VersionStatus, dict[str, Any]]:
            data = _json(body, N_("the new version is not JSON"))
            with c.uow() as uow:
                status = dossiers.register_extension(
                    uow, dossier_id, root, data, principal=principal, settings=c.settings
                )
                return status, dossiers.status_answer(uow, status, missing)

        return await _registered(response, run)


@router.get("/{dossier_id}", openapi_extra=policy(Action.DOSSIER_READ))
def show(
    dossier_id: str, principal: CurrentPrincipal, uow: Uow, missing: MissingForm = "hashes"
) -> dict[str, Any]:
    """The latest version of a dossier, with the roots of all its versions."""
    require_dossier(uow, principal, dossier_id, None, Action.DOSSIER_READ)
    manifest = dossiers.load_manifest(uow, dossier_id)
    status = dossiers.version_status(uow, dossier_id, manifest.root)
    answer = dossiers.status_answer(uow, status, missing)
    return {**answer, "versions": dossiers.list_versions(uow, dossier_id)}


@router.get("/{dossier_id}/versions/{root}", openapi_extra=policy(Action.DOSSIER_READ))
def status(
    dossier_id: str,
    root: str,
    principal: CurrentPrincipal,
    uow: Uow,
    missing: MissingForm = "hashes",
) -> dict[str, Any]:
    """Status of a version: receiving or complete, and the pages still missing (as
    hashes, or with ``missing=bits`` one bit a page: a few hundred bytes, not a list of
    thousands of hashes, for a client that wants the count or the places)."""
    require_dossier(uow, principal, dossier_id, root, Action.DOSSIER_READ)
    return dossiers.status_answer(uow, dossiers.version_status(uow, dossier_id, root), missing)


@router.get("/{dossier_id}/versions/{root}/manifest", openapi_extra=policy(Action.DOSSIER_READ))
def manifest(
    dossier_id: str, root: str, principal: CurrentPrincipal, uow: Uow, request: Request
) -> Response:
    """The manifest exactly as stored: its RFC 8785 bytes, which a signature covers; sent
    a stored part (a volume) at a time."""
    require_dossier(uow, principal, dossier_id, root, Action.DOSSIER_READ)
    c: Container = request.app.state.container
    size, parts = dossiers.manifest_text(c, uow, dossier_id, root)
    return StreamingResponse(
        parts, media_type="application/json", headers={"Content-Length": str(size)}
    )


@router.post("/{dossier_id}/versions/{root}/packs", openapi_extra=policy(Action.DOSSIER_WRITE))
async def upload_pack(
    dossier_id: str, root: str, principal: CurrentPrincipal, request: Request
) -> dict[str, Any]:
    """Receive a pack of pages (`application/vnd.casebridge.pack`), streamed.

    The answer comes only after every page was verified and the pack synced to storage.
    """
    c: Container = request.app.state.container
    await run_in_threadpool(_require, c, principal, dossier_id, root, Action.DOSSIER_WRITE)
    if request.headers.get("content-type", "").split(";")[0].strip() != MEDIA_TYPE:
        raise InvalidInput(
            N_("wrong content type"),
            problems=[
                Problem(
                    "Content-Type",
                    Said(N_("must be {media_type}"), media_type=MEDIA_TYPE),
                    rule="media-type",
                )
            ],
        )
    result = await dossiers.receive_pack(c, principal, dossier_id, root, request.stream())
    return result.as_dict()


def _documents(spec: str | None) -> list[tuple[int, int]] | None:
    if not spec:
        return None
    out: list[tuple[int, int]] = []
    for part in spec.split(","):
        m = re.fullmatch(r"(\d+)\.(\d+)", part.strip())
        if not m:
            raise InvalidInput(
                N_("bad document list"),
                problems=[
                    Problem(
                        "documents",
                        Said(N_("{part} is not VOLUME.DOCUMENT (e.g. 1.3)"), part=repr(part)),
                    )
                ],
            )
        out.append((int(m.group(1)), int(m.group(2))))
    return out


@router.get("/{dossier_id}/versions/{root}/content", openapi_extra=policy(Action.DOSSIER_READ))
def content(
    dossier_id: str,
    root: str,
    principal: CurrentPrincipal,
    uow: Uow,
    request: Request,
    documents: Annotated[
        str | None, Query(description="VOLUME.DOCUMENT list, e.g. 1.1,1.4; default all")
    ] = None,
) -> Response:
    """The chosen pages' bytes, concatenated in manifest order; resumable with HTTP Range.

    The receiver splits the body by the manifest's page sizes and verifies each page's hash.
    """
    c: Container = request.app.state.container
    require_dossier(uow, principal, dossier_id, root, Action.DOSSIER_READ)
    plan = dossiers.content_plan(
        uow, principal, dossier_id, root, _documents(documents), request.headers.get("range")
    )
    total = plan.length
    start, end, code = 0, total, 200
    headers = {"Accept-Ranges": "bytes", "X-Merkle-Root": root}
    spec = request.headers.get("range")
    if spec:
        m = _RANGE.match(spec.strip())
        if m is None or (not m.group(1) and not m.group(2)):
            return Response(status_code=416, headers={"Content-Range": f"bytes */{total}"})
        if m.group(1):
            start = int(m.group(1))
            end = min(total, int(m.group(2)) + 1) if m.group(2) else total
        else:  # suffix range: the last N bytes
            start = max(0, total - int(m.group(2)))
        if start >= total or start >= end:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{total}"})
        code = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
    headers["Content-Length"] = str(end - start)
    return StreamingResponse(
        dossiers.iter_content(c.page_store(), plan, start, end),
        status_code=code,
        media_type="application/octet-stream",
        headers=headers,
    )


@router.get(
    "/{dossier_id}/versions/{root}/pages/{sha256}", openapi_extra=policy(Action.DOSSIER_READ)
)
def page(
    dossier_id: str, root: str, sha256: str, principal: CurrentPrincipal, request: Request
) -> Response:
    """One page, verified at the hub (a corrupt blob answers a problem naming the page)."""
    c: Container = request.app.state.container
    _require(c, principal, dossier_id, root, Action.DOSSIER_READ, page=sha256)
    return Response(
        dossiers.read_page(c, dossier_id, root, sha256), media_type="application/octet-stream"
    )


@router.post("/{dossier_id}/versions/{root}/verify", openapi_extra=policy(Action.DOSSIER_READ))
def verify(
    dossier_id: str,
    root: str,
    principal: CurrentPrincipal,
    request: Request,
    repair: Annotated[
        bool,
        Query(
            description="Forget the pages found altered (blob and acceptance record) and set"
            " every version listing them back to `receiving`, so that the next push sends"
            " them again. Needs the right to upload pages of this version."
        ),
    ] = False,
) -> dict[str, Any]:
    """Decrypt and hash every stored page of the version; lists missing and corrupt pages."""
    c: Container = request.app.state.container
    _require(
        c, principal, dossier_id, root, Action.DOSSIER_WRITE if repair else Action.DOSSIER_READ
    )
    return dossiers.verify_stored(c, dossier_id, root, repair=repair, principal=principal)
