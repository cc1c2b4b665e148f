"""Dossier use cases on the hub: register a manifest, receive packs, serve and verify pages.

The rule that matters: a page is *accepted* (recorded in ``dossier_page``) only after its bytes
matched the manifest's hash and size and the blob store made them durable. Everything else —
bytes that do not match, frames cut short, pages the manifest does not list — is refused with
an error that names the page, and leaves no accepted trace.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine

from casebridge.blobs.sealed import SealedPages
from casebridge.bootstrap import Container
from casebridge.config import Settings
from casebridge.domain.access import Action
from casebridge.domain.agency import Principal
from casebridge.domain.dossier import (
    Manifest,
    Page,
    PagePlan,
    Seekable,
    extends,
    extension_from_dict,
    manifest_from_file,
    validate,
)
from casebridge.domain.dossier_pack import PackReader
from casebridge.domain.page_bits import MissingPages, first_places, first_places_flagged
from casebridge.domain.page_table import PageSizes
from casebridge.errors import (
    AlteredData,
    Conflict,
    CorruptData,
    InvalidInput,
    NotFound,
    Problem,
    Said,
)
from casebridge.gcsettings import trim_heap_after
from casebridge.i18n import N_
from casebridge.logs import get_logger
from casebridge.native import sha256 as native_sha256
from casebridge.native.sha256 import digests as sha256_digests
from casebridge.services import audit
from casebridge.services.access import require
from casebridge.services.dossier_access import require_dossier
from casebridge.shelf import FileShelf
from casebridge.slabs import Slabs
from casebridge.store.dossier_models import DossierRow, DossierVersion
from casebridge.store.uow import UnitOfWork

__all__ = [
    "ContentPlan",
    "PackResult",
    "VersionStatus",
    "content_plan",
    "iter_content",
    "list_versions",
    "load_manifest",
    "read_page",
    "receive_pack",
    "register_extension",
    "register_manifest",
    "verify_stored",
    "version_status",
]

T = TypeVar("T")
_log = get_logger("casebridge.dossiers")
# Hashing (hashlib, casebridge.native) and AES-GCM (OpenSSL) release the GIL: two cores hash
# and encrypt in parallel while the event loop keeps reading the socket.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dossier")
# Received pages go to the pool in batches: what one receive() brought (about 1 MiB), or
# more, until native_sha256.BATCH pages, where pages are hashed side by side (16 pages,
# ~3.6 MB: see casebridge.native.sha256). A thread hand-off per page cost more than hashing
# the page. One batch in flight per pack (two before): with four packs at once that keeps
# both cores busy, and what the hub holds per pack is its unread body (the hub's protocol
# pauses the socket at 1 MiB), one batch being formed and one being stored.
_MAX_BATCHES = 1


# A batch holds at most native_sha256.BATCH pages and at most this many bytes of pages: 16
# pages of up to 320 KB where pages are hashed side by side, what about one receive() brings
# where hashlib hashes them one by one. Its pages are joined in a buffer of this size that
# each thread makes once.
def _batch_bytes() -> int:
    return native_sha256.BATCH_BYTES if native_sha256.BATCH > 1 else 2 << 20


# A download reads pages a group at a time (one read where a pack stored them together), at
# most this many bytes a group, this many groups ahead of the page being sent.
_READ_GROUP = 960 << 10  # its blobs (page + envelope + padding) fit one 1 MiB read
_READ_AHEAD = 1
# A group's pages are decrypted into one of these (its plaintext is at most _READ_GROUP) and
# served as views of it. Why: a new ``bytes`` per page decrypted, of the page's own size, in
# whichever pool thread read it, grew those threads' heaps with every GB served (+4.6 MB
# over one 0.3 GB pull; `bench/RESULTS.md`, 2026-11-28).
_SERVED = Slabs(1 << 20)


@dataclass(frozen=True)
class VersionStatus:
    dossier_id: str
    merkle_root: str
    parent: str | None
    status: str
    page_count: int
    total_bytes: int
    missing: Sequence[str]  # a list, or MissingPages (flags, hashes made when listed)
    created: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "dossier_id": self.dossier_id,
            "merkle_root": self.merkle_root,
            "parent": self.parent,
            "status": self.status,
            "page_count": self.page_count,
            "total_bytes": self.total_bytes,
            "missing": list(self.missing),
            "created": self.created,
        }


@dataclass
class PackResult:
    accepted: int = 0  # pages verified and durably stored by this pack
    already_held: int = 0  # pages the hub held before (sent needlessly; still verified)
    bytes: int = 0
    status: str = "receiving"
    missing_count: int = 0
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "already_held": self.already_held,
            "bytes": self.bytes,
            "status": self.status,
            "missing_count": self.missing_count,
        }


def _problems(items: list[Any]) -> list[Problem]:
    return [i.to_problem() for i in items]


# Parsed manifests by (dossier, root), least recently used first. A cache only: every
# process can rebuild it from the database, so it holds no state another hub process would
# need. Each one's volumes are on a file shelf (``casebridge.shelf``): what stays in memory
# is a line per volume, the last volumes read and, once asked for, the distinct-page table
# (~48 bytes a page). Bounded by pages and by entries (each holds a file descriptor).
_MANIFESTS: OrderedDict[tuple[str, str], Manifest] = OrderedDict()
_CACHE_PAGES = 20_000
_CACHE_ENTRIES = 64


_MANIFESTS_LOCK = threading.Lock()  # requests run in threads


def _remember(manifest: Manifest) -> None:
    key = (manifest.dossier_id, manifest.root)
    # Not its canonical bytes (the database has them): what is cached is the parsed form.
    manifest.__dict__.pop("_canonical", None)
    with _MANIFESTS_LOCK:
        _MANIFESTS[key] = manifest
        _MANIFESTS.move_to_end(key)
        held = sum(m.page_count for m in _MANIFESTS.values())
        while (held > _CACHE_PAGES or len(_MANIFESTS) > _CACHE_ENTRIES) and len(_MANIFESTS) > 1:
            gone, dropped = _MANIFESTS.popitem(last=False)
            for holdings in _HOLDINGS.values():
                holdings.pop(gone, None)
            held -= dropped.page_count


def _parsed(uow: UnitOfWork, version: DossierVersion) -> Manifest:
    key = (version.dossier_id, version.merkle_root)
    with _MANIFESTS_LOCK:
        cached = _MANIFESTS.get(key)
        if cached is not None:
            _MANIFESTS.move_to_end(key)
            return cached
    # Verified when it was registered; receivers verify the root again themselves. Read
    # and parsed a part (a volume) at a time, each volume shelved: never the whole manifest
    # as bytes or as JSON objects.
    manifest, _ = manifest_from_file(
        _PartsReader(lambda: uow.dossiers.manifest_parts(version.id)),
        trust_root=True,
        shelf=FileShelf(thread_buffers=False),
    )
    if manifest is None:
        raise CorruptData(
            N_("stored manifest of dossier {dossier} is unreadable"),
            params={"dossier": version.dossier_id},
        )
    _remember(manifest)
    return manifest


class _PartsReader:
    """A file's ``read`` and ``seek(0)`` over a stored manifest's parts, read from the
    database one at a time as the parser asks (it reads a volume at a time). ``seek(0)``
    is its fallback for a layout it does not know: the parts are asked for again."""

    def __init__(self, parts: Callable[[], Iterator[bytes]]) -> None:
        self._start = parts
        self._parts = parts()
        self._rest: memoryview = memoryview(b"")

    def read(self, n: int = -1, /) -> bytes:
        out = bytearray()
        while n < 0 or len(out) < n:
            if not self._rest:
                part = next(self._parts, None)
                if part is None:
                    break
                self._rest = memoryview(part)
            take = len(self._rest) if n < 0 else min(n - len(out), len(self._rest))
            out += self._rest[:take]
            self._rest = self._rest[take:]
        return bytes(out)

    def seek(self, offset: int, whence: int = 0, /) -> int:
        if (offset, whence) != (0, 0):
            raise io.UnsupportedOperation("only seek(0)")
        self._parts, self._rest = self._start(), memoryview(b"")
        return 0


class _Holding:
    """Which of a version's distinct pages this process has not yet seen held: one byte a
    page (5 KB for 5,253 pages), beside the cached manifest.

    A pack's acknowledgement reports the pages still missing. Asking the database about
    every page of the version at every pack made a push quadratic: 37 packs of a
    5,253-page dossier asked about 194,000 hashes (0.3 s of SQLite alone, and ~10× that
    per pack at 10× the pages). With this table a pack looks up only its own pages.

    It only ever over-counts: a flag is cleared for a page seen *committed*, never earlier.
    Pages another hub process stored are learned when few flags remain (one query of at
    most :data:`_RECHECK` hashes); until then the count may be too high, and
    ``complete`` is then reached by the sender's final status request (a full count).
    """

    def __init__(self, pages: PageSizes, maybe_missing: Iterable[str], held: set[str]) -> None:
        self.pages = pages
        self.flags = bytearray(len(pages))
        for sha in maybe_missing:
            i = pages.position(sha)
            if i >= 0 and sha not in held:
                self.flags[i] = 1
        self.count = self.flags.count(1)
        self.lock = threading.Lock()

    def _positions(self, hashes: Iterable[str]) -> set[int]:
        return {i for i in map(self.pages.position, hashes) if i >= 0 and self.flags[i]}

    def missing_after(self, uow: UnitOfWork, pack: Collection[str]) -> int:
        """Pages still missing once this pack (recorded, not yet committed) commits."""
        with self.lock:
            mine = self._positions(pack)
            left = self.count - len(mine)
            others: list[str] = []
            if 0 < left <= _RECHECK:
                i = self.flags.find(1)
                while i >= 0:
                    if i not in mine:
                        others.append(self.pages.key_at(i))
                    i = self.flags.find(1, i + 1)
        if not others:
            return left
        # Committed by another process (this transaction sees this pack's pages too: those
        # are not in ``others``).
        self.seen_held(uow.dossiers.present(others))
        with self.lock:
            return self.count - len(self._positions(pack))

    def seen_held(self, hashes: Iterable[str]) -> None:
        """Clear the flags of pages known committed."""
        with self.lock:
            for i in self._positions(hashes):
                self.flags[i] = 0
                self.count -= 1


_RECHECK = 900  # flags left when a pack also asks the database about the others
# Per database (a process may serve several, as the tests do; a manifest is the same in all
# of them, what is held is not), beside _MANIFESTS and under its lock.
_HOLDINGS: weakref.WeakKeyDictionary[Engine, dict[tuple[str, str], _Holding]] = (
    weakref.WeakKeyDictionary()
)


def _holding(
    container: Container, uow: UnitOfWork, version: DossierVersion, manifest: Manifest
) -> _Holding:
    """This process's :class:`_Holding` for a version, built (one count) on first use."""
    key = (version.dossier_id, version.merkle_root)
    with _MANIFESTS_LOCK:
        found = _HOLDINGS.get(container.engine, {}).get(key)
    if found is not None:
        return found
    wanted = _pack_could_miss(uow, version, manifest)
    made = _Holding(manifest.distinct_pages(), wanted, uow.dossiers.present(wanted))
    with _MANIFESTS_LOCK:
        if key not in _MANIFESTS:  # not cached (any more): do not keep flags for it
            return made
        return _HOLDINGS.setdefault(container.engine, {}).setdefault(key, made)


