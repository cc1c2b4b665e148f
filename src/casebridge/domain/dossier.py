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

import dataclasses
import io
import json
import pickle
import re
import threading
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from itertools import chain, islice
from json.encoder import encode_basestring as _quote  # the C escaper json.dumps uses
from typing import Any, Protocol, overload

from casebridge.domain.merkle import root_from_digests
from casebridge.domain.page_table import Page, Pages, PageSizes
from casebridge.errors import Problem, Said

__all__ = [
    "DIGEST",
    "EXTENSION_SCHEMA",
    "MEDIA_TYPES",
    "SCHEMA",
    "Document",
    "Manifest",
    "ManifestProblem",
    "Page",
    "PagePlan",
    "PageRef",
    "PageSizes",
    "Pages",
    "Shelf",
    "ShelvedVolumes",
    "Volume",
    "canonical_json",
    "extends",
    "extension_from_dict",
    "loads_manifest",
    "loads_manifest_bytes",
    "loads_manifest_file",
    "loads_manifest_from",
    "manifest_from_dict",
    "manifest_from_file",
    "merkle_root",
    "union",
    "validate",
    "volume_to_dict",
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
_MEDIA = {m: m for m in MEDIA_TYPES}
_HEX64 = re.compile(r"[0-9a-f]{64}")  # with fullmatch: "$" would let a trailing newline in
_NAME_MAX = 255


@dataclass(frozen=True, slots=True)
class Document:
    """A material or legal document (材料/文书) inside a volume."""

    code: str  # document type code (文书类型代码) as the sending agency gives it
    title: str
    source_agency: str  # organisation code of the agency that produced the document
    pages: Pages  # any sequence of Page is accepted and packed

    def __post_init__(self) -> None:
        if type(self.pages) is not Pages:
            object.__setattr__(self, "pages", Pages(self.pages))

    def __reduce__(self) -> tuple[Any, ...]:  # pickled by the fields (shelved volumes)
        return Document, (self.code, self.title, self.source_agency, self.pages)


@dataclass(frozen=True, slots=True)
class Volume:
    """A volume (卷): documents in order; pages are numbered from 1 within the volume."""

    title: str
    documents: tuple[Document, ...]

    def __reduce__(self) -> tuple[Any, ...]:  # pickled by the fields (shelved volumes)
        return Volume, (self.title, self.documents)

    def page_range(self, doc_index: int) -> tuple[int, int]:
        """First and last page number of a document within this volume (1-based)."""
        first = 1 + sum(len(d.pages) for d in self.documents[:doc_index])
        return first, first + len(self.documents[doc_index].pages) - 1


def _volume_pages(vol: Volume) -> int:
    return sum(len(d.pages) for d in vol.documents)


def _volume_bytes(vol: Volume) -> int:
    return sum(sum(d.pages.sizes()) for d in vol.documents)


class Shelf(Protocol):
    """Where :class:`ShelvedVolumes` keeps volumes out of the process's memory (the
    gateway's and the hub's: an unlinked temporary file). Bytes in, a key out; the same
    bytes back, as any bytes-like object: read at once (it may be a buffer the shelf reuses
    for its next ``get`` on this thread)."""

    def put(self, data: bytes, /) -> int: ...

    def get(self, key: int, /) -> bytes | memoryview: ...


class ShelvedVolumes(Sequence[Volume]):
    """A manifest's volumes kept on a :class:`Shelf`, each loaded when it is asked for.

    Why: a client holding a 5,253-page manifest in memory, even packed, held ~180 bytes a
    page, so it was larger at 1.2 GB than at 0.3 GB. Shelved, it holds a key and a title per
    volume and the last :attr:`CACHED` volumes loaded: its memory follows the size of a
    volume, not of the dossier. Reads like the tuple it replaces; a walk of every volume of
    a 5,253-page dossier costs ~3 ms (pickle). The shelved bytes are this process's own,
    written by :meth:`shelve`, so unpickling them trusts nothing from outside.
    """

    __slots__ = ("_cache", "_keys", "_lock", "_shelf", "page_counts", "sizes", "titles")
    CACHED = 4  # the pull's streams each read their own volume at once

    def __init__(
        self,
        shelf: Shelf,
        keys: tuple[int, ...],
        titles: tuple[str, ...],
        page_counts: tuple[int, ...],
        sizes: tuple[int, ...],
    ) -> None:
        self._shelf, self._keys = shelf, keys
        # what is asked of every volume, kept to answer without loading them
        self.titles, self.page_counts, self.sizes = titles, page_counts, sizes
        self._cache: OrderedDict[int, Volume] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def shelve(cls, shelf: Shelf, volumes: Iterable[Volume]) -> ShelvedVolumes:
        """Put each volume on ``shelf`` as it comes (``volumes`` may be a generator: only
        one of them need ever be in memory)."""
        keys: list[int] = []
        titles: list[str] = []
        counts: list[int] = []
        sizes: list[int] = []
        for vol in volumes:
            keys.append(shelf.put(pickle.dumps(vol, protocol=pickle.HIGHEST_PROTOCOL)))
            titles.append(vol.title)
            counts.append(_volume_pages(vol))
            sizes.append(_volume_bytes(vol))
        return cls(shelf, tuple(keys), tuple(titles), tuple(counts), tuple(sizes))

    def plus(self, more: Iterable[Volume]) -> ShelvedVolumes:
        """These volumes followed by ``more`` (put on the same shelf: a child version)."""
        added = ShelvedVolumes.shelve(self._shelf, more)
        return ShelvedVolumes(
            self._shelf,
            self._keys + added._keys,
            self.titles + added.titles,
            self.page_counts + added.page_counts,
            self.sizes + added.sizes,
        )

    def shares(self, other: ShelvedVolumes, k: int) -> bool:
        """Whether the first ``k`` volumes of both are the same shelved bytes."""
        return self._shelf is other._shelf and self._keys[:k] == other._keys[:k]

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, i: int) -> Volume: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Volume, ...]: ...

    def __getitem__(self, i: int | slice) -> Volume | tuple[Volume, ...]:
        if isinstance(i, slice):
            return tuple(self._load(j) for j in range(*i.indices(len(self._keys))))
        n = len(self._keys)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("volume index out of range")
        return self._load(i)

    def __iter__(self) -> Iterator[Volume]:
        for i in range(len(self._keys)):
            yield self._load(i)

    def passing(self, i: int) -> Volume:
        """Volume ``i`` for one look: from the cache if it is there, else loaded and not
        kept. A walk ahead of the readers (a push planning its packs) must not evict the
        volumes they are reading: a push of 5,253 pages held twice the volumes of one of
        1,313 (which has only six), and was larger by ~150 KB."""
        with self._lock:
            cached = self._cache.get(i)
        return self._read(i) if cached is None else cached

    def _read(self, i: int) -> Volume:
        vol: Volume = pickle.loads(self._shelf.get(self._keys[i]))  # noqa: S301 - our own bytes
        return vol

    def _load(self, i: int) -> Volume:
        with self._lock:
            cached = self._cache.get(i)
            if cached is not None:
                self._cache.move_to_end(i)
                return cached
        vol = self._read(i)
        with self._lock:
            self._cache[i] = vol
            if len(self._cache) > self.CACHED:
                self._cache.popitem(last=False)
        return vol

    def __eq__(self, other: object) -> bool:
        if (
            isinstance(other, ShelvedVolumes)
            and len(other) == len(self)
            and other.shares(self, len(self._keys))
        ):
            return True
        if not isinstance(other, (tuple, ShelvedVolumes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"ShelvedVolumes({len(self._keys)} volumes: {self.titles!r})"


@dataclass(frozen=True, slots=True)
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
        return self.localized("en")

    def localized(self, lang: str) -> str:
        from casebridge.i18n import tr

        return tr(_PAGE_REF, lang, dataclasses.asdict(self))


def N_(message: str) -> str:  # marks a message for the catalogs (casebridge.i18n)
    return message


_PAGE_REF = N_(
    "dossier {dossier}, volume {volume} «{volume_title}», "
    "document {document} «{document_title}», page {page} ({name})"
)


@dataclass(frozen=True)
class Manifest:
    """A dossier version. ``parent`` is the Merkle root of the version it extends, if any."""

    dossier_id: str
    title: str
    volumes: Sequence[Volume]  # a tuple, or ShelvedVolumes (kept out of memory)
    parent: str | None = None
    root: str = field(default="", compare=False)

    @cached_property
    def volume_titles(self) -> tuple[str, ...]:
        """Each volume's title (its folder's name), without loading a shelved volume."""
        if isinstance(self.volumes, ShelvedVolumes):
            return self.volumes.titles
        return tuple(v.title for v in self.volumes)

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

    def located_pages_lazy(self, first: int = 1) -> Iterator[tuple[Callable[[], PageRef], Page]]:
        """Like :meth:`located_pages`, with a maker of the ``PageRef`` instead: a check of
        thousands of pages builds a ``PageRef`` only for the pages it reports. ``first``:
        the 1-based volume to start at (the volumes a child version adds)."""
        for vi in range(first, len(self.volumes) + 1):
            vol = self.volumes[vi - 1]  # one at a time: shelved volumes are not all loaded
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
    def volume_page_counts(self) -> tuple[int, ...]:
        """The number of pages of each volume (a walk that skips volumes loads none)."""
        if isinstance(self.volumes, ShelvedVolumes):
            return self.volumes.page_counts
        return tuple(map(_volume_pages, self.volumes))

    @cached_property
    def page_count(self) -> int:
        return sum(self.volume_page_counts)

    @cached_property
    def total_bytes(self) -> int:
        if isinstance(self.volumes, ShelvedVolumes):
            return sum(self.volumes.sizes)
        return sum(map(_volume_bytes, self.volumes))

    def distinct_pages(self) -> PageSizes:
        """Page hash → size, each hash once (the same scan may appear in two documents).

        Computed once per manifest (read-only): the hub asks it for every pack it receives.
        Packed (:class:`PageSizes`): it lives as long as the manifest does.
        """
        return self._distinct

    @cached_property
    def _distinct(self) -> PageSizes:
        return PageSizes(d.pages for v in self.volumes for d in v.documents)

    def where(self, sha256: str) -> PageRef | None:
        for ref, page in self.located_pages():
            if page.sha256 == sha256:
                return ref
        return None

    def select(self, documents: Iterable[tuple[int, int]] | None = None) -> PagePlan:
        """Pages of the chosen (volume, document) pairs (all if None), in manifest order."""
        return PagePlan(self, documents)

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
            "volumes": [volume_to_dict(v) for v in self.volumes],
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
        blocks = (d.pages.digest_block() for v in self.volumes for d in v.documents)
        return root_from_digests(blocks).hex()

    def canonical(self) -> bytes:
        """RFC 8785 bytes of the manifest with its Merkle root: what a signature covers.

        Computed once per manifest. No sorting (:meth:`body` builds keys in order) and no
        float check (``canonical_json`` has one): every number in a manifest is a page
        size, an ``int`` by construction.
        """
        return self._canonical

    @cached_property
    def _canonical(self) -> bytes:
        return b"".join(self.canonical_chunks())

    def canonical_chunks(self, first_volume: int = 0) -> Iterator[bytes]:
        """:meth:`canonical` in pieces: the head (every field but the volumes), one piece a
        volume (a comma first, but for the first), then ``]}`` — for writing it to a file
        or a database without holding it whole (a manifest of thousands of pages is
        megabytes while built). ``first_volume``: skip the volumes before it (the head and
        the end are still given: a child whose parent's volumes are written already).

        Written out directly (no intermediate dicts: half the time and memory of
        json.dumps(self.to_dict())). Strings go through the json module's own C escaper,
        so the bytes are exactly what json.dumps would give.
        """
        known = self.__dict__.get("_canonical")
        if known is not None and not first_volume:
            yield known
            return
        yield self._head()
        for i in range(first_volume, len(self.volumes)):
            yield (b"," if i else b"") + _volumes_json((self.volumes[i],))
        yield b"]}"

    def _head(self) -> bytes:
        """The canonical bytes up to the first volume: every key but "volumes" sorts first."""
        q = _quote
        parent = "null" if self.parent is None else q(self.parent)
        return (
            f'{{"digest":{q(DIGEST)},"dossier_id":{q(self.dossier_id)},'
            f'"merkle_root":{q(self.computed_root())},"parent":{parent},'
            f'"schema":{q(SCHEMA)},"title":{q(self.title)},"volumes":['
        ).encode()

    def sealed(self) -> Manifest:
        """The same manifest with ``root`` filled in (what was computed is kept)."""
        return self._with_root(self.computed_root())

    def _with_root(self, root: str) -> Manifest:
        twin = Manifest(self.dossier_id, self.title, self.volumes, self.parent, root)
        # Immutable, so the twin may share what this one computed (cached_property slots);
        # the root is the only field that differs, and it is the computed one or trusted.
        cached = {k: v for k, v in self.__dict__.items() if k in _CACHED}
        cached["_computed_root"] = root
        twin.__dict__.update(cached)
        return twin

    def trusted(self, root: str) -> Manifest:
        """This manifest with a root taken on trust, not computed: only for a manifest the
        hub verified when it stored it (re-reading it must not cost a Merkle pass)."""
        return self._with_root(root)


class PagePlan(Sequence[tuple[PageRef, Page]]):
    """The pages of chosen documents, located, in manifest order, with their byte offsets
    in the concatenation of their contents (a download and its HTTP ranges).

    One row per volume when every document is chosen, else per chosen document: a download
    of thousands of pages holds no list of them, nor the volumes (a shelved manifest loads
    the one a page is in); a page's ``(PageRef, Page)`` is made when it is asked for.
    """

    def __init__(self, manifest: Manifest, documents: Iterable[tuple[int, int]] | None) -> None:
        wanted = None if documents is None else set(documents)
        self.manifest = manifest
        self._volumes = array("I")  # 1-based volume of each row
        self._documents = array("I")  # 1-based document of the row's first page
        self._numbers = array("I")  # page number in the volume of the row's first page
        self._firsts = array("q")  # plan index of each row's first page
        self._offsets = array("q")  # byte offset of each row's first page
        count = offset = 0
        volumes = manifest.volumes
        if wanted is None and isinstance(volumes, ShelvedVolumes):
            # Every document: a row per volume from the counts a shelved manifest keeps,
            # without loading a volume. Why: the four range requests of a pull each walked
            # every volume here, evicting the volumes the other streams were reading: a
            # 5,253-page pull loaded volumes 165 times on the hub (45 for 1,313 pages).
            for vi, (n, size) in enumerate(zip(volumes.page_counts, volumes.sizes, strict=True), 1):
                if n:  # row from the volume's first document; empty ones are stepped over
                    self._row(vi, 1, 1, count, offset)
                    count += n
                    offset += size
            self._count, self.length = count, offset
            return
        for vi, vol in enumerate(volumes, 1):
            number, open_row = 1, False
            for di, doc in enumerate(vol.documents, 1):
                n = len(doc.pages)
                if n and (wanted is None or (vi, di) in wanted):
                    if not open_row:  # a row per chosen document, or one for the volume
                        self._row(vi, di, number, count, offset)
                        open_row = wanted is None
                    count += n
                    offset += sum(doc.pages.sizes())
                number += n
        self._count, self.length = count, offset

    def _row(self, volume: int, document: int, number: int, first: int, offset: int) -> None:
        self._volumes.append(volume)
        self._documents.append(document)
        self._numbers.append(number)
        self._firsts.append(first)
        self._offsets.append(offset)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, i: int) -> tuple[PageRef, Page]: ...

    @overload
    def __getitem__(self, i: slice) -> list[tuple[PageRef, Page]]: ...

    def __getitem__(self, i: int | slice) -> tuple[PageRef, Page] | list[tuple[PageRef, Page]]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._count))]
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError("page index out of range")
        row = bisect_right(self._firsts, i) - 1
        vi, di, number = self._volumes[row], self._documents[row], self._numbers[row]
        vol = self.manifest.volumes[vi - 1]
        j = i - self._firsts[row]
        while j >= len(vol.documents[di - 1].pages):  # a volume's row: the next documents
            n = len(vol.documents[di - 1].pages)
            j, number, di = j - n, number + n, di + 1
        doc = vol.documents[di - 1]
        page = doc.pages[j]
        ref = PageRef(self.manifest.dossier_id, vi, vol.title, di, doc.title, number + j, page.name)
        return ref, page

    def _sizes(self, row: int) -> Iterator[int]:
        """The sizes of a row's pages, in order."""
        vol = self.manifest.volumes[self._volumes[row] - 1]
        docs = vol.documents[self._documents[row] - 1 :]
        return chain.from_iterable(d.pages.sizes() for d in docs)

    def offset(self, i: int) -> int:
        """Byte offset of page ``i`` (``len(self)``: the total length)."""
        if i >= self._count:
            return self.length
        row = bisect_right(self._firsts, i) - 1
        return self._offsets[row] + sum(islice(self._sizes(row), i - self._firsts[row]))

    def index_at(self, offset: int) -> int:
        """The page holding byte ``offset`` (``len(self)`` past the end)."""
        if offset >= self.length:
            return self._count
        row = bisect_right(self._offsets, offset) - 1
        at, i = self._offsets[row], self._firsts[row]
        for size in self._sizes(row):
            if at + size > offset:
                return i
            at += size
            i += 1
        return i  # pragma: no cover - the row's sizes add up past the offset


