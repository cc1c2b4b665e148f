"""The shipped code tables: complete against their sources, versioned, stable crime codes."""

from __future__ import annotations

import csv
import re

import pytest

from casebridge.standards import data_path
from casebridge.standards.registry import load_standards, read_csv

STD = load_standards()


def _source_crimes() -> list[dict[str, str]]:
    return read_csv("crimes_source.csv")


def test_every_crime_of_the_source_file_is_present_with_its_article() -> None:
    crime = STD.table("crime")
    by_name = {e.name_zh: e for e in crime.entries.values()}
    for row in _source_crimes():
        entry = by_name[row["name_zh"]]
        assert not entry.retired
        assert entry.extra["article"] == row["article"]
        assert entry.extra["chapter"] == row["chapter"]
        assert entry.extra["provisions"] == row["provisions"]


def test_there_are_483_current_crimes_and_retired_names_are_marked_with_successors() -> None:
    crime = STD.table("crime")
    assert len(crime.current()) == len(_source_crimes()) == 483
    retired = [e for e in crime.entries.values() if e.retired]
    history = read_csv("crimes_source_history.csv")
    old_names = {n for r in history for n in r["old_name"].split("+")}
    assert {e.name_zh for e in retired} == old_names
    for e in retired:
        for succ in e.successors:
            assert succ in crime.entries  # successor resolvable (current or itself retired)


def test_a_renamed_crime_points_to_its_successor_and_a_chain_ends_in_a_current_crime() -> None:
    crime = STD.table("crime")
    by_name = {e.name_zh: e for e in crime.entries.values()}
    tax = by_name["偷税罪"]
    assert tax.retired
    assert [crime.entries[c].name_zh for c in tax.successors] == ["逃税罪"]
    assert tax.extra["retired_by_doc"] == "法释〔2009〕13号"  # 补充规定（四）
    # 操纵证券交易价格罪 → 操纵证券、期货交易价格罪 (supp-1) → 操纵证券、期货市场罪 (supp-3)
    step = by_name["操纵证券交易价格罪"]
    while step.retired:
        (nxt,) = step.successors
        step = crime.entries[nxt]
    assert step.name_zh == "操纵证券、期货市场罪"
    cancelled = by_name["嫖宿幼女罪"]
    assert cancelled.retired
    assert cancelled.successors == ()


def test_crime_code_register_gives_one_code_per_name_and_never_reuses_a_code() -> None:
    rows = read_csv("crime_codes.csv")
    codes = [r["code"] for r in rows]
    names = [r["name_zh"] for r in rows]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"C\d{4}", c) for c in codes)
    serials = [int(c[1:]) for c in codes]
    assert serials == list(range(1, len(rows) + 1)), "append-only: serials in order, no gaps"
    assert set(STD.table("crime").entries) == set(codes)


@pytest.mark.parametrize(
    ("name", "code"),
    [("背叛国家罪", "C0001"), ("盗窃罪", "C0221"), ("虐待俘虏罪", "C0483"), ("投毒罪", "C0484")],
)
def test_published_crime_codes_stay_frozen(name: str, code: str) -> None:
    """Codes already handed out must never change: exchanges on record carry them."""
    assert STD.table("crime").entries[code].name_zh == name


@pytest.mark.parametrize(
    ("table", "count"),
    [("gender", 4), ("ethnicity", 56), ("measure", 6), ("agency_type", 10), ("stage", 8)],
)
def test_fixed_size_tables_have_their_official_number_of_codes(table: str, count: int) -> None:
    assert len(STD.table(table).entries) == count


def test_ethnicity_codes_follow_gbt3304_not_the_swapped_variant() -> None:
    eth = STD.table("ethnicity")
    assert eth.entries["02"].name_zh == "蒙古族"
    assert eth.entries["11"].name_zh == "满族"
    assert sorted(eth.entries) == [f"{i:02d}" for i in range(1, 57)]


def test_glossary_enumerations_match_the_domain_enums() -> None:
    from casebridge.domain.agency import AgencyType
    from casebridge.domain.case import PersonRole, Stage

    assert set(STD.table("agency_type").entries) == {t.value for t in AgencyType}
    assert list(STD.table("stage").entries) == [s.value for s in Stage]
    assert {r.value for r in PersonRole} <= set(STD.table("person_role").entries)


def test_divisions_cover_fujian_and_check_only_loaded_prefixes() -> None:
    div = STD.table("division")
    assert div.entries["350102"].name_zh == "鼓楼区"
    assert len(div.entries) == 94
    assert div.accepts("350102")
    assert not div.accepts("359999")  # under the loaded prefix 35 but not listed
    assert div.accepts("110105")  # outside the loaded prefixes: shape only
    assert not div.accepts("11010")


def test_every_table_is_versioned_with_an_effective_date_and_a_source() -> None:
    for t in STD.tables.values():
        assert t.version
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", t.effective_from), t.name
        assert t.source


def test_document_types_have_names_in_both_languages_and_a_legal_basis() -> None:
    docs = STD.table("document_type")
    for code in (
        "arrest_request",
        "indictment",
        "judgment",
        "plea_agreement",
        "custody_handover_certificate",
    ):
        assert code in docs.entries
    for e in docs.entries.values():
        assert re.fullmatch(r"[a-z][a-z_]*", e.code)
        assert e.name_zh
        assert e.name_en
        assert e.extra["basis"]
        agency_types = STD.table("agency_type").entries
        assert all(s in agency_types for s in e.extra["sender"].split("|")), e.code


def test_document_type_file_is_readable_as_plain_csv_for_other_tools() -> None:
    with data_path("document_types.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    assert {"code", "name_zh", "name_en", "basis"} <= set(rows[0])


@pytest.mark.parametrize("name", ["police", "procuratorate", "court"])
def test_each_demo_dialect_is_synthetic_and_differs_from_the_standard_in_50_codes(
    name: str,
) -> None:
    d = STD.dialects[name]
    assert d.synthetic
    differing = {
        (t, lk.dialect_code)
        for t, dt in d.tables.items()
        for lk in dt.links
        if lk.dialect_code != lk.standard_code
    }
    assert len(differing) >= 50


def test_police_dialect_has_one_to_many_and_many_to_one_crime_mappings() -> None:
    crime = STD.dialects["police"].tables["crime"]
    assert any(len(std) > 1 for std in crime.inbound.values())
    by_std: dict[str, set[str]] = {}
    for lk in crime.links:
        by_std.setdefault(lk.standard_code, set()).add(lk.dialect_code)
    assert any(len(codes) > 1 for codes in by_std.values())
    assert all(re.fullmatch(r"\d{6}", c) for c in crime.inbound)


def test_dialects_are_found_by_agency_type() -> None:
    assert STD.dialect_for_agency_type("police") == "police"
    assert STD.dialect_for_agency_type("court") == "court"
    assert STD.dialect_for_agency_type("legal_aid") is None
