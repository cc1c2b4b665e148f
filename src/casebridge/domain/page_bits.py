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

from collections.abc import Iterable

from casebridge.domain.dossier import Manifest

__all__ = [
    "BitsMismatch",
    "checked_bits",
    "count_set",
    "first_places",
    "is_set",
    "marks_from_bits",
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


def marks_from_bits(bits: bytes, page_count: int) -> bytearray:
    """One byte per page (1 where the bit is set): :func:`checked_bits`, spelled out."""
    checked_bits(bits, page_count)
    marks = bytearray(page_count)
    for i, byte in enumerate(bits):
        if byte:
            base = i * 8
            for b in range(8):
                if byte >> b & 1:
                    marks[base + b] = 1
    return marks