_CACHED = frozenset(
    {
        "page_count",
        "total_bytes",
        "_distinct",
        "_computed_root",
        "_canonical",
        "volume_titles",
        "volume_page_counts",
    }
)


def volume_to_dict(vol: Volume) -> dict[str, Any]:
    """A volume as JSON data, keys in RFC 8785 order."""
    return {
        "documents": [
            {
                "code": d.code,
                "pages": [
                    {"media_type": p.media_type, "name": p.name, "sha256": p.sha256, "size": p.size}
                    for p in d.pages
                ],
                "source_agency": d.source_agency,
                "title": d.title,
            }
            for d in vol.documents
        ],
        "title": vol.title,
    }


def _volumes_json(volumes: Iterable[Volume]) -> bytes:
    """The canonical bytes of volumes, comma-separated (the inside of "volumes":[...])."""
    q = _quote
    parts: list[str] = []
    for vi, vol in enumerate(volumes):
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
    return "".join(parts).encode("utf-8")


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
    return root_from_digests(map(bytes.fromhex, hashes)).hex()


@dataclass(frozen=True)
class ManifestProblem:
    """One thing wrong with a manifest, located precisely (mapped to errors.Problem outside)."""

    where: str
    message: str  # a :class:`~casebridge.errors.Said` where it can be translated
    rule: str

    @classmethod
    def said(cls, where: str, template: str, rule: str, **params: object) -> ManifestProblem:
        return cls(where, Said(template, **params), rule)

    def to_problem(self) -> Problem:
        return Problem(self.where, self.message, rule=self.rule)


