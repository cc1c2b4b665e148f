"""Pages of a manifest, packed: what keeps a process's memory flat as dossiers grow.

A 5,253-page dossier as :class:`Page` objects costs ~270 bytes a page (the object, its name,
its 64-character hash, its size); every casebridge process holds at least one manifest while
it moves the pages, so its memory grew with the page count although the pages themselves are
streamed. :class:`Pages` keeps a document's pages in four flat buffers (≈ 45 bytes a page plus
the name) and makes a :class:`Page` only when one is asked for; :class:`PageSizes` is the
"distinct hash → size" table in two sorted buffers (36 bytes a page) instead of a dict of
strings. Both read like the tuple and the mapping they replace.

Anything that does not pack (a hash that is not 64 lower-case hex digits, a size that is not
a non-negative 64-bit int, more than 255 media types in one document) keeps the plain tuple:
such a manifest is invalid anyway, and :func:`casebridge.domain.dossier.validate` must see it
exactly as it came to report what is wrong.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, overload

__all__ = ["Page", "PageSizes", "Pages"]

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX_RUN = re.compile(r"[0-9a-f]*")
_SIZE_LIMIT = 1 << 63


@dataclass(frozen=True, slots=True)
class Page:
    """One page (or one file standing for a run of pages): named, typed, sized and hashed."""

    name: str
    media_type: str
    size: int
    sha256: str


class Pages(Sequence[Page]):
    """A document's pages in order: a read-only sequence of :class:`Page`, stored packed."""

    __slots__ = ("_digests", "_ends", "_loose", "_media", "_media_names", "_names", "_sizes")

    def __init__(self, pages: Iterable[Page] = ()) -> None:
        items = pages if isinstance(pages, (list, tuple)) else tuple(pages)
        packed = _pack(
            [p.name for p in items],
            [p.media_type for p in items],
            [p.size for p in items],
            [p.sha256 for p in items],
        )
        self._set(packed, items)

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[str, str, int, str]]) -> Pages:
        """Pages from (name, media type, size, hash) rows, with no Page made for them."""
        self = cls.__new__(cls)
        names, kinds, sizes, shas = (
            (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [], [])
        )
        packed = _pack(names, kinds, sizes, shas)
        self._set(packed, () if packed else [Page(*r) for r in rows])
        return self

    def _set(self, packed: _Packed | None, items: Sequence[Page]) -> None:
        self._loose: tuple[Page, ...] | None = None if packed else tuple(items)
        self._names, self._ends, self._media, self._media_names, self._sizes, self._digests = (
            packed or ("", array("I"), b"", (), array("q"), b"")
        )

    # --- the sequence --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._loose) if self._loose is not None else len(self._ends)

    @overload
    def __getitem__(self, i: int) -> Page: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Page, ...]: ...

    def __getitem__(self, i: int | slice) -> Page | tuple[Page, ...]:
        if self._loose is not None:
            return self._loose[i]
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        n = len(self._ends)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("page index out of range")
        start = self._ends[i - 1] if i else 0
        return Page(
            self._names[start : self._ends[i]],
            self._media_names[self._media[i]],
            self._sizes[i],
            self._digests[32 * i : 32 * i + 32].hex(),
        )

    def __iter__(self) -> Iterator[Page]:
        if self._loose is not None:
            yield from self._loose
            return
        names, kinds, digests, start = self._names, self._media_names, self._digests, 0
        rows = zip(self._ends, self._media, self._sizes, strict=True)
        for i, (end, mid, size) in enumerate(rows):
            yield Page(names[start:end], kinds[mid], size, digests[32 * i : 32 * i + 32].hex())
            start = end

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Pages):
            if self._loose is None and other._loose is None:
                return (
                    self._digests == other._digests
                    and self._sizes == other._sizes
                    and self._names == other._names
                    and self._ends == other._ends
                    and [self._media_names[m] for m in self._media]
                    == [other._media_names[m] for m in other._media]
                )
            return tuple(self) == tuple(other)
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._digests, self._names, bytes(self._ends)) if self._loose is None
                    else self._loose)  # fmt: skip

    def __repr__(self) -> str:
        return f"Pages({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # The buffers as they are (a shelved volume is pickled: ~40 % faster than the
        # generic state of slots, which a walk of thousands of pages pays per document).
        return _unpickled_pages, (
            self._loose,
            self._names,
            self._ends,
            self._media,
            self._media_names,
            self._sizes,
            self._digests,
        )

    # --- fast paths for whole-manifest work (no Page objects) -----------------------------

    @property
    def packed(self) -> bool:
        """False for pages kept as given (one of them does not pack: the manifest is invalid)."""
        return self._loose is None

    def digests(self) -> Iterator[bytes]:
        """The 32-byte SHA-256 of each page, in order."""
        if self._loose is not None:
            yield from (bytes.fromhex(p.sha256) for p in self._loose)
            return
        d = self._digests
        for i in range(0, len(d), 32):
            yield d[i : i + 32]

    def digest_block(self) -> bytes:
        """Every page's 32-byte SHA-256, concatenated in order: one buffer for a hasher of
        many digests at once (the Merkle root)."""
        return self._digests if self._loose is None else b"".join(self.digests())

    def sizes(self) -> Iterable[int]:
        return self._sizes if self._loose is None else [p.size for p in self._loose]

    def names_and_sizes(self) -> Iterator[tuple[str, int]]:
        """(file name, size) of each page, in order, with no ``Page`` or hex hash made (a
        forwarded dossier checks thousands of received files this way)."""
        if self._loose is not None:
            yield from ((p.name, p.size) for p in self._loose)
            return
        names, start = self._names, 0
        for end, size in zip(self._ends, self._sizes, strict=True):
            yield names[start:end], size
            start = end

    def hashes_and_sizes(self) -> Iterator[tuple[str, int]]:
        """(hex hash, size) of each page, in order."""
        if self._loose is not None:
            yield from ((p.sha256, p.size) for p in self._loose)
            return
        d = self._digests
        for i, size in enumerate(self._sizes):
            yield d[32 * i : 32 * i + 32].hex(), size

    def raw(self) -> tuple[bytes, array[int]] | None:
        """The packed digests and sizes (None if not packed), for :class:`PageSizes`."""
        return None if self._loose is not None else (self._digests, self._sizes)