def _version(uow: UnitOfWork, dossier_id: str, root: str) -> DossierVersion:
    version = uow.dossiers.version(dossier_id, root)
    if version is None:
        raise NotFound(
            N_("dossier {dossier} has no version {root}"),
            params={"dossier": dossier_id, "root": root},
        )
    return version


def manifest_text(
    container: Container, uow: UnitOfWork, dossier_id: str, root: str
) -> tuple[int, Iterator[bytes]]:
    """A version's manifest exactly as stored, its RFC 8785 bytes (which a signature covers):
    their length, and the parts they are stored in, read one at a time as they are sent
    (in a unit of work of their own: the request's may be gone by then)."""
    version = _version(uow, dossier_id, root)
    version_id, size = version.id, version.manifest_size

    def parts() -> Iterator[bytes]:
        with container.uow() as own:
            yield from own.dossiers.manifest_parts(version_id)

    return size, parts()


def load_manifest(uow: UnitOfWork, dossier_id: str, root: str | None = None) -> Manifest:
    """A stored version (the latest when ``root`` is None)."""
    if root is None:
        latest = uow.dossiers.latest_version(dossier_id)
        if latest is None:
            raise NotFound(N_("no dossier {dossier}"), params={"dossier": dossier_id})
        return _parsed(uow, latest)
    return _parsed(uow, _version(uow, dossier_id, root))