_NAME_SUSPECT = re.compile(r"[\x00-\x1f/\\]|^\.\.?$")


def _bad_name(name: str) -> str | None:
    if name and len(name) <= _NAME_MAX and not _NAME_SUSPECT.search(name):
        return None  # the common case, in one regex scan
    if not name or len(name) > _NAME_MAX:
        return Said(N_("must be 1–{max} characters"), max=_NAME_MAX)
    if "/" in name or "\\" in name or name in {".", ".."} or "\x00" in name:
        return Said(
            N_("must be a plain file name (no '/', '\\', '.', '..' or NUL: path traversal)")
        )
    if any(ord(c) < 32 for c in name):
        return Said(N_("must not contain control characters"))
    return None


def extends(child: Manifest, parent: Manifest) -> bool:
    """Whether ``child`` opens with ``parent``'s volumes, unchanged (as :func:`union` makes
    it): then every page of the parent is in the child, and only the rest is new."""
    k = len(parent.volumes)
    if len(child.volumes) < k:
        return False
    mine, theirs = child.volumes, parent.volumes
    if (
        isinstance(mine, ShelvedVolumes)
        and isinstance(theirs, ShelvedVolumes)
        and mine.shares(theirs, k)
    ):
        return True  # the same shelved bytes: equal without loading them
    return all(mine[i] == theirs[i] for i in range(k))


