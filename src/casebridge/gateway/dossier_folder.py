"""A dossier as a folder: one sub-folder per volume, file-name order is page order.

``pack`` turns a scanned folder into a manifest (hashing pages on all cores: hashlib releases
the GIL); ``verify_folder`` re-hashes a folder against its manifest. An optional catalogue CSV
(``catalogue.csv`` in the folder) groups each volume's pages into documents:

    volume,first_page,last_page,code,title,source_agency
    01-诉讼文书,1,3,QSYJS,起诉意见书,110102000000

``volume`` is the sub-folder name; pages are numbered from 1 within the volume. Without a
catalogue each volume is one document titled after its folder.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from casebridge.domain.dossier import (
    MEDIA_TYPES,
    Document,
    Manifest,
    Page,
    PageRef,
    Volume,
    manifest_from_dict,
    union,
)
from casebridge.errors import CorruptData, InvalidInput, Problem

__all__ = [
    "CATALOGUE",
    "MANIFEST_NAME",
    "FolderCheck",
    "pack",
    "page_path",
    "read_manifest",
    "verify_folder",
    "volume_dir",
    "write_manifest",
]

MANIFEST_NAME = "dossier.manifest.json"
CATALOGUE = "catalogue.csv"
_BY_EXT = {ext: mt for mt, ext in MEDIA_TYPES.items()} | {
    ".jpeg": "image/jpeg",
    ".tiff": "image/tiff",
}
_WORKERS = max(2, min(8, (os.cpu_count() or 2) * 2))
Progress = Callable[[int, int], None]  # (pages, bytes) just done


def _hash_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as fh:
        while chunk := fh.read(4 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def volume_dir(index: int, title: str) -> str:
    """The folder a volume lives in: its title when that is a safe file name."""
    safe = title and "/" not in title and "\\" not in title and title not in {".", ".."}
    return title if safe and not title.startswith(".") else f"volume-{index:03d}"


def page_path(root: Path, ref: PageRef, manifest: Manifest) -> Path:
    return root / volume_dir(ref.volume, manifest.volumes[ref.volume - 1].title) / ref.name


@dataclass(frozen=True)
class _CatRow:
    first: int
    last: int
    code: str
    title: str
    source: str


def _catalogue(folder: Path, problems: list[Problem]) -> dict[str, list[_CatRow]]:
    path = folder / CATALOGUE
    if not path.exists():
        return {}
    out: dict[str, list[_CatRow]] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for n, row in enumerate(csv.DictReader(fh), 2):
            try:
                first, last = int(row["first_page"]), int(row["last_page"])
                out.setdefault(row["volume"], []).append(
                    _CatRow(first, last, row["code"], row["title"], row["source_agency"])
                )
            except (KeyError, ValueError, TypeError):
                problems.append(
                    Problem(
                        f"{CATALOGUE} line {n}",
                        "needs volume,first_page,last_page,code,title,source_agency",
                        rule="catalogue",
                    )
                )
    return out


def _documents(
    volume: str, pages: list[Page], rows: list[_CatRow] | None, agency: str, problems: list[Problem]
) -> tuple[Document, ...]:
    if not rows:
        return (Document("", volume, agency, tuple(pages)),)
    docs = []
    expect = 1
    for row in sorted(rows, key=lambda r: r.first):
        if row.first != expect or row.last < row.first or row.last > len(pages):
            problems.append(
                Problem(
                    f"{CATALOGUE}: volume {volume}",
                    f"document «{row.title}» covers pages {row.first}–{row.last}; expected to "
                    f"start at {expect} and end by {len(pages)} (no gaps, no overlaps)",
                    rule="catalogue",
                )
            )
            return ()
        docs.append(
            Document(row.code, row.title, row.source, tuple(pages[row.first - 1 : row.last]))
        )
        expect = row.last + 1
    if expect != len(pages) + 1:
        problems.append(
            Problem(
                f"{CATALOGUE}: volume {volume}",
                f"pages {expect}–{len(pages)} belong to no document",
                rule="catalogue",
            )
        )
    return tuple(docs)


def _differs(folder: Path, volume: Volume) -> list[Problem]:
    """Received pages of a volume that are gone or changed size since they were received.

    One ``stat`` per page, relative to the open folder (no path to build and resolve per
    page): a forwarded dossier holds thousands of received pages.
    """
    bad: list[Problem] = []
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for doc in volume.documents:
            for p in doc.pages:
                try:
                    st = os.stat(p.name, dir_fd=fd)
                    if st.st_size == p.size and stat.S_ISREG(st.st_mode):
                        continue
                except OSError:
                    pass
                bad.append(
                    Problem(
                        str(folder / p.name), "differs from the received manifest", rule="extends"
                    )
                )
    finally:
        os.close(fd)
    return bad


def pack(
    folder: Path,
    *,
    dossier_id: str,
    title: str,
    agency: str,
    extends: Manifest | None = None,
    on_progress: Progress | None = None,
) -> Manifest:
    """Build the manifest of a folder; every problem (naming the file) is reported at once.

    With ``extends`` (the received manifest), volumes already in it are taken from it — their
    pages were verified on receipt — if every file is still there with its size; only the new
    volumes are hashed, and the result is the union (a child version).
    """
    problems: list[Problem] = []
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a folder")
    known = {v.title: v for v in extends.volumes} if extends else {}
    cat = _catalogue(folder, problems)
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    new_dirs = [d for d in subdirs if d.name not in known]
    for d in subdirs:
        if d.name in known:
            problems.extend(_differs(d, known[d.name]))
    files: dict[str, list[Path]] = {}
    for d in new_dirs:
        entries = sorted(f for f in d.iterdir() if not f.name.startswith("."))
        for f in entries:
            if f.is_dir():
                problems.append(Problem(str(f), "volumes hold files, not folders", rule="layout"))
            elif f.suffix.lower() not in _BY_EXT:
                problems.append(
                    Problem(
                        str(f),
                        f"unsupported media type (extension {f.suffix or 'none'}; "
                        f"allowed {', '.join(sorted(_BY_EXT))})",
                        rule="media-type",
                    )
                )
        files[d.name] = [f for f in entries if f.is_file() and f.suffix.lower() in _BY_EXT]
    if problems:
        raise InvalidInput(f"cannot pack {folder}", problems=problems)
    flat = [f for d in new_dirs for f in files[d.name]]

    def one(f: Path) -> tuple[str, int]:
        digest = _hash_file(f)
        if on_progress:
            on_progress(1, digest[1])
        return digest

    with ThreadPoolExecutor(_WORKERS) as pool:
        digests = dict(zip(flat, pool.map(one, flat), strict=True))
    volumes = []
    for d in new_dirs:
        pages = [
            Page(f.name, _BY_EXT[f.suffix.lower()], digests[f][1], digests[f][0])
            for f in files[d.name]
        ]
        volumes.append(Volume(d.name, _documents(d.name, pages, cat.get(d.name), agency, problems)))
    if problems:
        raise InvalidInput(f"cannot pack {folder}", problems=problems)
    if extends is not None:
        return union(extends, volumes, title=title or None)
    return Manifest(dossier_id, title, tuple(volumes)).sealed()


def write_manifest(manifest: Manifest, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def read_manifest(path: Path, *, trust_root: bool = False) -> Manifest:
    """A manifest file, its Merkle root checked against its pages.

    ``trust_root``: take the declared root as is — for the received manifest a new
    version extends, whose root the hub checks again (it builds the new version from its
    own copy and refuses a root that differs), so a Merkle pass here would prove nothing.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"no manifest at {path}; run `casebridge dossier pack` first") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not JSON: {exc}") from None
    manifest, problems = manifest_from_dict(data, trust_root=trust_root)
    if manifest is None:
        raise InvalidInput(
            f"{path} is not a valid manifest",
            problems=[Problem(p.where, p.message, rule=p.rule) for p in problems],
        )
    return manifest