def status_answer(uow: UnitOfWork, status: VersionStatus, missing: str) -> dict[str, Any]:
    """A version's status as the API answers it; ``missing``: ``hashes`` lists the pages the
    hub lacks by hash, ``bits`` marks them one bit a page (:mod:`casebridge.domain.page_bits`:
    876 bytes of base64 instead of 350 KB for a 5,253-page first push, on both sides)."""
    answer = status.as_dict()
    if missing == "bits":
        manifest = load_manifest(uow, status.dossier_id, status.merkle_root)
        del answer["missing"]
        if isinstance(status.missing, MissingPages):
            bits = first_places_flagged(manifest, status.missing)
        else:
            bits = first_places(manifest, status.missing)
        answer["missing_bits"] = base64.b64encode(bits).decode("ascii")
        answer["missing_count"] = len(status.missing)
    return answer


def _settle(version: DossierVersion, missing: int) -> None:
    """A version with nothing missing is complete (and stays so)."""
    if not missing and version.status != "complete":
        version.status = "complete"


def _status(
    uow: UnitOfWork,
    version: DossierVersion,
    manifest: Manifest,
    candidates: Iterable[str] | None = None,
) -> VersionStatus:
    """The version's status; ``candidates``: the only pages that can be missing (a child of
    a complete parent: the pages it adds), so that thousands of held ones are not asked for."""
    if candidates is None:
        missing = _missing(uow, manifest.distinct_pages())
    else:
        missing = uow.dossiers.missing(candidates)
    _settle(version, len(missing))
    return VersionStatus(
        manifest.dossier_id,
        manifest.root,
        manifest.parent,
        version.status,
        manifest.page_count,
        manifest.total_bytes,
        missing,
    )


def _missing(uow: UnitOfWork, distinct: PageSizes) -> Sequence[str]:
    """Which distinct pages of a version the hub lacks: flags (:class:`MissingPages`),
    asked of the database a chunk of hashes at a time."""
    n = distinct.packed_count
    if n != len(distinct):  # a hash that does not pack: no valid manifest, the plain list
        return uow.dossiers.missing(distinct)
    flags = bytearray(n)
    for lo in range(0, n, _ASK):
        chunk = [distinct.key_at(k) for k in range(lo, min(lo + _ASK, n))]
        held = uow.dossiers.present(chunk)
        for k, sha in enumerate(chunk, lo):
            if sha not in held:
                flags[k] = 1
    return MissingPages(distinct, flags)


_ASK = 900  # hashes made and asked about at once (the repository's chunk)


def _could_miss(
    manifest: Manifest, parent_row: DossierVersion | None, parent: Manifest | None
) -> Collection[str]:
    """The pages of a version that may still be missing: all of them, or — for a child of
    a ``complete`` version (every page of it is held) — only the ones the child adds (a
    forwarded dossier's pack then asks about 20 pages, not thousands)."""
    if parent is None or parent_row is None or parent_row.status != "complete":
        return manifest.distinct_pages().keys()
    held = parent.distinct_pages()
    if extends(manifest, parent):  # a union: only the added volumes can hold new pages
        added = (
            sha
            for vol in manifest.volumes[len(parent.volumes) :]
            for doc in vol.documents
            for sha, _ in doc.pages.hashes_and_sizes()
        )
        return list(dict.fromkeys(h for h in added if h not in held))
    return [h for h in manifest.distinct_pages() if h not in held]


