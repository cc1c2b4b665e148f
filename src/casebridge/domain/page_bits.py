"""Which pages of a manifest a transfer concerns, as one bit per page.

The hub answers a registration with the pages it still lacks. As a list of hashes that is
67 bytes of JSON a page (350 KB for a 5,253-page dossier, all missing on a first push), and
both sides held it whole — the hub while encoding it, the sender while decoding it into
thousands of strings — so their memory grew with the page count. As bits it is one bit a page
(657 bytes, 876 in base64): the hub marks the first place each missing hash appears in the
manifest, and the sender sends the pages whose bit is set, in manifest order.

Bit ``i`` stands for page ``i`` of the manifest (every page of every document, in order,
counted from 0): byte ``i // 8``, value ``1 << (i % 8)``. A hash listed twice is marked at its
first place only, so each missing page is sent once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from casebridge.domain.dossier import Manifest, PageSizes

__all__ = [
    "BitsMismatch",
    "MissingPages",
    "checked_bits",
    "count_set",
    "first_places",
    "first_places_flagged",
    "is_set",
]


class BitsMismatch(ValueError):
    """Bits that do not fit the manifest (wrong length, a bit past its last page)."""


def first_places(manifest: Manifest, hashes: Iterable[str]) -> bytes:
    """The bits of the first place of each of ``hashes`` in ``manifest``.

    Raises ``KeyError`` (with the hash) for a hash the manifest does not list.
    """
    todo = set(hashes)
    bits = bytearray((manifest.page_count + 7) // 8)
    pos = 0
    for vol in manifest.volumes:
        for doc in vol.documents:
            if not todo:
                return bytes(bits)
            for sha, _ in doc.pages.hashes_and_sizes():
                if sha in todo:
                    todo.discard(sha)
                    bits[pos >> 3] |= 1 << (pos & 7)
                pos += 1
    if todo:
        raise KeyError(next(iter(todo)))
    return bytes(bits)


def checked_bits(bits: bytes, page_count: int) -> bytes:
    """``bits``, if they are exactly one bit per page of a manifest of ``page_count``
    pages, unused bits of the last byte clear; else :class:`BitsMismatch`."""
    if len(bits) != (page_count + 7) // 8:
        raise BitsMismatch(
            f"{len(bits)} bytes of bits for {page_count} pages (expected {(page_count + 7) // 8})"
        )
    if page_count % 8 and bits[-1] >> (page_count % 8):
        raise BitsMismatch(f"a bit is set past page {page_count}")
    return bits


def is_set(bits: bytes, i: int) -> bool:
    """Whether page ``i``'s bit is set."""
    return bool(bits[i >> 3] >> (i & 7) & 1)


def count_set(bits: bytes) -> int:
    """How many pages are marked."""
    return int.from_bytes(bits, "little").bit_count()


class MissingPages(Sequence[str]):
    """The distinct pages of a version that the hub lacks, as one flag per distinct page
    (:meth:`PageSizes.position`), read as the list of their hashes in order of first
    appearance.

    On a first registration every page is missing: as a list, 5,253 hash strings (600 KB,
    and a set of them again to mark the bits), small objects that stayed in the hub's heap
    after the request. The flags are one buffer; hashes are made only for an answer that
    lists them (``?missing=hashes``)."""

    def __init__(self, distinct: PageSizes, flags: bytearray) -> None:
        self.distinct, self.flags = distinct, flags
        self._count = flags.count(1)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        flags, key_at = self.flags, self.distinct.key_at
        return (key_at(k) for k in self.distinct.positions_in_order() if flags[k])

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        return list(self)[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MissingPages({len(self)} of {len(self.flags)})"


def first_places_flagged(manifest: Manifest, missing: MissingPages) -> bytes:
    """:func:`first_places` of :class:`MissingPages`, with no hash string made."""
    todo = bytearray(missing.flags)  # cleared as each is placed
    left = len(missing)
    find = missing.distinct.position_of
    bits = bytearray((manifest.page_count + 7) // 8)
    pos = 0
    for vol in manifest.volumes:
        for doc in vol.documents:
            if not left:
                return bytes(bits)
            for digest in doc.pages.digests():
                k = find(digest)
                if k >= 0 and todo[k]:
                    todo[k] = 0
                    left -= 1
                    bits[pos >> 3] |= 1 << (pos & 7)
                pos += 1
    return bytes(bits)