def validate(
    manifest: Manifest,
    *,
    max_bytes: int,
    max_page_bytes: int,
    trusted: Manifest | None = None,
) -> list[ManifestProblem]:
    """Every problem of a manifest at once, each naming the page it concerns.

    ``trusted``: a version validated before whose volumes open this one (a child version
    built by :func:`union`): only the added volumes are checked, against its pages.
    """
    problems: list[ManifestProblem] = []
    sizes: dict[str, tuple[int, Any]] = {}  # hash → (size, PageRef or its maker)
    base: Mapping[str, int] = {}
    base_total, first = 0, 1
    # A whole manifest is checked against its own distinct-page table (packed, the first
    # size of each hash: what the hub keeps anyway); a dict of every hash to its first size
    # and place cost 2.7 MB of small objects on a 5,253-page registration, which stayed in
    # the hub's heap after it. A child version's added pages are few: a dict it is.
    distinct = manifest.distinct_pages() if trusted is None else None
    if trusted is not None:
        if not extends(manifest, trusted):
            raise ValueError("validate(trusted=…) needs a manifest that extends it")
        base, first = trusted.distinct_pages(), len(trusted.volumes) + 1
        base_total = sum(base.values())

    def known(sha: str) -> tuple[int, Any] | None:
        """What was seen of a hash: in this manifest's checked pages, else in the trusted
        version (looked up only for the pages checked, not copied whole)."""
        if distinct is not None:  # the first size listed; where: found if it is reported
            size = distinct.get(sha)
            return None if size is None else (size, None)
        got = sizes.get(sha)
        if got is None and trusted is not None:
            size = base.get(sha)
            if size is not None:
                got = sizes[sha] = (size, partial(_where_or_raise, trusted, sha))
        return got

    if _bad_name(manifest.dossier_id):
        problems.append(
            ManifestProblem.said(
                "dossier_id", N_("{id} is not a valid id"), "name", id=repr(manifest.dossier_id)
            )
        )
    allowed_sizes = range(max_page_bytes + 1)
    for make_ref, page in manifest.located_pages_lazy(first):
        if (
            page.media_type in MEDIA_TYPES
            and page.size in allowed_sizes
            and _HEX64.fullmatch(page.sha256)
            and _bad_name(page.name) is None
            and (known(page.sha256) or (page.size,))[0] == page.size
        ):
            if distinct is None:
                sizes.setdefault(page.sha256, (page.size, make_ref))
            continue  # the common case: nothing to report, no PageRef built
        ref = make_ref()
        bad = _bad_name(page.name)
        if bad:
            problems.append(
                ManifestProblem.said(str(ref), N_("page name {why}"), "path-traversal", why=bad)
            )
        if page.media_type not in MEDIA_TYPES:
            allowed = ", ".join(sorted(MEDIA_TYPES))
            problems.append(
                ManifestProblem.said(
                    str(ref),
                    N_("unsupported media type {media!r} (allowed: {allowed})"),
                    "media-type",
                    media=page.media_type,
                    allowed=allowed,
                )
            )
        if not _HEX64.fullmatch(page.sha256):
            problems.append(
                ManifestProblem.said(
                    str(ref), N_("sha256 must be 64 lower-case hex digits"), "digest"
                )
            )
        if page.size < 0 or page.size > max_page_bytes:
            problems.append(
                ManifestProblem.said(
                    str(ref),
                    N_("size {size} outside 0–{limit} bytes"),
                    "page-size",
                    size=page.size,
                    limit=max_page_bytes,
                )
            )
        seen = known(page.sha256)
        if seen is None:
            if distinct is None:
                sizes[page.sha256] = (page.size, ref)
        elif seen[0] != page.size:
            if seen[1] is None:  # a whole manifest: the first place of the hash in it
                seen = (seen[0], _where_or_raise(manifest, page.sha256))
            elif callable(seen[1]):
                seen = (seen[0], seen[1]())
            problems.append(
                ManifestProblem.said(
                    str(ref),
                    N_("page hash {sha}… listed with size {size} here and {other} at {there}"),
                    "hash-two-sizes",
                    sha=page.sha256[:16],
                    size=page.size,
                    other=seen[0],
                    there=seen[1],
                )
            )
    if distinct is not None:
        total = distinct.total()
    else:
        total = base_total + sum(size for sha, (size, _) in sizes.items() if sha not in base)
    if total > max_bytes:
        problems.append(
            ManifestProblem.said(
                "dossier",
                N_("dossier holds {total} bytes of distinct pages, over the limit of {limit}"),
                "dossier-size",
                total=total,
                limit=max_bytes,
            )
        )
    if manifest.page_count == 0:
        problems.append(
            ManifestProblem.said("dossier", N_("a dossier needs at least one page"), "empty")
        )
    return problems