_Packed = tuple[str, "array[int]", bytes, tuple[str, ...], "array[int]", bytes]


def _unpickled_pages(loose: tuple[Page, ...] | None, *packed: Any) -> Pages:
    pages = Pages.__new__(Pages)
    pages._set(None if loose is not None else packed, loose or ())
    return pages


def _pack(names: list[Any], kinds: list[Any], sizes: list[Any], shas: list[Any]) -> _Packed | None:
    """The buffers of :class:`Pages`, or None if a page does not pack. Column by column,
    with the C loops of ``join``, ``fromhex`` and ``array`` (a manifest of thousands of
    pages is packed while it is parsed)."""
    if not shas:
        return "", array("I"), b"", (), array("q"), b""
    if not (
        all(type(h) is str and len(h) == 64 for h in shas)
        and all(type(n) is int for n in sizes)
        and all(type(n) is str for n in names)
        and min(sizes) >= 0
        and max(sizes) < _SIZE_LIMIT
    ):
        return None
    hexes = "".join(shas)
    if not _HEX_RUN.fullmatch(hexes):
        return None
    media_ids: dict[str, int] = {}
    for kind in kinds:
        media_ids.setdefault(kind, len(media_ids))
    if len(media_ids) > 256:
        return None
    media = bytes([media_ids[k] for k in kinds])
    ends = array("I", accumulate(map(len, names)))
    return "".join(names), ends, media, tuple(media_ids), array("q", sizes), bytes.fromhex(hexes)


def _sorted_positions(data: bytes | bytearray, n: int) -> array[int]:
    """Positions ``0 … n-1`` of the 32-byte digests in ``data``, sorted by digest, equal
    digests in manifest order (stable).

    By first byte (counting sort into one packed array), then each of the 256 runs sorted
    on its own: a 5,253-page table made ``n`` sort keys and ``n`` ints at once (a megabyte
    of small objects that stayed in the hub's heap after a registration); this makes a
    run's worth (~20) at a time."""
    counts = [0] * 257
    for i in range(n):
        counts[data[32 * i] + 1] += 1
    starts = list(accumulate(counts))  # starts[b]: where first byte b's run begins
    order = array("I", bytes(4 * n))
    fill = starts[:256]
    for i in range(n):
        b = data[32 * i]
        order[fill[b]] = i
        fill[b] += 1
    for b in range(256):
        lo, hi = starts[b], starts[b + 1]
        if hi - lo > 1:
            run = sorted(order[lo:hi], key=lambda i: data[32 * i : 32 * i + 32])
            order[lo:hi] = array("I", run)
    return order