def _pack_could_miss(
    uow: UnitOfWork, version: DossierVersion, manifest: Manifest
) -> Collection[str]:
    """:func:`_could_miss` for a pack's acknowledgement, using the parent's manifest only if
    this process has it parsed already (parsing it would cost more than counting)."""
    if version.parent_root is None:
        return manifest.distinct_pages().keys()
    with _MANIFESTS_LOCK:
        parent = _MANIFESTS.get((version.dossier_id, version.parent_root))
    if parent is None:
        return manifest.distinct_pages().keys()
    return _could_miss(
        manifest, uow.dossiers.version(version.dossier_id, version.parent_root), parent
    )


def list_versions(uow: UnitOfWork, dossier_id: str) -> list[dict[str, Any]]:
    return [
        {
            "merkle_root": v.merkle_root,
            "parent": v.parent_root,
            "status": v.status,
            "page_count": v.page_count,
            "total_bytes": v.total_bytes,
            "created_at": v.created_at.isoformat(),
        }
        for v in uow.dossiers.versions(dossier_id)
    ]


def version_status(uow: UnitOfWork, dossier_id: str, root: str) -> VersionStatus:
    version = _version(uow, dossier_id, root)
    status = _status(uow, version, _parsed(uow, version))
    uow.commit()
    return status


def register_manifest(
    uow: UnitOfWork, body: Seekable, *, principal: Principal, settings: Settings
) -> VersionStatus:
    """Store a dossier version's manifest and answer which pages the hub still lacks.

    ``body`` is the manifest as sent, a file. It is parsed a volume at a time and each
    volume is shelved as it is parsed (:func:`manifest_from_file`): a version of thousands
    of pages is never held whole as JSON objects (a dict a page: ~2 MB for 5,253 pages, on
    top of the parsed form), and the cached manifest holds a line per volume.

    Idempotent: posting the same manifest again (a resumed push) returns the current gaps.
    """
    try:
        manifest, problems = manifest_from_file(body, shelf=FileShelf(thread_buffers=False))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            N_("the manifest is not JSON"), problems=[Problem("body", str(exc), rule="json")]
        ) from None
    if manifest is None:
        raise InvalidInput(N_("the manifest is malformed"), problems=_problems(problems))
    bad = validate(
        manifest,
        max_bytes=settings.dossier_max_bytes,
        max_page_bytes=settings.dossier_max_page_bytes,
    )
    if bad:
        raise InvalidInput(
            N_("the manifest of dossier {dossier} has {count} problem(s)"),
            problems=_problems(bad),
            params={"dossier": manifest.dossier_id, "count": len(bad)},
        )
    # Access: a new dossier needs someone who may open cases; a new version of an existing
    # dossier must extend a version the caller can read; re-posting one's own is a resume.
    require(uow, principal, Action.CASE_CREATE)
    if manifest.parent is not None:
        require_dossier(uow, principal, manifest.dossier_id, manifest.parent, Action.DOSSIER_READ)
    elif uow.dossiers.get(manifest.dossier_id) is not None:
        require_dossier(uow, principal, manifest.dossier_id, None, Action.DOSSIER_WRITE)
    return _register(uow, manifest, principal)


def register_extension(
    uow: UnitOfWork,
    dossier_id: str,
    parent_root: str,
    data: Any,
    *,
    principal: Principal,
    settings: Settings,
) -> VersionStatus:
    """Register a child version sent as the volumes it adds to a stored version.

    The hub builds the union from its own copy of the parent and checks that its root is
    the one the sender declared; only the added pages are parsed and validated. Same answer
    and same idempotency as :func:`register_manifest`.
    """
    require(uow, principal, Action.CASE_CREATE)
    require_dossier(uow, principal, dossier_id, parent_root, Action.DOSSIER_READ)
    row = _version(uow, dossier_id, parent_root)
    parent = _parsed(uow, row)
    child, problems = extension_from_dict(parent, data)
    if child is None:
        raise InvalidInput(
            N_("the new version of dossier {dossier} (extending {parent}) is malformed"),
            problems=_problems(problems),
            params={"dossier": dossier_id, "parent": parent_root},
        )
    bad = validate(
        child,
        max_bytes=settings.dossier_max_bytes,
        max_page_bytes=settings.dossier_max_page_bytes,
        trusted=parent,
    )
    if bad:
        raise InvalidInput(
            N_("the new version of dossier {dossier} has {count} problem(s)"),
            problems=_problems(bad),
            params={"dossier": dossier_id, "count": len(bad)},
        )
    # The parent's stored volumes are copied into the child's manifest, not written out again.
    return _register(uow, child, principal, _Spliced.of(uow, row, parent, child))