def _where_or_raise(manifest: Manifest, sha256: str) -> PageRef:
    ref = manifest.where(sha256)
    if ref is None:  # pragma: no cover - the hash came from this manifest's own pages
        raise ValueError(f"page {sha256} is not in the manifest")
    return ref


def _str(obj: Mapping[str, Any], key: str, where: str, out: list[ManifestProblem]) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        out.append(ManifestProblem.said(f"{where}.{key}", N_("must be a string"), "type"))
        return ""
    return value


def _list(obj: Mapping[str, Any], key: str, where: str, out: list[ManifestProblem]) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        out.append(ManifestProblem.said(f"{where}.{key}", N_("must be a list"), "type"))
        return []
    return value


def _volumes(items: list[Any], out: list[ManifestProblem], first: int = 1) -> tuple[Volume, ...]:
    """Volumes from JSON; problems are appended to ``out``, located from volume ``first``."""
    return tuple(_iter_volumes(items, out, first))


def _iter_volumes(
    items: Iterable[Any], out: list[ManifestProblem], first: int = 1
) -> Iterator[Volume]:
    """:func:`_volumes` one at a time, as ``items`` are parsed (a shelf keeps each)."""
    for vi, v in enumerate(items, first):
        vw = f"volume {vi}"
        if not isinstance(v, dict):
            out.append(ManifestProblem.said(vw, N_("must be an object"), "type"))
            continue
        docs: list[Document] = []
        for di, d in enumerate(_list(v, "documents", vw, out), 1):
            dw = f"{vw}, document {di}"
            if not isinstance(d, dict):
                out.append(ManifestProblem.said(dw, N_("must be an object"), "type"))
                continue
            packed = d.get("pages")
            pages = packed if type(packed) is Pages else _pages(d, dw, out)
            docs.append(
                Document(
                    _str(d, "code", dw, out),
                    _str(d, "title", dw, out),
                    _str(d, "source_agency", dw, out),
                    pages,
                )
            )
        yield Volume(_str(v, "title", vw, out), tuple(docs))


