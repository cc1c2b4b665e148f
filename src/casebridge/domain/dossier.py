"""Electronic dossier (电子卷宗) manifest: volumes → documents → pages, canonical JSON, Merkle root.

Why a manifest: a dossier is entered once at the police stage and reused by the procuratorate
and the court. The manifest lists every page by the SHA-256 of its plaintext, so pages are
addressed by content (stored once, sent once), and its Merkle root is the single value that a
signature or a receipt covers — one proof for the whole dossier, whatever its size.

Canonical JSON: RFC 8785 (JCS). A manifest holds only strings, integers, lists, objects and
null, with ASCII keys, so JCS reduces to sorted keys, no insignificant whitespace and UTF-8
strings — which the standard library produces exactly (a unit test cross-checks the result
against the ``rfc8785`` reference implementation). Floats are never used.

Merkle tree: RFC 6962 §2.1 (Certificate Transparency) shape over the page hashes in manifest
order: leaf = SHA-256(0x00 ‖ page hash), node = SHA-256(0x01 ‖ left ‖ right), the left subtree
holding the largest power of two smaller than n leaves. The 0x00/0x01 prefixes stop a leaf from
being passed off as an inner node.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from json.encoder import encode_basestring as _quote  # the C escaper json.dumps uses
from types import MappingProxyType
from typing import Any

__all__ = [
    "DIGEST",
    "MEDIA_TYPES",
    "SCHEMA",
    "Document",
    "Manifest",
    "ManifestProblem",
    "Page",
    "PageRef",
    "Volume",
    "canonical_json",
    "manifest_from_dict",
    "merkle_root",
    "union",
    "validate",
]

SCHEMA = "casebridge.dossier/1"
DIGEST = "sha256"
# Scans and born-digital documents; OFD is the Chinese fixed-layout format (GB/T 33190-2016),
# which has no IANA registration: "application/ofd" is the name used in practice.
MEDIA_TYPES: Mapping[str, str] = {
    "application/pdf": ".pdf",
    "application/ofd": ".ofd",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME_MAX = 255


@dataclass(frozen=True)
class Page:
    """One page (or one file standing for a run of pages): named, typed, sized and hashed."""

    name: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Document:
    """A material or legal document (材料/文书) inside a volume."""

    code: str  # document type code (文书类型代码) as the sending agency gives it
    title: str
    source_agency: str  # organisation code of the agency that produced the document
    pages: tuple[Page, ...]


@dataclass(frozen=True)
class Volume:
    """A volume (卷): documents in order; pages are numbered from 1 within the volume."""

    title: str
    documents: tuple[Document, ...]

    def page_range(self, doc_index: int) -> tuple[int, int]:
        """First and last page number of a document within this volume (1-based)."""
        first = 1 + sum(len(d.pages) for d in self.documents[:doc_index])
        return first, first + len(self.documents[doc_index].pages) - 1


@dataclass(frozen=True)
class PageRef:
    """Where a page sits, for error messages that name dossier, volume, document and page."""

    dossier: str
    volume: int  # 1-based
    volume_title: str
    document: int  # 1-based within the volume
    document_title: str
    page: int  # 1-based within the volume
    name: str

    def __str__(self) -> str:
        return (
            f"dossier {self.dossier}, volume {self.volume} «{self.volume_title}», "
            f"document {self.document} «{self.document_title}», page {self.page} ({self.name})"
        )


@dataclass(frozen=True)
class Manifest:
    """A dossier version. ``parent`` is the Merkle root of the version it extends, if any."""

    dossier_id: str
    title: str
    volumes: tuple[Volume, ...]
    parent: str | None = None
    root: str = field(default="", compare=False)

    def pages(self) -> Iterator[Page]:
        for vol in self.volumes:
            for doc in vol.documents:
                yield from doc.pages

    def located_pages(self) -> Iterator[tuple[PageRef, Page]]:
        for vi, vol in enumerate(self.volumes, 1):
            number = 0
            for di, doc in enumerate(vol.documents, 1):
                for page in doc.pages:
                    number += 1
                    ref = PageRef(self.dossier_id, vi, vol.title, di, doc.title, number, page.name)
                    yield ref, page

    def located_pages_lazy(self) -> Iterator[tuple[Callable[[], PageRef], Page]]:
        """Like :meth:`located_pages`, with a maker of the ``PageRef`` instead: a check of
        thousands of pages builds a ``PageRef`` only for the pages it reports."""
        for vi, vol in enumerate(self.volumes, 1):
            number = 0
            for di, doc in enumerate(vol.documents, 1):
                for page in doc.pages:
                    number += 1
                    yield (
                        partial(
                            PageRef,
                            self.dossier_id,
                            vi,
                            vol.title,
                            di,
                            doc.title,
                            number,
                            page.name,
                        ),
                        page,
                    )

    @cached_property
    def page_count(self) -> int:
        return sum(len(d.pages) for v in self.volumes for d in v.documents)

    @cached_property
    def total_bytes(self) -> int:
        return sum(p.size for p in self.pages())

    def distinct_pages(self) -> Mapping[str, int]:
        """Page hash → size, each hash once (the same scan may appear in two documents).

        Computed once per manifest (read-only): the hub asks it for every pack it receives.
        """
        return self._distinct

    @cached_property
    def _distinct(self) -> Mapping[str, int]:
        return MappingProxyType({p.sha256: p.size for p in self.pages()})

    def where(self, sha256: str) -> PageRef | None:
        for ref, page in self.located_pages():
            if page.sha256 == sha256:
                return ref
        return None

    def select(self, documents: Iterable[tuple[int, int]]) -> list[tuple[PageRef, Page]]:
        """Pages of the chosen (volume, document) pairs, in manifest order."""
        wanted = set(documents)
        return [(r, p) for r, p in self.located_pages() if (r.volume, r.document) in wanted]

    def body(self) -> dict[str, Any]:
        """The manifest without its root: what the root is computed next to.

        Keys are inserted in RFC 8785 order (sorted; all ASCII), so :meth:`canonical` can
        serialise without sorting — it runs on manifests of thousands of pages.
        """
        return {
            "digest": DIGEST,
            "dossier_id": self.dossier_id,
            "parent": self.parent,
            "schema": SCHEMA,
            "title": self.title,
            "volumes": [
                {
                    "documents": [
                        {
                            "code": d.code,
                            "pages": [
                                {
                                    "media_type": p.media_type,
                                    "name": p.name,
                                    "sha256": p.sha256,
                                    "size": p.size,
                                }
                                for p in d.pages
                            ],
                            "source_agency": d.source_agency,
                            "title": d.title,
                        }
                        for d in v.documents
                    ],
                    "title": v.title,
                }
                for v in self.volumes
            ],
        }

    def to_dict(self) -> dict[str, Any]:
        body = self.body()
        # "merkle_root" sorts between "dossier_id" and "parent"
        return {
            "digest": body["digest"],
            "dossier_id": body["dossier_id"],
            "merkle_root": self.computed_root(),
            **{k: body[k] for k in ("parent", "schema", "title", "volumes")},
        }

    def computed_root(self) -> str:
        """The Merkle root of the pages (computed once per manifest: it is immutable)."""
        return self._computed_root

    @cached_property
    def _computed_root(self) -> str:
        return merkle_root(p.sha256 for p in self.pages())

    def canonical(self) -> bytes:
        """RFC 8785 bytes of the manifest with its Merkle root: what a signature covers.

        Computed once per manifest. No sorting (:meth:`body` builds keys in order) and no
        float check (``canonical_json`` has one): every number in a manifest is a page
        size, an ``int`` by construction.
        """
        return self._canonical

    @cached_property
    def _canonical(self) -> bytes:
        # Written out directly (no intermediate dicts: half the time and memory of
        # json.dumps(self.to_dict()) on thousands of pages). Strings go through the json
        # module's own C escaper, so the bytes are exactly what json.dumps would give.
        q = _quote
        parent = "null" if self.parent is None else q(self.parent)
        parts = [
            f'{{"digest":{q(DIGEST)},"dossier_id":{q(self.dossier_id)},'
            f'"merkle_root":{q(self.computed_root())},"parent":{parent},'
            f'"schema":{q(SCHEMA)},"title":{q(self.title)},"volumes":['
        ]
        for vi, vol in enumerate(self.volumes):
            parts.append(',{"documents":[' if vi else '{"documents":[')
            for di, doc in enumerate(vol.documents):
                parts.append(f'{"," if di else ""}{{"code":{q(doc.code)},"pages":[')
                parts.append(
                    ",".join(
                        f'{{"media_type":{q(p.media_type)},"name":{q(p.name)},'
                        f'"sha256":{q(p.sha256)},"size":{int(p.size)}}}'
                        for p in doc.pages
                    )
                )
                parts.append(f'],"source_agency":{q(doc.source_agency)},"title":{q(doc.title)}}}')
            parts.append(f'],"title":{q(vol.title)}}}')
        parts.append("]}")
        return "".join(parts).encode("utf-8")

    def sealed(self) -> Manifest:
        """The same manifest with ``root`` filled in."""
        return Manifest(
            self.dossier_id, self.title, self.volumes, self.parent, self.computed_root()
        )


def canonical_json(value: Any) -> bytes:
    """RFC 8785 serialisation for JSON without floats (the only JSON a manifest contains)."""
    _refuse_floats(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("floats have no place in a manifest (JCS number form not implemented)")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or not k.isascii():
                raise TypeError("manifest keys are ASCII strings")
            _refuse_floats(v)
    elif isinstance(value, list):
        for v in value:
            _refuse_floats(v)


def merkle_root(hashes: Iterable[str]) -> str:
    """RFC 6962-shaped Merkle tree hash over hex page hashes; the empty tree is SHA-256('')."""
    sha = hashlib.sha256
    level = [sha(b"\x00" + raw).digest() for raw in map(bytes.fromhex, hashes)]
    if not level:
        return sha(b"").hexdigest()
    # Bottom-up pairing with the odd node promoted equals RFC 6962's recursive split.
    while len(level) > 1:
        odd = level[-1] if len(level) % 2 else None
        pairs = zip(level[::2], level[1::2], strict=False)  # the odd one out is kept above
        level = [sha(b"\x01" + a + b).digest() for a, b in pairs]
        if odd is not None:
            level.append(odd)
    return level[0].hex()


@dataclass(frozen=True)
class ManifestProblem:
    """One thing wrong with a manifest, located precisely (mapped to errors.Problem outside)."""

    where: str
    message: str
    rule: str


_NAME_SUSPECT = re.compile(r"[\x00-\x1f/\\]|^\.\.?$")


def _bad_name(name: str) -> str | None:
    if name and len(name) <= _NAME_MAX and not _NAME_SUSPECT.search(name):
        return None  # the common case, in one regex scan
    if not name or len(name) > _NAME_MAX:
        return f"must be 1–{_NAME_MAX} characters"
    if "/" in name or "\\" in name or name in {".", ".."} or "\x00" in name:
        return "must be a plain file name (no '/', '\\', '.', '..' or NUL: path traversal)"
    if any(ord(c) < 32 for c in name):
        return "must not contain control characters"
    return None


def validate(manifest: Manifest, *, max_bytes: int, max_page_bytes: int) -> list[ManifestProblem]:
    """Every problem of a manifest at once, each naming the page it concerns."""
    problems: list[ManifestProblem] = []
    sizes: dict[str, tuple[int, Any]] = {}  # hash → (size, PageRef or its maker)
    if _bad_name(manifest.dossier_id):
        problems.append(
            ManifestProblem("dossier_id", f"{manifest.dossier_id!r} is not a valid id", "name")
        )
    allowed_sizes = range(max_page_bytes + 1)
    for make_ref, page in manifest.located_pages_lazy():
        if (
            page.media_type in MEDIA_TYPES
            and page.size in allowed_sizes
            and _HEX64.match(page.sha256)
            and _bad_name(page.name) is None
            and sizes.get(page.sha256, (page.size,))[0] == page.size
        ):
            sizes.setdefault(page.sha256, (page.size, make_ref))
            continue  # the common case: nothing to report, no PageRef built
        ref = make_ref()
        bad = _bad_name(page.name)
        if bad:
            problems.append(ManifestProblem(str(ref), f"page name {bad}", "path-traversal"))
        if page.media_type not in MEDIA_TYPES:
            allowed = ", ".join(sorted(MEDIA_TYPES))
            problems.append(
                ManifestProblem(
                    str(ref),
                    f"unsupported media type {page.media_type!r} (allowed: {allowed})",
                    "media-type",
                )
            )
        if not _HEX64.match(page.sha256):
            problems.append(
                ManifestProblem(str(ref), "sha256 must be 64 lower-case hex digits", "digest")
            )
        if page.size < 0 or page.size > max_page_bytes:
            problems.append(
                ManifestProblem(
                    str(ref), f"size {page.size} outside 0–{max_page_bytes} bytes", "page-size"
                )
            )
        seen = sizes.get(page.sha256)
        if seen is None:
            sizes[page.sha256] = (page.size, ref)
        elif seen[0] != page.size:
            if callable(seen[1]):
                seen = (seen[0], seen[1]())
            problems.append(
                ManifestProblem(
                    str(ref),
                    f"page hash {page.sha256[:16]}… listed with size {page.size} here and "
                    f"{seen[0]} at {seen[1]}",
                    "hash-two-sizes",
                )
            )
    total = sum(size for size, _ in sizes.values())
    if total > max_bytes:
        problems.append(
            ManifestProblem(
                "dossier",
                f"dossier holds {total} bytes of distinct pages, over the limit of {max_bytes}",
                "dossier-size",
            )
        )
    if manifest.page_count == 0:
        problems.append(ManifestProblem("dossier", "a dossier needs at least one page", "empty"))
    return problems


def _str(obj: Mapping[str, Any], key: str, where: str, out: list[ManifestProblem]) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        out.append(ManifestProblem(f"{where}.{key}", "must be a string", "type"))
        return ""
    return value


def _list(obj: Mapping[str, Any], key: str, where: str, out: list[ManifestProblem]) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        out.append(ManifestProblem(f"{where}.{key}", "must be a list", "type"))
        return []
    return value


def manifest_from_dict(
    data: Any, *, trust_root: bool = False
) -> tuple[Manifest | None, list[ManifestProblem]]:
    """Parse a manifest document; all structural problems at once (``None`` if any).

    The declared Merkle root is checked against the pages, unless ``trust_root`` (the
    hub re-reading a manifest it verified when it stored it; receivers always check).
    """
    out: list[ManifestProblem] = []
    if not isinstance(data, dict):
        return None, [ManifestProblem("manifest", "must be a JSON object", "type")]
    if data.get("schema") != SCHEMA:
        out.append(ManifestProblem("schema", f"must be {SCHEMA!r}", "schema"))
    if data.get("digest", DIGEST) != DIGEST:
        out.append(
            ManifestProblem("digest", f"only {DIGEST!r} page hashes are supported", "digest")
        )
    parent = data.get("parent")
    if parent is not None and (not isinstance(parent, str) or not _HEX64.match(parent)):
        out.append(ManifestProblem("parent", "must be null or a Merkle root (64 hex)", "digest"))
    volumes: list[Volume] = []
    for vi, v in enumerate(_list(data, "volumes", "manifest", out), 1):
        vw = f"volume {vi}"
        if not isinstance(v, dict):
            out.append(ManifestProblem(vw, "must be an object", "type"))
            continue
        docs: list[Document] = []
        for di, d in enumerate(_list(v, "documents", vw, out), 1):
            dw = f"{vw}, document {di}"
            if not isinstance(d, dict):
                out.append(ManifestProblem(dw, "must be an object", "type"))
                continue
            pages: list[Page] = []
            for pi, p in enumerate(_list(d, "pages", dw, out), 1):
                if type(p) is dict:  # the common case: four fields of the right types
                    name, media, size, sha = (
                        p.get("name"),
                        p.get("media_type"),
                        p.get("size"),
                        p.get("sha256"),
                    )
                    if type(name) is type(media) is type(sha) is str and type(size) is int:
                        pages.append(Page(name, media, size, sha))
                        continue
                pw = f"{dw}, page {pi}"
                if not isinstance(p, dict):
                    out.append(ManifestProblem(pw, "must be an object", "type"))
                    continue
                size = p.get("size")
                if not isinstance(size, int) or isinstance(size, bool):
                    out.append(ManifestProblem(f"{pw}.size", "must be an integer", "type"))
                    size = -1
                pages.append(
                    Page(
                        _str(p, "name", pw, out),
                        _str(p, "media_type", pw, out),
                        size,
                        _str(p, "sha256", pw, out),
                    )
                )
            docs.append(
                Document(
                    _str(d, "code", dw, out),
                    _str(d, "title", dw, out),
                    _str(d, "source_agency", dw, out),
                    tuple(pages),
                )
            )
        volumes.append(Volume(_str(v, "title", vw, out), tuple(docs)))
    manifest = Manifest(
        _str(data, "dossier_id", "manifest", out),
        _str(data, "title", "manifest", out),
        tuple(volumes),
        parent if isinstance(parent, str) else None,
    )
    if out:
        return None, out
    claimed = data.get("merkle_root")
    if trust_root and isinstance(claimed, str) and _HEX64.match(claimed):
        return Manifest(
            manifest.dossier_id, manifest.title, manifest.volumes, manifest.parent, claimed
        ), []
    sealed = manifest.sealed()
    if claimed is not None and claimed != sealed.root:
        return None, [
            ManifestProblem(
                "merkle_root",
                f"declared root {claimed} does not match the pages (computed {sealed.root})",
                "merkle-root",
            )
        ]
    return sealed, []


def union(parent: Manifest, additions: Iterable[Volume], *, title: str | None = None) -> Manifest:
    """A child version: the parent's volumes (unchanged, in order) followed by the new ones.

    The procuratorate's version adds its documents to the police's, and the court receives
    the union; pages already held keep their hashes, so only the new ones travel.
    """
    parent = parent if parent.root else parent.sealed()
    return Manifest(
        parent.dossier_id,
        title or parent.title,
        parent.volumes + tuple(additions),
        parent.root,
    ).sealed()
