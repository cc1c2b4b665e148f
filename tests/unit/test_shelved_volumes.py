"""Shelved volumes read like the tuple they replace; a shelved manifest is the same manifest.

The shelf here keeps its bytes in a dict: the :class:`~casebridge.domain.dossier.Shelf`
protocol has nothing more to it (the gateway's file shelf is tested in
``tests/integration/test_dossier_folder.py``, with the disk).
"""

from __future__ import annotations

import io
import json

import pytest

from casebridge.domain.dossier import (
    Document,
    Manifest,
    Page,
    Pages,
    ShelvedVolumes,
    Volume,
    extends,
    manifest_from_dict,
    manifest_from_file,
    union,
)
from tests.unit.test_dossier_page_table import _manifest, _pages


class _DictShelf:
    def __init__(self) -> None:
        self.blobs: list[bytes] = []
        self.gets = 0

    def put(self, data: bytes, /) -> int:
        self.blobs.append(bytes(data))
        return len(self.blobs) - 1

    def get(self, key: int, /) -> bytes:
        self.gets += 1
        return self.blobs[key]


def _shelved(m: Manifest) -> tuple[Manifest, _DictShelf]:
    shelf = _DictShelf()
    again, problems = manifest_from_file(io.BytesIO(m.canonical()), shelf=shelf)
    assert not problems
    assert again is not None
    return again, shelf


def test_shelved_volumes_read_like_the_tuple() -> None:
    m = _manifest()
    shelf = _DictShelf()
    vols = ShelvedVolumes.shelve(shelf, iter(m.volumes))
    assert len(vols) == len(m.volumes) == 3
    assert list(vols) == list(m.volumes)
    assert vols[0] == m.volumes[0]
    assert vols[-1] == m.volumes[-1]
    assert vols[1:] == m.volumes[1:]
    assert vols == m.volumes
    assert m.volumes == vols  # the tuple's == defers to the shelved side
    assert hash(vols) == hash(m.volumes)
    assert vols.titles == tuple(v.title for v in m.volumes)
    assert vols.page_counts == (6, 6, 2)
    with pytest.raises(IndexError):
        vols[3]
    assert vols != m.volumes[:2]


def test_only_the_last_few_volumes_are_kept_loaded() -> None:
    base = _manifest().volumes[0]
    many = [Volume(f"卷{i}", base.documents) for i in range(10)]
    shelf = _DictShelf()
    vols = ShelvedVolumes.shelve(shelf, iter(many))
    for _ in range(2):
        assert list(vols) == many
    assert len(vols._cache) == ShelvedVolumes.CACHED
    assert shelf.gets == 2 * len(many)  # ten volumes do not fit four places: each is read
    gets = shelf.gets
    assert vols[9] == many[9]  # the last ones are still there
    assert shelf.gets == gets


def test_a_volume_read_in_passing_is_not_kept_and_evicts_nothing() -> None:
    """A push plans its packs ahead of the ones it sends: the planning reads volumes in
    passing, so the volumes being sent stay loaded (and the process holds as many volumes
    for a dossier of 22 as for one of 6)."""
    base = _manifest().volumes[0]
    many = [Volume(f"卷{i}", base.documents) for i in range(10)]
    shelf = _DictShelf()
    vols = ShelvedVolumes.shelve(shelf, iter(many))
    for i in range(4):
        vols[i]
    kept = list(vols._cache)
    assert vols.passing(9) == many[9]
    assert list(vols._cache) == kept  # not kept, nothing evicted
    gets = shelf.gets
    assert vols.passing(2) is vols[2]  # a loaded one is taken from the cache
    assert shelf.gets == gets


def test_a_shelved_manifest_is_the_same_manifest() -> None:
    m = _manifest()
    again, _ = _shelved(m)
    assert isinstance(again.volumes, ShelvedVolumes)
    assert again == m
    assert again.root == m.root
    assert again.canonical() == m.canonical()
    assert again.page_count == m.page_count
    assert again.total_bytes == m.total_bytes
    assert again.volume_titles == m.volume_titles
    assert again.volume_page_counts == m.volume_page_counts
    assert dict(again.distinct_pages()) == dict(m.distinct_pages())
    assert list(again.located_pages()) == list(m.located_pages())
    assert [(r(), p) for r, p in again.located_pages_lazy(2)] == [
        (r(), p) for r, p in m.located_pages_lazy(2)
    ]


@pytest.mark.parametrize("documents", [None, [(2, 3), (1, 1), (2, 2)], [(3, 1)]])
def test_the_page_plan_of_a_shelved_manifest_is_the_same(
    documents: list[tuple[int, int]] | None,
) -> None:
    """A whole-dossier plan has a row per volume (a page is found through its volume's
    documents), a plan of chosen documents a row each: both as on the tuple."""
    m = _manifest()
    again, _ = _shelved(m)
    want, got = m.select(documents), again.select(documents)
    assert list(got) == list(want)
    assert got.length == want.length
    for i in range(len(want) + 1):
        assert got.offset(i) == want.offset(i)
    for offset in range(0, want.length + 1, 7):
        assert got.index_at(offset) == want.index_at(offset)
    if documents is None:
        assert len(got._volumes) == 3  # one row per volume


