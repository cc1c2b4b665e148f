"""Uploads through the tus 1.0 resumable-upload protocol (https://tus.io/protocols/resumable-upload),
so that standard clients (tuspy, tus-js-client, Uppy) can send scans.

Extensions: creation, checksum (sha1 — which the protocol requires — sha256, md5), termination,
expiration. A finished upload becomes a page exactly like a page of a pack: its SHA-256 is
computed, checked against the ``sha256`` metadata if the client sent one, the bytes are sealed
into the page store, synced, and recorded as accepted. Upload state lives in files under
``var/tus`` (not in process memory), so any hub process sharing that folder can continue it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from casebridge.bootstrap import Container
from casebridge.domain.agency import Principal
from casebridge.domain.dossier import MEDIA_TYPES
from casebridge.errors import Conflict, InvalidInput, NotFound, Problem, Said
from casebridge.i18n import N_
from casebridge.services import audit

__all__ = [
    "CHECKSUMS",
    "ChecksumMismatch",
    "Upload",
    "append",
    "create",
    "get",
    "headers_for",
    "parse_metadata",
    "terminate",
]

CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}
_ID_CHARS = set("0123456789abcdef")


class ChecksumMismatch(InvalidInput):
    """The tus checksum extension's 460: the chunk was discarded, the offset is unchanged."""

    code = "checksum-mismatch"
    status = 460
    title = N_("Checksum mismatch")


@dataclass
class Upload:
    id: str
    length: int
    offset: int
    expires: float  # epoch seconds
    owner: str
    metadata: dict[str, str]
    sha256: str | None = None  # set once the finished upload was accepted as a page

    @property
    def done(self) -> bool:
        return self.sha256 is not None


def _dir(c: Container) -> Path:
    d = c.settings.var_dir / "tus"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _paths(c: Container, upload_id: str) -> tuple[Path, Path]:
    if len(upload_id) != 32 or not set(upload_id) <= _ID_CHARS:
        raise NotFound(N_("no upload {upload}"), params={"upload": upload_id[:40]})
    d = _dir(c)
    return d / f"{upload_id}.json", d / f"{upload_id}.part"