@dataclass(frozen=True)
class _Spliced:
    """A child version's manifest as the stored parent's parts and what the child adds.

    The parts of a version are its head, a part a volume, then ``]}``: a union's parts are
    its own head, the parent's volume parts (copied inside the database) and its added
    volumes. Forwarding a received dossier with 20 new pages then writes 20 pages of JSON,
    not thousands."""

    parent_id: str
    volumes: int  # the parent's
    head: bytes
    tail: list[bytes]  # the added volumes' parts, then ``]}``

    @classmethod
    def of(
        cls, uow: UnitOfWork, row: DossierVersion, parent: Manifest, child: Manifest
    ) -> _Spliced | None:
        n = len(parent.volumes)
        if uow.dossiers.manifest_part_count(row.id) != n + 2:  # not laid out a volume a part
            return None
        head, *tail = child.canonical_chunks(first_volume=n)
        return cls(row.id, n, head, tail)

    def parts(self, uow: UnitOfWork) -> Iterator[bytes]:
        """The child's bytes, part by part (the parent's read from the database)."""
        yield self.head
        yield from uow.dossiers.manifest_parts(self.parent_id, 1, self.volumes + 1)
        yield from self.tail

    def write(self, uow: UnitOfWork, version_id: str) -> None:
        uow.dossiers.add_manifest_parts(version_id, 0, [self.head])
        uow.dossiers.copy_manifest_parts(self.parent_id, 1, self.volumes + 1, version_id)
        uow.dossiers.add_manifest_parts(version_id, self.volumes + 1, self.tail)


class _Digest:
    """SHA-256 (hex) and length of the bytes that pass through :meth:`of`: a manifest is
    hashed as its parts are written, not built again to be hashed."""

    def __init__(self) -> None:
        self._sha, self._size = hashlib.sha256(), 0

    def of(self, parts: Iterable[bytes]) -> Iterator[bytes]:
        for part in parts:
            self._sha.update(part)
            self._size += len(part)
            yield part

    @property
    def value(self) -> tuple[str, int]:
        return self._sha.hexdigest(), self._size


def _digest(parts: Iterable[bytes]) -> tuple[str, int]:
    """SHA-256 (hex) and length of the bytes these parts join into."""
    digest = _Digest()
    deque(digest.of(parts), maxlen=0)
    return digest.value


def _register(
    uow: UnitOfWork, manifest: Manifest, principal: Principal, spliced: _Spliced | None = None
) -> VersionStatus:
    """Store a validated version the caller may register (or answer for the stored one).

    Its canonical bytes are written a volume at a time, a row each, and never held whole
    (:class:`DossierManifestPart`); ``spliced``: a child whose parent's parts are copied."""
    existing = uow.dossiers.version(manifest.dossier_id, manifest.root)
    if existing is not None:
        return _known(uow, existing, manifest, spliced)
    try:
        with uow.conflicts():
            return _new_version(uow, manifest, principal, spliced)
    except Conflict:
        # The same version registered at the same moment (a sender's retry): answer for it.
        existing = uow.dossiers.version(manifest.dossier_id, manifest.root)
        if existing is None:
            raise
        return _known(uow, existing, manifest, spliced)


def _known(
    uow: UnitOfWork, existing: DossierVersion, manifest: Manifest, spliced: _Spliced | None
) -> VersionStatus:
    """The answer for a version already stored: its status, if it is this very manifest
    (the same canonical bytes: compared by digest, the stored bytes are not read)."""
    parts = spliced.parts(uow) if spliced is not None else manifest.canonical_chunks()
    if _digest(parts) != (existing.manifest_sha256, existing.manifest_size):
        raise Conflict(
            N_("dossier {dossier} already has a different manifest with root {root}"),
            params={"dossier": manifest.dossier_id, "root": manifest.root},
        )
    status = _status(uow, existing, manifest)
    uow.commit()
    return status


def _new_version(
    uow: UnitOfWork, manifest: Manifest, principal: Principal, spliced: _Spliced | None
) -> VersionStatus:
    candidates: Collection[str] | None = None
    if manifest.parent is not None:
        parent = uow.dossiers.version(manifest.dossier_id, manifest.parent)
        if parent is None:
            raise InvalidInput(
                N_("unknown parent version"),
                problems=[
                    Problem(
                        "parent",
                        Said(
                            N_("dossier {dossier} has no version {root}"),
                            dossier=manifest.dossier_id,
                            root=manifest.parent,
                        ),
                        rule="parent",
                    )
                ],
            )
        parent_manifest = _parsed(uow, parent)
        missing_from_child = (
            set()  # a union keeps every page of its parent: nothing to compare
            if extends(manifest, parent_manifest)
            else parent_manifest.distinct_pages().keys() - manifest.distinct_pages().keys()
        )
        candidates = _could_miss(manifest, parent, parent_manifest)
        if missing_from_child:
            raise InvalidInput(
                N_("a child version must keep every page of its parent (it is their union)"),
                problems=[
                    Problem(
                        "parent",
                        Said(N_("page {sha} of the parent is missing"), sha=h),
                        rule="union",
                    )
                    for h in sorted(missing_from_child)[:20]
                ],
            )
    if uow.dossiers.get(manifest.dossier_id) is None:
        uow.dossiers.add(
            DossierRow(
                id=manifest.dossier_id, title=manifest.title, created_by_user_id=principal.user_id
            )
        )
    version = uow.dossiers.add_version(
        DossierVersion(
            dossier_id=manifest.dossier_id,
            merkle_root=manifest.root,
            parent_root=manifest.parent,
            manifest_sha256="",  # set below, once its parts are written
            manifest_size=0,
            page_count=manifest.page_count,
            total_bytes=manifest.total_bytes,
            status="receiving",
            created_by_user_id=principal.user_id,
        )
    )
    if spliced is not None:
        spliced.write(uow, version.id)
        version.manifest_sha256, version.manifest_size = _digest(spliced.parts(uow))
    else:  # written and hashed a volume at a time, in one pass
        digest = _Digest()
        uow.dossiers.add_manifest_parts(version.id, 0, digest.of(manifest.canonical_chunks()))
        version.manifest_sha256, version.manifest_size = digest.value
    status = _status(uow, version, manifest, candidates)
    _remember(manifest)  # same root, same manifest
    audit.record(
        uow,
        "dossier.version.register",
        "dossier",
        manifest.dossier_id,
        actor=principal,
        detail={
            "merkle_root": manifest.root,
            "parent": manifest.parent,
            "pages": manifest.page_count,
        },
    )
    uow.commit()
    return VersionStatus(**{**status.__dict__, "created": True})