def _pages(d: dict[str, Any], dw: str, out: list[ManifestProblem]) -> Pages:
    """A document's pages that the parse could not pack (rows made by loads_manifest next
    to anything else), each problem located and appended to ``out``."""
    pages: list[Page] = []
    for pi, p in enumerate(_list(d, "pages", dw, out), 1):
        row = p if type(p) is tuple else _page_row(p) if type(p) is dict else None
        if row is not None:  # well formed: its values are checked by validate()
            pages.append(Page(*row))
            continue
        pw = f"{dw}, page {pi}"
        if not isinstance(p, dict):
            out.append(ManifestProblem.said(pw, N_("must be an object"), "type"))
            continue
        size = p.get("size")
        if not isinstance(size, int) or isinstance(size, bool):
            out.append(ManifestProblem.said(f"{pw}.size", N_("must be an integer"), "type"))
            size = -1
        pages.append(
            Page(
                _str(p, "name", pw, out),
                _str(p, "media_type", pw, out),
                size,
                _str(p, "sha256", pw, out),
            )
        )
    return Pages(pages)


_PAGE_KEYS = frozenset({"media_type", "name", "sha256", "size"})


def _page_row(obj: dict[str, Any]) -> tuple[str, str, int, str] | None:
    """(name, media type, size, hash) of the page a JSON object describes, if its four
    fields have the right types (else None: the caller reports what is wrong, located)."""
    name, media, size, sha = (
        obj.get("name"),
        obj.get("media_type"),
        obj.get("size"),
        obj.get("sha256"),
    )
    if type(name) is type(media) is type(sha) is str and type(size) is int:
        # one str object per media type, not one per page
        return name, _MEDIA.get(media, media), size, sha
    return None


def _as_page(obj: dict[str, Any]) -> Any:
    # A page becomes a row (a tuple: JSON makes lists, never tuples), a document's rows
    # one Pages; a Page object per page would cost more than the parse itself.
    if obj.keys() == _PAGE_KEYS:
        row = _page_row(obj)
        return obj if row is None else row
    pages = obj.get("pages")
    if type(pages) is list and all(type(p) is tuple for p in pages):
        obj["pages"] = Pages.from_rows(pages)  # packed as soon as the document closes
    return obj


