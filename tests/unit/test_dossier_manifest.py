"""The dossier manifest: canonical JSON, Merkle root, validation naming pages, versions."""

from __future__ import annotations

import hashlib

import pytest
import rfc8785

from casebridge.domain.dossier import (
    EXTENSION_SCHEMA,
    Document,
    Manifest,
    Page,
    Volume,
    canonical_json,
    extension_from_dict,
    manifest_from_dict,
    merkle_root,
    union,
    validate,
    volume_to_dict,
)
from casebridge.domain.dossier_pack import PackReader, frame_header


def _h(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _page(name: str, data: bytes, media: str = "image/jpeg") -> Page:
    return Page(name, media, len(data), _h(data))


def _manifest(*pages: Page, dossier: str = "D-1") -> Manifest:
    doc = Document("QSYJS", "起诉意见书", "110102000000", tuple(pages))
    return Manifest(dossier, "张某盗窃案", (Volume("第1卷 诉讼文书", (doc,)),)).sealed()


LIMITS = {"max_bytes": 10_000, "max_page_bytes": 5_000}


def test_canonical_json_matches_the_rfc8785_reference_implementation() -> None:
    m = _manifest(_page("0001.jpg", b"a"), _page("0002.jpg", b"bb"))
    doc = {**m.to_dict(), "extra": {"z": 1, "a": [True, None, "é\u2028\U0001f600"]}}
    assert canonical_json(doc) == rfc8785.dumps(doc)


def test_canonical_json_refuses_floats() -> None:
    with pytest.raises(TypeError):
        canonical_json({"size": 1.5})


def test_merkle_root_follows_rfc6962_shape() -> None:
    leaves = [_h(bytes([i])) for i in range(3)]

    def leaf(h: str) -> bytes:
        return hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest()

    def node(a: bytes, b: bytes) -> bytes:
        return hashlib.sha256(b"\x01" + a + b).digest()

    expected = node(node(leaf(leaves[0]), leaf(leaves[1])), leaf(leaves[2])).hex()
    assert merkle_root(leaves) == expected
    assert merkle_root(leaves[:1]) == leaf(leaves[0]).hex()
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()


def test_merkle_root_changes_with_page_order_and_content() -> None:
    a, b = _h(b"a"), _h(b"b")
    assert merkle_root([a, b]) != merkle_root([b, a])
    assert merkle_root([a, b]) != merkle_root([a, _h(b"c")])


def test_manifest_round_trips_through_its_dict() -> None:
    m = _manifest(_page("0001.jpg", b"a"), _page("0002.pdf", b"bb", "application/pdf"))
    parsed, problems = manifest_from_dict(m.to_dict())
    assert problems == []
    assert parsed is not None
    assert parsed.root == m.root
    assert parsed.canonical() == m.canonical()


def test_declared_root_that_does_not_match_the_pages_is_refused() -> None:
    data = _manifest(_page("0001.jpg", b"a")).to_dict()
    data["merkle_root"] = "0" * 64
    parsed, problems = manifest_from_dict(data)
    assert parsed is None
    assert problems[0].rule == "merkle-root"


def test_every_problem_is_reported_at_once_naming_the_page() -> None:
    m = _manifest(
        _page("../../etc/passwd", b"x"),
        _page("0002.exe", b"y", "application/x-msdownload"),
        Page("0003.jpg", "image/jpeg", 2, _h(b"x")),  # same hash as page 1, other size
        Page("0004.jpg", "image/jpeg", 9_999, _h(b"big")),
    )
    problems = validate(m, **LIMITS)
    rules = {p.rule for p in problems}
    assert rules == {"path-traversal", "media-type", "hash-two-sizes", "page-size", "dossier-size"}
    by_rule = {p.rule: p for p in problems}
    assert "page 1 (../../etc/passwd)" in by_rule["path-traversal"].where
    assert "page 2 (0002.exe)" in by_rule["media-type"].where
    assert "page 3 (0003.jpg)" in by_rule["hash-two-sizes"].where
    assert "page 1 (../../etc/passwd)" in by_rule["hash-two-sizes"].message
    assert "document 1 «起诉意见书»" in by_rule["page-size"].where


def test_dossier_over_the_configured_limit_is_refused() -> None:
    m = _manifest(*[_page(f"{i:04}.jpg", bytes([i]) * 4000) for i in range(3)])
    problems = validate(m, max_bytes=10_000, max_page_bytes=5_000)
    assert [p.rule for p in problems] == ["dossier-size"]
    assert "12000" in problems[0].message


def test_same_page_in_two_documents_is_one_distinct_page() -> None:
    p = _page("0001.jpg", b"a")
    m = _manifest(p, Page("copy.jpg", "image/jpeg", 1, p.sha256))
    assert validate(m, **LIMITS) == []
    assert m.distinct_pages() == {p.sha256: 1}


def test_child_version_is_the_union_and_links_its_parent() -> None:
    police = _manifest(_page("0001.jpg", b"a"), _page("0002.jpg", b"b"))
    added = Volume(
        "第2卷 检察文书",
        (Document("QSS", "起诉书", "110102100000", (_page("1.pdf", b"c", "application/pdf"),)),),
    )
    child = union(police, [added])
    assert child.parent == police.root
    assert child.volumes[:1] == police.volumes
    assert set(police.distinct_pages()) < set(child.distinct_pages())
    assert child.root != police.root
    assert child.volumes[1].page_range(0) == (1, 1)


def test_pack_reader_yields_frames_fed_in_arbitrary_chunks() -> None:
    pages = [b"hello", b"", b"world!" * 100]
    stream = b"".join(frame_header(_h(p), len(p)) + p for p in pages)
    reader = PackReader()
    got = []
    for i in range(0, len(stream), 7):
        reader.feed(stream[i : i + 7])
        while (header := reader.next_header()) is not None:
            body = reader.next_body()
            if body is None:
                break
            got.append((header.sha256, b"".join(body)))
    assert got == [(_h(p), p) for p in pages]
    assert reader.pending() == (None, 0)


def test_pack_reader_reports_a_truncated_frame() -> None:
    reader = PackReader()
    reader.feed(frame_header(_h(b"abcdef"), 6) + b"abc")
    header = reader.next_header()
    assert header is not None
    assert reader.next_body() is None
    assert reader.pending() == (header, 3)


def test_manifest_canonical_bytes_match_the_rfc8785_reference() -> None:
    """Manifest.canonical() serialises without sorting (keys are built in order): the
    reference implementation must agree byte for byte, root and parent included."""
    m = _manifest(_page("0001.jpg", b"a"), _page("第2页.jpg", b"bb"))
    assert m.canonical() == rfc8785.dumps(m.to_dict())
    child = union(m, [Volume("补充", (Document("X", "新材料", "JCY", (_page("n.png", b"c"),)),))])
    assert child.canonical() == rfc8785.dumps(child.to_dict())
    odd = union(m, [Volume('卷 "3"\\', (Document("", "a\nb\t\u2028\x01", "", ()),))])
    assert odd.canonical() == rfc8785.dumps(odd.to_dict())


def _added(*pages: Page, title: str = "第2卷 检察文书") -> Volume:
    return Volume(title, (Document("QSS", "起诉书", "110102100000", tuple(pages)),))


def test_union_splices_the_parents_canonical_bytes_exactly() -> None:
    """A child of a manifest whose canonical bytes are known is written by splicing them;
    the result must be byte for byte what writing it out whole gives."""
    parent = _manifest(_page("0001.jpg", b"a"), _page("0002.jpg", b"b"))
    parent.canonical()  # now cached: union() splices
    child = union(parent, [_added(_page("1.pdf", b"c", "application/pdf"))], title='新 "标题"')
    assert "_canonical" in child.__dict__
    whole = Manifest(child.dossier_id, child.title, child.volumes, child.parent).sealed()
    assert child.canonical() == whole.canonical() == rfc8785.dumps(whole.to_dict())


def test_sealed_and_trusted_copies_keep_what_was_computed() -> None:
    m = _manifest(_page("0001.jpg", b"a"))
    m.distinct_pages()
    sealed = m.sealed()
    assert sealed.__dict__["_distinct"] is m.__dict__["_distinct"]
    # A trusted root is not recomputed (the hub re-reading what it verified when storing).
    assert m.trusted("f" * 64).computed_root() == "f" * 64


def test_extension_builds_the_union_and_checks_the_declared_root() -> None:
    parent = _manifest(_page("0001.jpg", b"a"), _page("0002.jpg", b"b"))
    added = _added(_page("1.pdf", b"c", "application/pdf"))
    expected = union(parent, [added])
    body = {
        "schema": EXTENSION_SCHEMA,
        "volumes": [volume_to_dict(added)],
        "merkle_root": expected.root,
    }
    child, problems = extension_from_dict(parent, body)
    assert problems == []
    assert child is not None
    assert child.root == expected.root
    assert child.canonical() == expected.canonical()
    # The sender's copy of the parent differed: the union has another root.
    wrong, problems = extension_from_dict(parent, {**body, "merkle_root": parent.root})
    assert wrong is None
    assert [p.where for p in problems] == ["merkle_root"]
    assert parent.root in problems[0].message


def test_extension_problems_are_located_in_the_added_volumes() -> None:
    parent = _manifest(_page("0001.jpg", b"a"))
    bad, problems = extension_from_dict(
        parent,
        {
            "schema": "casebridge.dossier/1",
            "volumes": [{"title": "x", "documents": [{"code": "", "title": "t", "pages": [7]}]}],
        },
    )
    assert bad is None
    assert {p.where for p in problems} == {
        "schema",
        "merkle_root",
        "volume 2, document 1.source_agency",
        "volume 2, document 1, page 1",
    }
    empty, problems = extension_from_dict(
        parent, {"schema": EXTENSION_SCHEMA, "volumes": [], "merkle_root": parent.root}
    )
    assert empty is None
    assert [p.rule for p in problems] == ["empty"]


def test_validate_with_a_trusted_parent_checks_only_the_added_pages_against_it() -> None:
    a = _page("0001.jpg", b"a")
    parent = _manifest(a, _page("0002.jpg", b"b"))
    ok = union(parent, [_added(_page("1.pdf", b"c", "application/pdf"))])
    assert validate(ok, **LIMITS, trusted=parent) == []
    # The parent's page hash again, with another size: named at both places.
    twice = union(parent, [_added(Page("dup.jpg", "image/jpeg", 2, a.sha256))])
    problems = validate(twice, **LIMITS, trusted=parent)
    assert [p.rule for p in problems] == ["hash-two-sizes"]
    assert "volume 2" in problems[0].where
    assert "volume 1" in problems[0].message
    assert "0001.jpg" in problems[0].message
    # The limit counts the parent's bytes too.
    big = union(parent, [_added(_page("big.pdf", b"x" * 4999, "application/pdf"))])
    assert [p.rule for p in validate(big, **{**LIMITS, "max_bytes": 5000}, trusted=parent)] == [
        "dossier-size"
    ]
    with pytest.raises(ValueError, match="extends"):
        validate(parent, **LIMITS, trusted=ok)