async def _run(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_POOL, fn, *args)


_JOIN = threading.local()


def _joined(bodies: list[tuple[memoryview, ...]]) -> list[memoryview]:
    """Each page whole: one piece as it is, several copied one after another into this
    worker thread's buffer (not a new one per page: see ``PackReader``). The pages of a
    batch are hashed together, so they lie side by side, none overwritten.

    The buffer is :func:`_batch_bytes`, made once per thread: a batch never holds more
    (``_receive_pack`` closes it first), so it never grows. Grown to the largest batch seen,
    it had made the hub's memory follow the number of batches, i.e. the dossier's size.
    Only a batch of one page larger than that gets a buffer of its own."""
    need = sum(sum(len(p) for p in pieces) for pieces in bodies if len(pieces) > 1)
    if not need:
        return [pieces[0] if pieces else memoryview(b"") for pieces in bodies]
    buf: bytearray | None = getattr(_JOIN, "buf", None)
    if buf is None:
        buf = _JOIN.buf = bytearray(_batch_bytes())
    view = memoryview(buf if need <= len(buf) else bytearray(need))
    out: list[memoryview] = []
    pos = 0
    for pieces in bodies:
        if len(pieces) == 1:
            out.append(pieces[0])
            continue
        start = pos
        for piece in pieces:
            view[pos : pos + len(piece)] = piece
            pos += len(piece)
        out.append(view[start:pos])
    return out


def _verify_and_store(
    pages: SealedPages, batch: list[tuple[str, tuple[memoryview, ...]]]
) -> list[bool]:
    """For each page: True if its bytes hash to its name (then they are sealed and written,
    not yet synced), False if not (then nothing is written). The batch is hashed at once
    (:mod:`casebridge.native.sha256`: many pages side by side where the CPU lacks SHA-NI)."""
    bodies = _joined([pieces for _, pieces in batch])
    ok = [
        digest.hex() == sha256
        for digest, (sha256, _) in zip(sha256_digests(bodies), batch, strict=True)
    ]
    stored = zip(batch, bodies, ok, strict=True)
    pages.put_many([(sha, body) for (sha, _), body, good in stored if good])
    return ok


async def receive_pack(
    container: Container,
    principal: Principal,
    dossier_id: str,
    root: str,
    chunks: AsyncIterator[bytes | memoryview],
) -> PackResult:
    """Read one pack, verify every page, store it encrypted, sync once, then acknowledge.

    Pages verified before a failure (bad bytes, truncation, the sender vanishing) are still
    synced and recorded, so a resumed transfer re-sends only what was in flight. At most
    ``dossier_pack_slots`` packs are received at once (:mod:`casebridge.services.pack_slots`);
    the others wait here, their bodies unread.
    """
    async with container.pack_slots().slot():
        return await _receive_pack(container, principal, dossier_id, root, chunks)