def test_a_child_of_a_shelved_version_shares_its_volumes_unread() -> None:
    m = _manifest()
    parent, shelf = _shelved(m)
    added = Volume("第4卷 检察文书", _manifest().volumes[2].documents)
    child = union(parent, [added])
    assert isinstance(child.volumes, ShelvedVolumes)
    assert child == union(m, [added])
    assert child.root == union(m, [added]).root
    gets = shelf.gets
    assert extends(child, parent)  # the same shelved bytes: nothing read to compare
    assert shelf.gets == gets
    assert not extends(parent, child)


def test_a_manifest_not_laid_out_canonically_is_shelved_from_the_whole_parse() -> None:
    m = _manifest()
    pretty = json.dumps(m.to_dict(), indent=2, ensure_ascii=False).encode()
    again, problems = manifest_from_file(io.BytesIO(pretty), shelf=_DictShelf())
    assert not problems
    assert again == m
    with pytest.raises(json.JSONDecodeError):
        manifest_from_file(io.BytesIO(pretty[: pretty.index(b'"volumes"')]), shelf=_DictShelf())


def test_problems_of_a_shelved_parse_are_the_same_as_of_the_whole() -> None:
    data = _manifest().to_dict()
    data["volumes"][1]["documents"][0]["pages"][0]["name"] = "../etc"
    data["volumes"][2]["title"] = 7
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    shelved, problems = manifest_from_file(io.BytesIO(raw), shelf=_DictShelf())
    whole, whole_problems = manifest_from_dict(json.loads(raw))
    assert shelved is None
    assert whole is None
    assert problems == whole_problems
    assert [p.where for p in problems] == ["volume 3.title"]


def test_pages_of_every_volume_are_found_after_the_others_were_evicted() -> None:
    """Each stream of a pull reads its own volume; more volumes than cache places."""
    docs = _manifest().volumes[0].documents
    vols = [Volume(f"卷{i}", docs) for i in range(ShelvedVolumes.CACHED + 3)]
    m = Manifest("D-2", "t", tuple(vols)).sealed()
    again, _ = _shelved(m)
    plan, want = again.select(), m.select()
    order = [i for k in range(len(want) // 2) for i in (k, len(want) - 1 - k)]
    assert [plan[i] for i in order] == [want[i] for i in order]
    assert _pages(1, "zz")[0] not in [p for _, p in plan]


def test_pages_that_do_not_pack_are_shelved_as_they_are() -> None:
    """A page with an upper-case hash keeps the document's pages loose (the manifest is
    invalid and validate() must see it as it came): shelved and loaded, still loose."""
    loose = Pages([Page("1.jpg", "image/jpeg", 3, "AB" * 32), Page("2.jpg", "image/png", 1, "x")])
    assert not loose.packed
    vol = Volume("卷", (Document("C", "t", "A", loose),))
    again = ShelvedVolumes.shelve(_DictShelf(), [vol])[0]
    assert again == vol
    assert not again.documents[0].pages.packed
    assert list(again.documents[0].pages) == list(loose)


def test_a_whole_download_of_a_shelved_manifest_is_planned_without_loading_a_volume() -> None:
    """The plan of every document comes from the counts a shelved manifest keeps per volume
    (a pull's range requests each planned it, and walking the volumes evicted the ones the
    other streams were reading); it is the plan that walking them gives, row for row."""
    base = _manifest()
    empty_first = Volume(
        "第4卷",
        (
            Document("KB", "空", "110102000000", Pages([])),
            Document("F", "后", "110102000000", Pages(_pages(3, "f"))),
        ),
    )
    m = Manifest("D-1", "张某盗窃案", (*base.volumes, empty_first)).sealed()
    shelved, shelf = _shelved(m)
    before = shelf.gets
    plan = shelved.select(None)
    assert shelf.gets == before  # no volume loaded to plan it
    walked = m.select(None)
    assert (len(plan), plan.length) == (len(walked), walked.length)
    assert [plan[i] for i in range(len(plan))] == [walked[i] for i in range(len(walked))]
    assert [plan.offset(i) for i in range(len(plan))] == [
        walked.offset(i) for i in range(len(walked))
    ]
    assert [plan.index_at(b) for b in range(0, plan.length, 997)] == [
        walked.index_at(b) for b in range(0, walked.length, 997)
    ]
    chosen = shelved.select([(2, 3), (4, 2)])  # chosen documents: walked, as before
    assert [chosen[i] for i in range(len(chosen))] == [
        walked[i] for i in range(len(walked)) if walked[i][0].volume in (2, 4)
    ][-5:]
