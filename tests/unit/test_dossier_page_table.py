"""Packed manifests: what keeps every process's memory flat as dossiers grow must read
exactly like the tuples, mappings and lists it replaced."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casebridge.audit.merkle import tree_root
from casebridge.domain.dossier import (
    Document,
    Manifest,
    Page,
    Pages,
    PageSizes,
    Volume,
    loads_manifest,
    loads_manifest_bytes,
    loads_manifest_from,
    manifest_from_dict,
    merkle_root,
    validate,
)
from casebridge.domain.merkle import leaf_hash
from casebridge.domain.page_table import _sorted_positions


def _h(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pages(n: int, tag: str = "p", media: str = "image/jpeg") -> list[Page]:
    return [Page(f"{i + 1:04d}.jpg", media, 100 + i, _h(f"{tag}{i}".encode())) for i in range(n)]


def _manifest() -> Manifest:
    """Three volumes; a document with a page shared with another; Chinese titles; an empty
    document (no pages) between two others."""
    shared = _pages(1, "shared")[0]
    v1 = Volume(
        "第1卷 诉讼文书",
        (
            Document("QSYJS", "起诉意见书", "110102000000", Pages(_pages(3, "a"))),
            Document("BL", "讯问笔录", "110102000000", Pages([*_pages(2, "b"), shared])),
        ),
    )
    v2 = Volume(
        "第2卷 证据材料",
        (
            Document("ZJ", "证据", "110102000000", Pages(_pages(4, "c", "application/pdf"))),
            Document("KB", "空", "110102000000", Pages([])),
            Document("ZJ2", "证据二", "110102000000", Pages([shared, *_pages(1, "d")])),
        ),
    )
    v3 = Volume("第3卷 \"引号\" 与 ,{\"documents\":[ 字样", (
        Document("X", 'a ,{"documents":[ b', "110102000000", Pages(_pages(2, "e"))),
    ))  # fmt: skip
    return Manifest("D-1", "张某盗窃案", (v1, v2, v3)).sealed()


def test_pages_read_like_the_tuple_they_replace() -> None:
    plain = tuple(_pages(5))
    packed = Pages(plain)
    assert packed.packed
    assert len(packed) == 5
    assert tuple(packed) == plain
    assert packed == plain
    assert packed == Pages(list(plain))
    assert packed[0] == plain[0]
    assert packed[-1] == plain[-1]
    assert packed[1:3] == plain[1:3]
    assert list(packed.sizes()) == [p.size for p in plain]
    assert list(packed.digests()) == [bytes.fromhex(p.sha256) for p in plain]
    assert list(packed.names_and_sizes()) == [(p.name, p.size) for p in plain]
    with pytest.raises(IndexError):
        packed[5]
    assert hash(packed) == hash(Pages(plain))


def test_pages_that_do_not_pack_are_kept_exactly_as_given() -> None:
    odd = [
        Page("a.jpg", "image/jpeg", 1, "ABCDEF" * 10 + "ABCD"),  # upper-case: would not round-trip
        Page("b.jpg", "image/jpeg", -1, _h(b"b")),
        Page("c.jpg", "image/jpeg", 2**70, _h(b"c")),
        Page("d.jpg", "image/jpeg", 3, _h(b"d") + "\n"),
    ]
    for page in odd:
        pages = Pages([*_pages(2), page])
        assert not pages.packed
        assert tuple(pages)[-1] == page
        assert pages[-1] is page
        assert list(pages.names_and_sizes())[-1] == (page.name, page.size)


def test_a_document_takes_any_sequence_of_pages_and_packs_it() -> None:
    doc = Document("X", "t", "a", tuple(_pages(3)))  # type: ignore[arg-type]
    assert type(doc.pages) is Pages
    assert doc == Document("X", "t", "a", Pages(_pages(3)))


def test_page_sizes_is_the_distinct_mapping_in_manifest_order() -> None:
    m = _manifest()
    expected: dict[str, int] = {}
    for p in m.pages():
        expected.setdefault(p.sha256, p.size)
    distinct = m.distinct_pages()
    assert isinstance(distinct, PageSizes)
    assert list(distinct) == list(expected)
    assert dict(distinct.items()) == expected
    assert len(distinct) == len(expected) == m.page_count - 1
    for sha, size in expected.items():
        assert sha in distinct
        assert distinct[sha] == size
        assert distinct.get(sha) == size
    absent = _h(b"absent")
    assert absent not in distinct
    assert distinct.get(absent, -1) == -1
    assert expected_key(distinct).upper() not in distinct  # hashes are lower-case hex
    for junk in ("", "zz", 42, None, "0" * 63):
        assert junk not in distinct
    with pytest.raises(KeyError):
        distinct[absent]
    assert distinct.total() == sum(expected.values())
    assert distinct.keys() - {absent} == set(expected)


def expected_key(distinct: PageSizes) -> str:
    return next(iter(distinct))


@settings(max_examples=60)
@given(st.lists(st.integers(0, 40), min_size=0, max_size=120))
def test_page_sizes_finds_every_hash_and_no_other(draws: list[int]) -> None:
    pages = [Page(f"{i}.jpg", "image/png", n, _h(str(n).encode())) for i, n in enumerate(draws)]
    distinct = PageSizes([Pages(pages[:7]), Pages(pages[7:])])
    first_seen = list(dict.fromkeys(p.sha256 for p in pages))
    assert list(distinct) == first_seen
    for n in range(41):
        sha = _h(str(n).encode())
        assert (sha in distinct) == (n in draws)
        if n in draws:
            assert distinct[sha] == n


def test_the_page_plan_locates_every_page_and_its_offset() -> None:
    m = _manifest()
    plan = m.select()
    located = list(m.located_pages())
    assert len(plan) == len(located) == m.page_count
    assert list(plan) == located
    offset = 0
    for i, (_, page) in enumerate(located):
        assert plan.offset(i) == offset
        if page.size:
            assert plan.index_at(offset) == i
            assert plan.index_at(offset + page.size - 1) == i
        offset += page.size
    assert plan.length == offset == m.total_bytes
    assert plan.offset(len(plan)) == offset
    assert plan.index_at(offset) == len(plan)


def test_the_page_plan_of_chosen_documents_keeps_manifest_order() -> None:
    m = _manifest()
    plan = m.select([(2, 3), (1, 1), (2, 2)])  # (2, 2) has no pages
    want = [(r, p) for r, p in m.located_pages() if (r.volume, r.document) in {(1, 1), (2, 3)}]
    assert list(plan) == want
    assert plan.length == sum(p.size for _, p in want)
    assert [r.page for r, _ in plan] == [1, 2, 3, 5, 6]  # page numbers within each volume


def test_merkle_root_is_rfc6962_over_any_number_of_pages() -> None:
    for n in [0, 1, 2, 3, 5, 8, 13, 64, 65, 100]:
        hashes = [_h(str(i).encode()) for i in range(n)]
        want = tree_root([leaf_hash(bytes.fromhex(h)) for h in hashes]).hex()
        assert merkle_root(hashes) == want


def test_manifests_are_read_one_volume_at_a_time_to_the_same_result() -> None:
    m = _manifest()
    raw = m.canonical()
    whole = loads_manifest(raw)
    assert loads_manifest_from(io.BytesIO(raw)) == whole
    assert loads_manifest_bytes(raw) == whole
    again, problems = manifest_from_dict(loads_manifest_from(io.BytesIO(raw)))
    assert not problems
    assert again == m
    assert again.root == m.root
    assert again.canonical() == raw


class _Trickle(io.BytesIO):
    """Hands out three bytes per read: every split point lands inside a chunk."""

    def read(self, n: int | None = -1, /) -> bytes:
        return super().read(3)


def test_reading_by_volume_does_not_depend_on_how_the_bytes_arrive() -> None:
    m = _manifest()
    assert loads_manifest_from(_Trickle(m.canonical())) == loads_manifest(m.canonical())


@pytest.mark.parametrize(
    "layout",
    [
        lambda d: json.dumps(d, indent=1).encode(),  # whitespace
        lambda d: json.dumps({"volumes": d["volumes"], **d}).encode(),  # volumes first
        lambda d: json.dumps({**d, "extra": {"volumes": []}}, separators=(",", ":")).encode(),
    ],
)
def test_a_manifest_laid_out_otherwise_is_refused_by_the_volume_reader(layout) -> None:  # type: ignore[no-untyped-def]
    d = _manifest().to_dict()
    raw = layout(d)
    with pytest.raises(ValueError, match=r"canonically|no volumes|Expecting|Extra data"):
        loads_manifest_from(io.BytesIO(raw))
    assert loads_manifest_bytes(raw) == loads_manifest(raw)  # the whole-document fallback


def test_broken_json_still_fails_with_the_json_error() -> None:
    raw = _manifest().canonical()[:-2]  # the closing "]}" missing
    with pytest.raises(json.JSONDecodeError):
        loads_manifest_bytes(raw)


def test_a_parsed_manifest_is_packed_and_still_validates_naming_pages() -> None:
    m = _manifest()
    data = loads_manifest(m.canonical())
    pages = data["volumes"][0]["documents"][0]["pages"]
    assert type(pages) is Pages
    assert pages.packed
    bad = m.to_dict()
    bad["volumes"][1]["documents"][0]["pages"][1]["sha256"] = "XYZ"
    bad["volumes"][1]["documents"][0]["pages"][2]["media_type"] = "text/html"
    parsed, problems = manifest_from_dict(loads_manifest(json.dumps(bad)), trust_root=True)
    assert parsed is not None
    assert not problems
    found = validate(parsed, max_bytes=10**9, max_page_bytes=10**6)
    assert {p.rule for p in found} == {"digest", "media-type"}
    assert all("volume 2" in p.where and "document 1" in p.where for p in found)


@settings(max_examples=80)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5)), max_size=300))
def test_digests_are_sorted_by_first_byte_runs_as_a_plain_stable_sort_would(
    draws: list[tuple[int, int]],
) -> None:
    """Few first bytes and many repeats: runs of equal first bytes and equal digests."""
    data = b"".join(bytes([a]) + bytes([b]) * 31 for a, b in draws)
    n = len(draws)
    want = sorted(range(n), key=lambda i: data[32 * i : 32 * i + 32])
    assert list(_sorted_positions(data, n)) == want