async def _receive_pack(
    container: Container,
    principal: Principal,
    dossier_id: str,
    root: str,
    chunks: AsyncIterator[bytes | memoryview],
) -> PackResult:

    def load() -> Manifest:
        with container.uow() as uow:
            return load_manifest(uow, dossier_id, root)

    # Which pages the hub already holds is asked once, at the end, for this pack's pages
    # only: a page sent needlessly is verified again (cheap) rather than looked up (a
    # query over the whole version per pack).
    manifest = await _run(load)
    expected = manifest.distinct_pages()
    pages = container.page_store()
    max_page = container.settings.dossier_max_page_bytes
    result = PackResult()
    verified: dict[str, int] = {}
    seen: set[str] = set()
    pending: deque[tuple[list[tuple[str, int]], asyncio.Future[list[bool]]]] = deque()
    reader = PackReader()

    def where(sha: str) -> str:
        ref = manifest.where(sha)
        return str(ref) if ref else f"page {sha}"

    async def settle(limit: int) -> None:
        while len(pending) > limit:
            names, fut = pending.popleft()
            for (sha, size), good in zip(names, await fut, strict=True):
                if good:
                    verified[sha] = size
                else:
                    result.problems.append(
                        Problem(
                            where(sha),
                            Said(N_("bytes do not match the page hash")),
                            code=sha,
                            rule="digest",
                        )
                    )

    batch: list[tuple[str, tuple[memoryview, ...]]] = []
    names: list[tuple[str, int]] = []

    batch_bytes, batch_limit = 0, _batch_bytes()

    async def dispatch() -> None:
        nonlocal batch, names, batch_bytes
        fut = asyncio.ensure_future(_run(_verify_and_store, pages, batch))
        pending.append((names, fut))
        batch, names, batch_bytes = [], [], 0
        await settle(_MAX_BATCHES)

    try:
        async for chunk in chunks:
            reader.feed(chunk)
            while True:
                header = reader.next_header()
                if header is None:
                    break
                if header.sha256 not in expected:
                    raise InvalidInput(
                        N_("pack holds a page this dossier version does not list"),
                        problems=[
                            Problem(
                                f"page {header.sha256}",
                                Said(N_("not in the manifest")),
                                rule="unknown-page",
                            )
                        ],
                    )
                if header.size != expected[header.sha256] or header.size > max_page:
                    raise InvalidInput(
                        N_("pack frame size differs from the manifest"),
                        problems=[
                            Problem(
                                where(header.sha256),
                                Said(
                                    N_("frame says {size} bytes, manifest {listed}"),
                                    size=header.size,
                                    listed=expected[header.sha256],
                                ),
                                rule="size",
                            )
                        ],
                    )
                body = reader.next_body()
                if body is None:
                    break
                result.bytes += header.size
                if header.sha256 in seen:  # twice in one pack
                    result.already_held += 1
                    continue
                seen.add(header.sha256)
                if batch and batch_bytes + header.size > batch_limit:
                    await dispatch()
                batch.append((header.sha256, body))
                names.append((header.sha256, header.size))
                batch_bytes += header.size
            if len(batch) >= native_sha256.BATCH:
                await dispatch()
        if batch:
            await dispatch()
        await settle(0)
        cut, got = reader.pending()
        if cut is not None:
            result.problems.append(
                Problem(
                    where(cut.sha256),
                    Said(
                        N_("truncated pack: {got} of {size} bytes arrived"), got=got, size=cut.size
                    ),
                    code=cut.sha256,
                    rule="truncated",
                )
            )
    finally:
        await settle(0)
        if verified:
            await _run(pages.sync)  # once per pack, before any acknowledgement

            def record() -> tuple[int, str, int]:
                with container.uow() as uow:
                    version = _version(uow, dossier_id, root)
                    holding = _holding(container, uow, version, manifest)  # before its rows
                    new = uow.dossiers.add_pages(verified)
                    result.already_held += len(verified) - new
                    missing = holding.missing_after(uow, verified)
                    if not missing:  # the flags may be stale (another process forgot a
                        # page: see verify_stored): "complete" only on the database's count
                        wanted = _pack_could_miss(uow, version, manifest)
                        missing = len(_status(uow, version, manifest, wanted).missing)
                    audit.record(
                        uow,
                        "dossier.pack.accept",
                        "dossier",
                        dossier_id,
                        actor=principal,
                        detail={"merkle_root": root, "pages": new},
                    )
                    uow.commit()
                    holding.seen_held(verified)  # committed now
                    trim_heap_after(result.bytes)  # see casebridge.gcsettings
                    return new, version.status, missing

            result.accepted, result.status, result.missing_count = await _run(record)
    if result.problems:
        raise InvalidInput(
            N_(
                "pack for dossier {dossier}: {refused} page(s) refused; "
                "{kept} verified page(s) kept"
            ),
            problems=result.problems,
            params={
                "dossier": dossier_id,
                "refused": len(result.problems),
                "kept": result.accepted,
            },
        )
    return result


@dataclass(frozen=True)
class ContentPlan:
    """The bytes of a download: the chosen pages' plaintexts, concatenated in manifest order."""

    manifest: Manifest
    pages: PagePlan

    @property
    def length(self) -> int:
        return self.pages.length


def content_plan(
    uow: UnitOfWork,
    principal: Principal,
    dossier_id: str,
    root: str,
    documents: list[tuple[int, int]] | None,
    byte_range: str | None = None,
) -> ContentPlan:
    """The download of the chosen documents, audited (``byte_range``: the request's Range
    header, recorded as it came — a client pulls in several ranges at once)."""
    manifest = load_manifest(uow, dossier_id, root)
    if documents:
        known = {
            (vi, di)
            for vi, vol in enumerate(manifest.volumes, 1)
            for di in range(1, len(vol.documents) + 1)
        }
        unknown = [d for d in documents if d not in known]
        if unknown:
            raise InvalidInput(
                N_("no such document"),
                problems=[
                    Problem(
                        "documents",
                        Said(
                            N_("volume {volume} document {document} is not in the dossier"),
                            volume=v,
                            document=d,
                        ),
                    )
                    for v, d in unknown
                ],
            )
    chosen = manifest.select(documents or None)
    audit.record(
        uow,
        "dossier.read",
        "dossier",
        dossier_id,
        actor=principal,
        detail={
            "merkle_root": root,
            "documents": documents or "all",
            "pages": len(chosen),
            **({"range": byte_range[:100]} if byte_range else {}),
        },
    )
    uow.commit()
    return ContentPlan(manifest, chosen)


