"""Missing pages as one bit a page: first places only, exact length, nothing past the end."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casebridge.domain.dossier import Document, Manifest, Page, Volume
from casebridge.domain.page_bits import (
    BitsMismatch,
    MissingPages,
    checked_bits,
    first_places,
    first_places_flagged,
    is_set,
)


def _manifest(contents: list[list[bytes]]) -> Manifest:
    """One volume per inner list, one document of those pages each."""
    volumes = []
    for vi, pages in enumerate(contents, 1):
        doc = Document(
            "QSYJS",
            f"材料 {vi}",
            "110102000000",
            tuple(
                Page(f"{i:04d}.jpg", "image/jpeg", len(d), hashlib.sha256(d).hexdigest())
                for i, d in enumerate(pages, 1)
            ),
        )
        volumes.append(Volume(f"第{vi}卷", (doc,)))
    return Manifest("D-1", "张某盗窃案", tuple(volumes)).sealed()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _marks(bits: bytes, pages: int) -> list[int]:
    """One 0/1 a page, from bits checked to fit ``pages``."""
    checked = checked_bits(bits, pages)
    return [int(is_set(checked, i)) for i in range(pages)]


def test_a_hash_listed_twice_is_marked_at_its_first_place_only() -> None:
    m = _manifest([[b"a", b"b", b"c"], [b"b", b"d"]])  # b"b" is page 1 and page 3
    bits = first_places(m, [_sha(b"b"), _sha(b"d")])
    assert bits == bytes([0b10010])  # pages 1 and 4 (from 0); page 3 repeats page 1
    assert _marks(bits, m.page_count) == [0, 1, 0, 0, 1]


def test_nothing_missing_is_all_zero_and_one_bit_a_page() -> None:
    m = _manifest([[bytes([i]) for i in range(17)]])
    assert first_places(m, []) == bytes(3)  # 17 pages: 3 bytes
    assert first_places(m, [_sha(bytes([i])) for i in range(17)]) == b"\xff\xff\x01"


def test_a_hash_the_manifest_does_not_list_raises_with_it() -> None:
    m = _manifest([[b"a"]])
    with pytest.raises(KeyError) as caught:
        first_places(m, [_sha(b"zz")])
    assert caught.value.args[0] == _sha(b"zz")


@pytest.mark.parametrize(
    ("bits", "pages", "said"),
    [
        (b"\x01", 9, "1 bytes of bits for 9 pages (expected 2)"),
        (b"\x01\x00", 8, "2 bytes of bits for 8 pages (expected 1)"),
        (b"\x20", 5, "a bit is set past page 5"),
        (b"", 1, "0 bytes of bits for 1 pages (expected 1)"),
    ],
)
def test_bits_that_do_not_fit_are_refused(bits: bytes, pages: int, said: str) -> None:
    with pytest.raises(BitsMismatch, match=said.replace("(", r"\(").replace(")", r"\)")):
        checked_bits(bits, pages)


@given(
    st.lists(st.lists(st.binary(min_size=1, max_size=3), min_size=1, max_size=12), min_size=1),
    st.data(),
)
def test_marks_are_the_first_place_of_each_chosen_hash(
    contents: list[list[bytes]], data: st.DataObject
) -> None:
    m = _manifest(contents)
    flat = [d for vol in contents for d in vol]
    chosen = data.draw(st.sets(st.sampled_from(flat)))
    marks = _marks(first_places(m, [_sha(d) for d in chosen]), m.page_count)
    seen: set[bytes] = set()
    expected = []
    for d in flat:
        expected.append(1 if d in chosen and d not in seen else 0)
        seen.add(d)
    assert list(marks) == expected


@given(
    st.lists(st.lists(st.binary(min_size=1, max_size=3), min_size=1, max_size=12), min_size=1),
    st.data(),
)
def test_missing_pages_as_flags_list_and_mark_as_the_hashes_would(
    contents: list[list[bytes]], data: st.DataObject
) -> None:
    """The hub's flags over distinct pages read as the list of hashes (in order of first
    appearance), and give the same bits as the hashes do."""
    m = _manifest(contents)
    distinct = m.distinct_pages()
    flat = [d for vol in contents for d in vol]
    chosen = data.draw(st.sets(st.sampled_from(flat)))
    flags = bytearray(distinct.packed_count)
    for d in chosen:
        flags[distinct.position(_sha(d))] = 1
    missing = MissingPages(distinct, flags)
    wanted = {_sha(d) for d in chosen}
    in_order = [h for h in distinct if h in wanted]
    assert list(missing) == in_order
    assert missing == in_order
    assert len(missing) == len(chosen)
    assert first_places_flagged(m, missing) == first_places(m, in_order)