def loads_manifest(raw: str | bytes) -> Any:
    """``json.loads`` for a manifest (or an extension): each well-formed page object
    becomes a row as soon as it is parsed, and each document's rows one :class:`Pages` as
    soon as the document is, so neither thousands of page dicts nor thousands of page
    objects are ever alive at once (peak and lasting memory stay flat as
    dossiers grow). Anything else stays as JSON gives it, for :func:`manifest_from_dict` to
    check and report."""
    return json.loads(raw, object_hook=_as_page)


class Readable(Protocol):
    def read(self, n: int, /) -> bytes: ...


class Seekable(Readable, Protocol):
    def seek(self, offset: int, /) -> int: ...


_VOLUMES_AT = b'"volumes":['
_NEXT_VOLUME = b',{"documents":['
_READ = 1 << 16


def loads_manifest_bytes(raw: bytes) -> Any:
    """:func:`loads_manifest_file` of bytes in memory."""
    return loads_manifest_file(io.BytesIO(raw))


def loads_manifest_file(fh: Seekable) -> Any:
    """:func:`loads_manifest` of a file: one volume at a time if it is laid out canonically
    (:func:`loads_manifest_from`), else parsed whole, so that a broken document gets the
    JSON error that names its place."""
    try:
        return loads_manifest_from(fh)
    except ValueError:
        fh.seek(0)
        return loads_manifest(fh.read(-1))


def loads_manifest_from(fh: Readable) -> Any:
    """:func:`loads_manifest` for a manifest laid out as :meth:`Manifest.canonical` writes
    it, read and parsed one volume at a time: a manifest of thousands of pages is never
    held whole, as bytes or as text (memory flat in the size of the dossier).

    Raises ``ValueError`` (``json.JSONDecodeError`` included) for anything laid out
    otherwise: the caller then parses the whole document, for an exact error. A split is
    safe: inside a JSON string every quote is escaped, so ``,{"documents":[`` only occurs
    between values, and a split inside a nested value leaves a piece that does not parse.
    """
    data, volumes = _split_canonical(fh)
    data["volumes"].extend(volumes)
    return data


def _split_canonical(fh: Readable) -> tuple[dict[str, Any], Iterator[Any]]:
    """The manifest's fields but its volumes (``"volumes": []``), and its volumes parsed
    one at a time as they are taken from the iterator (:func:`loads_manifest_from`). Raises
    ``ValueError`` for a file laid out otherwise, at once or when the iterator reaches it."""
    buf = b""
    while (at := buf.find(_VOLUMES_AT)) < 0:
        more = fh.read(_READ)
        if not more:
            raise ValueError("no volumes")
        buf += more
    cut = at + len(_VOLUMES_AT)
    data = loads_manifest(buf[:cut] + b"]}")
    if type(data) is not dict or data.get("volumes") != []:
        raise ValueError("not a manifest laid out canonically")
    return data, _volume_texts(fh, buf[cut:])


def _volume_texts(fh: Readable, rest: bytes) -> Iterator[Any]:
    scanned, eof = 0, False
    while True:
        i = rest.find(_NEXT_VOLUME, scanned)
        if i >= 0:
            yield loads_manifest(rest[:i])
            rest, scanned = rest[i + 1 :], 0
            continue
        if eof:
            break
        scanned = max(0, len(rest) - len(_NEXT_VOLUME) + 1)
        more = fh.read(_READ)
        eof = not more
        rest += more
    tail = rest.rstrip()
    if not tail.endswith(b"]}"):
        raise ValueError("not a manifest laid out canonically")
    if tail[:-2]:
        yield loads_manifest(tail[:-2])


def manifest_from_file(
    fh: Seekable, *, trust_root: bool = False, shelf: Shelf | None = None
) -> tuple[Manifest | None, list[ManifestProblem]]:
    """:func:`manifest_from_dict` of a manifest file, read and checked one volume at a time;
    with a ``shelf``, each volume goes to it as soon as it is parsed, so a process that
    reads a manifest of thousands of pages holds one volume of it at a time.

    A file not laid out as :meth:`Manifest.canonical` writes it is parsed whole (raising
    ``json.JSONDecodeError``, which names the place, if it is not JSON)."""
    try:
        data, volumes = _split_canonical(fh)
        return _manifest_from(data, volumes, trust_root=trust_root, shelf=shelf)
    except ValueError:
        fh.seek(0)
        whole = loads_manifest(fh.read(-1))
        return manifest_from_dict(whole, trust_root=trust_root, shelf=shelf)


def manifest_from_dict(
    data: Any, *, trust_root: bool = False, shelf: Shelf | None = None
) -> tuple[Manifest | None, list[ManifestProblem]]:
    """Parse a manifest document; all structural problems at once (``None`` if any).

    The declared Merkle root is checked against the pages, unless ``trust_root`` (the
    hub re-reading a manifest it verified when it stored it; receivers always check).
    ``shelf``: keep the volumes there (:class:`ShelvedVolumes`) rather than in memory.
    """
    if not isinstance(data, dict):
        return None, [ManifestProblem.said("manifest", N_("must be a JSON object"), "type")]
    return _manifest_from(data, None, trust_root=trust_root, shelf=shelf)