class PageSizes(Mapping[str, int]):
    """Distinct page hash → size, in order of first appearance: a read-only mapping kept in
    sorted buffers and looked up by bisection (a 5,253-page dossier: 200 KB, not 1 MB).

    For a hash listed twice with two sizes (an invalid manifest) the first size is kept.
    """

    __slots__ = ("_buckets", "_keys", "_odd", "_order", "_sizes")

    def __init__(self, pages: Iterable[Pages]) -> None:
        digests = bytearray()
        sizes = array("q")
        self._odd: dict[str, int] = {}  # what does not pack (invalid manifests only)
        for group in pages:
            raw = group.raw()
            if raw is not None:
                digests += raw[0]
                sizes.extend(raw[1])
                continue
            for sha, size in group.hashes_and_sizes():
                if (
                    type(sha) is str
                    and _HEX64.fullmatch(sha)
                    and type(size) is int
                    and 0 <= size < _SIZE_LIMIT
                ):
                    digests += bytes.fromhex(sha)
                    sizes.append(size)
                else:
                    self._odd.setdefault(sha, size)
        data = digests  # not copied: slices of it are the keys, one at a time
        n = len(sizes)
        order = _sorted_positions(data, n)
        keys = bytearray()
        kept_sizes = array("q")
        firsts = array("I")  # manifest position of each distinct key, in key order
        last: bytes | bytearray = b""
        for i in order:
            key = data[32 * i : 32 * i + 32]
            if key == last:
                continue
            last = key
            keys += key
            kept_sizes.append(sizes[i])
            firsts.append(i)
        self._keys = bytes(keys)
        self._sizes = kept_sizes
        # key indices in order of first appearance in the manifest: firsts are distinct
        # positions, so a table by position puts them in order without a sort
        slot = array("i", [-1]) * n
        for k, at in enumerate(firsts):
            slot[at] = k
        self._order = array("I", (k for k in slot if k >= 0))
        buckets = array("I", [0] * 257)  # buckets[b]: first key whose first byte is ≥ b
        k = 0
        count = len(kept_sizes)
        for b in range(256):
            while k < count and self._keys[32 * k] < b:
                k += 1
            buckets[b] = k
        buckets[256] = count
        self._buckets = buckets

    def position(self, key: Any) -> int:
        """Where a hex hash sits among the sorted keys (``0 <= i < len``), or -1: the lookup,
        and an index for per-page flags kept beside this table."""
        if type(key) is not str or len(key) != 64:
            return -1
        try:
            raw = bytes.fromhex(key)
        except ValueError:
            return -1
        if raw.hex() != key:  # upper-case digits: not the hash as manifests spell it
            return -1
        return self.position_of(raw)

    def position_of(self, raw: bytes | bytearray) -> int:
        """:meth:`position` of a 32-byte digest (no hex made: a walk of a manifest's packed
        digests looks them up as they are)."""
        if len(raw) != 32:
            return -1
        keys = self._keys
        lo, hi = self._buckets[raw[0]], self._buckets[raw[0] + 1]
        while lo < hi:
            mid = (lo + hi) // 2
            probe = keys[32 * mid : 32 * mid + 32]
            if probe < raw:
                lo = mid + 1
            elif probe > raw:
                hi = mid
            else:
                return mid
        return -1

    @property
    def packed_count(self) -> int:
        """How many keys have a :meth:`position` (all of them in a valid manifest)."""
        return len(self._sizes)

    def positions_in_order(self) -> Iterator[int]:
        """The :meth:`position` of each key, in order of first appearance."""
        return iter(self._order)

    def key_at(self, i: int) -> str:
        """The hash at :meth:`position` ``i``."""
        return self._keys[32 * i : 32 * i + 32].hex()

    def __getitem__(self, key: str) -> int:
        i = self.position(key)
        if i >= 0:
            return self._sizes[i]
        if self._odd and key in self._odd:
            return self._odd[key]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return self.position(key) >= 0 or (bool(self._odd) and key in self._odd)

    def get(self, key: str, default: Any = None) -> Any:
        i = self.position(key)
        if i >= 0:
            return self._sizes[i]
        return self._odd.get(key, default) if self._odd else default

    def __len__(self) -> int:
        return len(self._sizes) + len(self._odd)

    def __iter__(self) -> Iterator[str]:
        keys = self._keys
        for i in self._order:
            yield keys[32 * i : 32 * i + 32].hex()
        yield from self._odd

    def items(self) -> ItemsView[str, int]:
        return _Items(self)

    def values(self) -> ValuesView[int]:
        return _Values(self)

    def pairs(self) -> Iterator[tuple[str, int]]:
        """(hash, size) in order of first appearance, without a lookup per hash."""
        keys, sizes = self._keys, self._sizes
        for i in self._order:
            yield keys[32 * i : 32 * i + 32].hex(), sizes[i]
        yield from self._odd.items()

    def total(self) -> int:
        """Bytes of the distinct pages."""
        return sum(self._sizes) + sum(self._odd.values())


class _Items(ItemsView[str, int]):
    _mapping: PageSizes

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return self._mapping.pairs()


class _Values(ValuesView[int]):
    _mapping: PageSizes

    def __iter__(self) -> Iterator[int]:
        return (size for _, size in self._mapping.pairs())