@dataclass(frozen=True)
class FolderCheck:
    pages: int
    bytes: int
    bad: list[str]


def verify_folder(
    folder: Path, manifest: Manifest, *, on_progress: Progress | None = None
) -> FolderCheck:
    """Re-hash every page file; the result names each page that is missing or altered."""
    located = list(manifest.located_pages())

    def check(item: tuple[PageRef, Page]) -> str | None:
        ref, page = item
        path = page_path(folder, ref, manifest)
        try:
            digest, size = _hash_file(path)
        except FileNotFoundError:
            return f"{ref}: file {path} is missing"
        if on_progress:
            on_progress(1, size)
        if digest != page.sha256 or size != page.size:
            return f"{ref}: bytes do not match the manifest"
        return None

    with ThreadPoolExecutor(_WORKERS) as pool:
        results = list(pool.map(check, located))
    bad = [r for r in results if r]
    return FolderCheck(len(located), manifest.total_bytes, bad)


def iter_page_files(folder: Path, manifest: Manifest, hashes: Iterable[str]) -> list[Path]:
    """Paths of the given pages in a folder laid out like the manifest."""
    wanted = list(hashes)
    todo = set(wanted)
    where: dict[str, Path] = {}
    for vi, vol in enumerate(manifest.volumes, 1):
        if not todo:
            break
        base = folder / volume_dir(vi, vol.title)
        for doc in vol.documents:
            for page in doc.pages:
                if page.sha256 in todo:  # a path only for the pages asked for
                    todo.discard(page.sha256)
                    where[page.sha256] = base / page.name
    try:
        return [where[h] for h in wanted]
    except KeyError as exc:
        raise CorruptData(f"page {exc.args[0]} is not in the manifest") from None