def _save(c: Container, up: Upload) -> None:
    info, _ = _paths(c, up.id)
    tmp = info.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(up)))
    tmp.replace(info)


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (value may be absent)."""
    out: dict[str, str] = {}
    if not header:
        return out
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        if not parts[0] or len(parts) > 2:
            raise InvalidInput(
                N_("bad Upload-Metadata"), problems=[Problem("Upload-Metadata", f"{pair!r}")]
            )
        try:
            raw = base64.b64decode(parts[1], validate=True) if len(parts) == 2 else b""
            out[parts[0]] = raw.decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput(
                N_("bad Upload-Metadata"),
                problems=[
                    Problem(
                        "Upload-Metadata",
                        Said(N_("{key} is not base64 UTF-8"), key=repr(parts[0])),
                    )
                ],
            ) from None
    return out


def _sweep(c: Container) -> None:
    """Expiration: drop uploads past their deadline (run on each creation; cheap)."""
    now = time.time()
    for info in _dir(c).glob("*.json"):
        try:
            up = Upload(**json.loads(info.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if up.expires < now and not up.done:
            info.unlink(missing_ok=True)
            info.with_suffix(".part").unlink(missing_ok=True)


def create(c: Container, principal: Principal, length: int, metadata: dict[str, str]) -> Upload:
    problems = []
    limit = c.settings.dossier_max_page_bytes
    if length < 0 or length > limit:
        problems.append(
            Problem(
                "Upload-Length", Said(N_("must be 0–{limit} bytes"), limit=limit), rule="page-size"
            )
        )
    filetype = metadata.get("filetype", "")
    if filetype not in MEDIA_TYPES:
        problems.append(
            Problem(
                "Upload-Metadata.filetype",
                Said(
                    N_("unsupported media type {media!r} (allowed: {allowed})"),
                    media=filetype,
                    allowed=", ".join(sorted(MEDIA_TYPES)),
                ),
                rule="media-type",
            )
        )
    name = metadata.get("filename", "")
    if "/" in name or "\\" in name or name in {".", ".."}:
        problems.append(
            Problem("Upload-Metadata.filename", Said(N_("path traversal")), rule="path-traversal")
        )
    expected = metadata.get("sha256")
    if expected is not None and (len(expected) != 64 or not set(expected) <= _ID_CHARS):
        problems.append(
            Problem("Upload-Metadata.sha256", Said(N_("must be 64 lower-case hex digits")))
        )
    if problems:
        raise InvalidInput(N_("upload refused"), problems=problems)
    _sweep(c)
    up = Upload(
        id=secrets.token_hex(16),
        length=length,
        offset=0,
        expires=time.time() + c.settings.tus_expiry_seconds,
        owner=principal.user_id,
        metadata=metadata,
    )
    _, part = _paths(c, up.id)
    part.touch()
    _save(c, up)
    if length == 0:
        _finish(c, principal, up)
    return up


def get(c: Container, principal: Principal, upload_id: str) -> Upload:
    info, _ = _paths(c, upload_id)
    try:
        up = Upload(**json.loads(info.read_text()))
    except FileNotFoundError:
        raise NotFound(N_("no upload {upload}"), params={"upload": upload_id}) from None
    if up.owner != principal.user_id:  # someone else's upload does not exist for the caller
        raise NotFound(N_("no upload {upload}"), params={"upload": upload_id})
    if up.expires < time.time() and not up.done:
        raise NotFound(N_("upload {upload} expired"), params={"upload": upload_id})
    return up


async def append(
    c: Container,
    principal: Principal,
    upload_id: str,
    offset: int,
    checksum: str | None,
    chunks: AsyncIterator[bytes | memoryview],
) -> Upload:
    up = get(c, principal, upload_id)
    if offset != up.offset:
        raise Conflict(
            N_("Upload-Offset {offset} does not match the upload's offset {current}"),
            params={"offset": offset, "current": up.offset},
        )
    hasher = None
    if checksum:
        algo = checksum.partition(" ")[0]
        if algo not in CHECKSUMS:
            raise InvalidInput(
                N_("unsupported checksum algorithm"),
                problems=[
                    Problem(
                        "Upload-Checksum",
                        Said(N_("{algo} not in {known}"), algo=repr(algo), known=sorted(CHECKSUMS)),
                    )
                ],
            )
        hasher = CHECKSUMS[algo]()
    _, part = _paths(c, upload_id)
    written = 0
    with open(part, "r+b") as fh:
        fh.seek(up.offset)
        try:
            async for chunk in chunks:
                if up.offset + written + len(chunk) > up.length:
                    raise InvalidInput(N_("upload exceeds its Upload-Length"))
                fh.write(chunk)
                written += len(chunk)
                if hasher is not None:
                    hasher.update(chunk)
        except Exception:
            if hasher is not None:  # a checked chunk is all or nothing
                fh.truncate(up.offset)
                raise
            fh.flush()
            up.offset += written
            _save(c, up)
            raise
        if (
            hasher is not None
            and checksum is not None
            and (base64.b64encode(hasher.digest()).decode() != checksum.partition(" ")[2])
        ):
            fh.truncate(up.offset)
            raise ChecksumMismatch(N_("the chunk does not match Upload-Checksum; it was discarded"))
        fh.flush()
        os.fsync(fh.fileno())
    up.offset += written
    _save(c, up)
    if up.offset == up.length:
        _finish(c, principal, up)
    return up


def _finish(c: Container, principal: Principal, up: Upload) -> None:
    """Turn the finished upload into an accepted page (verified, sealed, synced, recorded)."""
    _, part = _paths(c, up.id)
    data = part.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    expected = up.metadata.get("sha256")
    if expected is not None and expected != digest:
        part.unlink(missing_ok=True)
        _paths(c, up.id)[0].unlink(missing_ok=True)
        raise InvalidInput(
            N_("uploaded bytes do not match the declared page hash"),
            problems=[
                Problem(
                    up.metadata.get("filename", up.id),
                    Said(
                        N_("declared sha256 {expected}, received {digest}"),
                        expected=expected,
                        digest=digest,
                    ),
                    rule="digest",
                )
            ],
        )
    pages = c.page_store()
    pages.put(digest, data)
    pages.sync()
    with c.uow() as uow:
        uow.dossiers.add_pages({digest: len(data)})
        audit.record(
            uow,
            "dossier.page.tus",
            "page",
            digest,
            actor=principal,
            detail={"upload": up.id, "bytes": len(data), "filename": up.metadata.get("filename")},
        )
        uow.commit()
    up.sha256 = digest
    _save(c, up)
    with contextlib.suppress(FileNotFoundError):
        part.unlink()  # the sealed page is the copy that counts


def terminate(c: Container, principal: Principal, upload_id: str) -> None:
    get(c, principal, upload_id)
    info, part = _paths(c, upload_id)
    part.unlink(missing_ok=True)
    info.unlink(missing_ok=True)


def headers_for(up: Upload) -> dict[str, Any]:
    from email.utils import formatdate

    out: dict[str, Any] = {
        "Upload-Offset": str(up.offset),
        "Upload-Length": str(up.length),
        "Upload-Expires": formatdate(up.expires, usegmt=True),
    }
    if up.sha256:
        out["X-Page-Sha256"] = up.sha256
    return out