async def iter_content(
    pages: SealedPages, plan: ContentPlan, start: int = 0, end: int | None = None
) -> AsyncIterator[bytes | memoryview]:
    """Stream bytes [start, end) of the plan; pages are decrypted ahead in the thread pool.

    A page whose blob fails authentication raises :class:`CorruptData` mid-stream: the
    connection is cut short, and the receiver, who verifies every page, names it.
    """
    end = plan.length if end is None else end
    first = plan.pages.index_at(start)
    ahead: deque[tuple[list[tuple[int, Page]], Future[list[bytes | memoryview | CorruptData]]]] = (
        deque()
    )
    nxt = [first, plan.pages.offset(first)]  # next page to fetch, and its byte offset

    def fill() -> None:
        while len(ahead) < _READ_AHEAD and nxt[1] < end and nxt[0] < len(plan.pages):
            group: list[tuple[int, Page]] = []
            names: list[tuple[str, object]] = []
            size = 0
            while nxt[1] < end and nxt[0] < len(plan.pages):
                ref, page = plan.pages[nxt[0]]
                if group and size + page.size > _READ_GROUP:
                    break
                group.append((nxt[1], page))
                names.append((page.sha256, ref))  # said (str) only if the page fails
                size += page.size
                nxt[0] += 1
                nxt[1] += page.size
            ahead.append((group, _POOL.submit(pages.get_many, names, rehash=False, into=_SERVED)))

    fill()
    served = 0
    while ahead:
        group, fut = ahead.popleft()
        opened = await asyncio.wrap_future(fut)
        fill()
        for (at, page), data in zip(group, opened, strict=True):
            if isinstance(data, CorruptData):
                # Headers are gone: all we can do is cut the stream after the pages before
                # it; the receiver, who verifies every page, names this one.
                _log.error("dossier.page.corrupt", detail=data.message)
                raise data
            lo = max(0, start - at)
            hi = min(page.size, end - at)
            yield data if (lo, hi) == (0, page.size) else data[lo:hi]
            served += hi - lo
            if served >= 64 << 20:  # a download is one long request: see gcsettings
                _POOL.submit(trim_heap_after, served)
                served = 0


def read_page(container: Container, dossier_id: str, root: str, sha256: str) -> bytes:
    """One page, verified; :class:`CorruptData` names dossier, volume, document and page."""
    with container.uow() as uow:
        manifest = load_manifest(uow, dossier_id, root)
    ref = manifest.where(sha256)
    if ref is None:
        raise NotFound(
            N_("dossier {dossier} version {root} has no page {sha}"),
            params={"dossier": dossier_id, "root": root, "sha": sha256},
        )
    return container.page_store().get(sha256, ref)


def verify_stored(
    container: Container,
    dossier_id: str,
    root: str,
    *,
    repair: bool = False,
    principal: Principal | None = None,
) -> dict[str, Any]:
    """Decrypt and hash every stored page of a version; report (not raise) what fails.

    ``repair``: pages whose stored bytes were altered (or whose blob is gone although the
    page is recorded as held) are forgotten — blob and acceptance record — and every version
    listing them goes back to ``receiving``, so that the next push of the version (a resumed
    ``dossier push``) sends them again. Pages this hub cannot read at all (sealed under
    another key-encryption key or suite) are reported, never forgotten: that is a
    configuration to fix, and forgetting them would throw away good pages.
    """
    with container.uow() as uow:
        manifest = load_manifest(uow, dossier_id, root)
        held = uow.dossiers.present(manifest.distinct_pages())
    store = container.page_store()
    corrupt: list[str] = []
    missing: list[str] = []
    lost: dict[str, str] = {}  # altered or gone: hash → where
    checked: set[str] = set()
    for ref, page in manifest.located_pages():
        if page.sha256 in checked:
            continue
        checked.add(page.sha256)
        if page.sha256 not in held:
            missing.append(str(ref))
            continue
        try:
            store.get(page.sha256, ref)
        except (AlteredData, NotFound) as exc:
            corrupt.append(exc.message)
            lost[page.sha256] = str(ref)
        except CorruptData as exc:
            corrupt.append(exc.message)
    report: dict[str, Any] = {
        "dossier_id": dossier_id,
        "merkle_root": root,
        "pages_checked": len(checked) - len(missing),
        "missing": missing,
        "corrupt": corrupt,
        "ok": not corrupt and not missing,
    }
    if repair:
        report["forgotten"] = _forget(container, dossier_id, root, lost, principal)
    return report


def _forget(
    container: Container,
    dossier_id: str,
    root: str,
    lost: dict[str, str],
    principal: Principal | None,
) -> list[str]:
    """Forget lost pages (see :func:`verify_stored`); returns where they were."""
    if not lost:
        return []
    pages = container.page_store()
    for sha in lost:  # the blob first: a page recorded as missing is re-sent, and a blob
        with contextlib.suppress(NotFound):  # still indexed would refuse the new bytes
            pages.store.delete(sha)
    with container.uow() as uow:
        uow.dossiers.forget_pages(lost)
        versions = uow.dossiers.versions_listing(lost)
        for version in versions:
            version.status = "receiving"
        audit.record(
            uow,
            "dossier.page.forget",
            "dossier",
            dossier_id,
            actor=principal,
            detail={
                "merkle_root": root,
                "pages": sorted(lost),
                "versions": sorted(v.merkle_root for v in versions),
            },
        )
        uow.commit()
        keys = [(v.dossier_id, v.merkle_root) for v in versions]
    with _MANIFESTS_LOCK:  # this process's flags count those pages as held: drop them
        for holdings in _HOLDINGS.values():
            for key in keys:
                holdings.pop(key, None)
    _log.warning("dossier.page.forget", dossier=dossier_id, root=root, pages=len(lost))
    return list(lost.values())