def _manifest_from(
    data: dict[str, Any],
    items: Iterable[Any] | None,
    *,
    trust_root: bool,
    shelf: Shelf | None,
) -> tuple[Manifest | None, list[ManifestProblem]]:
    """:func:`manifest_from_dict`; ``items``: the volumes as JSON, if not ``data``'s."""
    out: list[ManifestProblem] = []
    if data.get("schema") != SCHEMA:
        out.append(
            ManifestProblem.said("schema", N_("must be {schema}"), "schema", schema=repr(SCHEMA))
        )
    if data.get("digest", DIGEST) != DIGEST:
        out.append(
            ManifestProblem.said(
                "digest",
                N_("only {digest} page hashes are supported"),
                "digest",
                digest=repr(DIGEST),
            )
        )
    parent = data.get("parent")
    if parent is not None and (not isinstance(parent, str) or not _HEX64.fullmatch(parent)):
        out.append(
            ManifestProblem.said("parent", N_("must be null or a Merkle root (64 hex)"), "digest")
        )
    built = _iter_volumes(_list(data, "volumes", "manifest", out) if items is None else items, out)
    volumes = tuple(built) if shelf is None else ShelvedVolumes.shelve(shelf, built)
    manifest = Manifest(
        _str(data, "dossier_id", "manifest", out),
        _str(data, "title", "manifest", out),
        volumes,
        parent if isinstance(parent, str) else None,
    )
    if out:
        return None, out
    claimed = data.get("merkle_root")
    if trust_root and isinstance(claimed, str) and _HEX64.fullmatch(claimed):
        return manifest.trusted(claimed), []
    sealed = manifest.sealed()
    if claimed is not None and claimed != sealed.root:
        return None, [
            ManifestProblem.said(
                "merkle_root",
                N_("declared root {claimed} does not match the pages (computed {computed})"),
                "merkle-root",
                claimed=claimed,
                computed=sealed.root,
            )
        ]
    return sealed, []


def union(
    parent: Manifest,
    additions: Iterable[Volume],
    *,
    title: str | None = None,
) -> Manifest:
    """A child version: the parent's volumes (unchanged, in order) followed by the new ones.

    The procuratorate's version adds its documents to the police's, and the court receives
    the union; pages already held keep their hashes, so only the new ones travel.
    """
    parent = parent if parent.root else parent.sealed()
    added = tuple(additions)
    volumes: Sequence[Volume] = (
        parent.volumes.plus(added)
        if isinstance(parent.volumes, ShelvedVolumes)
        else tuple(parent.volumes) + added
    )
    child = Manifest(parent.dossier_id, title or parent.title, volumes, parent.root).sealed()
    known = parent.__dict__.get("_canonical")
    if known is not None:  # the parent's volumes are already written out: splice, not redo
        inner = memoryview(known)[len(parent._head()) : -2]  # a view: no copy of the parent
        more = _volumes_json(added)
        child.__dict__["_canonical"] = b"".join(
            (child._head(), inner, b"," if inner and more else b"", more, b"]}")
        )
    return child


EXTENSION_SCHEMA = "casebridge.dossier-extension/1"


def extension_from_dict(
    parent: Manifest, data: Any
) -> tuple[Manifest | None, list[ManifestProblem]]:
    """A child version sent as what it adds to ``parent``: its new volumes and the root the
    sender computed for the union (required: both sides must agree on what is registered).

    The receiver of a dossier forwards it with a few new pages; sending the whole manifest
    again would make the hub parse and check thousands of pages it already holds.
    """
    if not isinstance(data, dict):
        return None, [ManifestProblem.said("extension", N_("must be a JSON object"), "type")]
    out: list[ManifestProblem] = []
    if data.get("schema") != EXTENSION_SCHEMA:
        out.append(
            ManifestProblem.said(
                "schema", N_("must be {schema}"), "schema", schema=repr(EXTENSION_SCHEMA)
            )
        )
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        out.append(ManifestProblem.said("title", N_("must be a string or null"), "type"))
    claimed = data.get("merkle_root")
    if not isinstance(claimed, str) or not _HEX64.fullmatch(claimed):
        out.append(
            ManifestProblem.said(
                "merkle_root", N_("must be the new version's root (64 hex)"), "digest"
            )
        )
    added = _volumes(_list(data, "volumes", "extension", out), out, len(parent.volumes) + 1)
    if not added and "volumes" in data:
        out.append(
            ManifestProblem.said("volumes", N_("a child version adds at least one volume"), "empty")
        )
    if out:
        return None, out
    child = union(parent, added, title=title if isinstance(title, str) and title else None)
    if child.root != claimed:
        return None, [
            ManifestProblem.said(
                "merkle_root",
                N_(
                    "declared root {claimed} is not the root of version {parent} plus these "
                    "volumes (computed {computed}): the sender's copy of that version differs"
                ),
                "merkle-root",
                claimed=claimed,
                parent=parent.root,
                computed=child.root,
            )
        ]
    return child, []
