"""Conversion of exchange payloads between dialects: never guess, never drop, report all."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casebridge.domain.codes import CODED_FIELDS, compile_plan
from casebridge.errors import InvalidInput, Problem
from casebridge.standards.registry import load_standards

STD = load_standards()


def police_payload() -> dict[str, Any]:
    return {
        "case": {"title": "张三盗窃案", "case_ref": "A3501020000", "crime": "050204"},
        "persons": [
            {
                "key": "p1",
                "name": "张三",
                "role": "suspect",
                "gender": "M",
                "ethnicity": "01",
                "id_type": "resident_id_card",
                "id_number": "11010519491231002X",
                "domicile": "350102",
                "measure": "05",
                "charges": [{"crime": "050201"}, {"crime": "020100", "crime_std": "C0014"}],
            }
        ],
        "documents": [{"type": "prosecution_opinion", "title": "起诉意见书", "pages": 3}],
        "fields": {"note": "free text", "nested": {"crime": "not a coded field"}},
    }


def _problems(exc: pytest.ExceptionInfo[InvalidInput]) -> list[Problem]:
    return exc.value.problems


def test_fast_lookup_agrees_with_the_explaining_path() -> None:
    from casebridge.domain.codes import build_fast_lookup, convert

    src, dst = STD.dialects["police"], STD.dialects["court"]
    fast = build_fast_lookup(STD.plan, STD.tables, src, dst)
    slow = {t: {} for t in STD.plan.tables}  # an empty lookup forces the slow path everywhere
    payload = police_payload()
    assert (
        convert(payload, STD.plan, STD.tables, src, dst, fast).payload
        == convert(payload, STD.plan, STD.tables, src, dst, slow).payload
    )


def test_police_payload_converts_every_coded_field_to_the_standard() -> None:
    res = STD.to_standard(police_payload(), "police")
    p = res.payload
    assert p["case"]["crime"] == "C0221"
    person = p["persons"][0]
    assert (person["gender"], person["measure"]) == ("1", "detention")
    assert [c["crime"] for c in person["charges"]] == ["C0221", "C0014"]
    assert "crime_std" not in person["charges"][1]  # disambiguator consumed
    assert person["id_number"] == "11010519491231002X"
    assert p["fields"] == police_payload()["fields"]  # free fields untouched
    assert res.table_versions["crime"] == STD.table("crime").version
    assert res.mapping_versions["police/crime"] == STD.dialects["police"].version


def test_police_to_court_maps_crimes_to_cause_of_action_codes_and_roles() -> None:
    res = STD.convert(police_payload(), "police", "court")
    person = res.payload["persons"][0]
    court = STD.dialects["court"].tables["crime"]
    assert court.inbound[res.payload["case"]["crime"]] == ("C0221",)
    assert person["role"] == "XYR"
    assert "court/crime" in res.mapping_versions
    assert "police/crime" in res.mapping_versions


def test_conversion_does_not_mutate_its_input() -> None:
    payload = police_payload()
    before = copy.deepcopy(payload)
    res = STD.convert(payload, "police", "court")
    res.payload["fields"]["nested"]["crime"] = "changed"
    assert payload == before


def test_every_problem_is_reported_at_once_with_path_code_table_and_dialect() -> None:
    payload = police_payload()
    payload["case"]["crime"] = "999999"  # unmapped
    payload["persons"][0]["gender"] = "X"  # unmapped
    payload["persons"][0]["charges"][1].pop("crime_std")  # ambiguous
    payload["documents"][0]["type"] = "no_such_document"  # unknown standard code
    with pytest.raises(InvalidInput) as exc:
        STD.convert(payload, "police", "court")
    got = {(p.field, p.code, p.rule, p.extra["table"], p.extra["dialect"]) for p in _problems(exc)}
    assert got == {
        ("case.crime", "999999", "unmapped", "crime", "police"),
        ("persons[0].gender", "X", "unmapped", "gender", "police"),
        ("persons[0].charges[1].crime", "020100", "ambiguous", "crime", "police"),
        ("documents[0].type", "no_such_document", "unknown", "document_type", "standard"),
    }
    ambiguous = next(p for p in _problems(exc) if p.rule == "ambiguous")
    assert ambiguous.extra["candidates"] == list(
        STD.dialects["police"].tables["crime"].inbound["020100"]
    )


def test_a_disambiguator_outside_the_candidates_is_refused() -> None:
    payload = police_payload()
    payload["persons"][0]["charges"][1]["crime_std"] = "C0221"
    with pytest.raises(InvalidInput) as exc:
        STD.to_standard(payload, "police")
    (problem,) = _problems(exc)
    assert (problem.field, problem.rule) == ("persons[0].charges[1].crime_std", "bad-disambiguator")


def test_outbound_one_to_many_needs_a_dialect_disambiguator() -> None:
    fraud = next(e.code for e in STD.table("crime").entries.values() if e.name_zh == "诈骗罪")
    payload = {"case": {"title": "t", "case_ref": "r", "crime": fraud}}
    with pytest.raises(InvalidInput) as exc:
        STD.from_standard(payload, "police")
    (problem,) = _problems(exc)
    assert problem.rule == "ambiguous"
    assert problem.extra["dialect"] == "police"
    choice = problem.extra["candidates"][1]  # type: ignore[index]
    payload["case"]["crime_dialect"] = choice
    assert STD.from_standard(payload, "police").payload["case"] == {
        "title": "t",
        "case_ref": "r",
        "crime": choice,
    }


def test_outbound_uses_the_declared_preferred_code_when_several_exist() -> None:
    theft = {"case": {"title": "t", "case_ref": "r", "crime": "C0221"}}
    res = STD.from_standard(theft, "police")
    crime = STD.dialects["police"].tables["crime"]
    code = res.payload["case"]["crime"]
    assert next(lk for lk in crime.links if lk.dialect_code == code).outbound_preferred


def test_outbound_disambiguator_may_pick_a_non_preferred_code_but_not_a_foreign_one() -> None:
    crime = STD.dialects["police"].tables["crime"]
    burglary = next(lk.dialect_code for lk in crime.links if lk.dialect_name == "入室盗窃案")
    payload = {"case": {"title": "t", "case_ref": "r", "crime": "C0221", "crime_dialect": burglary}}
    assert STD.from_standard(payload, "police").payload["case"]["crime"] == burglary
    payload["case"]["crime_dialect"] = "010100"
    with pytest.raises(InvalidInput) as exc:
        STD.from_standard(payload, "police")
    (problem,) = _problems(exc)
    assert (problem.field, problem.rule) == ("case.crime_dialect", "bad-disambiguator")
    assert burglary in problem.extra["candidates"]  # type: ignore[operator]


def test_standard_crime_without_a_dialect_code_is_unmapped_outbound() -> None:
    retired = next(e.code for e in STD.table("crime").entries.values() if e.retired)
    payload = {"persons": [{"name": "x", "charges": [{"crime": retired}]}]}
    assert STD.to_standard(payload, None).payload == payload  # retired codes stay valid
    with pytest.raises(InvalidInput) as exc:
        STD.from_standard(payload, "procuratorate")
    assert _problems(exc)[0].rule == "unmapped"


def test_unknown_dialect_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown dialect"):
        STD.to_standard({}, "martian")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"persons": "not a list"}, "persons"),
        ({"persons": [1]}, "persons[0]"),
        ({"case": ["x"]}, "case"),
        ({"persons": [{"gender": 1}]}, "persons[0].gender"),
    ],
)
def test_malformed_shapes_are_problems_not_crashes(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        STD.to_standard(payload, "police")
    assert [p.field for p in _problems(exc)] == [field]


def test_plan_is_compiled_from_the_declaration() -> None:
    plan = compile_plan(CODED_FIELDS)
    assert plan.root["case"][0] == "obj"
    assert plan.root["case"][1]["crime"] == "crime"
    assert plan.root["persons"][1]["charges"][1]["crime"] == "crime"
    assert plan.root["persons"][1]["charges"][1][None] == {"crime_std", "crime_dialect"}
    assert set(plan.tables) <= set(STD.tables)


def _one_to_one_links() -> list[tuple[str, str, str, str]]:
    out = []
    for d in STD.dialects.values():
        for t, dt in d.tables.items():
            for lk in dt.links:
                if dt.inbound[lk.dialect_code] == (lk.standard_code,) and dt.outbound[
                    lk.standard_code
                ] == (lk.dialect_code,):
                    out.append((d.name, t, lk.dialect_code, lk.standard_code))
    return out


ONE_TO_ONE = _one_to_one_links()


def _payload_with(table: str, code: str) -> dict[str, Any]:
    person: dict[str, Any] = {"key": "p", "name": "n"}
    if table == "crime":
        person["charges"] = [{"crime": code}]
    elif table == "person_role":
        person["role"] = code
    else:
        person[table] = code
    return {"persons": [person]}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ONE_TO_ONE))
def test_one_to_one_mappings_round_trip(link: tuple[str, str, str, str]) -> None:
    dialect, table, dialect_code, std_code = link
    original = _payload_with(table, dialect_code)
    standard = STD.to_standard(original, dialect).payload
    assert standard == _payload_with(table, std_code)
    assert STD.from_standard(standard, dialect).payload == original


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["crime", "gender", "x", "crime_std"]), children, max_size=3
        )
    ),
    max_leaves=12,
)
payloads = st.fixed_dictionaries(
    {},
    optional={
        "case": st.dictionaries(st.sampled_from(["crime", "title"]), json_values, max_size=2),
        "persons": st.lists(
            st.dictionaries(
                st.sampled_from(["gender", "role", "charges", "measure", "name"]),
                json_values | st.sampled_from(["M", "F", "05", "suspect"]),
                max_size=4,
            ),
            max_size=3,
        ),
        "fields": json_values,
    },
)


@settings(max_examples=200, deadline=None)
@given(payloads, st.sampled_from([None, "police", "procuratorate", "court"]))
def test_conversion_of_arbitrary_payloads_either_succeeds_or_names_every_problem(
    payload: dict[str, Any], dialect: str | None
) -> None:
    before = copy.deepcopy(payload)
    problems: list[Problem] | None = None
    try:
        res = STD.to_standard(payload, dialect)
    except InvalidInput as exc:
        problems = exc.problems
    if problems is None:
        assert set(res.payload) == set(payload)  # nothing dropped
    else:
        assert problems
        assert all(p.field and p.message for p in problems)
    assert payload == before
